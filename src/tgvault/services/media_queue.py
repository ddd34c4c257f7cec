"""Media after text: a channel's files wait in a persistent queue worked by a bounded pool of downloads.

A walk stores a page of posts and, in the same transaction, records their files in the archive's queue
(``media_downloads``, :meth:`MediaQueue.enqueue`); after the commit :meth:`MediaQueue.wake` returns at
once, so the text of a channel is archived long before its media and no committed file is left unqueued. ``policy.concurrency`` workers take due files from the queue while the walk goes on;
:meth:`MediaQueue.finish` waits until nothing is due.

A download that fails keeps the bytes it fetched (a resumable part in the media folder's ``.tmp``) and is
tried again after a growing delay; after ``policy.max_attempts`` tries the file is marked failed with its
reason and waits ``policy.failed_retry_after`` before a fresh round. Never a tight loop.

A resource fault (disk full, media folder read-only, database unusable) stops the channel: logged once,
every worker stops, committed work stays, and nothing half-written is recorded.
"""

from __future__ import annotations

import asyncio
import errno
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import structlog

from tgvault.domain import Channel, MediaKind, Post
from tgvault.errors import (
    FloodWaitTooLongError,
    IncompleteDownloadError,
    MediaUnavailableError,
    MediaUploadError,
    ResourceFaultError,
    SourceError,
    StorageError,
)
from tgvault.services.plans import MediaPolicy
from tgvault.sources.base import FetchedPost, PostSource
from tgvault.storage.media_store import LocalMediaStore, PendingFile
from tgvault.storage.repositories import FAILED, QueuedDownload
from tgvault.storage.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

