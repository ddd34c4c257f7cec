"""Phase two on every core: the month pages of the site (timeline pages, their posts' permalinks, the
month's search shard) rendered by a pool of processes, one unit of work per month of a channel.

The plan is made once, in the parent, before the pool starts; the workers are forked from it, so they
share it (copy on write) instead of receiving it. Each worker opens its own database connections (the
parent's are left alone) and writes its own files. What the manifest must learn of a unit travels back
as a :class:`~tgvault.export.site.writer.BatchResult` and is recorded by the parent in bulk, in the
order the units were handed out, so a build with one worker and a build with many write the same bytes
and the same manifest. Where ``fork`` is not available, one worker is asked for or the archive lives in
this process's memory, the units run in the parent, one after the other, through the same code.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from tgvault.export.site.context import BuildContext
from tgvault.export.site.incremental import ChannelChanges
from tgvault.export.site.pages.months import MonthPages
from tgvault.export.site.pages.permalinks import PermalinkPages
from tgvault.export.site.plan import ChannelPlan, TimelinePage
from tgvault.export.site.search import SearchEntry, SearchIndex
from tgvault.export.site.search.spill import SpillPart
from tgvault.export.site.search.text_blocks import month_block_paths
from tgvault.export.site.writer import BatchResult, BatchWriter

# With ``workers`` left to its default, a build with fewer posts to write than this stays in one process
# (starting a pool costs more than it saves); a number of workers asked for is always used.
POOL_FROM_POSTS = 5000
PENDING_PER_WORKER = 3  # units handed out ahead per worker (their manifest entries are read when handed out)


@dataclass(frozen=True)
class MonthUnit:
    """One month of one channel to write, with the manifest entries of the paths it may write."""

    channel_id: int
    month: int
    entries: dict[str, tuple[str | None, str, int]]
    timeline: frozenset[int] | None = None  # an incremental build: the page indexes to key (None: all)
    permalinks: frozenset[int] | None = None  # the page indexes whose permalinks to key (None: all)
    shard: bool = True
    incremental: bool = False
    # the month's posts whose search entry may have changed (None: every post's entry is handed over)
    search_fresh: frozenset[int] | None = None


@dataclass(frozen=True)
class MonthResult:
    """What a unit did: the files it wrote (for the manifest) and, when it wrote the month's search shard,
    the month's posts as the search index is to learn them (the index is built in the parent)."""

    batch: BatchResult
    search: list[SearchEntry] | None
    spilled: bool = False  # the keys of ``search`` are filed already (by the process that rendered them)
    partial: bool = False  # ``search`` holds the posts that may have changed, the index has the others


@dataclass
class _Layout:
    """What every month page of a channel shows of the channel's timeline."""

    navigation: tuple[tuple[int, str], ...]
    display: list[TimelinePage]
    position: dict[int, int]


@dataclass
class _Shared:
    """What the units of one build read: set in the parent before the workers are forked."""

    ctx: BuildContext
    layouts: dict[int, _Layout]
    search: SearchIndex
    builders: tuple[MonthPages, PermalinkPages] | None = None
    spill: SpillPart | None = None  # this process's share of the search index's spill
    spill_pid: int = 0


_shared: _Shared | None = None


def _layout(plan: ChannelPlan) -> _Layout:
    display = plan.display_pages()
    return _Layout(
        navigation=tuple((month, plan.month_entry(month).path) for month in plan.display_months()),
        display=display,
        position={page.index: number for number, page in enumerate(display)},
    )


def _start_worker() -> None:
    """In a new worker: connections of its own to the archive."""
    if _shared is not None:
        _shared.ctx.uow_factory().release_inherited_connections()


def render_month(unit: MonthUnit) -> MonthResult:
    """Render and write the pages of one unit (in a worker, or in the parent)."""
    shared = _shared
    if shared is None:  # pragma: no cover - a unit is only ever run inside MonthWriting.run
        raise RuntimeError("render_month runs only inside MonthWriting.run")
    ctx = shared.ctx
    writer = ctx.writer
    out = BatchWriter(writer.out_dir, unit.entries, full=writer.full, rerender=writer.rerender)
    if shared.builders is None:  # once a process: the frames and headers permalinks share stay cached
        permalinks = PermalinkPages(ctx, out)
        shared.builders = (MonthPages(ctx, permalinks, out), permalinks)
    months, permalinks = shared.builders
    months.out = permalinks.out = out
    plan = ctx.site.channels[unit.channel_id]
    layout = shared.layouts[unit.channel_id]
    if unit.incremental:
        search = months.write(
            plan,
            unit.month,
            layout.navigation,
            layout.display,
            layout.position,
            timeline=None if unit.timeline is None else set(unit.timeline),
            permalinks=None if unit.permalinks is None else set(unit.permalinks),
            shard=unit.shard,
            search_fresh=None if unit.search_fresh is None else set(unit.search_fresh),
        )
    else:
        search = months.write(plan, unit.month, layout.navigation, layout.display, layout.position)
    spilled = False
    if search is not None:
        if shared.spill_pid != os.getpid():  # once a process: its own files in the spill
            shared.spill, shared.spill_pid = shared.search.spill_part(), os.getpid()
        if shared.spill is not None:  # a build from scratch: the month's keys, worked out here
            shared.search.file_keys(shared.spill, out, plan, unit.month, search)
            spilled = True
    return MonthResult(out.finish(), search, spilled, partial=unit.search_fresh is not None)


