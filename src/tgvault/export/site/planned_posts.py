"""The plan's post storage: a channel's planned posts, column by column in typed arrays.

Only light facts are kept (:class:`PlannedPost`): about 35 bytes a post, so a channel of millions of
posts fits in a few dozen megabytes. :class:`PostColumns` holds the columns and reads them by row;
:class:`PlannedPosts` reads them by message id and sums them up for the statistics.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import compress, groupby, repeat
from operator import itemgetter, ne
from typing import Self

from tgvault.export.site.plan_stats import RunningStats


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


_NO_VIEWS = -1  # "no view count" in the views column (view counts are never negative)
# Dense columns, one slot a post, with the typecode each starts at: sized to the values seen in practice
# (message ids below 2**32, months below 65536, fewer than 32768 pages in a channel, views below 2**31).
# A value that does not fit widens its column (see _WIDER) instead of failing.
_DENSE = {
    "_ids": "I",
    "_dates": "q",  # microseconds since the epoch, UTC
    "_months": "H",
    "_days": "i",
    "_stamps": "q",
    "_views": "i",
    "_flags": "B",
    "_pages": "h",
}
# Sparse columns: a slot only for the posts that have the value, keyed by message id (ascending).
# Albums: (message id, grouped id); replies: (message id, replied channel, replied message).
_GROUPS = ("_group_ids", "_group_values")
_REPLIES = ("_reply_ids", "_reply_channels", "_reply_targets")
_SPARSE = {
    "_group_ids": "I",
    "_group_values": "q",
    "_reply_ids": "I",
    "_reply_channels": "q",
    "_reply_targets": "I",
}
_COLUMNS = (*_DENSE, *_SPARSE)
_WIDER = {"B": "h", "h": "i", "H": "i", "i": "q", "I": "q"}
_DELETED, _SERVICE = 1, 2
_DELETED_MASK = bytes(1 if flags & _DELETED else 0 for flags in range(256))  # flags byte -> deleted?
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _widths(typecode: str) -> set[str]:
    """The typecodes a column starting at ``typecode`` may have been widened to (itself included)."""
    found = {typecode}
    while typecode in _WIDER:
        typecode = _WIDER[typecode]
        found.add(typecode)
    return found


def _fits(typecode: str, value: int) -> bool:
    try:
        array(typecode, (value,))
    except OverflowError:
        return False
    return True


def micros(moment: datetime) -> int:
    """Microseconds since the epoch of a moment (naive moments are UTC): the plan's date column."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _row(post: PlannedPost) -> tuple[int, ...]:
    """The dense column values of a post, in the order of ``_DENSE``."""
    return (
        post.message_id,
        micros(post.date),
        post.month,
        post.day,
        post.stamp,
        _NO_VIEWS if post.views is None else post.views,
        (_DELETED if post.deleted else 0) | (_SERVICE if post.service else 0),
        post.page,
    )


