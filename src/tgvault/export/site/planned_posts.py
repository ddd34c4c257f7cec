"""The plan's post storage: a channel's planned posts, column by column in typed arrays.

Only light facts are kept (:class:`PlannedPost`): about 70 bytes a post, so a channel of millions of
posts fits in a few dozen megabytes. :class:`PostColumns` holds the columns and reads them by row;
:class:`PlannedPosts` reads them by message id and sums them up for the statistics.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import compress, groupby, repeat
from operator import itemgetter, ne
from typing import Self


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


def micros(moment: datetime) -> int:
    """Microseconds since the epoch of a moment (naive moments are UTC): the plan's date column."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class PostColumns:
    """The typed-array columns of a channel's planned posts, and their rows (ascending message id).

    Each post is one row of every column (two slots of the reply column); :class:`PlannedPosts` adds
    the reads by message id.
    """

    __slots__ = (
        "_dates",
        "_days",
        "_filled",
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
        self._filled = -1  # rows appended into room made by reserve(); -1: appending grows the columns

    def reserve(self, capacity: int) -> None:
        """Make room for ``capacity`` posts at once, before the first :meth:`append`.

        Each column is then one allocation of its final size instead of one grown step by step while
        the posts stream by, which leaves the allocator's heap fragmented for the rest of the build
        (about 60 bytes a post of RSS). :meth:`seal` gives back the room not used.
        """
        if self._ids or capacity <= 0:
            return
        for name in _COLUMNS:
            column = getattr(self, name)
            slots = 2 * capacity if name == "_reply" else capacity
            setattr(self, name, array(column.typecode, bytes(column.itemsize * slots)))
        self._filled = 0

    def append(self, post: PlannedPost) -> None:
        """Add a post (its ``page`` is set later with :meth:`set_page`)."""
        at = self._filled
        if 0 <= at < len(self._ids):
            self._ids[at] = post.message_id
            self._dates[at] = micros(post.date)
            self._months[at] = post.month
            self._days[at] = post.day
            self._groups[at] = _NONE if post.group is None else post.group
            self._reply[2 * at], self._reply[2 * at + 1] = post.reply_to or (_NONE, _NONE)
            self._stamps[at] = post.stamp
            self._views[at] = _NONE if post.views is None else post.views
            self._flags[at] = (_DELETED if post.deleted else 0) | (_SERVICE if post.service else 0)
            self._pages[at] = post.page
            self._filled = at + 1
            return
        if at >= 0:
            self._filled = at + 1
        self._ids.append(post.message_id)
        self._dates.append(micros(post.date))
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
        """Sort the columns by message id when posts were not appended in that order (and give back
        the room :meth:`reserve` made that was not used)."""
        filled = self._filled
        if filled >= 0:
            self._filled = -1
            for name in _COLUMNS:
                del getattr(self, name)[2 * filled if name == "_reply" else filled :]
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
    def from_columns(cls, columns: Mapping[str, bytes]) -> Self:
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
            micros(post.date),
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


class PlannedPosts(PostColumns, Mapping[int, PlannedPost]):
    """A channel's planned posts by message id, kept column by column in typed arrays.

    A :class:`PlannedPost` is made on each lookup; the columns hold about 70 bytes a post, against
    several hundred for one object per post, so the plan of a million-post channel stays small.
    Posts are appended in ascending message id (as :meth:`PostRepository.outline` streams them);
    :meth:`seal` sorts them when they were not.
    """

    __slots__ = ()

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
