"""Phase one of a build: the page plan.

Before anything is rendered, every post of every channel gets its place: the month (in the site's
timezone), the timeline page inside that month, its anchor, its permalink, its hashtags. Replies and
forwards can then link to the replied post wherever it lives.

Only light facts are kept, column by column in typed arrays (:class:`PlannedPosts`: about 70 bytes a
post, so a channel of millions of posts fits in a few dozen megabytes); the text of a post is read
again when its page is rendered. Pages of a month are cut in chronological order, so a post keeps its
page as new posts arrive: only the month's last page grows.
"""

from __future__ import annotations

import hashlib
import heapq
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import compress, groupby, repeat
from operator import itemgetter, ne

from tgvault.domain import Channel, EntityKind
from tgvault.export.site.links import tag_key, tag_slug
from tgvault.export.site.options import Order, SiteOptions
from tgvault.storage.repositories import PostOutline
from tgvault.text import utf16_slice

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def month_key(month: int) -> str:
    """``YYYY-MM`` of a month number (``year * 12 + month - 1``)."""
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def month_label(month: int) -> str:
    """``March 2024`` of a month number."""
    return f"{MONTH_NAMES[month % 12]} {month // 12}"


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
    token = f"{outline.version}|{int(outline.deleted)}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(token, digest_size=8).digest(), "little", signed=True)


@dataclass(slots=True)
class PlannedPost:
    """Where one post goes, and the few facts needed to decide which pages changed."""

    message_id: int
    date: datetime
    month: int
    day: int
    group: int | None
    reply_to: tuple[int, int] | None
    stamp: int
    views: int | None
    deleted: bool
    service: bool
    page: int = -1