class PostColumns:
    """The typed-array columns of a channel's planned posts, and their rows (ascending message id).

    Each post is one row of every dense column; albums and replies, which most posts lack, are kept
    only for the posts that have them. :class:`PlannedPosts` adds the reads by message id.
    """

    __slots__ = (
        "_dates",
        "_days",
        "_filled",
        "_flags",
        "_group_ids",
        "_group_values",
        "_ids",
        "_months",
        "_pages",
        "_reply_channels",
        "_reply_ids",
        "_reply_targets",
        "_stamps",
        "_views",
    )

    _dates: array[int]
    _days: array[int]
    _flags: array[int]
    _group_ids: array[int]
    _group_values: array[int]
    _ids: array[int]
    _months: array[int]
    _pages: array[int]
    _reply_channels: array[int]
    _reply_ids: array[int]
    _reply_targets: array[int]
    _stamps: array[int]
    _views: array[int]
    _filled: int

    def __init__(self) -> None:
        for name, typecode in (*_DENSE.items(), *_SPARSE.items()):
            setattr(self, name, array(typecode))
        self._filled = -1  # rows appended into room made by reserve(); -1: appending grows the columns

    def reserve(self, capacity: int) -> None:
        """Make room for ``capacity`` posts at once, before the first :meth:`append`.

        Each dense column is then one allocation of its final size instead of one grown step by step
        while the posts stream by, which leaves the allocator's heap fragmented for the rest of the
        build (about 60 bytes a post of RSS). :meth:`seal` gives back the room not used.
        """
        if self._ids or capacity <= 0:
            return
        for name in _DENSE:
            column = getattr(self, name)
            setattr(self, name, array(column.typecode, bytes(column.itemsize * capacity)))
        self._filled = 0

    def _dense(self) -> tuple[array[int], ...]:
        return tuple(getattr(self, name) for name in _DENSE)

    def _widen_for(self, names: Iterable[str], values: Iterable[int]) -> None:
        """Widen each column named until its value fits."""
        for name, value in zip(names, values, strict=True):
            column = getattr(self, name)
            while not _fits(column.typecode, value):
                if column.typecode not in _WIDER:
                    raise OverflowError(f"{value} does not fit the plan's {name.lstrip('_')} column")
                column = array(_WIDER[column.typecode], column)
                setattr(self, name, column)

    def append(self, post: PlannedPost) -> None:
        """Add a post (its ``page`` is set later with :meth:`set_page`)."""
        values = _row(post)
        at = self._filled
        try:
            if 0 <= at < len(self._ids):
                self._set_row(at, values)
                self._filled = at + 1
            else:
                self._append_row(values)
                if at >= 0:
                    self._filled = at + 1
        except OverflowError:
            size = len(self._dates)  # the last column written: a failed append left it as it was
            if not 0 <= at < len(self._ids):
                for column in self._dense():
                    del column[size:]
            self._widen_for(_DENSE, values)
            self.append(post)
            return
        if post.group is not None:
            self._add_sparse(_GROUPS, (post.message_id, post.group))
        if post.reply_to is not None:
            self._add_sparse(_REPLIES, (post.message_id, *post.reply_to))

    def _set_row(self, at: int, values: tuple[int, ...]) -> None:
        message_id, date, month, day, stamp, views, flags, page = values
        self._ids[at] = message_id
        self._months[at] = month
        self._days[at] = day
        self._stamps[at] = stamp
        self._views[at] = views
        self._flags[at] = flags
        self._pages[at] = page
        self._dates[at] = date

    def _append_row(self, values: tuple[int, ...]) -> None:
        message_id, date, month, day, stamp, views, flags, page = values
        self._ids.append(message_id)
        self._months.append(month)
        self._days.append(day)
        self._stamps.append(stamp)
        self._views.append(views)
        self._flags.append(flags)
        self._pages.append(page)
        self._dates.append(date)  # last: its length tells how many rows were whole

    def _add_sparse(self, names: tuple[str, ...], values: tuple[int, ...]) -> None:
        """Append a row to sparse columns (posts come in ascending id; :meth:`seal` sorts when not)."""
        self._widen_for(names, values)
        for name, value in zip(names, values, strict=True):
            getattr(self, name).append(value)

    def _sparse_at(self, names: tuple[str, ...], message_id: int) -> int:
        """The slot of ``message_id`` in sparse columns, or -1."""
        ids = getattr(self, names[0])
        at = bisect_left(ids, message_id)
        return at if at < len(ids) and ids[at] == message_id else -1

    def _set_sparse(self, names: tuple[str, ...], message_id: int, values: tuple[int, ...] | None) -> None:
        """Set (None: remove) the sparse values of a post."""
        ids = getattr(self, names[0])
        at = bisect_left(ids, message_id)
        here = at < len(ids) and ids[at] == message_id
        if values is None:
            if here:
                for name in names:
                    del getattr(self, name)[at]
            return
        row = (message_id, *values)
        self._widen_for(names, row)
        for name, value in zip(names, row, strict=True):
            if here:
                getattr(self, name)[at] = value
            else:
                getattr(self, name).insert(at, value)

    def seal(self) -> None:
        """Sort the columns by message id when posts were not appended in that order (and give back
        the room :meth:`reserve` made that was not used)."""
        filled = self._filled
        if filled >= 0:
            self._filled = -1
            for column in self._dense():
                del column[filled:]
        for names in (_GROUPS, _REPLIES):
            ids = getattr(self, names[0])
            if any(ids[k] >= ids[k + 1] for k in range(len(ids) - 1)):
                order = sorted(range(len(ids)), key=ids.__getitem__)
                for name in names:
                    column = getattr(self, name)
                    setattr(self, name, array(column.typecode, (column[k] for k in order)))
        ids = self._ids
        if all(ids[k] < ids[k + 1] for k in range(len(ids) - 1)):
            return
        order = sorted(range(len(ids)), key=ids.__getitem__)
        for name in _DENSE:
            column = getattr(self, name)
            setattr(self, name, array(column.typecode, (column[k] for k in order)))

    def typecodes(self) -> dict[str, str]:
        """The typecode of each column of :meth:`to_columns` (a column is widened only when it must be)."""
        return {name.lstrip("_"): getattr(self, name).typecode for name in _COLUMNS}

    def columns(self) -> dict[str, array[int]]:
        """The columns themselves, by the names of :meth:`to_columns` (no post may be added while held)."""
        return {name.lstrip("_"): getattr(self, name) for name in _COLUMNS}

    def to_columns(self) -> dict[str, memoryview]:
        """The columns as bytes (machine byte order; their :meth:`typecodes` with them), to keep the
        plan between builds.

        Views of the columns, not copies: no post may be added while they are held.
        """
        return {name.lstrip("_"): memoryview(getattr(self, name)).cast("B") for name in _COLUMNS}

    @classmethod
    def from_columns(cls, columns: Mapping[str, bytes], typecodes: Mapping[str, str]) -> Self:
        """The planned posts saved by :meth:`to_columns`; raises ValueError when they do not fit together."""
        posts = cls()
        try:
            for name, typecode in (*_DENSE.items(), *_SPARSE.items()):
                code = typecodes[name.lstrip("_")]
                if code not in _widths(typecode):
                    raise ValueError(f"column {name.lstrip('_')} of typecode {code!r}")
                column = array(code)
                column.frombytes(columns[name.lstrip("_")])
                setattr(posts, name, column)
        except KeyError as exc:
            raise ValueError(f"column {exc} missing") from exc
        size = len(posts._ids)
        if any(len(getattr(posts, name)) != size for name in _DENSE):
            raise ValueError("columns of different lengths")
        for names in (_GROUPS, _REPLIES):
            if len({len(getattr(posts, name)) for name in names}) != 1:
                raise ValueError("sparse columns of different lengths")
        return posts

    def position(self, message_id: int) -> int:
        """The row of a post in the columns (ascending message id), or -1."""
        return self._position(message_id)

    def put(self, post: PlannedPost) -> PlannedPost | None:
        """Add a post in message id order, or replace the planned post of that id; returns the one replaced."""
        ids = self._ids
        at = bisect_left(ids, post.message_id)
        values = _row(post)
        self._widen_for(_DENSE, values)
        old = None
        if at < len(ids) and ids[at] == post.message_id:
            old = self._post(at)
            for column, value in zip(self._dense(), values, strict=True):
                column[at] = value
        else:
            for column, value in zip(self._dense(), values, strict=True):
                column.insert(at, value)
        self._set_sparse(_GROUPS, post.message_id, None if post.group is None else (post.group,))
        self._set_sparse(_REPLIES, post.message_id, post.reply_to)
        return old

    def run_start(self, at: int) -> int:
        """The row where the album run of row ``at`` begins (posts of one album next to each other by id)."""
        group = self.group_at(at)
        if group is None:
            return at
        while at > 0 and self.group_at(at - 1) == group:
            at -= 1
        return at

    def _group(self, message_id: int) -> int | None:
        k = self._sparse_at(_GROUPS, message_id)
        return None if k < 0 else self._group_values[k]

    def group_at(self, at: int) -> int | None:
        """The album of the post in row ``at``."""
        return self._group(self._ids[at])

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
        self._widen_for(("_months", "_days"), (month, day))
        self._months[at] = month
        self._days[at] = day

    def _position(self, message_id: int) -> int:
        ids = self._ids
        at = bisect_left(ids, message_id)
        return at if at < len(ids) and ids[at] == message_id else -1

    def _reply_of(self, message_id: int) -> tuple[int, int] | None:
        k = self._sparse_at(_REPLIES, message_id)
        return None if k < 0 else (self._reply_channels[k], self._reply_targets[k])

    def _post(self, at: int) -> PlannedPost:
        message_id, views, flags = self._ids[at], self._views[at], self._flags[at]
        return PlannedPost(
            message_id=message_id,
            date=_EPOCH + timedelta(microseconds=self._dates[at]),
            month=self._months[at],
            day=self._days[at],
            group=self._group(message_id),
            reply_to=self._reply_of(message_id),
            stamp=self._stamps[at],
            views=None if views == _NO_VIEWS else views,
            deleted=bool(flags & _DELETED),
            service=bool(flags & _SERVICE),
            page=self._pages[at],
        )


