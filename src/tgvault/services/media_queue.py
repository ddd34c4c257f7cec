"""Media after text: a channel's files wait in a persistent queue worked by a bounded pool of downloads.

A walk stores a page of posts and, in the same transaction, records their files in the archive's queue
(``media_downloads``, :meth:`MediaQueue.enqueue`); after the commit :meth:`MediaQueue.wake` returns at
once, so the text of a channel is archived long before its media and no committed file is left unqueued. ``policy.concurrency`` workers take due files from the queue while the walk goes on;
:meth:`MediaQueue.finish` waits until nothing is due.

A download that fails keeps the bytes it fetched (a resumable part in the media folder's ``.tmp``) and is
tried again after a growing delay; after ``policy.max_attempts`` tries the file is marked failed with its
reason and waits ``policy.failed_retry_after`` before a fresh round. Never a tight loop. One file's download
and its outcome are the job of :class:`~tgvault.services.media_downloads.MediaDownloader`.

A resource fault (disk full, media folder read-only, database unusable) stops the channel: logged once,
every worker stops, committed work stays, and nothing half-written is recorded.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

import structlog

from tgvault.domain import Channel
from tgvault.errors import AccountError, ResourceFaultError, SourceError, StorageError
from tgvault.services.media_downloads import MediaDownloader
from tgvault.services.plans import MediaPolicy
from tgvault.sources.base import FetchedPost, PostSource
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.repositories import FAILED, QueuedDownload
from tgvault.storage.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

HANDLE_CACHE = 2000
"""Messages kept in memory for their file references; files beyond this are re-read when their turn comes."""
REFILL = 50
HEARTBEAT_EVERY = 60.0
"""Seconds between lock heartbeats while files download (one large file can take longer than a page)."""
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
        self._channel = channel
        self._policy = policy
        self._clock = clock
        self._heartbeat = heartbeat
        self._handles: dict[int, FetchedPost] = {}
        self._ready: deque[tuple[QueuedDownload, FetchedPost | None]] = deque()
        self._in_flight: set[int] = set()
        self._downloads = MediaDownloader(
            source,
            unit_of_work,
            store,
            channel,
            policy,
            clock=clock,
            on_stored=on_stored,
            heartbeat=heartbeat,
            on_gone=self._in_flight.discard,
        )
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
            if item.post.message_id in wanted:  # without the page it was read from (kept as WARC already)
                kept = item if item.capture is None else replace(item, capture=None)
                self._handles[item.post.message_id] = kept
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
                await self._downloads.download(item, fetched)
            except (ResourceFaultError, SourceError) as exc:
                self._stop(exc)
                return
            finally:
                self._in_flight.discard(item.message_id)

    def _stop(self, exc: BaseException) -> None:
        """Record the fault that ends this channel's run; logged once however many workers hit it."""
        if self.fault is None:
            self.fault = exc
            # an account that cannot be used is said once for the account, by the caller
            report = log.debug if isinstance(exc, AccountError) else log.warning
            report("media downloads stopped", channel_id=self._channel.id, error=str(exc))
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
                    self._downloads.settle_gone(item, "the post no longer exists on Telegram")
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
