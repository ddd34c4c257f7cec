"""Month pages: a month's timeline pages (parts of a long month), its posts' permalinks, its search shard.

Every page gets a key from the archive state it shows (its posts' stamps, the places of replied posts,
the navigation); pages whose key the manifest already holds are not rendered. The posts of pages that
are rendered are read a page at a time, and each card is rendered once for the timeline page and the
permalinks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from tgvault.domain import AuditState
from tgvault.export.site.comment_threads import comment_search_texts
from tgvault.export.site.context import BuildContext
from tgvault.export.site.page_keys import digest
from tgvault.export.site.page_links import PageLinks
from tgvault.export.site.pages.cards import (
    card_items,
    related_posts,
    render_cards,
    reply_info,
    reply_place,
)
from tgvault.export.site.pages.permalinks import PermalinkPages
from tgvault.export.site.pages.timeline import TimelinePages
from tgvault.export.site.plan import ChannelPlan, TimelinePage
from tgvault.export.site.planned_posts import PlannedPost
from tgvault.export.site.post_record import audited_day, covering_stamp, record_html
from tgvault.export.site.search import SearchEntry, month_script, search_entry
from tgvault.export.site.writer import PageWriter
from tgvault.storage.repositories import PostLedgerFacts


@dataclass
class _PageWork:
    """A page of a month to look at: its key, whether it is rendered, the permalinks of it to write,
    whether its posts go to the search index."""

    page: TimelinePage
    key: str
    needed: bool
    permalinks: list[tuple[int, str]]
    searched: bool = False


class MonthPages:
    """Writes the pages of a channel's months; the permalinks of their posts through ``permalink_pages``."""

    def __init__(self, ctx: BuildContext, permalink_pages: PermalinkPages, out: PageWriter) -> None:
        self.ctx = ctx
        self.permalink_pages = permalink_pages
        self.out = out  # where the pages go (the writer of this month's unit of the build)
        self.timeline = TimelinePages(ctx)

    def _audit(self, channel_id: int) -> AuditState | None:
        """The channel's audit state, read by the planner (when its last audit checked which posts)."""
        return self.ctx.audits.get(channel_id)

    def write(
        self,
        plan: ChannelPlan,
        month: int,
        navigation: object,
        display: list[TimelinePage],
        position: dict[int, int],
        *,
        timeline: set[int] | None = None,
        permalinks: set[int] | None = None,
        shard: bool = True,
        search_fresh: set[int] | None = None,
    ) -> list[SearchEntry] | None:
        """A month's timeline pages, permalinks and search shard (only the pages named, when named).

        Returns what the search index is to learn of the month's posts when its shard was written (the
        index itself is built by the parent process, :class:`~tgvault.export.site.search.SearchIndex`):
        every post of the month, or with ``search_fresh`` (the posts whose entry may have changed) the
        posts of the pages holding one of them, the index keeping what it has of the others."""
        ctx = self.ctx
        writer = self.out
        days = plan.month_days(month)
        pages = [plan.pages[i] for i in plan.months[month]]
        parts = [(page.path, first, last) for page, first, last in plan.month_parts(month)]
        shard_path = plan.shard_path(month)
        shard_key = ""
        shard_needed = False
        if shard:
            shard_key = digest(
                ctx.global_key,
                "shard",
                [(i, stamp, page.path) for page in pages for i, stamp, _ in plan.posts.keyed(page.ids)],
            )
            shard_needed = not writer.skip_if_current(shard_path, shard_key)
        work: list[_PageWork] = []
        for page in pages:
            keyed = timeline is None or page.index in timeline
            linked = plan.post_pages and (permalinks is None or page.index in permalinks)
            searched = shard_needed and (search_fresh is None or not search_fresh.isdisjoint(page.ids))
            if not (keyed or linked):
                if searched:  # its posts are still read for the month's search shard
                    work.append(_PageWork(page, "", False, [], searched=True))
                continue
            at = position[page.index]
            neighbours = (
                display[at - 1].path if at > 0 else None,
                display[at + 1].path if at + 1 < len(display) else None,
            )
            # what the page's cards show, and what it shows around them (both in the key it is written with)
            cards_key = digest(
                ctx.global_key,
                "timeline",
                page.path,
                [
                    (message_id, stamp, reply_place(ctx.site, reply))
                    for message_id, stamp, reply in plan.posts.keyed_replies(page.ids)
                ],
            )
            page_key = f"{cards_key}.{digest(navigation, days, neighbours, parts)}"
            needed = keyed and not self.timeline.kept_or_reframed(
                writer, plan, page, pages, display, position, page_key
            )
            stale: list[tuple[int, str]] = []
            audit = self._audit(plan.channel.id) if linked else None
            newly = ctx.newly_stamped.get(plan.channel.id, set()) if linked else set()
            for group_rows in _album_runs([plan.posts[i] for i in page.ids] if linked else []):
                ids = [row.message_id for row in group_rows]
                group_key = digest(
                    ctx.global_key,
                    "post",
                    page.path,
                    [(row.message_id, row.stamp, reply_info(ctx.site, row)) for row in group_rows],
                    # a page shows its post's last check: the day of the audit that checked it (the
                    # ledger entries it shows move the post's stamp, written in their transaction)
                    [str(audited_day(audit, row.date, row.deleted, ctx.zone)) for row in group_rows],
                )
                for message_id in ids:
                    # a token taken since the last build covers it: the page says so, whatever its key
                    if message_id in newly or not writer.skip_if_current(
                        plan.permalink_path(message_id), group_key
                    ):
                        stale.append((message_id, group_key))
            work.append(_PageWork(page, page_key, needed, stale, searched=searched))
        if not shard_needed and not any(item.needed or item.permalinks for item in work):
            return None
        entries: list[SearchEntry] = []
        channel_id = plan.channel.id
        with ctx.uow_factory() as uow:
            for batch in _read_batches(
                [item for item in work if item.needed or item.permalinks or item.searched]
            ):
                # the posts of a few pages read at once (fewer statements), at most READ_BATCH of them
                batch_ids = [i for item in batch for i in item.page.ids]
                posts = uow.posts.for_display(channel_id, batch_ids)
                shown = [i for item in batch if item.needed or item.permalinks for i in item.page.ids]
                revisions = uow.posts.revisions_for(channel_id, shown) if shown else {}
                related = related_posts(ctx.site, uow, posts, channel_id) if shown else {}
                # the ledger's facts of every permalink of the batch, read at once (two statements)
                batch_links = [i for item in batch for i, _ in item.permalinks]
                facts = uow.ledger.post_facts(channel_id, batch_links) if batch_links else {}
                # and their views over time (posts whose views changed), one read for the batch
                views = uow.counters.views_for(channel_id, batch_links, min_points=2) if batch_links else {}
                # what search finds a post by besides its own text: its comments, read for the batch
                said = (
                    comment_search_texts(ctx, plan.channel, [i for i, p in posts.items() if p.replies])
                    if any(item.searched for item in batch)
                    else {}
                )
                for item in batch:
                    page = item.page
                    ordered = [posts[i] for i in page.ids if i in posts]
                    if item.needed or item.permalinks:
                        # one rendering per card, shared by the timeline page and the permalinks
                        cards = render_cards(
                            ctx, plan, PageLinks(plan.card_base, ctx.site), ordered, revisions, related
                        )
                        if item.needed:
                            items = card_items(ctx, plan, cards, days=True)
                            self.timeline.write(writer, plan, page, pages, items, display, position, item.key)
                        by_id = {message_id: card for card in cards for message_id in card.ids}
                        for message_id, key in item.permalinks:
                            self.permalink_pages.write(
                                plan,
                                message_id,
                                by_id.get(message_id),
                                key,
                                views.get(message_id, []),
                                self._record(plan, message_id, facts),
                            )
                    if item.searched:
                        links = PageLinks("search.html", ctx.site)
                        entries.extend(
                            search_entry(ctx, links, page.path, post, said.get(post.message_id, ""))
                            for post in ordered
                        )
        if not shard_needed:
            return None
        listed = (
            [e.message_id for e in entries] if search_fresh is None else [i for p in pages for i in p.ids]
        )
        writer.write(shard_path, month_script(plan, month, listed), shard_key)
        return entries

    def _record(self, plan: ChannelPlan, message_id: int, facts: dict[int, PostLedgerFacts]) -> Markup:
        """The archive record shown on a post's page (empty for a post the ledger does not know)."""
        found = facts.get(message_id)
        row = plan.posts.get(message_id)
        if found is None or row is None:
            return Markup("")
        audited = audited_day(self._audit(plan.channel.id), row.date, row.deleted, self.ctx.zone)
        page = plan.permalink_path(message_id)
        stamp = covering_stamp(self.ctx.stamps.get(plan.channel.id, []), found.seq)
        return record_html(found, audited, stamp, page=page, root=plan.root, zone=self.ctx.zone)


READ_BATCH = 500  # posts read for display at once (the pages of a batch are rendered from them)


def _read_batches(work: Sequence[_PageWork]) -> Iterator[list[_PageWork]]:
    """Consecutive pages in batches of at most :data:`READ_BATCH` posts (a longer page alone)."""
    batch: list[_PageWork] = []
    size = 0
    for item in work:
        if batch and size + len(item.page.ids) > READ_BATCH:
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += len(item.page.ids)
    if batch:
        yield batch


def _album_runs(rows: Sequence[PlannedPost]) -> Iterator[list[PlannedPost]]:
    """Consecutive rows of one album together, every other row alone."""
    run: list[PlannedPost] = []
    for row in rows:
        if run and row.group is not None and run[-1].group == row.group:
            run.append(row)
            continue
        if run:
            yield run
        run = [row]
    if run:
        yield run
