"""Backfill and sync: pull a channel's posts and media from a source into the archive.

Every page of posts is committed in one transaction together with the checkpoint that covers it, so
a run stopped at any moment (Ctrl-C, a crash, ``kill -9``) is completed by the next one with every
post exactly once. The archive's coverage of a channel is kept contiguous:

* ``newest_id`` — everything above the backfill checkpoint up to this id is archived; a sync walks
  upward from it (oldest first), raising it page by page.
* ``backfill_offset_id`` — a backfill walks downward (newest first) from ``backfill_top_id``; this is
  the lowest id it committed, where the next run resumes. ``backfill_complete`` marks the bottom.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from tgvault.domain import Channel, MediaKind, RunCounts, RunStatus
from tgvault.errors import ChannelBusyError, SourceError, StorageError, TgvaultError
from tgvault.services.alerts import Reread, watch_vanished
from tgvault.services.plans import ChannelPlan, MediaPolicy
from tgvault.services.progress import Progress, SilentProgress
from tgvault.sources.base import FetchedPost, PostSource
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.tables import utcnow
from tgvault.storage.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

LOCK_STALE_AFTER = timedelta(minutes=10)
REFRESH_BATCH = 100


@dataclass
class Tally:
    """Counts of one run, kept up to date as pages are committed (so a failed run records them too)."""

    counts: RunCounts = field(default_factory=RunCounts)
    media_attempted: set[int] = field(default_factory=set)

    def add(self, **changes: int) -> None:
        """Add to the counts."""
        self.counts = self.counts + RunCounts(**changes)


@dataclass(frozen=True)
class ChannelOutcome:
    """How one channel's run ended."""

    key: str
    counts: RunCounts
    error: str | None = None
    channel: Channel | None = None

    @property
    def ok(self) -> bool:
        """True when the run finished without error."""
        return self.error is None


