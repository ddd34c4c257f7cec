"""Backfill and sync: pull a channel's posts and media from a source into the archive.

Every page of posts is committed in one transaction together with the checkpoint that covers it, so
a run stopped at any moment (Ctrl-C, a crash, ``kill -9``) is completed by the next one with every
post exactly once (the walks and their checkpoints: :mod:`tgvault.services.history_walks`). Around the
walks an :class:`Archiver` records each run, holds the channel's lock, re-reads the refresh window and
works the channel's download queue.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from tgvault.domain import Channel, RunCounts, RunStatus
from tgvault.errors import AccountError, ChannelBusyError, TgvaultError
from tgvault.services.alerts import Reread, watch_vanished
from tgvault.services.captures import keep_captures
from tgvault.services.comments import CommentKeeper
from tgvault.services.history_walks import HistoryWalker
from tgvault.services.media_queue import MediaQueue
from tgvault.services.plans import ChannelPlan, MediaPolicy
from tgvault.services.progress import Progress, SilentProgress
from tgvault.services.tallies import Tally
from tgvault.sources.base import FetchedPost, PostSource
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.tables import utcnow
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.storage.warc_store import FOLDER as WARC_FOLDER
from tgvault.storage.warc_store import WarcArchive

log = structlog.get_logger(__name__)

LOCK_STALE_AFTER = timedelta(minutes=10)
REFRESH_BATCH = 100


@dataclass(frozen=True)
class ChannelOutcome:
    """How one channel's run ended."""

    key: str
    counts: RunCounts
    error: str | None = None
    channel: Channel | None = None
    stopped: bool = False
    """Not the channel's own failure: its source as a whole could not be used (the account is logged out,
    banned or deactivated, or the source cannot be reached at all); ``error`` is the source's, the same
    for every channel stopped with it, so it is reported once."""

    @property
    def ok(self) -> bool:
        """True when the run finished without error."""
        return self.error is None


