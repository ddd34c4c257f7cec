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
from typing import Any

import structlog

from tgvault.domain import Channel, RunCounts, RunStatus, SyncState
from tgvault.errors import ChannelBusyError, TgvaultError
from tgvault.services.alerts import Reread, watch_vanished
from tgvault.services.media_queue import MediaQueue
from tgvault.services.plans import ChannelPlan, MediaPolicy
from tgvault.services.progress import Progress, SilentProgress
from tgvault.sources.base import FetchedPost, PostSource
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.repositories import UpsertOutcome
from tgvault.storage.tables import utcnow
from tgvault.storage.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

LOCK_STALE_AFTER = timedelta(minutes=10)
REFRESH_BATCH = 100


@dataclass
class Tally:
    """Counts of one run, kept up to date as pages are committed (so a failed run records them too)."""

    counts: RunCounts = field(default_factory=RunCounts)

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
        self._queues: dict[int, MediaQueue] = {}

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
                uow.runs.attach(run_id, channel.id)
                uow.runs.interrupt_stale(channel.id, key, run_id, self._clock())
                uow.commit()
            self._clean_temp()
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
            await self._stop_media(channel)
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

    def _clean_temp(self) -> None:
        """Remove one-shot partial files a killed process left (resumable ones belong to the queue)."""
        try:
            removed = self._store.clean_temp(older_than=LOCK_STALE_AFTER)
        except OSError:
            return  # a media folder that cannot be written is reported by the first download
        if removed:
            log.info("removed partial files of an earlier run", count=removed)

    def _heartbeat(self, uow: UnitOfWork, channel: Channel) -> None:
        uow.locks.heartbeat(_lock_key(channel), self._owner)

    async def _commit_page(
        self,
        channel: Channel,
        items: Sequence[FetchedPost],
        checkpoint: Callable[[SyncState, list[int]], dict[str, Any]] | None,
        queue: MediaQueue,
    ) -> UpsertOutcome:
        """Store a page, queue its files and move the channel's checkpoint over it, in one transaction run
        in a worker thread; then set the download pool to work.

        The database drivers release the GIL while SQLite or PostgreSQL works, so the next page arrives
        from Telegram during the commit. Awaiting it keeps pages committed one at a time and in order; a
        cancelled run still lets the transaction (posts, queued files and checkpoint together) finish or
        roll back whole.
        """
        posts = [item.post for item in items]

        def commit() -> tuple[UpsertOutcome, list[int]]:
            with self._uow() as uow:
                outcome = uow.posts.upsert_many(posts, self._clock())
                queued = queue.enqueue(uow, items)
                if checkpoint is not None:
                    state = uow.sync_state.get(channel.id)
                    ids = [post.message_id for post in posts]
                    uow.sync_state.save(state.model_copy(update=checkpoint(state, ids)))
                self._heartbeat(uow, channel)
                uow.commit()
            return outcome, queued

        outcome, queued = await asyncio.to_thread(commit)
        queue.wake(items, queued)
        return outcome

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
        queue = self._queue(channel, plan.media, tally)
        async for page in self._source.newer(channel, min_id=newest):
            if not page.posts:
                continue

            def newer_checkpoint(state: SyncState, ids: list[int]) -> dict[str, Any]:
                return {"newest_id": max(state.newest_id, *ids), "last_sync_at": self._clock()}

            outcome = await self._commit_page(channel, page.posts, newer_checkpoint, queue)
            tally.add(posts_added=outcome.added, posts_edited=outcome.edited)
            self._progress.posts(len(page.posts))

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
        queue = self._queue(channel, plan.media, tally)
        async for page in self._source.older(channel, offset_id=offset):
            if not started:
                self._progress.started(plan.key, page.total)
                started = True
            in_range = [item for item in page.posts if plan.since is None or item.post.date >= plan.since]
            reached_since = len(in_range) < len(page.posts)
            if in_range:

                def older_checkpoint(state: SyncState, ids: list[int]) -> dict[str, Any]:
                    top = state.backfill_top_id or max(ids)
                    return {
                        "backfill_top_id": top,
                        "backfill_offset_id": min(ids),
                        "newest_id": max(state.newest_id, top),
                        "last_sync_at": self._clock(),
                    }

                outcome = await self._commit_page(channel, in_range, older_checkpoint, queue)
                offset = min(item.post.message_id for item in in_range)
                tally.add(posts_added=outcome.added, posts_edited=outcome.edited)
                self._progress.posts(len(in_range))
            if reached_since:
                return
        with self._uow() as uow:
            state = uow.sync_state.get(channel.id)
            uow.sync_state.save(state.model_copy(update={"backfill_complete": True}))
            uow.commit()

    async def _walk_range(self, channel: Channel, plan: ChannelPlan, tally: Tally) -> None:
        """Archive posts dated ``plan.since`` .. ``plan.until``; no checkpoint, upserts make it repeatable."""
        self._progress.started(plan.key, None)
        queue = self._queue(channel, plan.media, tally)
        async for page in self._source.older(channel, offset_date=plan.until):
            in_range = [item for item in page.posts if plan.since is None or item.post.date >= plan.since]
            if in_range:
                outcome = await self._commit_page(channel, in_range, None, queue)
                tally.add(posts_added=outcome.added, posts_edited=outcome.edited)
                self._progress.posts(len(in_range))
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
        queue = self._queue(channel, plan.media, tally)
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
                queued = queue.enqueue(uow, present)
                deleted = uow.posts.mark_deleted(channel.id, gone, self._clock())
                if after_batch is not None:
                    after_batch(uow, chunk)
                self._heartbeat(uow, channel)
                uow.commit()
            queue.wake(present, queued)
            seen = seen + Reread(checked=len(present) + len(gone), vanished=len(gone))
            tally.add(posts_edited=outcome.edited, posts_deleted=deleted)
            if deleted:
                log.info("posts deleted on Telegram", channel=plan.key, count=deleted)
        return seen

    # -- media -------------------------------------------------------------------------------

    def _queue(self, channel: Channel, policy: MediaPolicy, tally: Tally) -> MediaQueue:
        """This run's download queue of the channel (see :mod:`tgvault.services.media_queue`)."""
        queue = self._queues.get(channel.id)
        if queue is None:

            def stored(size: int) -> None:
                tally.add(media_files=1, media_bytes=size)
                self._progress.media(1, size)

            queue = self._queues[channel.id] = MediaQueue(
                self._source,
                self._uow,
                self._store,
                channel,
                policy,
                clock=self._clock,
                on_stored=stored,
                heartbeat=lambda uow: self._heartbeat(uow, channel),
            )
        return queue

    async def _retry_media(self, channel: Channel, policy: MediaPolicy, tally: Tally) -> None:
        """Work the channel's download queue (this run's files and earlier runs' leftovers) until none is due."""
        await self._queue(channel, policy, tally).finish()

    async def _stop_media(self, channel: Channel | None) -> None:
        queue = self._queues.pop(channel.id, None) if channel is not None else None
        if queue is not None:
            await queue.abort()


def _lock_key(channel: Channel) -> str:
    return f"channel:{channel.id}"