_NONE = -(1 << 63)  # "no value" in an int64 column
_COLUMNS = (
    "_ids",
    "_dates",
    "_months",
    "_days",
    "_groups",
    "_reply",
    "_stamps",
    "_views",
    "_flags",
    "_pages",
)
_DELETED, _SERVICE = 1, 2
_DELETED_MASK = bytes(1 if flags & _DELETED else 0 for flags in range(256))  # flags byte -> deleted?
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class PlannedPosts(Mapping[int, PlannedPost]):
    """A channel's planned posts by message id, kept column by column in typed arrays.

    A :class:`PlannedPost` is made on each lookup; the columns hold about 70 bytes a post, against
    several hundred for one object per post, so the plan of a million-post channel stays small.
    Posts are appended in ascending message id (as :meth:`PostRepository.outline` streams them);
    :meth:`seal` sorts them when they were not.
    """

    __slots__ = (
        "_dates",
        "_days",
        "_flags",
        "_groups",
        "_ids",
        "_months",
        "_pages",
        "_reply",
        "_stamps",
        "_views",
    )

    def __init__(self) -> None:
        self._ids = array("q")
        self._dates = array("q")  # microseconds since the epoch, UTC
        self._months = array("i")
        self._days = array("i")
        self._groups = array("q")
        self._reply = array("q")  # channel id, message id: two slots a post
        self._stamps = array("q")
        self._views = array("q")
        self._flags = array("b")
        self._pages = array("i")

    def append(self, post: PlannedPost) -> None:
        """Add a post (its ``page`` is set later with :meth:`set_page`)."""
        self._ids.append(post.message_id)
        self._dates.append(_micros(post.date))
        self._months.append(post.month)
        self._days.append(post.day)
        self._groups.append(_NONE if post.group is None else post.group)
        reply = post.reply_to or (_NONE, _NONE)
        self._reply.extend(reply)
        self._stamps.append(post.stamp)
        self._views.append(_NONE if post.views is None else post.views)
        self._flags.append((_DELETED if post.deleted else 0) | (_SERVICE if post.service else 0))
        self._pages.append(post.page)

    def seal(self) -> None:
        """Sort the columns by message id when posts were not appended in that order."""
        ids = self._ids
        if all(ids[k] < ids[k + 1] for k in range(len(ids) - 1)):
            return
        order = sorted(range(len(ids)), key=ids.__getitem__)
        for name in (
            "_ids",
            "_dates",
            "_months",
            "_days",
            "_groups",
            "_stamps",
            "_views",
            "_flags",
            "_pages",
        ):
            column = getattr(self, name)
            setattr(self, name, array(column.typecode, (column[k] for k in order)))
        reply = self._reply
        self._reply = array("q", (value for k in order for value in (reply[2 * k], reply[2 * k + 1])))

    def to_columns(self) -> dict[str, memoryview]:
        """The columns as bytes (machine byte order), to keep the plan between builds.

        Views of the columns, not copies: no post may be added while they are held.
        """
        return {name.lstrip("_"): memoryview(getattr(self, name)).cast("B") for name in _COLUMNS}

    @classmethod
    def from_columns(cls, columns: Mapping[str, bytes]) -> PlannedPosts:
        """The planned posts saved by :meth:`to_columns`; raises ValueError when they do not fit together."""
        posts = cls()
        try:
            for name in _COLUMNS:
                getattr(posts, name).frombytes(columns[name.lstrip("_")])
        except KeyError as exc:
            raise ValueError(f"column {exc} missing") from exc
        size = len(posts._ids)
        if any(len(getattr(posts, name)) != size for name in _COLUMNS if name != "_reply"):
            raise ValueError("columns of different lengths")
        if len(posts._reply) != 2 * size:
            raise ValueError("reply column of the wrong length")
        return posts

    def position(self, message_id: int) -> int:
        """The row of a post in the columns (ascending message id), or -1."""
        return self._position(message_id)

    def put(self, post: PlannedPost) -> PlannedPost | None:
        """Add a post in message id order, or replace the planned post of that id; returns the one replaced."""
        ids = self._ids
        at = bisect_left(ids, post.message_id)
        reply = post.reply_to or (_NONE, _NONE)
        values = (
            post.message_id,
            _micros(post.date),
            post.month,
            post.day,
            _NONE if post.group is None else post.group,
            post.stamp,
            _NONE if post.views is None else post.views,
            (_DELETED if post.deleted else 0) | (_SERVICE if post.service else 0),
            post.page,
        )
        names = ("_ids", "_dates", "_months", "_days", "_groups", "_stamps", "_views", "_flags", "_pages")
        if at < len(ids) and ids[at] == post.message_id:
            old = self._post(at)
            for name, value in zip(names, values, strict=True):
                getattr(self, name)[at] = value
            self._reply[2 * at], self._reply[2 * at + 1] = reply
            return old
        for name, value in zip(names, values, strict=True):
            getattr(self, name).insert(at, value)
        self._reply.insert(2 * at, reply[1])
        self._reply.insert(2 * at, reply[0])
        return None

    def run_start(self, at: int) -> int:
        """The row where the album run of row ``at`` begins (posts of one album next to each other by id)."""
        groups = self._groups
        group = groups[at]
        if group == _NONE:
            return at
        while at > 0 and groups[at - 1] == group:
            at -= 1
        return at

    def group_at(self, at: int) -> int | None:
        """The album of the post in row ``at``."""
        group = self._groups[at]
        return None if group == _NONE else group

    def id_at(self, at: int) -> int:
        """The message id of row ``at``."""
        return self._ids[at]

    def date_at(self, at: int) -> int:
        """The date of row ``at``, in microseconds since the epoch."""
        return self._dates[at]

    def moment_at(self, at: int) -> datetime:
        """The date of row ``at``."""
        return _EPOCH + timedelta(microseconds=self._dates[at])

    def place_at(self, at: int) -> tuple[int, int]:
        """(month, day) of row ``at``."""
        return self._months[at], self._days[at]

    def set_place(self, at: int, month: int, day: int) -> None:
        """Set the month and day of row ``at``."""
        self._months[at] = month
        self._days[at] = day

    def replying_to(self, targets: Mapping[int, set[int]]) -> list[int]:
        """Ids of the posts replying to any of ``targets`` (channel id -> message ids)."""
        wanted = set().union(*targets.values()) if targets else set()
        if not wanted:
            return []
        reply = self._reply
        found = []
        for at, message_id in enumerate(reply[1::2]):
            if message_id in wanted and message_id in targets.get(reply[2 * at], ()):
                found.append(self._ids[at])
        return found

    def _position(self, message_id: int) -> int:
        ids = self._ids
        at = bisect_left(ids, message_id)
        return at if at < len(ids) and ids[at] == message_id else -1

    def _post(self, at: int) -> PlannedPost:
        group, views, flags = self._groups[at], self._views[at], self._flags[at]
        reply_channel, reply_id = self._reply[2 * at], self._reply[2 * at + 1]
        return PlannedPost(
            message_id=self._ids[at],
            date=_EPOCH + timedelta(microseconds=self._dates[at]),
            month=self._months[at],
            day=self._days[at],
            group=None if group == _NONE else group,
            reply_to=None if reply_id == _NONE else (reply_channel, reply_id),
            stamp=self._stamps[at],
            views=None if views == _NONE else views,
            deleted=bool(flags & _DELETED),
            service=bool(flags & _SERVICE),
            page=self._pages[at],
        )

    def keyed(self, message_ids: Iterable[int]) -> list[tuple[int, int, int]]:
        """(message id, stamp, page) of planned posts, straight from the columns."""
        found = []
        for message_id in message_ids:
            at = self._position(message_id)
            if at < 0:
                raise KeyError(message_id)
            found.append((message_id, self._stamps[at], self._pages[at]))
        return found

    def date_of(self, message_id: int) -> datetime:
        """The date of a planned post."""
        at = self._position(message_id)
        if at < 0:
            raise KeyError(message_id)
        return _EPOCH + timedelta(microseconds=self._dates[at])

    def set_page(self, message_id: int, page: int) -> None:
        """Record the timeline page (its index in the channel plan) of a post."""
        at = self._position(message_id)
        if at < 0:
            raise KeyError(message_id)
        self._pages[at] = page

    def page_of(self, message_id: int) -> int:
        """The timeline page (index) of a post; -1 when the post is not planned or not placed."""
        at = self._position(message_id)
        return -1 if at < 0 else self._pages[at]

    def day_of(self, message_id: int) -> int:
        """The local day (ordinal) of a planned post."""
        at = self._position(message_id)
        if at < 0:
            raise KeyError(message_id)
        return self._days[at]

    def group_of(self, message_id: int) -> int | None:
        """The album (grouped id) of a planned post, or None."""
        at = self._position(message_id)
        if at < 0:
            raise KeyError(message_id)
        group = self._groups[at]
        return None if group == _NONE else group

    def __getitem__(self, message_id: int) -> PlannedPost:
        at = self._position(message_id)
        if at < 0:
            raise KeyError(message_id)
        return self._post(at)

    def __contains__(self, message_id: object) -> bool:
        return isinstance(message_id, int) and self._position(message_id) >= 0

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def counters(self) -> Iterator[tuple[int, int, int | None, bool, bool]]:
        """(message id, month, views, deleted, service) of every post, straight from the columns."""
        for message_id, month, views, flags in zip(
            self._ids, self._months, self._views, self._flags, strict=True
        ):
            yield (
                message_id,
                month,
                None if views == _NONE else views,
                bool(flags & _DELETED),
                bool(flags & _SERVICE),
            )

    def month_counts(self) -> dict[int, list[int]]:
        """Per month: [posts, deleted posts, views in total, posts with a view count].

        Runs on every build with new posts, over every post: the loops are the C ones of
        :mod:`itertools` (runs of one month are long, as posts go by id and dates with them).
        """
        months, views = self._months, self._views
        counts: dict[int, list[int]] = {}
        for month, total in Counter(months).items():
            counts[month] = [total, 0, 0, 0]
        for month, deleted in Counter(compress(months, bytes(self._flags).translate(_DELETED_MASK))).items():
            counts[month][1] = deleted
        with_views = compress(zip(months, views, strict=True), map(ne, views, repeat(_NONE)))
        for month, run in groupby(with_views, key=itemgetter(0)):
            found = list(map(itemgetter(1), run))
            row = counts[month]
            row[2] += sum(found)
            row[3] += len(found)
        return counts

    def most_viewed(self, count: int) -> list[int]:
        """Ids of the ``count`` posts (not service messages) with the most views; ties: lower id first."""
        views, flags, ids = self._views, self._flags, self._ids
        wanted = count
        while True:
            # rows by views, most first; equal views keep row order, which is ascending message id
            rows = heapq.nlargest(wanted, range(len(views)), key=views.__getitem__)
            found = [ids[at] for at in rows if views[at] != _NONE and not flags[at] & _SERVICE][:count]
            if len(found) == count or wanted >= len(views):
                return found
            wanted *= 2

    def values(self) -> Iterator[PlannedPost]:  # type: ignore[override]
        """Every post, ascending by message id (made one at a time)."""
        return (self._post(at) for at in range(len(self._ids)))