def stopped_outcomes(keys: Sequence[str], error: TgvaultError) -> list[ChannelOutcome]:
    """The outcomes of channels not archived because their source failed as a whole with ``error``."""
    return [ChannelOutcome(key, RunCounts(), error=str(error), stopped=True) for key in keys]


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
        self._warcs = WarcArchive(media_store.root / WARC_FOLDER)
        self._queues: dict[int, MediaQueue] = {}
        self._walks = HistoryWalker(
            source,
            unit_of_work,
            progress=self._progress,
            clock=clock,
            heartbeat=self._heartbeat,
            queue_for=self._queue,
            note=self._note_page,
        )
        self.comments = CommentKeeper(
            source,
            unit_of_work,
            clock=clock,
            heartbeat=self._heartbeat,
            queue_for=self._queue,
            reread=self.reread,
            keep_pages=self._keep_pages,
        )

    # -- public services ---------------------------------------------------------------------

    async def backfill(self, plan: ChannelPlan) -> RunCounts:
        """Archive a channel's whole history (or ``plan.since`` .. ``plan.until``), resuming a stopped run."""
        async with self._recorded_run(plan.key, "backfill") as (channel, tally):
            if plan.until is not None:
                await self._walks.walk_range(channel, plan, tally)
            else:
                if self._walks.has_started(channel):
                    await self._walks.walk_newer(channel, plan, tally)
                await self._walks.walk_older(channel, plan, tally)
            await self.comments.catch_up(channel, plan, tally)
            await self._retry_media(channel, plan, tally)
            return tally.counts
        raise AssertionError("unreachable")  # pragma: no cover

    async def sync(self, plan: ChannelPlan) -> RunCounts:
        """One pass over a channel: new posts, the unfinished part of its history, then the refresh window."""
        async with self._recorded_run(plan.key, "sync") as (channel, tally):
            if self._walks.has_started(channel):
                await self._walks.walk_newer(channel, plan, tally)
            await self._walks.walk_older(channel, plan, tally)
            await self._refresh(channel, plan, tally)
            await self.comments.catch_up(channel, plan, tally)
            await self._retry_media(channel, plan, tally)
            return tally.counts
        raise AssertionError("unreachable")  # pragma: no cover

    async def sync_many(self, plans: Sequence[ChannelPlan]) -> list[ChannelOutcome]:
        """Sync several channels one after another; one channel failing never stops the others.

        An :class:`AccountError` is the source's, not the channel's: the channels left are not tried, and
        every one from there on is a ``stopped`` outcome with that error.
        """
        outcomes: list[ChannelOutcome] = []
        for index, plan in enumerate(plans):
            try:
                counts = await self.sync(plan)
            except AccountError as error:
                outcomes.extend(stopped_outcomes([left.key for left in plans[index:]], error))
                break
            except (TgvaultError, OSError) as error:
                outcomes.append(ChannelOutcome(plan.key, RunCounts(), error=str(error)))
            else:
                outcomes.append(ChannelOutcome(plan.key, counts))
        return outcomes

    @property
    def progress(self) -> Progress:
        """Where this archiver's runs report their progress and warnings."""
        return self._progress

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
        self._progress.started(key, None)
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
        except AccountError as exc:
            error = str(exc)  # the account's failure, reported once by the caller (not per channel)
            log.debug(
                "channel run stopped: the account cannot be used", channel=key, kind=kind, cause=exc.cause
            )
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

    # -- the refresh window ------------------------------------------------------------------

    async def _refresh(self, channel: Channel, plan: ChannelPlan, tally: Tally) -> None:
        """Re-read the newest posts to record edits, deletions and the latest counters."""
        now = self._clock()
        with self._uow() as uow:
            ids = uow.posts.ids_for_refresh(channel.id, plan.refresh.newest_posts, plan.refresh.since(now))
        seen = await self.reread(channel, plan, ids, tally)
        watch_vanished(self._uow, channel, plan, "sync", seen, self._clock())
        await self.comments.reread(channel, plan, ids, since=plan.refresh.since(now))

    async def reread(
        self,
        channel: Channel,
        plan: ChannelPlan,
        ids: Sequence[int],
        tally: Tally,
        *,
        pause: float = 0.0,
        after_batch: Callable[[UnitOfWork, Sequence[int]], None] | None = None,
        transform: Callable[[FetchedPost], FetchedPost] | None = None,
    ) -> Reread:
        """Re-read archived posts by id, 100 a request: edits become revisions, deletions tombstones, and
        changed counters a new point of their time series. ``after_batch`` runs in each batch's
        transaction (to save a checkpoint); ``pause`` seconds pass between requests; ``transform`` changes
        each post read before it is stored (comments made pseudonymous)."""
        seen = Reread()
        queue = self._queue(channel, plan.media, tally)
        for start in range(0, len(ids), REFRESH_BATCH):
            if start and pause > 0:
                await asyncio.sleep(pause)
            chunk = ids[start : start + REFRESH_BATCH]
            fetched = await self._source.get_posts(channel, chunk)
            present = [item for item in fetched.values() if item is not None]
            if transform is not None:
                present = [transform(item) for item in present]
            # None proves a deletion; an id the source left out is unknown and keeps its state
            gone = [
                message_id for message_id in chunk if message_id in fetched and fetched[message_id] is None
            ]
            with self._uow() as uow:
                outcome = uow.posts.upsert_many([item.post for item in present], self._clock())
                queued = queue.enqueue(uow, present)
                self._note_page(uow, channel, plan, present)
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

    async def _retry_media(self, channel: Channel, plan: ChannelPlan, tally: Tally) -> None:
        """Work the channel's download queue (this run's files and earlier runs' leftovers) until none is
        due, then its discussion group's."""
        await self._queue(channel, plan.media, tally).finish()
        group = self.comments.group_of(channel, plan)
        if group is not None and plan.comments is not None:
            await self._queue(group, plan.comments.media, tally).finish()

    async def _stop_media(self, channel: Channel | None) -> None:
        if channel is None:
            return
        group = self.comments.group_of(channel, None)
        for owner in (channel, group):
            queue = self._queues.pop(owner.id, None) if owner is not None else None
            if queue is not None:
                await queue.abort()

    def _note_page(
        self, uow: UnitOfWork, channel: Channel, plan: ChannelPlan, items: Sequence[FetchedPost]
    ) -> None:
        """In a page's transaction: the posts' comment threads (see :mod:`tgvault.services.comments`) and
        the pages they were read from (see :mod:`tgvault.services.captures`)."""
        self.comments.note(uow, channel, plan, items)
        keep_captures(uow, self._warcs, channel.id, items, self._clock())

    def _keep_pages(self, uow: UnitOfWork, owner: Channel, items: Sequence[FetchedPost]) -> None:
        """In a transaction: keep the pages these items (of ``owner``, e.g. a discussion group) were read
        from as WARC records."""
        keep_captures(uow, self._warcs, owner.id, items, self._clock())


def _lock_key(channel: Channel) -> str:
    return f"channel:{channel.id}"