class PlannedPosts(PostColumns, Mapping[int, PlannedPost]):
    """A channel's planned posts by message id, kept column by column in typed arrays.

    A :class:`PlannedPost` is made on each lookup; the columns hold about 35 bytes a post, against
    several hundred for one object per post, so the plan of a million-post channel stays small.
    Posts are appended in ascending message id (as :meth:`PostRepository.outline` streams them);
    :meth:`seal` sorts them when they were not. The statistics are kept once counted (``running``)
    and brought up to date as posts are put in or moved.
    """

    __slots__ = ("running",)

    def __init__(self) -> None:
        super().__init__()
        self.running = RunningStats()

    def _tally(self, at: int, sign: int) -> None:
        views = self._views[at]
        self.running.count(
            self._months[at], bool(self._flags[at] & _DELETED), None if views == _NO_VIEWS else views, sign
        )

    def put(self, post: PlannedPost) -> PlannedPost | None:
        """Add a post in message id order, or replace the planned post of that id; returns the one replaced."""
        at = self._position(post.message_id)
        if at >= 0:
            self._tally(at, -1)
        old = super().put(post)
        self._tally(self._position(post.message_id), 1)
        views = -1 if post.views is None or post.service else post.views
        self.running.changed(post.message_id, old is not None and views < (old.views or 0))
        return old

    def set_place(self, at: int, month: int, day: int) -> None:
        """Set the month and day of row ``at``."""
        self._tally(at, -1)
        super().set_place(at, month, day)
        self._tally(at, 1)

    def replying_to(self, targets: Mapping[int, set[int]]) -> list[int]:
        """Ids of the posts replying to any of ``targets`` (channel id -> message ids)."""
        wanted = set().union(*targets.values()) if targets else set()
        if not wanted:
            return []
        found = []
        for message_id, channel_id, target in zip(
            self._reply_ids, self._reply_channels, self._reply_targets, strict=True
        ):
            if target in wanted and target in targets.get(channel_id, ()):
                found.append(message_id)
        return found

    def _row_of(self, message_id: int) -> int:
        """The row of a planned post (KeyError when the plan does not hold it)."""
        at = self._position(message_id)
        if at < 0:
            raise KeyError(message_id)
        return at

    def keyed(self, message_ids: Iterable[int]) -> list[tuple[int, int, int]]:
        """(message id, stamp, page) of planned posts, straight from the columns."""
        stamps, pages = self._stamps, self._pages
        return [(i, stamps[at], pages[at]) for i, at in ((i, self._row_of(i)) for i in message_ids)]

    def keyed_replies(self, message_ids: Sequence[int]) -> list[tuple[int, int, tuple[int, int] | None]]:
        """(message id, stamp, (channel id, message id) it replies to or None) of planned posts, straight
        from the columns (what a timeline page's key holds of its posts, without a post made a row)."""
        stamps = self._stamps
        return [(i, stamps[self._row_of(i)], self._reply_of(i)) for i in message_ids]

    def date_of(self, message_id: int) -> datetime:
        """The date of a planned post."""
        return _EPOCH + timedelta(microseconds=self._dates[self._row_of(message_id)])

    def set_page(self, message_id: int, page: int) -> None:
        """Record the timeline page (its index in the channel plan) of a post."""
        at = self._row_of(message_id)
        try:
            self._pages[at] = page
        except OverflowError:
            self._widen_for(("_pages",), (page,))
            self._pages[at] = page

    def page_of(self, message_id: int) -> int:
        """The timeline page (index) of a post; -1 when the post is not planned or not placed."""
        at = self._position(message_id)
        return -1 if at < 0 else self._pages[at]

    def day_of(self, message_id: int) -> int:
        """The local day (ordinal) of a planned post."""
        return self._days[self._row_of(message_id)]

    def days_of(self, message_ids: Sequence[int]) -> list[int]:
        """The local day of each of these planned posts (KeyError when one is not planned): the lookups
        are C loops, for a month's pages read whole."""
        ids = self._ids
        if not message_ids:
            return []
        start = bisect_left(ids, message_ids[0])
        end = start + len(message_ids)
        if ids[start:end] == message_ids:  # posts of consecutive ids, as most pages hold: the rows in a run
            return self._days[start:end].tolist()
        rows = list(map(partial(bisect_left, ids), message_ids))
        try:
            found = list(map(ids.__getitem__, rows))
        except IndexError:  # an id above every planned one
            raise KeyError(message_ids[-1]) from None
        if found != list(message_ids):
            raise KeyError(next(i for i, row in zip(message_ids, found, strict=True) if i != row))
        return list(map(self._days.__getitem__, rows))

    def stamps_of(self, message_ids: Iterable[int]) -> dict[int, int]:
        """The stamp of each of these posts the plan holds (those it does not are left out)."""
        found = {}
        for message_id in message_ids:
            at = self._position(message_id)
            if at >= 0:
                found[message_id] = self._stamps[at]
        return found

    def group_of(self, message_id: int) -> int | None:
        """The album (grouped id) of a planned post, or None."""
        self._row_of(message_id)
        return self._group(message_id)

    def __getitem__(self, message_id: int) -> PlannedPost:
        return self._post(self._row_of(message_id))

    def __contains__(self, message_id: object) -> bool:
        return isinstance(message_id, int) and self._position(message_id) >= 0

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def month_counts(self) -> dict[int, list[int]]:
        """Per month: [posts, deleted posts, views in total, posts with a view count].

        Runs on every build with new posts, over every post: the loops are the C ones of
        :mod:`itertools` (runs of one month are long, as posts go by id and dates with them).
        """
        kept = self.running.month_counts()
        if kept is not None:
            return kept
        months, views = self._months, self._views
        counts: dict[int, list[int]] = {}
        for month, total in Counter(months).items():
            counts[month] = [total, 0, 0, 0]
        for month, deleted in Counter(compress(months, bytes(self._flags).translate(_DELETED_MASK))).items():
            counts[month][1] = deleted
        with_views = compress(zip(months, views, strict=True), map(ne, views, repeat(_NO_VIEWS)))
        for month, run in groupby(with_views, key=itemgetter(0)):
            found = list(map(itemgetter(1), run))
            row = counts[month]
            row[2] += sum(found)
            row[3] += len(found)
        if self._filled < 0:  # sealed: kept from now on
            self.running.totals = {month: list(row) for month, row in counts.items()}
        return counts

    def most_viewed(self, count: int) -> list[int]:
        """Ids of the ``count`` posts (not service messages) with the most views; ties: lower id first."""
        views, flags, ids = self._views, self._flags, self._ids
        among = self.running.most_viewed_among(count)
        if among is not None:  # the last most viewed and the posts changed since
            rows = [
                at for at in map(self._position, among) if views[at] != _NO_VIEWS and not flags[at] & _SERVICE
            ]
            found = [ids[at] for at in sorted(rows, key=lambda at: (-views[at], at))[:count]]
        else:
            found = self._most_viewed(count)
        self.running.found(count, found)
        return found

    def _most_viewed(self, count: int) -> list[int]:
        views, flags, ids = self._views, self._flags, self._ids
        wanted = count
        while True:
            # rows by views, most first; equal views keep row order, which is ascending message id
            rows = heapq.nlargest(wanted, range(len(views)), key=views.__getitem__)
            found = [ids[at] for at in rows if views[at] != _NO_VIEWS and not flags[at] & _SERVICE][:count]
            if len(found) == count or wanted >= len(views):
                return found
            wanted *= 2

    def values(self) -> Iterator[PlannedPost]:  # type: ignore[override]
        """Every post, ascending by message id (made one at a time)."""
        return (self._post(at) for at in range(len(self._ids)))