RESUME_ALIGN = 512 * 1024
"""A resumed part is cut back to a multiple of this (the part size documents are fetched in)."""
HANDLE_CACHE = 2000
"""Messages kept in memory for their file references; files beyond this are re-read when their turn comes."""
REFILL = 50
HEARTBEAT_EVERY = 60.0
"""Seconds between lock heartbeats while files download (one large file can take longer than a page)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REREAD_BATCH = 100


class MediaQueue:
    """The download queue of one channel during one run."""

    def __init__(
        self,
        source: PostSource,
        unit_of_work: Callable[[], UnitOfWork],
        store: LocalMediaStore,
        channel: Channel,
        policy: MediaPolicy,
        *,
        clock: Callable[[], datetime],
        on_stored: Callable[[int], None],
        heartbeat: Callable[[UnitOfWork], None],
    ) -> None:
        self._source = source
        self._uow = unit_of_work
        self._store = store
        self._channel = channel
        self._policy = policy
        self._clock = clock
        self._on_stored = on_stored
        self._heartbeat = heartbeat
        self._handles: dict[int, FetchedPost] = {}
        self._ready: deque[tuple[QueuedDownload, FetchedPost | None]] = deque()
        self._in_flight: set[int] = set()
        self._wake = asyncio.Event()
        self._refill_lock = asyncio.Lock()
        self._workers: list[asyncio.Task[None]] = []
        self._beat: asyncio.Task[None] | None = None
        self._closing = False
        self._swept = False
        self.fault: BaseException | None = None

    @property
    def enabled(self) -> bool:
        """False when the channel's policy downloads no media at all."""
        return self._policy.max_size > 0

    # -- what the archiver calls -----------------------------------------------------------------

    def enqueue(self, uow: UnitOfWork, items: Sequence[FetchedPost]) -> list[int]:
        """In the caller's transaction (the one storing these posts): queue their wanted files and mark the
        ones the policy refuses as skipped. Returns the ids queued, for :meth:`wake` after the commit."""
        if not self.enabled:
            return []
        wanted: list[int] = []
        for item in items:
            media = item.post.media
            if media is None:
                continue
            refusal = self._policy.refusal(media)
            if refusal is None:
                wanted.append(item.post.message_id)
            else:
                uow.media.mark_skipped(self._channel.id, item.post.message_id, refusal)
        if wanted:
            uow.media_queue.add(self._channel.id, wanted, self._clock())
        return wanted

    def wake(self, items: Sequence[FetchedPost], queued: Sequence[int]) -> None:
        """Set the pool to work on files a committed transaction queued (raises a fault seen so far)."""
        self._raise_fault()
        if not self.enabled:
            return
        wanted = set(queued)
        for item in items:
            if len(self._handles) >= HANDLE_CACHE:
                break
            if item.post.message_id in wanted:
                self._handles[item.post.message_id] = item
        self._start()
        self._wake.set()

    async def finish(self) -> None:
        """Work the queue until nothing is due, then stop the pool (raises the fault that stopped it)."""
        self._raise_fault()
        if not self.enabled:
            return
        self._start()
        self._closing = True
        self._wake.set()
        try:
            await asyncio.gather(*self._workers)
        finally:
            self._workers = []
            await self._stop_beat()
        self._raise_fault()

    async def abort(self) -> None:
        """Stop every download now (the run failed or was interrupted); parts stay for the next run."""
        self._closing = True
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        await self._stop_beat()

    # -- the pool --------------------------------------------------------------------------------

    def _raise_fault(self) -> None:
        if self.fault is not None:
            raise self.fault

    def _start(self) -> None:
        if self._workers or self.fault is not None:
            return
        self._workers = [
            asyncio.create_task(self._worker(), name=f"media-{self._channel.id}-{number}")
            for number in range(max(1, self._policy.concurrency))
        ]
        self._beat = asyncio.create_task(self._keep_lock(), name=f"media-{self._channel.id}-heartbeat")

    async def _keep_lock(self) -> None:
        """Keep the channel lock fresh while downloads run, however long one file takes."""
        while True:
            await asyncio.sleep(HEARTBEAT_EVERY)
            try:
                with self._uow() as uow:
                    self._heartbeat(uow)
                    uow.commit()
            except StorageError as exc:
                self._stop(exc)
                return

    async def _stop_beat(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            await asyncio.gather(self._beat, return_exceptions=True)
            self._beat = None

    async def _worker(self) -> None:
        while True:
            taken = await self._next()
            if taken is None:
                return
            item, fetched = taken
            try:
                await self._download(item, fetched)
            except (ResourceFaultError, SourceError) as exc:
                self._stop(exc)
                return
            finally:
                self._in_flight.discard(item.message_id)

    def _stop(self, exc: BaseException) -> None:
        """Record the fault that ends this channel's run; logged once however many workers hit it."""
        if self.fault is None:
            self.fault = exc
            log.warning("media downloads stopped", channel_id=self._channel.id, error=str(exc))
        self._closing = True
        self._wake.set()

    async def _next(self) -> tuple[QueuedDownload, FetchedPost | None] | None:
        while True:
            if self.fault is not None:
                return None
            if self._ready:
                return self._ready.popleft()
            async with self._refill_lock:
                if self._ready:
                    continue
                self._wake.clear()
                try:
                    found = await self._refill()
                except (StorageError, SourceError) as exc:
                    self._stop(exc)
                    return None
                if found:
                    continue
            if self._closing:
                return None
            await self._wake.wait()

    async def _refill(self) -> bool:
        """Take due files from the database (and re-read posts whose file reference we do not hold)."""
        now = self._clock()
        with self._uow() as uow:
            if not self._swept:
                self._sweep(uow, now)
            due = uow.media_queue.due(self._channel.id, now, exclude=sorted(self._in_flight), limit=REFILL)
            for item in due:
                if item.state == FAILED:
                    uow.media_queue.restart_round(self._channel.id, item.message_id, now)
            uow.commit()
        if not due:
            return False
        for item in due:
            self._in_flight.add(item.message_id)
        missing = [item.message_id for item in due if item.message_id not in self._handles]
        fetched: dict[int, FetchedPost | None] = {}
        try:
            for start in range(0, len(missing), REREAD_BATCH):
                fetched.update(
                    await self._source.get_posts(self._channel, missing[start : start + REREAD_BATCH])
                )
        except BaseException:
            self._in_flight.difference_update(item.message_id for item in due)
            raise
        for item in due:
            handle = self._handles.pop(item.message_id, None)
            if handle is None and item.message_id in fetched:
                handle = fetched[item.message_id]
                if handle is None:
                    self._settle_gone(item, "the post no longer exists on Telegram")
                    continue
            self._ready.append((item, handle))
        return True

    def _sweep(self, uow: UnitOfWork, now: datetime) -> None:
        """Queue files a killed run recorded but never queued (or an archive from before the queue)."""
        while True:
            ids = uow.media_queue.unqueued(self._channel.id)
            if not ids:
                break
            uow.media_queue.add(self._channel.id, ids, now)
        self._swept = True

    # -- one file --------------------------------------------------------------------------------

    def _part_name(self, item: QueuedDownload) -> str:
        return f"m{self._channel.id}_{item.message_id}_{item.media.telegram_id or 0}"

    async def _download(self, item: QueuedDownload, fetched: FetchedPost | None) -> None:
        media = item.media
        refusal = self._policy.refusal(media)
        if refusal is not None:
            with self._uow() as uow:
                uow.media.mark_skipped(self._channel.id, item.message_id, refusal)
                uow.media_queue.remove(self._channel.id, [item.message_id])
                uow.commit()
            return
        if fetched is None:
            fetched = FetchedPost(_placeholder(item))
        resumable = bool(getattr(self._source, "resumes_downloads", False))
        try:
            pending = self._open(item, resumable)
            with pending:
                await self._source.download_media(self._channel, fetched, pending)
                expected = None if media.kind is MediaKind.PHOTO else media.size
                # off the event loop: a remote store uploads (and verifies) the file here
                stored = await asyncio.to_thread(pending.commit, expected)
        except MediaUnavailableError as exc:
            self._settle_gone(item, str(exc))
            await self._thumbnail(fetched)
            return
        except FloodWaitTooLongError as exc:
            self._attempt_failed(item, str(exc), wait=timedelta(seconds=exc.seconds))
            return
        except (SourceError, IncompleteDownloadError, MediaUploadError) as exc:
            self._attempt_failed(item, f"{type(exc).__name__}: {exc}")
            return
        except OSError as exc:
            raise _resource_fault(self._store, exc) from exc
        with self._uow() as uow:
            uow.media.mark_downloaded(
                self._channel.id, item.message_id, sha256=stored.sha256, path=stored.path, size=stored.size
            )
            uow.media_queue.remove(self._channel.id, [item.message_id])
            self._heartbeat(uow)
            uow.commit()
        self._on_stored(stored.size)

    async def _thumbnail(self, fetched: FetchedPost) -> None:
        """Store the preview image a source shows for a file it cannot offer (once per post).

        Not counted among the run's files: it stands in for one not yet archived.
        """
        channel, message_id = self._channel, fetched.post.message_id
        with self._uow() as uow:
            if uow.media.has_thumbnail(channel.id, message_id):
                return
        try:
            with self._store.begin("image/jpeg", None) as pending:
                if not await self._source.download_thumbnail(channel, fetched, pending):
                    return
                stored = pending.commit()
        except (SourceError, StorageError, OSError) as exc:
            log.warning(
                "thumbnail download failed", channel_id=channel.id, message_id=message_id, error=str(exc)
            )
            return
        with self._uow() as uow:
            uow.media.mark_thumbnail(channel.id, message_id, sha256=stored.sha256, path=stored.path)
            uow.commit()

    def _open(self, item: QueuedDownload, resumable: bool) -> PendingFile:
        media = item.media
        try:
            if resumable:
                return self._store.resume(
                    self._part_name(item), media.mime_type, media.file_name, align=RESUME_ALIGN
                )
            return self._store.begin(media.mime_type, media.file_name)
        except OSError as exc:
            raise _resource_fault(self._store, exc) from exc
        except StorageError as exc:
            raise ResourceFaultError(str(exc)) from exc

    def _attempt_failed(self, item: QueuedDownload, reason: str, *, wait: timedelta = timedelta(0)) -> None:
        """Count a failed attempt: retry after a growing delay, or after the ceiling give up for a while."""
        now = self._clock()
        attempt = item.attempts + 1
        gave_up = attempt >= self._policy.max_attempts
        delay = self._policy.failed_retry_after if gave_up else self._policy.retry_delay * 2 ** (attempt - 1)
        retry_at = now + max(delay, wait)
        log.info(
            "media download failed",
            channel_id=self._channel.id,
            message_id=item.message_id,
            attempt=attempt,
            gave_up=gave_up,
            retry_at=retry_at.isoformat(),
            error=reason,
        )
        with self._uow() as uow:
            uow.media_queue.attempt_failed(
                self._channel.id, item.message_id, reason, retry_at=retry_at, gave_up=gave_up, now=now
            )
            uow.media.mark_failed(self._channel.id, item.message_id, reason)
            uow.commit()

    def _settle_gone(self, item: QueuedDownload, reason: str) -> None:
        """The file cannot be had at all (post deleted, no file): record why and take it off the queue."""
        with self._uow() as uow:
            uow.media.mark_failed(self._channel.id, item.message_id, reason)
            uow.media_queue.remove(self._channel.id, [item.message_id])
            uow.commit()
        self._store.drop_part(self._part_name(item))
        self._in_flight.discard(item.message_id)


def _placeholder(item: QueuedDownload) -> Post:
    """A post standing in for one whose message we do not hold: the source re-reads it by id."""
    return Post(channel_id=item.channel_id, message_id=item.message_id, date=_EPOCH, media=item.media)


_ADVICE = {
    errno.ENOSPC: "the disk is full; free some space and run again",
    errno.EDQUOT: "the disk quota is used up; free some space and run again",
    errno.EROFS: "the media folder is on a read-only file system; make it writable and run again",
    errno.EACCES: "the media folder is not writable; fix its permissions and run again",
    errno.EPERM: "the media folder is not writable; fix its permissions and run again",
}


def _resource_fault(store: LocalMediaStore, exc: OSError) -> ResourceFaultError:
    advice = _ADVICE.get(exc.errno or 0, "run again once the media folder can be written")
    detail = exc.strerror or str(exc)
    return ResourceFaultError(f"media folder {store.root}: {detail}; {advice}")