@dataclass(slots=True)
class TimelinePage:
    """One page of a channel's timeline: a month, or a part of a long month."""

    index: int
    month: int
    number: int
    path: str
    ids: array[int]  # message ids in timeline order (an int64 array: 8 bytes a post)


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


def _entity_text(text: str, offset: int, length: int) -> str:
    """The text an entity covers: a fast path through the UTF-16 codec, the careful one on odd spans."""
    start, end = max(0, offset), max(0, offset + length)
    if text.isascii():
        return text[start:end]
    try:
        return text.encode("utf-16-le", "surrogatepass")[2 * start : 2 * end].decode("utf-16-le")
    except UnicodeDecodeError:  # a span cutting a surrogate pair, or a lone surrogate in the text
        return utf16_slice(text, offset, length)


def outline_tags(outline: PostOutline) -> dict[str, str]:
    """The hashtags of a post: tag key -> label (as first written in the post), in text order."""
    found: dict[str, str] = {}
    for entity in outline.hashtags:
        if entity.kind is EntityKind.HASHTAG:
            text = _entity_text(outline.text, entity.offset, entity.length)
            key = tag_key(text)
            if key and key not in found:
                found[key] = text.strip().lstrip("#＃")
    return found


def place_of(moment: datetime, zone: tzinfo) -> tuple[int, int]:
    """(month number, day ordinal) of a moment in the site's timezone."""
    return _local(moment, zone)


