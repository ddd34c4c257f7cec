"""The walks of a channel's history: each page of posts committed with the checkpoint that covers it.

The archive's coverage of a channel is kept contiguous:

* ``newest_id`` — everything above the backfill checkpoint up to this id is archived; a sync walks
  upward from it (oldest first), raising it page by page.
* ``backfill_offset_id`` — a backfill walks downward (newest first) from ``backfill_top_id``; this is
  the lowest id it committed, where the next run resumes. ``backfill_complete`` marks the bottom.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from tgvault.domain import Channel, SyncState
from tgvault.services.media_queue import MediaQueue
from tgvault.services.plans import ChannelPlan, MediaPolicy
from tgvault.services.progress import Progress
from tgvault.services.tallies import Tally
from tgvault.sources.base import FetchedPost, PostSource
from tgvault.storage.repositories import UpsertOutcome
from tgvault.storage.unit_of_work import UnitOfWork


class HistoryWalker:
    """Walks channels' histories through one source into one archive, page by page, resumably."""

    def __init__(
        self,
        source: PostSource,
        unit_of_work: Callable[[], UnitOfWork],
        *,
        progress: Progress,
        clock: Callable[[], datetime],
        heartbeat: Callable[[UnitOfWork, Channel], None],
        queue_for: Callable[[Channel, MediaPolicy, Tally], MediaQueue],
        note: Callable[[UnitOfWork, Channel, ChannelPlan, Sequence[FetchedPost]], None] | None = None,
    ) -> None:
        """``heartbeat`` runs in each page's transaction (to keep the channel's lock); ``queue_for`` gives
        the run's download queue of a channel, which queues each page's files."""
        self._source = source
        self._uow = unit_of_work
        self._progress = progress
        self._clock = clock
        self._heartbeat = heartbeat
        self._queue = queue_for
        self._note = note

    def has_started(self, channel: Channel) -> bool:
        """True once any walk of the channel committed (or found it empty)."""
        with self._uow() as uow:
            state = uow.sync_state.get(channel.id)
        return state.newest_id > 0 or state.backfill_complete

    async def walk_newer(self, channel: Channel, plan: ChannelPlan, tally: Tally) -> None:
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

            outcome = await self._commit_page(channel, plan, page.posts, newer_checkpoint, queue)
            tally.add(posts_added=outcome.added, posts_edited=outcome.edited)
            self._progress.advance(len(page.posts))

    async def walk_older(self, channel: Channel, plan: ChannelPlan, tally: Tally) -> None:
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

                outcome = await self._commit_page(channel, plan, in_range, older_checkpoint, queue)
                offset = min(item.post.message_id for item in in_range)
                tally.add(posts_added=outcome.added, posts_edited=outcome.edited)
                self._progress.advance(len(in_range))
            if reached_since:
                return
        with self._uow() as uow:
            state = uow.sync_state.get(channel.id)
            uow.sync_state.save(state.model_copy(update={"backfill_complete": True}))
            uow.commit()

    async def walk_range(self, channel: Channel, plan: ChannelPlan, tally: Tally) -> None:
        """Archive posts dated ``plan.since`` .. ``plan.until``; no checkpoint, upserts make it repeatable."""
        self._progress.started(plan.key, None)
        queue = self._queue(channel, plan.media, tally)
        async for page in self._source.older(channel, offset_date=plan.until):
            in_range = [item for item in page.posts if plan.since is None or item.post.date >= plan.since]
            if in_range:
                outcome = await self._commit_page(channel, plan, in_range, None, queue)
                tally.add(posts_added=outcome.added, posts_edited=outcome.edited)
                self._progress.advance(len(in_range))
            if len(in_range) < len(page.posts):
                return

    async def _commit_page(
        self,
        channel: Channel,
        plan: ChannelPlan,
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
                if self._note is not None:
                    self._note(uow, channel, plan, items)
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
