"""``build_site``: read the archive, plan every page, render and write only what changed.

Phase one streams each channel's post outlines (no text kept, no raw TL) into a :class:`SitePlan`.
Phase two walks the plan month by month. For every page it computes a key from the archive's state
(the posts' ``updated_at`` stamps, the places of replied posts, the navigation, the theme's own code
and templates); a page whose key matches the manifest is not even rendered. Pages with a new key are
rendered from posts read a page at a time and written only when their bytes differ.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

from markupsafe import Markup

from tgvault import __version__
from tgvault.domain import Channel, Post, PostRevision
from tgvault.export.site.feeds import atom_feed, rss_feed
from tgvault.export.site.frame import FrameCache
from tgvault.export.site.incremental import (
    PLAN_FORMAT,
    ChannelChanges,
    StalePlan,
    add_repliers,
    decode_plan,
    encode_plan,
    merge_changes,
    next_since,
)
from tgvault.export.site.links import media_site_path, relative_url, tme_channel_url, valid_username
from tgvault.export.site.manifest import plan_digests
from tgvault.export.site.options import Order, SiteBuildReport, SiteError, SiteOptions
from tgvault.export.site.plan import (
    MONTH_NAMES,
    ChannelPlan,
    PlannedPost,
    SitePlan,
    TagPlan,
    TimelinePage,
    day_anchor,
    digest,
    month_label,
    plan_channel,
    post_anchor,
)
from tgvault.export.site.render import Renderer, static_files
from tgvault.export.site.richtext import clean_text, plain, snippet
from tgvault.export.site.search import SearchEntry, index_script, searchable_text, shard_script
from tgvault.export.site.stats import stats_context, views_over_time
from tgvault.export.site.views import (
    CardContext,
    CardView,
    PageLinks,
    build_card,
    channel_header,
    describe_post,
    format_day,
    format_full,
    group_cards,
    human_count,
)
from tgvault.export.site.writer import MediaFiles, SiteWriter
from tgvault.storage.repositories import PostOutline
from tgvault.storage.unit_of_work import UnitOfWork

UnitOfWorkFactory = Callable[[], UnitOfWork]
FETCH_CHUNK = 500
DATES_CACHED = 4096  # formatted dates kept for reuse (a cache, cleared when full)


def build_site(
    uow_factory: UnitOfWorkFactory,
    media_store: MediaFiles,
    options: SiteOptions,
    *,
    full: bool = False,
) -> SiteBuildReport:
    """Build (or bring up to date) the static site of the archive in ``options.out_dir``.

    With ``full`` every page and media file is written again; otherwise only pages whose content
    changed are written and pages that no longer exist are removed. Raises :class:`SiteError` when
    the site cannot be built (bad options, unwritable folder, a broken user template).
    """
    build = _Build(uow_factory, media_store, options, full)
    try:
        return build.run()
    finally:
        build.writer.close()


@dataclass
class _PageWork:
    page: TimelinePage
    key: str
    needed: bool
    permalinks: list[tuple[int, str]]


@dataclass(frozen=True)
class _Card:
    ids: list[int]
    first: Post
    view: CardView
    html: Markup


class _Build:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, media_store: MediaFiles, options: SiteOptions, full: bool
    ) -> None:
        self.uow_factory = uow_factory
        self.media_store = media_store
        self.options = options
        self.full = full
        self.zone = options.zone()
        self.report = SiteBuildReport()
        self.renderer = Renderer(options)
        self.writer = SiteWriter(options.out_dir, self.report, full=full)
        self.site = SitePlan({})
        self.missing_media: set[str] = set()
        self.avatars: dict[int, str | None] = {}
        self.global_key = ""
        self._engine = ""
        self._dates: dict[datetime, str] = {}
        self._kept_parts: dict[int, dict[str, str]] = {}  # digests of the kept plan's parts, by channel
        self.marks: dict[int, tuple[datetime, datetime]] = {}  # where the next build reads changes from
        self.frames = FrameCache()
        self.permalink_headers: dict[int, dict[str, object]] = {}

    # ---- the two phases --------------------------------------------------------------------------

    def run(self) -> SiteBuildReport:
        """Plan every channel (or bring the last build's plan up to date), then write what changed."""
        started = time.perf_counter()
        clock = datetime.now(UTC)  # before anything is read: where the next build reads changes from
        channels = self._channels()
        changes = None if self.full else self._incremental(channels, clock)
        if changes is None:
            self._plan(channels, clock)
        for name, data in static_files().items():
            self.writer.write(f"static/{name}", data)
        plans = list(self.site.channels.values())
        for plan in plans:
            self._channel(plan, None if changes is None else changes[plan.channel.id])
        self._root(plans)
        self.writer.write(
            "search.html", self.renderer.render("search.html", **self._page("search.html", "Search"))
        )
        self.writer.write("search/index.js", index_script(plans))
        self._keep_plan(plans, from_scratch=changes is None)
        self.writer.finish()
        self.report.channels = len(plans)
        self.report.posts = sum(len(plan.posts) for plan in plans)
        self.report.seconds = time.perf_counter() - started
        return self.report

    # ---- planning: from scratch, or from the last build's plan -------------------------------------

    def _plan(self, channels: Sequence[Channel], clock: datetime) -> None:
        """Plan every post of every channel (today's archive, read whole)."""
        self.site = SitePlan({})
        self.missing_media = set()
        manifest = self.writer.manifest
        manifest.clear_plan()  # planned again from scratch; the files posts show are recorded as planned
        for channel in channels:
            with self.uow_factory() as uow:
                posts_mark, media_mark = uow.posts.change_marks(channel.id)

                def record(shown: list[tuple[int, str]], channel_id: int = channel.id) -> None:
                    manifest.add_post_media(channel_id, shown)

                self.site.channels[channel.id] = plan_channel(
                    channel, uow.posts.outline(channel.id), self.options, media_sink=record
                )
            self.marks[channel.id] = (next_since(posts_mark, clock), next_since(media_mark, clock))
        self._media()
        self.global_key = self._global_key(channels)

    def _engine_hash(self) -> str:
        if not self._engine:
            self._engine = self.renderer.engine_hash()
        return self._engine

    def _global_key(self, channels: Sequence[Channel]) -> str:
        options = self.options
        return digest(
            self._engine_hash(),
            options.title,
            options.base_url,
            options.timezone,
            options.order.value,
            options.posts_per_page,
            # every page of a channel links to its hashtag index once it has one
            [(c.id, c.username, c.title, self.avatars.get(c.id), self._has_tags(c.id)) for c in channels],
            sorted(self.missing_media),
        )

    def _has_tags(self, channel_id: int) -> bool:
        plan = self.site.channels.get(channel_id)
        return plan is not None and bool(plan.tags)

    def _fingerprint(self, channels: Sequence[Channel]) -> str:
        """Everything besides the posts that a kept plan and its pages depend on."""
        return digest(
            PLAN_FORMAT,
            __version__,
            self._engine_hash(),
            replace(self.options, out_dir=Path()),
            [(c.id, c.username, c.title, self.avatars.get(c.id)) for c in channels],
        )

    def _incremental(self, channels: Sequence[Channel], clock: datetime) -> dict[int, ChannelChanges] | None:
        """Bring the last build's plan up to date; None when the site must be planned from scratch."""
        manifest = self.writer.manifest
        raw = manifest.plan_value("site")
        if raw is None:
            return None
        try:
            kept_site = json.loads(raw.decode("utf-8"))
        except ValueError:
            return None
        for channel in channels:
            self.avatars[channel.id] = self._avatar(channel)
        if (
            not isinstance(kept_site, dict)
            or kept_site.get("missing")
            or kept_site.get("fingerprint") != self._fingerprint(channels)
        ):
            return None
        zone, per_page = self.zone, self.options.posts_per_page
        changes: dict[int, ChannelChanges] = {}
        try:
            kept = {}
            for channel in channels:
                parts = manifest.channel_plan(channel.id)
                self._kept_parts[channel.id] = plan_digests(parts)
                kept[channel.id] = decode_plan(channel, self.options.order, parts)
                del parts  # decoded: the plan holds its own copy
            with self.uow_factory() as uow:
                for channel in channels:
                    kept_plan = kept[channel.id]
                    posts_mark, media_mark = uow.posts.change_marks(channel.id)
                    ids = uow.posts.changed_since(channel.id, kept_plan.posts_since, kept_plan.media_since)
                    outlines = uow.posts.outline_for(channel.id, ids)
                    self.report.changed_posts += len(outlines)

                    def more(wanted: list[int], channel_id: int = channel.id) -> list[PostOutline]:
                        return uow.posts.outline_for(channel_id, wanted)

                    changes[channel.id] = merge_changes(kept_plan.plan, outlines, zone, per_page, more)
                    if len(kept_plan.plan.posts) != uow.posts.count(channel.id):
                        raise StalePlan("posts were removed from the archive")
                    self.marks[channel.id] = (next_since(posts_mark, clock), next_since(media_mark, clock))
        except StalePlan:
            self._restart()
            return None
        # the files of changed posts: in place, or plan from scratch (the site-wide key names missing ones)
        mode = self.options.media_mode
        unused: set[str] = set()
        for channel_id, change in changes.items():
            before = manifest.post_media(channel_id, sorted(change.media))
            for store_path in sorted({path for path in change.media.values() if path}):
                missing = self.writer.media(self.media_store, store_path, mode) is None
                if missing and media_site_path(store_path) is not None:
                    self._restart()
                    return None
            manifest.set_post_media(channel_id, change.media)
            unused.update(path for i, path in before.items() if change.media.get(i) != path)
        for store_path in sorted(unused):
            site_path = media_site_path(store_path)
            if site_path is not None and not manifest.media_in_use(store_path):
                self.writer.drop_media(site_path)
        self.site = SitePlan({channel_id: kept[channel_id].plan for channel_id in kept})
        targets = {channel_id: change.dirty for channel_id, change in changes.items() if change.dirty}
        if targets:
            for plan in self.site.channels.values():
                add_repliers(plan, changes[plan.channel.id], targets)
        self.global_key = self._global_key(channels)
        self.writer.incremental = True
        self.report.incremental = True
        return changes

    def _restart(self) -> None:
        """Forget what an incremental attempt did before planning from scratch."""
        self.site = SitePlan({})
        self.marks.clear()
        self._kept_parts = {}
        self.report = self.writer.report = SiteBuildReport()

    def _keep_plan(self, plans: Sequence[ChannelPlan], *, from_scratch: bool) -> None:
        """Keep this build's plan in the manifest for the next build."""
        manifest = self.writer.manifest
        for plan in plans:
            posts_since, media_since = self.marks[plan.channel.id]
            manifest.save_channel_plan(
                plan.channel.id,
                encode_plan(plan, posts_since, media_since),
                None if from_scratch else self._kept_parts.get(plan.channel.id),
            )
        kept = {
            "fingerprint": self._fingerprint([plan.channel for plan in plans]),
            "missing": sorted(self.missing_media),
        }
        manifest.save_plan_value("site", json.dumps(kept).encode("utf-8"))

    def _channels(self) -> list[Channel]:
        with self.uow_factory() as uow:
            channels = uow.channels.list()
        wanted = self.options.channel_ids
        if wanted is not None:
            known = {channel.id for channel in channels}
            unknown = sorted(set(wanted) - known)
            if unknown:
                raise SiteError(f"channels not in the archive: {', '.join(map(str, unknown))}")
            channels = [channel for channel in channels if channel.id in set(wanted)]
        return channels

    def _media(self) -> None:
        mode = self.options.media_mode
        manifest = self.writer.manifest
        for plan in self.site.channels.values():
            for store_path in manifest.files_shown(plan.channel.id):
                if self.writer.media(self.media_store, store_path, mode) is None:
                    site_path = media_site_path(store_path)
                    if site_path is not None:
                        self.missing_media.add(site_path)
            self.avatars[plan.channel.id] = self._avatar(plan.channel)

    def _avatar(self, channel: Channel) -> str | None:
        sha = channel.photo_sha256
        if not sha or len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha):
            return None
        for candidate in self.media_store.find(sha):
            site_path = self.writer.media(self.media_store, candidate, self.options.media_mode)
            if site_path is not None:
                return site_path
        return None

    # ---- shared page pieces ----------------------------------------------------------------------

    def _page(self, path: str, title: str, **extra: Any) -> dict[str, Any]:
        links = PageLinks(path, self.site)
        base = self.options.absolute_base
        page = {
            "path": path,
            "title": clean_text(title),
            "root": links.to("index.html"),
            "search": links.to("search.html"),
            "css": links.static("site.css"),
            "noscript_css": links.static("noscript.css"),
            "js": links.static("site.js"),
            "icon": links.static("favicon.svg"),
            "canonical": f"{base}/{path}" if base else None,
            "timezone": self.options.timezone,
        }
        return {"page": page, "links": links, **extra}

    def _header(self, plan: ChannelPlan, links: PageLinks) -> dict[str, object]:
        return channel_header(plan, links, self.avatars.get(plan.channel.id))

    def _navigator(self, plan: ChannelPlan, links: PageLinks, current: int | None, counts: bool) -> list[Any]:
        years: list[dict[str, Any]] = []
        sizes = {
            month: sum(len(plan.pages[i].ids) for i in indexes) for month, indexes in plan.months.items()
        }
        for year, months in groupby(plan.display_months(), key=lambda m: m // 12):
            entries = [
                {
                    "label": MONTH_NAMES[month % 12][:3],
                    "title": month_label(month),
                    "url": links.to(plan.month_entry(month).path),
                    "current": month == current,
                    "count": sizes[month] if counts else None,
                }
                for month in months
            ]
            years.append({"year": year, "months": entries})
        return years

    def _reply_info(self, post: PlannedPost) -> object:
        if post.reply_to is None:
            return None
        found = self.site.locate(*post.reply_to)
        if found is None:
            return post.reply_to
        target_plan, target = found
        return post.reply_to, target_plan.pages[target.page].path, target.stamp

    def _related(
        self, uow: UnitOfWork, posts: Mapping[int, Post], channel_id: int
    ) -> dict[tuple[int, int], Post]:
        wanted: dict[int, set[int]] = {}
        for post in posts.values():
            if post.reply_to_message_id is None:
                continue
            target = (post.reply_to_channel_id or post.channel_id, post.reply_to_message_id)
            if target[0] == channel_id and target[1] in posts:
                continue
            if self.site.locate(*target) is not None:
                wanted.setdefault(target[0], set()).add(target[1])
        related = {(channel_id, message_id): post for message_id, post in posts.items()}
        for target_channel, ids in wanted.items():
            for message_id, post in uow.posts.for_display(target_channel, sorted(ids)).items():
                related[(target_channel, message_id)] = post
        return related

    def _cards(
        self,
        plan: ChannelPlan,
        links: PageLinks,
        posts: Sequence[Post],
        revisions: Mapping[int, Sequence[PostRevision]],
        related: Mapping[tuple[int, int], Post],
    ) -> list[_Card]:
        """Cards of ``posts`` (chronological), each rendered once to HTML with links relative to ``links``."""
        context = CardContext(
            links=links,
            plan=plan,
            zone=self.zone,
            avatar_path=self.avatars.get(plan.channel.id),
            revisions=revisions,
            related=related,
            media_ok=lambda site_path: site_path not in self.missing_media,
        )
        cards = []
        for group in group_cards(posts):
            view = build_card(group, context)
            html = self.renderer.card(view)
            # Safe: the output of an autoescaping template, where post content only enters escaped.
            cards.append(_Card([post.message_id for post in group], group[0], view, Markup(html)))  # noqa: S704
        return cards

    def _items(
        self, plan: ChannelPlan, cards: Sequence[_Card], *, days: bool, newest_first: bool | None = None
    ) -> list[dict[str, Any]]:
        """Cards in display order, with a day heading before the first card of each day."""
        if newest_first is None:
            newest_first = plan.order is Order.NEWEST
        ordered = list(reversed(cards)) if newest_first else list(cards)
        items: list[dict[str, Any]] = []
        last_day: int | None = None
        for card in ordered:
            item: dict[str, Any] = {"html": card.html, "day_anchor": None, "day_label": None}
            day = plan.posts[card.first.message_id].day
            if days and day != last_day:
                item["day_anchor"] = day_anchor(day)
                item["day_label"] = format_day(card.first.date, self.zone)
                last_day = day
            items.append(item)
        return items

    def _fetch(self, uow: UnitOfWork, channel_id: int, ids: Sequence[int]) -> Iterator[dict[int, Post]]:
        for start in range(0, len(ids), FETCH_CHUNK):
            yield uow.posts.for_display(channel_id, ids[start : start + FETCH_CHUNK])

    # ---- a channel ---------------------------------------------------------------------------------

    def _channel(self, plan: ChannelPlan, changes: ChannelChanges | None = None) -> None:
        """Every page of a channel; with ``changes`` (an incremental build) only the pages they reach."""
        navigation = tuple((month, plan.month_entry(month).path) for month in plan.display_months())
        display = plan.display_pages()
        position = {page.index: number for number, page in enumerate(display)}
        if changes is None:
            for month in sorted(plan.months):
                self._month(plan, month, navigation, display, position)
        else:
            timeline = changes.timeline
            months = {plan.pages[i].month for i in changes.permalinks} | changes.shard_months
            if timeline is None:
                months.update(plan.months)
            else:
                months.update(plan.pages[i].month for i in timeline)
            for month in sorted(months & set(plan.months)):
                self._month(
                    plan,
                    month,
                    navigation,
                    display,
                    position,
                    timeline=timeline,
                    permalinks=changes.permalinks,
                    shard=month in changes.shard_months,
                )
        self._channel_index(plan)
        self._tags(
            plan, None if changes is None else changes.tags, None if changes is None else changes.tag_from
        )
        self._stats(plan)
        self._feeds(plan)
        if changes is not None:
            for path in changes.removed:
                self.writer.drop(path)

    def _month(
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
    ) -> None:
        """A month's timeline pages, permalinks and search shard (only the pages named, when named)."""
        writer = self.writer
        days = plan.month_days(month)
        pages = [plan.pages[i] for i in plan.months[month]]
        parts = [(page.path, first, last) for page, first, last in plan.month_parts(month)]
        shard_path = plan.shard_path(month)
        shard_key = ""
        shard_needed = False
        if shard:
            shard_key = digest(
                self.global_key,
                "shard",
                [(i, plan.posts[i].stamp, page.path) for page in pages for i in page.ids],
            )
            shard_needed = not writer.skip_if_current(shard_path, shard_key)
        work: list[_PageWork] = []
        for page in pages:
            keyed = timeline is None or page.index in timeline
            linked = permalinks is None or page.index in permalinks
            if not (keyed or linked):
                if shard_needed:  # its posts are still read for the month's search shard
                    work.append(_PageWork(page, "", False, []))
                continue
            at = position[page.index]
            neighbours = (
                display[at - 1].path if at > 0 else None,
                display[at + 1].path if at + 1 < len(display) else None,
            )
            rows = [plan.posts[i] for i in page.ids]
            page_key = digest(
                self.global_key,
                "timeline",
                page.path,
                navigation,
                days,
                neighbours,
                parts,
                [(row.message_id, row.stamp, self._reply_info(row)) for row in rows],
            )
            needed = keyed and not writer.skip_if_current(page.path, page_key)
            stale: list[tuple[int, str]] = []
            for group_rows in _album_runs(rows if linked else []):
                ids = [row.message_id for row in group_rows]
                group_key = digest(
                    self.global_key,
                    "post",
                    page.path,
                    [(row.message_id, row.stamp, self._reply_info(row)) for row in group_rows],
                )
                for message_id in ids:
                    if not writer.skip_if_current(plan.permalink_path(message_id), group_key):
                        stale.append((message_id, group_key))
            work.append(_PageWork(page, page_key, needed, stale))
        if not shard_needed and not any(item.needed or item.permalinks for item in work):
            return
        entries: list[SearchEntry] = []
        channel_id = plan.channel.id
        with self.uow_factory() as uow:
            for item in work:
                if not (item.needed or item.permalinks or shard_needed):
                    continue
                page = item.page
                page_ids = list(page.ids)
                posts = uow.posts.for_display(channel_id, page_ids)
                ordered = [posts[i] for i in page_ids if i in posts]
                if item.needed or item.permalinks:
                    revisions = uow.posts.revisions_for(channel_id, page_ids)
                    related = self._related(uow, posts, channel_id)
                    # one rendering per card, shared by the timeline page and the permalinks
                    cards = self._cards(
                        plan, PageLinks(plan.card_base, self.site), ordered, revisions, related
                    )
                    if item.needed:
                        self._timeline_page(plan, page, pages, cards, display, position, item.key)
                    by_id = {message_id: card for card in cards for message_id in card.ids}
                    views = uow.counters.views_for(channel_id, [i for i, _ in item.permalinks], min_points=2)
                    for message_id, key in item.permalinks:
                        self._permalink(
                            plan, message_id, by_id.get(message_id), key, views.get(message_id, [])
                        )
                if shard_needed:
                    links = PageLinks("search.html", self.site)
                    for post in ordered:
                        entries.append(
                            SearchEntry(
                                message_id=post.message_id,
                                url=links.to(page.path, f"post-{post.message_id}"),
                                date=format_full(post.date, self.zone),
                                text=searchable_text(post),
                            )
                        )
        if shard_needed:
            writer.write(shard_path, shard_script(plan, month, entries), shard_key)

    def _timeline_page(
        self,
        plan: ChannelPlan,
        page: TimelinePage,
        month_pages: list[TimelinePage],
        cards: Sequence[_Card],
        display: list[TimelinePage],
        position: dict[int, int],
        key: str,
    ) -> None:
        title = month_label(page.month)
        if len(month_pages) > 1:
            title += f", part {page.number} of {len(month_pages)}"
        context = self._page(page.path, f"{plan.channel.title} — {title}")
        links: PageLinks = context["links"]
        at = position[page.index]
        newer_first = plan.order is Order.NEWEST
        previous = display[at - 1] if at > 0 else None
        following = display[at + 1] if at + 1 < len(display) else None
        pager = {
            "previous": links.to(previous.path) if previous else None,
            "previous_label": "Newer posts" if newer_first else "Older posts",
            "next": links.to(following.path) if following else None,
            "next_label": "Older posts" if newer_first else "Newer posts",
        }
        days = [
            {"label": str(_day_of_month(day)), "url": links.to(path, day_anchor(day))}
            for day, path in plan.month_days(page.month)
        ]
        parts = []
        if len(month_pages) > 1:
            for part, first, last in plan.month_parts(page.month):
                span = (
                    f"{_day_of_month(first)}–{_day_of_month(last)}"
                    if first != last
                    else f"{_day_of_month(first)}"
                )
                parts.append(
                    {
                        "label": f"Part {part.number}",
                        "days": f"{span} {MONTH_NAMES[page.month % 12][:3]}",
                        "url": links.to(part.path),
                        "current": part.path == page.path,
                    }
                )
            if newer_first:
                parts.reverse()
        html = self.renderer.render(
            "timeline.html",
            **context,
            channel=self._header(plan, links),
            heading=title,
            months_nav=self._navigator(plan, links, page.month, counts=False),
            days=days,
            parts=parts,
            pager=pager,
            items=self._items(plan, cards, days=True),
        )
        self.writer.write(page.path, html, key)

    def _permalink(
        self,
        plan: ChannelPlan,
        message_id: int,
        card: _Card | None,
        key: str,
        views: Sequence[tuple[datetime, int]] = (),
    ) -> None:
        path = plan.permalink_path(message_id)
        title = f"{plan.channel.title} — post {message_id}"
        if card is None:
            context = self._page(path, title)
            links: PageLinks = context["links"]
            html = self.renderer.render(
                "post.html",
                **context,
                channel=self._header(plan, links),
                card=None,
                message_id=message_id,
                description="",
            )
            self.writer.write(path, html, key)
            return
        text = snippet(card.first.text, 70)
        location = plan.location(message_id)
        canonical = self.options.absolute_base
        values: dict[str, object] = {
            "title": clean_text(f"{plan.channel.title}: {text}") if text else clean_text(title),
            "card": card.html,
            "message_id": message_id,
            "description": snippet(card.first.text, 200),
            "date_full": card.view.date_full,
            "date_iso": card.view.date_iso,
            "tme_url": card.view.tme_url,
        }
        if location:
            values["timeline_url"] = relative_url(path, *location)
        if canonical:
            values["canonical"] = f"{canonical}/{path}"
        shape = (plan.channel.id, bool(values["description"]), bool(location), bool(canonical))

        def render_with(slots: Mapping[str, object]) -> str:
            context = self._page(path, "")
            context["page"]["title"] = slots["title"]
            if "canonical" in slots:
                context["page"]["canonical"] = slots["canonical"]
            extra = {name: value for name, value in slots.items() if name not in ("title", "canonical")}
            extra.setdefault("timeline_url", None)
            extra.setdefault("views_chart", None)
            return self.renderer.render(
                "post.html", **context, channel=self._permalink_header(plan, context["links"]), **extra
            )

        chart = views_over_time(views, self.zone)
        if chart is not None:  # a post whose views changed draws them (no shared frame for it)
            values["views_chart"] = chart
        if self.options.templates_dir is None and chart is None:
            html = self.frames.render(shape, values, render_with)
        else:
            html = render_with(values)
        self.writer.write(path, html, key)

    def _permalink_header(self, plan: ChannelPlan, links: PageLinks) -> dict[str, object]:
        """The channel header of permalink pages, which all sit in one folder: computed once a channel."""
        header = self.permalink_headers.get(plan.channel.id)
        if header is None:
            header = self.permalink_headers[plan.channel.id] = self._header(plan, links)
        return header

    def _channel_index(self, plan: ChannelPlan) -> None:
        path = plan.index_path
        context = self._page(path, plan.channel.title)
        links: PageLinks = context["links"]
        newest = plan.newest(self.options.latest_on_channel_page)
        wanted = set(newest)
        # complete albums whose newest member was picked
        for message_id in newest:
            row = plan.posts[message_id]
            if row.group is not None:
                wanted.update(i for i in plan.pages[row.page].ids if plan.posts[i].group == row.group)
        ids = sorted(wanted, key=lambda i: (plan.posts[i].page, plan.pages[plan.posts[i].page].ids.index(i)))
        items: list[dict[str, Any]] = []
        if ids:
            with self.uow_factory() as uow:
                posts = uow.posts.for_display(plan.channel.id, ids)
                revisions = uow.posts.revisions_for(plan.channel.id, ids)
                related = self._related(uow, posts, plan.channel.id)
            ordered = [posts[i] for i in ids if i in posts]
            cards = self._cards(plan, links, ordered, revisions, related)
            items = self._items(plan, cards, days=True, newest_first=True)
        first = plan.pages[0] if plan.pages else None
        last = plan.pages[-1] if plan.pages else None
        channel = plan.channel
        html = self.renderer.render(
            "channel.html",
            **context,
            channel=self._header(plan, links),
            description=plain(channel.description or ""),
            subscribers=human_count(channel.subscribers),
            post_count=f"{len(plan.posts):,}",
            first_date=format_day(plan.posts[first.ids[0]].date, self.zone) if first else None,
            last_date=format_day(plan.posts[last.ids[-1]].date, self.zone) if last else None,
            start=links.to(plan.display_pages()[0].path) if plan.pages else None,
            months_nav=self._navigator(plan, links, None, counts=True),
            items=items,
        )
        self.writer.write(path, html)

    def _tags(
        self, plan: ChannelPlan, only: set[str] | None = None, reached: Mapping[str, int] | None = None
    ) -> None:
        """The hashtag index and the tags' pages: all of them, or those of the tags in ``only``, from the
        page holding the lowest changed message id in ``reached`` on (see :class:`ChannelChanges`)."""
        if not plan.tags:
            return
        tags = sorted(plan.tags.values(), key=lambda tag: (-len(tag.ids), tag.key))
        context = self._page(plan.tags_path, f"{plan.channel.title} — hashtags")
        links: PageLinks = context["links"]
        html = self.renderer.render(
            "tags.html",
            **context,
            channel=self._header(plan, links),
            tags=[
                {
                    "label": clean_text(tag.label),
                    "count": len(tag.ids),
                    "url": links.to(plan.tag_path(tag.key) or ""),
                }
                for tag in tags
            ],
        )
        self.writer.write(plan.tags_path, html)
        # Each tag is split into pages of TAG_PAGE_SIZE posts; only pages whose posts, neighbours or
        # label changed are rendered, a batch at a time, so memory stays flat however large a tag is.
        batch: list[tuple[TagPlan, int, str, str]] = []
        batch_size = 0
        for tag in tags:
            if only is not None:
                if tag.key not in only:
                    continue
                self._drop_stale_tag_pages(plan, tag)
            landing = plan.tag_landing(tag)
            for number in self._tag_pages_to_check(
                plan, tag, None if reached is None else reached.get(tag.key)
            ):
                path = plan.tag_page_path(tag, number)
                ids = tag.page_ids(number)
                key = digest(
                    self.global_key,
                    "tag",
                    tag.key,
                    tag.label,
                    plan.posts.keyed(ids),
                    path,
                    self._tag_neighbours(plan, tag, number),
                    len(tag.ids) if number == landing else -1,
                )
                if self.writer.skip_if_current(path, key):
                    continue
                batch.append((tag, number, path, key))
                batch_size += len(ids)
                if batch_size >= FETCH_CHUNK:
                    self._tag_pages(plan, batch)
                    batch, batch_size = [], 0
        if batch:
            self._tag_pages(plan, batch)

    @staticmethod
    def _tag_pages_to_check(plan: ChannelPlan, tag: TagPlan, lowest: int | None) -> list[int]:
        """Numbers of the tag's pages a change from message id ``lowest`` on can reach (None: all).

        The page holding ``lowest`` and those after it; two before it, whose links change when the
        landing page moves or a page appears or goes; and the landing page (its count).
        """
        count = tag.page_count
        if lowest is None:
            return list(range(1, count + 1))
        first = tag.page_reaching(lowest)
        numbers = set(range(max(1, first - 2), count + 1))
        numbers.add(plan.tag_landing(tag))
        return sorted(numbers)

    def _drop_stale_tag_pages(self, plan: ChannelPlan, tag: TagPlan) -> None:
        """Remove numbered pages a tag no longer fills (it shrank, or its landing page moved)."""
        current = set(plan.tag_page_paths(tag))
        number = 1
        while True:
            path = plan.tag_numbered_path(tag, number)
            if path not in current:
                if number > tag.page_count and self.writer.manifest.page(path) is None:
                    return
                self.writer.drop(path)
            number += 1

    @staticmethod
    def _tag_neighbours(plan: ChannelPlan, tag: TagPlan, number: int) -> tuple[str | None, str | None]:
        """The paths of the tag's pages of older and of newer posts next to page ``number``."""
        older = plan.tag_page_path(tag, number - 1) if number > 1 else None
        newer = plan.tag_page_path(tag, number + 1) if number < tag.page_count else None
        return older, newer

    def _tag_pages(self, plan: ChannelPlan, pages: list[tuple[TagPlan, int, str, str]]) -> None:
        """Render a batch of hashtag pages, reading the snippets of their posts and only those."""
        wanted = sorted({message_id for tag, number, _, _ in pages for message_id in tag.page_ids(number)})
        snippets: dict[int, tuple[str, bool]] = {}
        with self.uow_factory() as uow:
            for start in range(0, len(wanted), FETCH_CHUNK):
                found = uow.posts.texts(plan.channel.id, wanted[start : start + FETCH_CHUNK])
                for message_id, (text, deleted) in found.items():
                    snippets[message_id] = (snippet(text, 160), deleted)
        newest_first = plan.order is Order.NEWEST
        for tag, number, path, key in pages:
            context = self._page(path, f"#{tag.label} — {plan.channel.title}")
            links: PageLinks = context["links"]
            entries = []
            # links to timeline pages and permalinks worked out once per page: the strings links.to() gives
            page_urls: dict[int, str] = {}
            permalink_base = links.to(plan.permalink_path(0)).removesuffix("0.html")
            for message_id in tag.page_ids(number):
                index = plan.posts.page_of(message_id)
                url = None
                if index >= 0:
                    page_url = page_urls.get(index)
                    if page_url is None:
                        page_url = page_urls[index] = links.to(plan.pages[index].path)
                    url = f"{page_url}#{post_anchor(message_id)}"
                text, deleted = snippets.get(message_id, ("", False))
                entries.append(
                    {
                        "url": url,
                        "permalink": f"{permalink_base}{int(message_id)}.html",
                        "date": self._full_date(plan.posts.date_of(message_id)),
                        "text": text,
                        "deleted": deleted,
                    }
                )
            if newest_first:
                entries.reverse()
            older, newer = self._tag_neighbours(plan, tag, number)
            earlier, later = (newer, older) if newest_first else (older, newer)
            pager = {
                "previous": links.to(earlier) if earlier else None,
                "previous_label": "Newer posts" if newest_first else "Older posts",
                "next": links.to(later) if later else None,
                "next_label": "Older posts" if newest_first else "Newer posts",
            }
            landing = number == plan.tag_landing(tag)
            html = self.renderer.render(
                "tag.html",
                **context,
                channel=self._header(plan, links),
                tag=clean_text(tag.label),
                entries=entries,
                total=len(tag.ids) if landing else None,
                pager=pager if tag.page_count > 1 else None,
                tags_url=links.to(plan.tags_path),
            )
            self.writer.write(path, html, key)

    def _full_date(self, moment: datetime) -> str:
        found = self._dates.get(moment)
        if found is None:
            if len(self._dates) >= DATES_CACHED:  # bounded: posts' moments are mostly all different
                self._dates.clear()
            found = self._dates[moment] = format_full(moment, self.zone)
        return found

    def _stats(self, plan: ChannelPlan) -> None:
        path = plan.stats_path
        with self.uow_factory() as uow:
            observations = uow.channels.observations(plan.channel.id)
        context = self._page(path, f"{plan.channel.title} — statistics")
        links: PageLinks = context["links"]
        top = [plan.posts[message_id] for message_id in plan.posts.most_viewed(10)]
        with self.uow_factory() as uow:
            top_posts = (
                uow.posts.for_display(plan.channel.id, [post.message_id for post in top]) if top else {}
            )
        html = self.renderer.render(
            "stats.html",
            **context,
            channel=self._header(plan, links),
            stats=stats_context(plan, observations, self.zone),
            top=[
                {
                    "url": links.to(plan.permalink_path(post.message_id)),
                    "views": f"{post.views:,}",
                    "date": format_day(post.date, self.zone),
                    "id": post.message_id,
                    "text": describe_post(top_posts[post.message_id]) if post.message_id in top_posts else "",
                }
                for post in top
            ],
        )
        self.writer.write(path, html)

    def _feeds(self, plan: ChannelPlan) -> None:
        ids = plan.newest(self.options.feed_size)
        posts: list[Post] = []
        if ids:
            with self.uow_factory() as uow:
                found = uow.posts.for_display(plan.channel.id, ids)
            posts = [found[i] for i in ids if i in found]
        title, base = self.options.title, self.options.absolute_base
        self.writer.write(plan.atom_path, atom_feed(plan, posts, title, base))
        self.writer.write(plan.rss_path, rss_feed(plan, posts, title, base))

    # ---- the whole site ------------------------------------------------------------------------------

    def _root(self, plans: Sequence[ChannelPlan]) -> None:
        context = self._page("index.html", self.options.title)
        links: PageLinks = context["links"]
        channels = []
        for plan in plans:
            channel = plan.channel
            first = plan.pages[0] if plan.pages else None
            last = plan.pages[-1] if plan.pages else None
            avatar = self.avatars.get(channel.id)
            title = clean_text(channel.title)
            channels.append(
                {
                    "title": title,
                    "letter": (title.strip()[:1] or "#").upper(),
                    "username": valid_username(channel.username),
                    "url": links.to(plan.index_path),
                    "avatar": links.to(avatar) if avatar else None,
                    "description": snippet(channel.description or "", 240),
                    "subscribers": human_count(channel.subscribers),
                    "posts": f"{len(plan.posts):,}",
                    "first": format_day(plan.posts[first.ids[0]].date, self.zone) if first else None,
                    "last": format_day(plan.posts[last.ids[-1]].date, self.zone) if last else None,
                    "tme": tme_channel_url(channel),
                }
            )
        html = self.renderer.render("index.html", **context, channels=channels)
        self.writer.write("index.html", html)


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


def _day_of_month(day: int) -> int:
    return date.fromordinal(day).day
