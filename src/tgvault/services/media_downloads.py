"""One queued file of a channel downloaded, and how it went recorded: stored, tried again later, or gone.

:class:`~tgvault.services.media_queue.MediaQueue` hands each due file to :meth:`MediaDownloader.download`.
A failed attempt keeps its resumable part and sets when the file is due again (after a growing delay, or
after ``policy.failed_retry_after`` once ``policy.max_attempts`` tries are used up); a file the source
cannot offer at all is taken off the queue, its preview image stored in its place when the source shows
one. A media folder that cannot be written is raised as a :class:`~tgvault.errors.ResourceFaultError`.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog

from tgvault.domain import Channel, ChannelKind, MediaKind, PageCapture, Post
from tgvault.errors import (
    AccountError,
    FloodWaitTooLongError,
    HostUnreachableError,
    IncompleteDownloadError,
    MediaTooLargeError,
    MediaUnavailableError,
    MediaUploadError,
    ResourceFaultError,
    SourceError,
    StorageError,
)
from tgvault.services.plans import MediaPolicy
from tgvault.sources.base import FetchedPost, PostSource
from tgvault.storage.media_store import LocalMediaStore, PendingFile, StoredFile
from tgvault.storage.repositories import QueuedDownload
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.storage.warc_store import FOLDER as WARC_FOLDER
from tgvault.storage.warc_store import WarcArchive

log = structlog.get_logger(__name__)

RESUME_ALIGN = 512 * 1024
"""A resumed part is cut back to a multiple of this (the part size documents are fetched in)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class MediaDownloader:
    """Downloads the queued files of one channel, one file a call, and records each outcome."""

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
        on_gone: Callable[[int], None],
    ) -> None:
        """``on_stored`` is told the size of each file stored; ``heartbeat`` runs in the transaction that
        records it; ``on_gone`` is told the message id of a file taken off the queue for good."""
        self._source = source
        self._uow = unit_of_work
        self._store = store
        self._channel = channel
        self._policy = policy
        self._clock = clock
        self._on_stored = on_stored
        self._heartbeat = heartbeat
        self._on_gone = on_gone
        self._warcs = WarcArchive(store.root / WARC_FOLDER)

    def _settled(self, uow: UnitOfWork, message_id: int) -> None:
        """In the transaction recording a file's outcome: a discussion group's file is shown on the page of
        the channel post its comment is on, so that post is marked changed."""
        if self._channel.kind is ChannelKind.DISCUSSION:
            uow.discussions.touch_commented(self._channel.id, [message_id], self._clock())

    def _part_name(self, item: QueuedDownload) -> str:
        return f"m{self._channel.id}_{item.message_id}_{item.media.telegram_id or 0}"

    async def download(self, item: QueuedDownload, fetched: FetchedPost | None) -> None:
        """Download one queued file (``fetched`` is its message, None to let the source re-read it by id)."""
        media = item.media
        refusal = self._policy.refusal(media)
        if refusal is not None:
            with self._uow() as uow:
                uow.media.mark_skipped(self._channel.id, item.message_id, refusal)
                uow.media_queue.remove(self._channel.id, [item.message_id])
                self._settled(uow, item.message_id)
                uow.commit()
            return
        if fetched is None:
            fetched = FetchedPost(_placeholder(item))
        resumable = bool(getattr(self._source, "resumes_downloads", False))
        try:
            pending = self._open(item, resumable)
            with pending:
                sink = SizeCappedSink(pending, self._policy.max_size)
                await self._source.download_media(self._channel, fetched, sink)
                expected = None if media.kind is MediaKind.PHOTO else media.size
                # off the event loop: a remote store uploads (and verifies) the file here
                stored = await asyncio.to_thread(pending.commit, expected)
            # a comment's file is kept as WARC only where its page was (not when authors are pseudonymous)
            private = self._channel.kind is ChannelKind.DISCUSSION and fetched.capture is None
            exchange = None if private else sink.exchange
            kept = None if exchange is None else await asyncio.to_thread(self._keep_warc, exchange, stored)
        except MediaTooLargeError as exc:
            self._too_large(item, str(exc))
            return
        except MediaUnavailableError as exc:
            self.settle_gone(item, str(exc))
            await self._thumbnail(fetched)
            return
        except FloodWaitTooLongError as exc:
            self._attempt_failed(item, str(exc), wait=timedelta(seconds=exc.seconds))
            return
        except AccountError:
            raise  # not this file's fault: the run stops, and no file's attempts are spent
        except HostUnreachableError as exc:  # reported once by the source; the file waits, quietly
            self._attempt_failed(item, str(exc), wait=timedelta(seconds=exc.retry_after), quiet=True)
            return
        except (SourceError, IncompleteDownloadError, MediaUploadError) as exc:
            self._attempt_failed(item, f"{type(exc).__name__}: {exc}")
            return
        except OSError as exc:
            raise _resource_fault(self._store, exc) from exc
        with self._uow() as uow:
            uow.media.mark_downloaded(
                self._channel.id,
                item.message_id,
                sha256=stored.sha256,
                path=stored.path,
                size=stored.size,
                warc_record_id=kept,
            )
            uow.media_queue.remove(self._channel.id, [item.message_id])
            self._settled(uow, item.message_id)
            self._heartbeat(uow)
            uow.commit()
        self._on_stored(stored.size)

    def _keep_warc(self, exchange: PageCapture, stored: StoredFile) -> str | None:
        """Append the file the web source fetched to the channel's WARC file as the response of its
        exchange; its WARC-Record-ID (None when the file is not on local disk or cannot be appended)."""
        path = self._store.path_of(stored.path)
        if not path.is_file():
            return None
        try:
            return self._warcs.append_file(self._channel.id, exchange, path).record_id
        except OSError as exc:
            log.warning(
                "file not kept as WARC", channel_id=self._channel.id, path=stored.path, error=str(exc)
            )
            return None

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
                sink = SizeCappedSink(pending, self._policy.max_size)
                if not await self._source.download_thumbnail(channel, fetched, sink):
                    return
                stored = pending.commit()
        except (HostUnreachableError, MediaTooLargeError) as exc:  # already reported, or simply no preview
            log.debug("no thumbnail", channel_id=channel.id, message_id=message_id, error=str(exc))
            return
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

    def _too_large(self, item: QueuedDownload, reason: str) -> None:
        """The file grew past ``media_max_size`` while it came in: recorded as skipped, nothing kept."""
        log.info("file over media_max_size skipped", channel_id=self._channel.id, message_id=item.message_id)
        with self._uow() as uow:
            uow.media.mark_skipped(self._channel.id, item.message_id, reason)
            uow.media_queue.remove(self._channel.id, [item.message_id])
            self._settled(uow, item.message_id)
            uow.commit()
        self._store.drop_part(self._part_name(item))
        self._on_gone(item.message_id)

    def _attempt_failed(
        self, item: QueuedDownload, reason: str, *, wait: timedelta = timedelta(0), quiet: bool = False
    ) -> None:
        """Count a failed attempt: retry after a growing delay, or after the ceiling give up for a while.

        ``quiet``: the cause was already reported once (a host that cannot be reached), so debug level.
        """
        now = self._clock()
        attempt = item.attempts + 1
        gave_up = attempt >= self._policy.max_attempts
        delay = self._policy.failed_retry_after if gave_up else self._policy.retry_delay * 2 ** (attempt - 1)
        retry_at = now + max(delay, wait)
        (log.debug if quiet else log.info)(
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
            if gave_up:
                self._settled(uow, item.message_id)
            uow.commit()

    def settle_gone(self, item: QueuedDownload, reason: str) -> None:
        """The file cannot be had at all (post deleted, no file): record why and take it off the queue."""
        with self._uow() as uow:
            uow.media.mark_failed(self._channel.id, item.message_id, reason)
            uow.media_queue.remove(self._channel.id, [item.message_id])
            self._settled(uow, item.message_id)
            uow.commit()
        self._store.drop_part(self._part_name(item))
        self._on_gone(item.message_id)


class SizeCappedSink:
    """A pending file that takes at most ``limit`` bytes in all (:class:`MediaTooLargeError` past it).

    ``limit`` is also there to read: a source that streams (the web preview) stops before it, and refuses
    an announced size over it without reading the body. ``size`` and ``restart`` are the pending file's.
    """

    def __init__(self, pending: PendingFile, limit: int) -> None:
        self._pending = pending
        self.limit = limit
        self.exchange: PageCapture | None = None

    def keep_exchange(self, exchange: PageCapture) -> None:
        """Told by a source that fetched the file over HTTP (the web preview) how it went: the request
        and response headers, kept with the file as WARC records."""
        self.exchange = exchange

    @property
    def size(self) -> int:
        """Bytes the file holds (a resumed part's included)."""
        return self._pending.size

    def restart(self) -> None:
        """Start the file again from byte 0."""
        self._pending.restart()

    def write(self, chunk: bytes) -> int:
        """Append bytes, unless they would take the file past ``limit``."""
        if self._pending.size + len(chunk) > self.limit:
            raise MediaTooLargeError(self.limit)
        return self._pending.write(chunk)


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
