"""Phase one of a build: the page plan.

Before anything is rendered, every post of every channel gets its place: the month (in the site's
timezone), the timeline page inside that month, its anchor, its permalink, its hashtags. Replies and
forwards can then link to the replied post wherever it lives.

Only light facts are kept, column by column in typed arrays (:mod:`tgvault.export.site.planned_posts`:
about 35 bytes a post, so a channel of millions of posts fits in a few dozen megabytes); the text of a
post is read again when its page is rendered. Pages of a month are cut in chronological order, so a
post keeps its page as new posts arrive: only the month's last page grows.
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from tgvault.domain import Channel
from tgvault.export.site.formatting import month_key
from tgvault.export.site.links import tag_slug
from tgvault.export.site.options import Order, SiteOptions
from tgvault.export.site.placing import cut_pages, outline_tags, page_path, place_of
from tgvault.export.site.planned_posts import PlannedPost, PlannedPosts, micros
from tgvault.storage.repositories import PostOutline


def day_anchor(day: int) -> str:
    """The anchor of a day's first post on a timeline page: ``d-2024-03-05``."""
    return "d-" + date.fromordinal(day).isoformat()


def post_anchor(message_id: int) -> str:
    """The anchor of a post on a timeline page."""
    return f"post-{message_id}"


def stamp_of(outline: PostOutline) -> int:
    """A number that changes whenever the post or its media row is written in the archive.

    Stable from one process to the next (page keys are compared across builds), so not ``hash()``.
    """
    return version_stamp(outline.version, outline.deleted)


def version_stamp(version: str, deleted: bool) -> int:
    """:func:`stamp_of` a post from its ``version`` and whether it is deleted (``versions_for``)."""
    token = f"{version}|{int(deleted)}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(token, digest_size=8).digest(), "little", signed=True)


@dataclass(slots=True)
class TimelinePage:
    """One page of a channel's timeline: a month, or a part of a long month."""

    index: int
    month: int
    number: int
    path: str
    ids: array[int]  # message ids in timeline order (uint32, 4 bytes a post; int64 when an id needs it)


TAG_PAGE_SIZE = 200  # posts listed on one page of a hashtag