class Archiver:
    """Runs backfills and syncs of channels through one source into one archive."""

    def __init__(
        self,
        source: PostSource,
        unit_of_work: Callable[[], UnitOfWork],
        media_store: LocalMediaStore,
        *,
        progress: Progress | None = None,
        clock: Callable[[], datetime] = utcnow,
        owner: str | None = None,
    ) -> None:
        self._source = source
        self._uow = unit_of_work
        self._store = media_store
        self._progress = progress or SilentProgress()
        self._clock = clock
        self._owner = owner or uuid.uuid4().hex

    # -- public services ---------------------------------------------------------------------

    async def backfill(self, plan: ChannelPlan) -> RunCounts:
        """Archive a channel's whole history (or ``plan.since`` .. ``plan.until``), resuming a stopped run."""
        async with self._recorded_run(plan.key, "backfill") as (channel, tally):
            if plan.until is not None:
                await self._walk_range(channel, plan, tally)
            else:
                if self._has_started(channel):
                    await self._walk_newer(channel, plan, tally)
                await self._walk_older(channel, plan, tally)
            await self._retry_media(channel, plan.media, tally)
            return tally.counts
        raise AssertionError("unreachable")  # pragma: no cover

    async def sync(self, plan: ChannelPlan) -> RunCounts:
        """One pass over a channel: new posts, the unfinished part of its history, then the refresh window."""
        async with self._recorded_run(plan.key, "sync") as (channel, tally):
            if self._has_started(channel):
                await self._walk_newer(channel, plan, tally)
            await self._walk_older(channel, plan, tally)
            await self._refresh(channel, plan, tally)
            await self._retry_media(channel, plan.media, tally)
            return tally.counts
        raise AssertionError("unreachable")  # pragma: no cover

    async def sync_many(self, plans: Sequence[ChannelPlan]) -> list[ChannelOutcome]:
        """Sync several channels one after another; one channel failing never stops the others."""
        outcomes = []
        for plan in plans:
            try:
                counts = await self.sync(plan)
            except (TgvaultError, OSError) as error:
                outcomes.append(ChannelOutcome(plan.key, RunCounts(), error=str(error)))
            else:
                outcomes.append(ChannelOutcome(plan.key, counts))
        return outcomes

    def recorded_run(self, key: str, kind: str) -> AbstractAsyncContextManager[tuple[Channel, Tally]]:
        """Resolve, lock and record a run of ``kind`` (e.g. an audit) exactly as backfill and sync are."""
        return self._recorded_run(key, kind)

    # -- run bookkeeping ---------------------------------------------------------------------

    @asynccontextmanager
    async def _recorded_run(self, key: str, kind: str) -> AsyncIterator[tuple[Channel, Tally]]:
        """Record the run, lock the channel, and record how the run ended whatever happens."""
        tally = Tally()
        with self._uow() as uow:
            run_id = uow.runs.start(key, kind, self._clock())
            uow.commit()
        channel: Channel | None = None
        lock_key: str | None = None
        status, error = RunStatus.FAILED, None
        try:
            channel = await self._source.resolve(key)
            with self._uow() as uow:
                holder = uow.locks.try_acquire(_lock_key(channel), self._owner, LOCK_STALE_AFTER)
                if holder is not None:
                    raise ChannelBusyError(
                        f"channel {key} is being archived by another process "
                        f"(pid {holder.pid} on {holder.host}); try again when it has finished"
                    )
                lock_key = _lock_key(channel)
                uow.channels.upsert(channel, self._clock())
                uow.commit()
            log.info("channel run started", channel=key, kind=kind, channel_id=channel.id)
            yield channel, tally
            status = RunStatus.OK
        except (asyncio.CancelledError, KeyboardInterrupt):
            status, error = RunStatus.INTERRUPTED, "interrupted"
            raise
        except (TgvaultError, OSError) as exc:
            error = str(exc)
            log.warning("channel run failed", channel=key, kind=kind, error=error)
            raise
        finally:
            self._progress.finished()
            with self._uow() as uow:
                uow.runs.finish(
                    run_id,
                    status=status,
                    counts=tally.counts,
                    channel_id=channel.id if channel else None,
                    error=error,
                    finished_at=self._clock(),
                )
                if lock_key is not None:
                    uow.locks.release(lock_key, self._owner)
                uow.commit()
            if status is RunStatus.OK:
                log.info("channel run finished", channel=key, kind=kind, **tally.counts.model_dump())

    def _heartbeat(self, uow: UnitOfWork, channel: Channel) -> None:
        uow.locks.heartbeat(_lock_key(channel), self._owner)

    def _has_started(self, channel: Channel) -> bool:
        """True once any walk of the channel committed (or found it empty)."""
        with self._uow() as uow:
            state = uow.sync_state.get(channel.id)
        return state.newest_id > 0 or state.backfill_complete

    # -- walks -------------------------------------------------------------------------------

    async def _walk_newer(self, channel: Channel, plan: ChannelPlan, tally: Tally) -> None:
        """Archive posts above ``newest_id``, oldest first, raising the checkpoint page by page."""
        with self._uow() as uow:
            newest = uow.sync_state.get(channel.id).newest_id
        self._progress.started(plan.key, None)
        async for page in self._source.newer(channel, min_id=newest):
            if not page.posts:
                continue
            with self._uow() as uow:
                outcome = uow.posts.upsert_many([item.post for item in page.posts], self._clock())
                state = uow.sync_state.get(channel.id)
                top = max(item.post.message_id for item in page.posts)
                uow.sync_state.save(
                    state.model_copy(
                        update={"newest_id": max(state.newest_id, top), "last_sync_at": self._clock()}
                    )
                )
                self._heartbeat(uow, channel)
                uow.commit()
            tally.add(posts_added=outcome.added, posts_edited=outcome.edited)
            self._progress.posts(len(page.posts))
            await self._download(channel, page.posts, plan.media, tally)

    async def _walk_older(self, channel: Channel, plan: ChannelPlan, tally: Tally) -> None:
        """Continue (or start) the downward walk of the channel's history, down to ``plan.since``."""
        with self._uow() as uow:
            state = uow.sync_state.get(channel.id)
            if state.backfill_complete:
                return
            if plan.since is not None and state.backfill_offset_id is not None:
                lowest_post = uow.posts.get(channel.id, state.backfill_offset_id)
                if lowest_post is not None and lowest_post.date < plan.since:
                    return
        offset = state.backfill_offset_id or 0
        started = False
        async for page in self._source.older(channel, offset_id=offset):
            if not started:
                self._progress.started(plan.key, page.total)
                started = True
            in_range = [item for item in page.posts if plan.since is None or item.post.date >= plan.since]
            reached_since = len(in_range) < len(page.posts)
            if in_range:
                with self._uow() as uow:
                    outcome = uow.posts.upsert_many([item.post for item in in_range], self._clock())
                    state = uow.sync_state.get(channel.id)
                    ids = [item.post.message_id for item in in_range]
                    top = state.backfill_top_id or max(ids)
                    lowest = min(ids)
                    uow.sync_state.save(
                        state.model_copy(
                            update={
                                "backfill_top_id": top,
                                "backfill_offset_id": lowest,
                                "newest_id": max(state.newest_id, top),
                                "last_sync_at": self._clock(),
                            }
                        )
                    )
                    self._heartbeat(uow, channel)
                    uow.commit()
                offset = lowest
                tally.add(posts_added=outcome.added, posts_edited=outcome.edited)
                self._progress.posts(len(in_range))
                await self._download(channel, in_range, plan.media, tally)
            if reached_since:
                return
        with self._uow() as uow:
            state = uow.sync_state.get(channel.id)
            uow.sync_state.save(state.model_copy(update={"backfill_complete": True}))
            uow.commit()

    async def _walk_range(self, channel: Channel, plan: ChannelPlan, tally: Tally) -> None:
        """Archive posts dated ``plan.since`` .. ``plan.until``; no checkpoint, upserts make it repeatable."""
        self._progress.started(plan.key, None)
        async for page in self._source.older(channel, offset_date=plan.until):
            in_range = [item for item in page.posts if plan.since is None or item.post.date >= plan.since]
            if in_range:
                with self._uow() as uow:
                    outcome = uow.posts.upsert_many([item.post for item in in_range], self._clock())
                    self._heartbeat(uow, channel)
                    uow.commit()
                tally.add(posts_added=outcome.added, posts_edited=outcome.edited)
                self._progress.posts(len(in_range))
                await self._download(channel, in_range, plan.media, tally)
            if len(in_range) < len(page.posts):
                return

    async def _refresh(self, channel: Channel, plan: ChannelPlan, tally: Tally) -> None:
        """Re-read the newest posts to record edits, deletions and the latest counters."""
        now = self._clock()
        with self._uow() as uow:
            ids = uow.posts.ids_for_refresh(channel.id, plan.refresh.newest_posts, plan.refresh.since(now))
        seen = await self.reread(channel, plan, ids, tally)
        watch_vanished(self._uow, channel, plan, "sync", seen, self._clock())

    async def reread(
        self,
        channel: Channel,
        plan: ChannelPlan,
        ids: Sequence[int],
        tally: Tally,
        *,
        pause: float = 0.0,
        after_batch: Callable[[UnitOfWork, Sequence[int]], None] | None = None,
    ) -> Reread:
        """Re-read archived posts by id, 100 a request: edits become revisions, deletions tombstones, and
        changed counters a new point of their time series. ``after_batch`` runs in each batch's
        transaction (to save a checkpoint); ``pause`` seconds pass between requests."""
        seen = Reread()
        for start in range(0, len(ids), REFRESH_BATCH):
            if start and pause > 0:
                await asyncio.sleep(pause)
            chunk = ids[start : start + REFRESH_BATCH]
            fetched = await self._source.get_posts(channel, chunk)
            present = [item for item in fetched.values() if item is not None]
            # None proves a deletion; an id the source left out is unknown and keeps its state
            gone = [
                message_id for message_id in chunk if message_id in fetched and fetched[message_id] is None
            ]
            with self._uow() as uow:
                outcome = uow.posts.upsert_many([item.post for item in present], self._clock())
                deleted = uow.posts.mark_deleted(channel.id, gone, self._clock())
                if after_batch is not None:
                    after_batch(uow, chunk)
                self._heartbeat(uow, channel)
                uow.commit()
            seen = seen + Reread(checked=len(present) + len(gone), vanished=len(gone))
            tally.add(posts_edited=outcome.edited, posts_deleted=deleted)
            if deleted:
                log.info("posts deleted on Telegram", channel=plan.key, count=deleted)
            await self._download(channel, present, plan.media, tally)
        return seen

    # -- media -------------------------------------------------------------------------------

    async def _retry_media(self, channel: Channel, policy: MediaPolicy, tally: Tally) -> None:
        """Download files that earlier runs could not, re-reading their posts for fresh file references."""
        if policy.max_size <= 0:
            return
        while True:
            with self._uow() as uow:
                waiting = [
                    item
                    for item in uow.media.pending(channel.id, max_attempts=policy.max_attempts, limit=200)
                    if item.message_id not in tally.media_attempted and policy.refusal(item.media) is None
                ]
            if not waiting:
                return
            ids = [item.message_id for item in waiting[:REFRESH_BATCH]]
            fetched = await self._source.get_posts(channel, ids)
            await self._download(
                channel, [item for item in fetched.values() if item is not None], policy, tally
            )
            tally.media_attempted.update(ids)  # gone or refused ones too, so the loop always ends

    async def _download(
        self, channel: Channel, items: Sequence[FetchedPost], policy: MediaPolicy, tally: Tally
    ) -> None:
        """Download the files of these posts that the archive still needs, a few at a time (once per run)."""
        with_media = [
            item
            for item in items
            if item.post.media is not None and item.post.message_id not in tally.media_attempted
        ]
        if not with_media:
            return
        with self._uow() as uow:
            needed = uow.media.needing_download(
                channel.id, [item.post.message_id for item in with_media], max_attempts=policy.max_attempts
            )
            wanted = []
            for item in with_media:
                if item.post.message_id not in needed:
                    continue
                assert item.post.media is not None
                refusal = policy.refusal(item.post.media)
                if refusal is None:
                    wanted.append(item)
                else:
                    uow.media.mark_skipped(channel.id, item.post.message_id, refusal)
            uow.commit()
        if not wanted:
            return
        tally.media_attempted.update(item.post.message_id for item in wanted)
        limit = asyncio.Semaphore(max(1, policy.concurrency))

        async def one(item: FetchedPost) -> None:
            async with limit:
                await self._download_one(channel, item, tally)

        await asyncio.gather(*(one(item) for item in wanted))

    async def _download_one(self, channel: Channel, item: FetchedPost, tally: Tally) -> None:
        media = item.post.media
        assert media is not None
        message_id = item.post.message_id
        try:
            with self._store.begin(media.mime_type, media.file_name) as pending:
                await self._source.download_media(channel, item, pending)
                expected = None if media.kind is MediaKind.PHOTO else media.size
                stored = pending.commit(expected_size=expected)
        except (SourceError, StorageError, OSError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            log.warning("media download failed", channel_id=channel.id, message_id=message_id, error=reason)
            with self._uow() as uow:
                uow.media.mark_failed(channel.id, message_id, reason)
                uow.commit()
            if isinstance(exc, OSError) and not isinstance(exc, SourceError):
                raise StorageError(f"media folder {self._store.root}: {exc}") from exc
            return
        with self._uow() as uow:
            uow.media.mark_downloaded(
                channel.id, message_id, sha256=stored.sha256, path=stored.path, size=stored.size
            )
            uow.commit()
        tally.add(media_files=1, media_bytes=stored.size)
        self._progress.media(1, stored.size)


def _lock_key(channel: Channel) -> str:
    return f"channel:{channel.id}"