def page_path(channel_id: int, month: int, number: int) -> str:
    """The path of a timeline page: the month, then ``-pageN`` for parts after the first."""
    suffix = "" if number == 1 else f"-page{number}"
    return f"c/{channel_id}/{month // 12:04d}/{month % 12 + 1:02d}{suffix}.html"


def cut_pages(ordered: Iterable[tuple[int, int | None]], per_page: int) -> list[array[int]]:
    """Cut a month's (message id, album) in timeline order into pages, never splitting an album."""
    chunks: list[array[int]] = [array("q")]
    previous_group: int | None = None
    for message_id, group in ordered:
        current = chunks[-1]
        if len(current) >= per_page and (group is None or group != previous_group):
            chunks.append(array("q"))
        chunks[-1].append(message_id)
        previous_group = group
    return chunks


def _local(moment: datetime, zone: tzinfo) -> tuple[int, int]:
    local = moment.astimezone(zone)
    return local.year * 12 + local.month - 1, local.toordinal()


MEDIA_BATCH = 1000  # (message id, file) pairs handed to a media sink at a time


def plan_channel(
    channel: Channel,
    outlines: Iterable[PostOutline],
    options: SiteOptions,
    media_sink: Callable[[list[tuple[int, str]]], None] | None = None,
) -> ChannelPlan:
    """Place every post of a channel: month and day in the site's timezone, page, tags, media used.

    ``outlines`` come from :meth:`PostRepository.outline`, ascending by message id. Posts of one album
    (``grouped_id``) stay together: they take the month and date of the album's first post and are
    never split across pages. The file each post shows is not kept in the plan: it is handed to
    ``media_sink`` as (message id, stored file) pairs, in batches, so a channel of a million files plans
    in the memory of one without (None: the caller does not need them).
    """
    zone = options.zone()
    posts = PlannedPosts()
    tags: dict[str, TagPlan] = {}
    shown: list[tuple[int, str]] = []  # for the media sink
    # per month, the sort date (microseconds) and message id of its posts, as two int64 columns
    by_month: dict[int, tuple[array[int], array[int]]] = {}
    group_start: dict[int, tuple[datetime, int, int]] = {}
    last_group: int | None = None
    for outline in outlines:
        month, day = _local(outline.date, zone)
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
        dates.append(_micros(sort_date))
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
    )


def digest(*parts: object) -> str:
    """A short, stable hash of ``repr`` of the parts, for page keys and content comparison."""
    hasher = hashlib.blake2b(digest_size=12)
    for part in parts:
        hasher.update(repr(part).encode("utf-8", "surrogatepass"))
        hasher.update(b"\x1f")
    return hasher.hexdigest()