@dataclass
class TagPlan:
    """A hashtag of a channel: its pages and the posts carrying it (by message id, ascending).

    The posts are split into pages of :data:`TAG_PAGE_SIZE` from the oldest on, so a new post changes
    only the newest page (and the landing page's count), however large the tag grows.
    """

    key: str
    label: str
    slug: str
    ids: array[int] = field(default_factory=lambda: array("q"))

    @property
    def page_count(self) -> int:
        """How many pages the tag's posts fill (at least one)."""
        return max(1, -(-len(self.ids) // TAG_PAGE_SIZE))

    def page_reaching(self, message_id: int) -> int:
        """The number of the page that holds ``message_id``, or would (the last page for later ids)."""
        return min(self.page_count, bisect_left(self.ids, message_id) // TAG_PAGE_SIZE + 1)

    def page_ids(self, number: int) -> array[int]:
        """The message ids on page ``number`` (1 holds the oldest posts)."""
        start = (number - 1) * TAG_PAGE_SIZE
        return self.ids[start : start + TAG_PAGE_SIZE]


@dataclass
class ChannelPlan:
    """Every page of one channel and the place of every post in it."""

    channel: Channel
    order: Order
    posts: PlannedPosts
    pages: list[TimelinePage]
    months: dict[int, list[int]]
    tags: dict[str, TagPlan]
    post_pages: bool = True  # False: a post's link is its anchor on its timeline page
    _month_days: dict[int, list[tuple[int, str]]] = field(default_factory=dict, repr=False)

    @property
    def root(self) -> str:
        """The channel's folder in the site."""
        return f"c/{self.channel.id}"

    @property
    def index_path(self) -> str:
        """The channel's home page."""
        return f"{self.root}/index.html"

    @property
    def tags_path(self) -> str:
        """The channel's hashtag index."""
        return f"{self.root}/tags/index.html"

    @property
    def stats_path(self) -> str:
        """The channel's statistics page."""
        return f"{self.root}/stats.html"

    @property
    def atom_path(self) -> str:
        """The channel's Atom feed."""
        return f"{self.root}/feed.atom"

    @property
    def rss_path(self) -> str:
        """The channel's RSS feed."""
        return f"{self.root}/feed.rss"

    @property
    def card_base(self) -> str:
        """A page path at the depth of timeline pages and permalinks (``c/<id>/<folder>/``).

        Post cards are rendered once with links relative to it and shared by the timeline page and
        the permalink, which both sit one folder below the channel's.
        """
        return f"{self.root}/_/card.html"

    def permalink_path(self, message_id: int) -> str:
        """The post's own page, which never moves: ``c/<channel>/posts/<id>.html``."""
        return f"{self.root}/posts/{int(message_id)}.html"

    def post_target(self, message_id: int) -> tuple[str, str | None]:
        """(path, fragment) a link to the post points at: its permalink page, or (``post_pages = false``)
        its anchor on its timeline page (the channel's home page for a post the plan lacks)."""
        if self.post_pages:
            return self.permalink_path(message_id), None
        location = self.location(message_id)
        return location if location is not None else (self.index_path, None)

    def tag_path(self, key: str) -> str | None:
        """The landing page of a hashtag of this channel, or None for a tag the plan does not know."""
        tag = self.tags.get(key)
        return None if tag is None else self.tag_page_path(tag, self.tag_landing(tag))

    def tag_landing(self, tag: TagPlan) -> int:
        """The number of the tag's page shown first: its newest posts, or its oldest (the site's order)."""
        return tag.page_count if self.order is Order.NEWEST else 1

    def tag_page_path(self, tag: TagPlan, number: int) -> str:
        """Page ``number`` of a hashtag: the landing page, or ``tags/<slug>/<number>.html``."""
        if number == self.tag_landing(tag):
            return f"{self.root}/tags/{tag.slug}.html"
        return self.tag_numbered_path(tag, number)

    def tag_numbered_path(self, tag: TagPlan, number: int) -> str:
        """Where page ``number`` of a hashtag goes when it is not the landing page."""
        return f"{self.root}/tags/{tag.slug}/{number}.html"

    def tag_page_paths(self, tag: TagPlan) -> list[str]:
        """Every page of a hashtag."""
        return [self.tag_page_path(tag, number) for number in range(1, tag.page_count + 1)]

    def shard_path(self, month: int) -> str:
        """The search index shard of one month."""
        return f"search/{self.channel.id}/{month_key(month)}.js"

    def location(self, message_id: int) -> tuple[str, str] | None:
        """(timeline page path, anchor) of a post, or None when it is not archived."""
        page = self.posts.page_of(message_id)
        if page < 0:
            return None
        return self.pages[page].path, post_anchor(message_id)

    def display_months(self) -> list[int]:
        """Months with posts, in the order the site shows them."""
        months = sorted(self.months)
        return months[::-1] if self.order is Order.NEWEST else months

    def display_pages(self) -> list[TimelinePage]:
        """Every timeline page in the order a reader pages through them."""
        pages = self.pages
        return pages[::-1] if self.order is Order.NEWEST else list(pages)

    def month_entry(self, month: int) -> TimelinePage:
        """The page the month navigator links to: the month's first part, whose name never changes.

        (Linking to the newest part would change every page's navigator each time the current month
        grows a new part.)
        """
        return self.pages[self.months[month][0]]

    def month_parts(self, month: int) -> list[tuple[TimelinePage, int, int]]:
        """(page, first day, last day) of each part of a month, in chronological order."""
        parts = []
        for index in self.months[month]:
            page = self.pages[index]
            parts.append((page, self.posts.day_of(page.ids[0]), self.posts.day_of(page.ids[-1])))
        return parts

    def month_days(self, month: int) -> list[tuple[int, str]]:
        """(day, page path) for each day of the month, in display order, pointing where the day begins."""
        cached = self._month_days.get(month)
        if cached is not None:
            return cached
        days: dict[int, str] = {}
        indexes = self.months[month]
        pages = [self.pages[i] for i in indexes]
        if self.order is Order.NEWEST:
            pages.reverse()
        for page in pages:
            for message_id in page.ids:
                days.setdefault(self.posts.day_of(message_id), page.path)
        ordered = sorted(days.items(), reverse=self.order is Order.NEWEST)
        self._month_days[month] = ordered
        return ordered

    def chronological(self) -> Iterator[PlannedPost]:
        """Posts in timeline order (oldest first)."""
        for page in self.pages:
            for message_id in page.ids:
                yield self.posts[message_id]

    def newest(self, count: int, *, live_only: bool = True) -> list[int]:
        """Ids of the newest ``count`` posts (not deleted, not service messages when ``live_only``)."""
        found: list[int] = []
        for page in reversed(self.pages):
            for message_id in reversed(page.ids):
                post = self.posts[message_id]
                if live_only and (post.deleted or post.service):
                    continue
                found.append(message_id)
                if len(found) == count:
                    return found
        return found


@dataclass
class SitePlan:
    """Plans of every channel in the site."""

    channels: dict[int, ChannelPlan]

    def locate(self, channel_id: int, message_id: int) -> tuple[ChannelPlan, PlannedPost] | None:
        """The channel plan and planned post of any archived post of the site."""
        plan = self.channels.get(channel_id)
        if plan is None:
            return None
        post = plan.posts.get(message_id)
        return None if post is None else (plan, post)


MEDIA_BATCH = 1000  # (message id, file) pairs handed to a media sink at a time


def plan_channel(
    channel: Channel,
    outlines: Iterable[PostOutline],
    options: SiteOptions,
    media_sink: Callable[[list[tuple[int, str]]], None] | None = None,
    expected: int = 0,
) -> ChannelPlan:
    """Place every post of a channel: month and day in the site's timezone, page, tags, media used.

    ``outlines`` come from :meth:`PostRepository.outline`, ascending by message id. Posts of one album
    (``grouped_id``) stay together: they take the month and date of the album's first post and are
    never split across pages. The file each post shows is not kept in the plan: it is handed to
    ``media_sink`` as (message id, stored file) pairs, in batches, so a channel of a million files plans
    in the memory of one without (None: the caller does not need them). ``expected``, how many posts
    the channel has (a hint: more or fewer may come), lets the plan's columns be made at their size.
    """
    zone = options.zone()
    posts = PlannedPosts()
    posts.reserve(expected)
    tags: dict[str, TagPlan] = {}
    shown: list[tuple[int, str]] = []  # for the media sink
    # per month, the sort date (microseconds) and message id of its posts, as two int64 columns
    by_month: dict[int, tuple[array[int], array[int]]] = {}
    group_start: dict[int, tuple[datetime, int, int]] = {}
    last_group: int | None = None
    for outline in outlines:
        month, day = place_of(outline.date, zone)
        sort_date = outline.date
        group = outline.grouped_id
        if group is not None:
            if group == last_group and group in group_start:
                sort_date, month, day = group_start[group]
            else:
                group_start.clear()
                group_start[group] = (sort_date, month, day)
        last_group = group
        reply = None
        if outline.reply_to_message_id is not None:
            reply = (outline.reply_to_channel_id or channel.id, outline.reply_to_message_id)
        posts.append(
            PlannedPost(
                message_id=outline.message_id,
                date=outline.date,
                month=month,
                day=day,
                group=group,
                reply_to=reply,
                stamp=stamp_of(outline),
                views=outline.views,
                deleted=outline.deleted,
                service=outline.is_service,
            )
        )
        dates, ids = by_month.setdefault(month, (array("q"), array("q")))
        dates.append(micros(sort_date))
        ids.append(outline.message_id)
        if outline.media_path and media_sink is not None:
            shown.append((outline.message_id, outline.media_path))
            if len(shown) >= MEDIA_BATCH:
                media_sink(shown)
                shown = []
        if outline.hashtags:
            for key, label in outline_tags(outline).items():
                tag = tags.get(key)
                if tag is None:
                    tag = tags[key] = TagPlan(key=key, label=label, slug=tag_slug(key))
                if not tag.ids or tag.ids[-1] != outline.message_id:
                    tag.ids.append(outline.message_id)
    if shown and media_sink is not None:
        media_sink(shown)
    posts.seal()

    pages: list[TimelinePage] = []
    months: dict[int, list[int]] = {}
    per_page = options.posts_per_page
    for month in sorted(by_month):
        dates, month_ids = by_month.pop(month)
        order = sorted(range(len(month_ids)), key=lambda k: (dates[k], month_ids[k]))
        chunks = cut_pages(((month_ids[k], posts.group_of(month_ids[k])) for k in order), per_page)
        for number, ids in enumerate(chunks, start=1):
            page = TimelinePage(
                index=len(pages),
                month=month,
                number=number,
                path=page_path(channel.id, month, number),
                ids=ids,
            )
            for message_id in ids:
                posts.set_page(message_id, page.index)
            months.setdefault(month, []).append(page.index)
            pages.append(page)
    for tag in tags.values():
        tag.ids = array("q", sorted(set(tag.ids)))
    return ChannelPlan(
        channel=channel,
        order=options.order,
        posts=posts,
        pages=pages,
        months=months,
        tags=tags,
        post_pages=options.post_pages,
    )