def posts_in(plan: ChannelPlan, month: int) -> int:
    """How many posts a month of the channel's timeline holds."""
    return sum(len(plan.pages[index].ids) for index in plan.months[month])


class MonthWriting:
    """Writes the month pages of every channel of the plan, on ``options.worker_count()`` processes."""

    def __init__(self, ctx: BuildContext, search: SearchIndex) -> None:
        self.ctx = ctx
        self.search = search

    def run(self, months: Sequence[tuple[ChannelPlan, int, ChannelChanges | None]]) -> None:
        """Write each (channel, month, its changes in an incremental build) given."""
        global _shared
        ctx = self.ctx
        plans = {plan.channel.id: plan for plan, _, _ in months}
        self.search.prepare()  # before the workers fork: they file the index's keys of their months
        _shared = _Shared(ctx, {channel_id: _layout(plan) for channel_id, plan in plans.items()}, self.search)
        workers = min(ctx.options.worker_count(), len(months))
        if ctx.options.workers is None and sum(posts_in(plan, m) for plan, m, _ in months) < POOL_FROM_POSTS:
            workers = 1
        try:
            if (
                workers <= 1
                or "fork" not in multiprocessing.get_all_start_methods()
                or not ctx.uow_factory().reachable_from_other_processes()
            ):
                for plan, month, changes in months:
                    self._record(plan, month, render_month(self._unit(plan, month, changes)))
                return
            pool = ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("fork"), initializer=_start_worker
            )
            with pool:
                pending: deque[tuple[ChannelPlan, int, Future[MonthResult]]] = deque()
                for plan, month, changes in months:
                    pending.append((plan, month, pool.submit(render_month, self._unit(plan, month, changes))))
                    if len(pending) >= workers * PENDING_PER_WORKER:
                        done_plan, done_month, future = pending.popleft()
                        self._record(done_plan, done_month, future.result())
                while pending:
                    done_plan, done_month, future = pending.popleft()
                    self._record(done_plan, done_month, future.result())
        finally:
            _shared = None

    def _unit(self, plan: ChannelPlan, month: int, changes: ChannelChanges | None) -> MonthUnit:
        """The unit of one month, with the manifest entries of every path it may write."""
        paths = [plan.shard_path(month)]
        for index in plan.months[month]:
            page = plan.pages[index]
            paths.append(page.path)
            if plan.post_pages:
                paths.extend(plan.permalink_path(message_id) for message_id in page.ids)
        if self.search.spilling:  # the unit writes the month's text blocks of the search index too
            ids = (message_id for index in plan.months[month] for message_id in plan.pages[index].ids)
            paths.extend(sorted(month_block_paths(plan.channel.id, month, ids)))
        entries = self.ctx.writer.batch_entries(paths)
        pages = set(plan.months[month])
        if changes is None:
            return MonthUnit(plan.channel.id, month, entries)
        return MonthUnit(
            plan.channel.id,
            month,
            entries,
            timeline=None if changes.timeline is None else frozenset(changes.timeline),
            permalinks=frozenset(changes.permalinks),
            shard=month in changes.shard_months,
            incremental=True,
            # a patched index keeps the entries of the month's other posts (a new one is filed whole)
            search_fresh=None
            if self.search.spilling
            else frozenset(i for i in changes.dirty if plan.posts.page_of(i) in pages),
        )

    def _record(self, plan: ChannelPlan, month: int, result: MonthResult) -> None:
        self.ctx.writer.record_batch(result.batch)
        if result.search is not None:
            listed = (
                [i for index in plan.months[month] for i in plan.pages[index].ids] if result.partial else None
            )
            self.search.month(plan, month, result.search, spilled=result.spilled, month_ids=listed)
        self.ctx.progress.advance(posts_in(plan, month))
