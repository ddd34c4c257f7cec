"""``build_site``: read the archive, plan every page, render and write only what changed.

Phase one streams each channel's post outlines (no text kept, no raw TL) into a :class:`SitePlan`.
Phase two walks the plan month by month. For every page it computes a key from the archive's state
(the posts' ``updated_at`` stamps, the places of replied posts, the navigation, the theme's own code
and templates); a page whose key matches the manifest is not even rendered. Pages with a new key are
rendered from posts read a page at a time and written only when their bytes differ.

Phase one lives in :mod:`tgvault.export.site.planning`; each kind of page is put together by its own
module of :mod:`tgvault.export.site.pages`; both share a :class:`BuildContext`.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from tgvault.export.progress import ExportProgress, NoProgress
from tgvault.export.site.context import BuildContext, UnitOfWorkFactory
from tgvault.export.site.incremental import ChannelChanges
from tgvault.export.site.ledger_files import publish_ledger
from tgvault.export.site.month_workers import MonthWriting, posts_in
from tgvault.export.site.options import SiteBuildReport, SiteOptions
from tgvault.export.site.pages.channel_feeds import channel_feeds
from tgvault.export.site.pages.channel_index import channel_index
from tgvault.export.site.pages.channel_stats import channel_stats
from tgvault.export.site.pages.landing import landing_page, search_page
from tgvault.export.site.pages.tags import TagPages
from tgvault.export.site.plan import ChannelPlan
from tgvault.export.site.planning import Planner
from tgvault.export.site.render import Renderer, static_files
from tgvault.export.site.search import SearchIndex
from tgvault.export.site.writer import MediaFiles, SiteWriter


def build_site(
    uow_factory: UnitOfWorkFactory,
    media_store: MediaFiles,
    options: SiteOptions,
    *,
    full: bool = False,
    progress: ExportProgress | None = None,
) -> SiteBuildReport:
    """Build (or bring up to date) the static site of the archive in ``options.out_dir``.

    With ``full`` every page and media file is written again; otherwise only pages whose content
    changed are written and pages that no longer exist are removed. ``progress`` is told of the
    posts planned (a build from scratch), then of the pages written (counted by the posts of the
    months written). Raises :class:`SiteError` when the site cannot be built (bad options, unwritable
    folder, a broken user template).
    """
    build = _Build(uow_factory, media_store, options, full)
    build.ctx.progress = progress or NoProgress()
    try:
        with _fewer_collections():
            return build.run()
    finally:
        build.ctx.writer.close()


YOUNG_COLLECTION_AT = 10_000  # objects allocated (net) between two collections of the youngest generation


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """The cyclic garbage collector spared the objects that outlive the build (modules, the process's
    caches: frozen, and so not traversed by every full collection) and run less often, for the build's
    length (forked workers inherit both). A build allocates millions of short-lived objects that hold no
    cycles; with the default threshold the collector took ≈8% of a full build's CPU time."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], YOUNG_COLLECTION_AT), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


class _Build:
    """One build: the planner (phase one), then the page builders of every channel (phase two)."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, media_store: MediaFiles, options: SiteOptions, full: bool
    ) -> None:
        zone = options.zone()
        report = SiteBuildReport()
        renderer = Renderer(options)
        writer = SiteWriter(options.out_dir, report, full=full)
        # planned from scratch: asked for, or the first build after the media naming changed
        self.replan = full or writer.rerender
        self.ctx = BuildContext(uow_factory, media_store, options, zone, report, renderer, writer)
        self.planner = Planner(self.ctx)
        self.tags = TagPages(self.ctx)

    # ---- the two phases --------------------------------------------------------------------------

    def run(self) -> SiteBuildReport:
        """Plan every channel (or bring the last build's plan up to date), then write what changed."""
        started = time.perf_counter()
        clock = datetime.now(UTC)  # before anything is read: where the next build reads changes from
        ctx, planner = self.ctx, self.planner
        channels = planner.channels()
        changes = None if self.replan else planner.incremental(channels, clock)
        if changes is None:
            planner.plan(channels, clock)
        for name, data in static_files().items():
            ctx.writer.write(f"static/{name}", data)
        plans = list(ctx.site.channels.values())
        units = [
            (plan, month, None if changes is None else changes[plan.channel.id])
            for plan in plans
            for month in _months_to_write(plan, None if changes is None else changes[plan.channel.id])
        ]
        ctx.progress.started("writing pages", sum(posts_in(plan, month) for plan, month, _ in units), "posts")
        search = SearchIndex(ctx)  # built here, from what each month's unit hands back
        MonthWriting(ctx, search).run(units)
        for plan in plans:
            self._channel(plan, None if changes is None else changes[plan.channel.id])
        landing_page(ctx, plans)
        search_page(ctx, plans, search)
        with ctx.uow_factory() as uow:  # each channel's ledger beside its pages (issue 21)
            for plan in plans:
                publish_ledger(uow, ctx.writer, plan.channel.id, plan.root)
        planner.keep(plans, from_scratch=changes is None)
        ctx.writer.finish()
        ctx.report.channels = len(plans)
        ctx.report.posts = sum(len(plan.posts) for plan in plans)
        ctx.report.seconds = time.perf_counter() - started
        ctx.progress.finished()
        return ctx.report

    # ---- a channel ---------------------------------------------------------------------------------

    def _channel(self, plan: ChannelPlan, changes: ChannelChanges | None = None) -> None:
        """The pages of a channel besides its months (written by :class:`MonthWriting`); with ``changes``
        (an incremental build) only those they reach."""
        ctx = self.ctx
        channel_index(ctx, plan)
        self.tags.write(
            plan, None if changes is None else changes.tags, None if changes is None else changes.tag_from
        )
        channel_stats(ctx, plan)
        channel_feeds(ctx, plan)
        if changes is not None:
            for path in changes.removed:
                ctx.writer.drop(path)


def _months_to_write(plan: ChannelPlan, changes: ChannelChanges | None) -> list[int]:
    """The months whose pages a build writes: all of them, or those an incremental build's changes reach."""
    if changes is None:
        return sorted(plan.months)
    timeline = changes.timeline
    months = {plan.pages[i].month for i in changes.permalinks} | changes.shard_months
    if timeline is None:
        months.update(plan.months)
    else:
        months.update(plan.pages[i].month for i in timeline)
    return sorted(months & set(plan.months))
