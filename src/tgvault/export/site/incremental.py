"""Incremental builds: the plan of the last build, kept in the manifest, brought up to date from the posts
written since.

A build that plans from scratch reads every post's outline. The plan it made (the typed-array columns of
:class:`PlannedPosts`, the timeline pages, the hashtags) is kept in the site's manifest together with a
change watermark per channel: the ``updated_at`` from which posts and media rows must be read again.
The next build reads only those posts (``PostRepository.changed_since``), merges them into the kept plan
(:func:`merge_changes`) and learns which pages their changes can reach: the pages holding them, the
month they are in (its day and part navigation), their neighbours, the posts replying to them, their
hashtags and search shards. Every other page keeps its manifest entry untouched.

The watermark: rows written by a transaction still open while a build reads are invisible to it and
may carry an ``updated_at`` older than what the build saw. So the next build reads the rows written
after ``min(latest seen, build start - CHANGE_LAG)``. Writes that stay open longer than ``CHANGE_LAG``
(or clocks further apart than that) are outside what this catches; a ``--full`` build repairs them.
Posts removed from the archive outright (not tombstoned) are noticed by their count, and the build
then plans from scratch, as it does when anything site-wide changed (options, templates, the tgvault
version, a channel's title, username or photo, the set of channels) or the kept plan is unreadable.
"""

from __future__ import annotations

import json
import sys
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from tgvault.domain import Channel
from tgvault.export.site.links import tag_slug
from tgvault.export.site.options import Order
from tgvault.export.site.placing import cut_pages, month_stem, outline_tags, page_path, part_path, place_of
from tgvault.export.site.plan import ChannelPlan, TagPlan, TimelinePage, stamp_of
from tgvault.export.site.planned_posts import PlannedPost, PlannedPosts
from tgvault.storage.repositories import PostOutline

PLAN_FORMAT = 3  # 3: columns kept in chunks of CHUNK_ROWS rows
CHUNK_ROWS = 8192
CHANGE_LAG = timedelta(minutes=2)


class StalePlan(Exception):
    """The kept plan cannot be brought up to date: plan from scratch."""


def utc(moment: datetime) -> datetime:
    """A moment read from the database, timezone-aware (SQLite may hand back naive UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def next_since(latest: datetime | None, started: datetime) -> datetime:
    """Where the next build reads changes from (see the module's docstring)."""
    floor = started - CHANGE_LAG - timedelta(microseconds=1)
    return floor if latest is None else min(utc(latest), floor)


# ---- keeping a plan -------------------------------------------------------------------------------


def _chunks(parts: dict[str, bytes | memoryview], name: str, column: array[int]) -> None:
    """Add ``column`` to ``parts`` as views of :data:`CHUNK_ROWS` rows each: ``<name>.0``, ``<name>.1``, ...

    A rebuild changes few rows (new posts are appended, an edit changes a row), so the manifest
    writes again only the chunks whose bytes differ."""
    data = memoryview(column).cast("B")
    step = CHUNK_ROWS * column.itemsize
    for number, start in enumerate(range(0, len(data), step)):
        parts[f"{name}.{number}"] = data[start : start + step]


def _joined(parts: Mapping[str, bytes], name: str) -> bytes:
    """The chunks of a column kept by :func:`_chunks`, joined again."""
    found: list[bytes] = []
    while (chunk := parts.get(f"{name}.{len(found)}")) is not None:
        found.append(chunk)
    return b"".join(found)


def encode_plan(
    plan: ChannelPlan, posts_since: datetime, media_since: datetime, *, with_meta: bool = True
) -> dict[str, bytes | memoryview]:
    """A channel plan as named blobs for the manifest: the post columns, the pages' and tags' ids, each
    cut into chunks of :data:`CHUNK_ROWS` rows (views, not copies), and the rest as JSON (``meta``;
    left out when not ``with_meta``)."""
    narrow = all(page.ids.typecode == "I" for page in plan.pages)
    page_ids = array("I" if narrow else "q")
    for page in plan.pages:
        page_ids.extend(page.ids if page.ids.typecode == page_ids.typecode else iter(page.ids))
    tag_ids = array("q")
    for tag in plan.tags.values():
        tag_ids.extend(tag.ids)
    columns = {f"col.{name}": column for name, column in plan.posts.columns().items()}
    columns |= {"page_ids": page_ids, "tag_ids": tag_ids}
    parts: dict[str, bytes | memoryview] = {}
    for name, column in columns.items():
        _chunks(parts, name, column)
    if not with_meta:
        return parts
    meta = {
        "format": PLAN_FORMAT,
        "byteorder": sys.byteorder,
        "typecodes": {**plan.posts.typecodes(), "page_ids": page_ids.typecode},
        "rows": {name: len(column) for name, column in columns.items()},
        "order": plan.order.value,
        "posts_since": utc(posts_since).isoformat(),
        "media_since": utc(media_since).isoformat(),
        "pages": [[page.month, page.number, len(page.ids)] for page in plan.pages],
        "tags": [[tag.key, tag.label, len(tag.ids)] for tag in plan.tags.values()],
        "stats": plan.posts.running.to_json(),  # the statistics page's figures, kept up to date
    }
    parts["meta"] = json.dumps(meta, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return parts


_MOVING_META = ("posts_since", "media_since", "stats")  # what a plan's meta changes with no post changed


def same_layout(kept_meta: bytes | memoryview, meta: bytes | memoryview) -> bool:
    """True when two plans' ``meta`` (:func:`encode_plan`) differ at most in their change marks and
    statistics: the same columns, typecodes, rows, pages and hashtags (a plan no post of which changed
    encodes its columns as they were kept: only its meta is written again)."""
    try:
        before = json.loads(bytes(kept_meta).decode("utf-8", "surrogatepass"))
        after = json.loads(bytes(meta).decode("utf-8", "surrogatepass"))
    except ValueError:  # a UnicodeDecodeError too
        return False
    if not isinstance(before, dict) or not isinstance(after, dict):
        return False
    for name in _MOVING_META:
        before.pop(name, None)
        after.pop(name, None)
    return bool(before == after)


@dataclass
class KeptPlan:
    """A channel's plan as the last build left it, and where to read changes from."""

    plan: ChannelPlan
    posts_since: datetime
    media_since: datetime


def decode_plan(channel: Channel, order: Order, parts: dict[str, bytes]) -> KeptPlan:
    """The kept plan of ``channel``; raises :class:`StalePlan` when missing, from another format or broken."""
    try:
        meta = json.loads(parts["meta"].decode("utf-8", "surrogatepass"))
        if meta.get("format") != PLAN_FORMAT or meta.get("byteorder") != sys.byteorder:
            raise StalePlan("kept plan of another format")
        if meta.get("order") != order.value:
            raise StalePlan("kept plan of another order")
        rows: dict[str, int] = meta["rows"]
        posts = PlannedPosts.from_columns(
            {name.removeprefix("col."): _joined(parts, name) for name in rows if name.startswith("col.")},
            meta["typecodes"],
        )
        page_ids = array("I" if meta["typecodes"]["page_ids"] == "I" else "q")
        page_ids.frombytes(_joined(parts, "page_ids"))
        tag_ids = array("q")
        tag_ids.frombytes(_joined(parts, "tag_ids"))
        if len(page_ids) != rows["page_ids"] or len(tag_ids) != rows["tag_ids"]:
            raise StalePlan("kept plan with chunks missing")
        if any(len(column) != rows[f"col.{name}"] for name, column in posts.columns().items()):
            raise StalePlan("kept plan with chunks missing")
        posts.running.from_json(meta.get("stats"), len(posts), posts.__contains__)
        pages: list[TimelinePage] = []
        months: dict[int, list[int]] = {}
        stems: dict[int, str] = {}  # each month's path stem, made once for its parts
        start = 0
        for month, number, size in meta["pages"]:
            ids = page_ids[start : start + size]
            start += size
            stem = stems.get(month)
            if stem is None:
                stem = stems[month] = month_stem(channel.id, month)
            pages.append(TimelinePage(len(pages), month, number, part_path(stem, number), ids))
            months.setdefault(month, []).append(len(pages) - 1)
        if start != len(page_ids) or start != len(posts):
            raise StalePlan("kept pages do not hold every post")
        tags: dict[str, TagPlan] = {}
        start = 0
        for key, label, size in meta["tags"]:
            tags[key] = TagPlan(key=key, label=label, slug=tag_slug(key), ids=tag_ids[start : start + size])
            start += size
        if start != len(tag_ids):
            raise StalePlan("kept tags do not fit")
        posts_since = datetime.fromisoformat(meta["posts_since"])
        media_since = datetime.fromisoformat(meta["media_since"])
    except (KeyError, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise StalePlan(f"kept plan unreadable: {exc}") from exc
    plan = ChannelPlan(channel=channel, order=order, posts=posts, pages=pages, months=months, tags=tags)
    return KeptPlan(plan, posts_since, media_since)


# ---- merging changes ------------------------------------------------------------------------------


@dataclass
class ChannelChanges:
    """What a merge changed in one channel's plan, and which of its pages must be looked at."""

    dirty: set[int] = field(default_factory=set)  # posts whose stamp, place or neighbours may differ
    shard_months: set[int] = field(default_factory=set)
    timeline: set[int] | None = field(default_factory=set)  # page indexes (None: every page)
    permalinks: set[int] = field(default_factory=set)  # page indexes whose posts' permalinks to key
    tags: set[str] = field(default_factory=set)
    # tag key -> the lowest message id whose change reaches the tag: its pages from the one holding that
    # id on may differ (with their neighbours and the landing page); the pages before it do not
    tag_from: dict[str, int] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    media: dict[int, str | None] = field(default_factory=dict)  # the file each changed post shows


def _month_shape(
    pages: Sequence[TimelinePage], days_of: Callable[[array[int]], list[int]], order: Order
) -> tuple[object, object]:
    """What every timeline page of a month shows of the month: its days (-> page) and its parts."""
    page_days = [(page.path, days_of(page.ids)) for page in pages]
    days: dict[int, str] = {}
    for path, found in reversed(page_days) if order is Order.NEWEST else page_days:
        for day in dict.fromkeys(found):
            days.setdefault(day, path)
    parts = [(path, found[0], found[-1]) for path, found in page_days]
    return sorted(days.items(), reverse=order is Order.NEWEST), parts


def _new_neighbours(old: Sequence[str], new: Sequence[str]) -> list[str]:
    """The paths among ``new`` (timeline pages in reading order) whose neighbours are not those they had
    in ``old``: only pages next to where the two orders differ are looked at (the same paths before and
    after them have the same neighbours)."""
    limit = min(len(old), len(new))
    head = 0  # how many paths both begin with
    while head < limit and old[head] == new[head]:
        head += 1
    tail = 0  # how many paths both end with, after those
    while tail < limit - head and old[len(old) - 1 - tail] == new[len(new) - 1 - tail]:
        tail += 1

    def neighbours(paths: Sequence[str], at: int) -> tuple[str | None, str | None]:
        return paths[at - 1] if at > 0 else None, paths[at + 1] if at + 1 < len(paths) else None

    # a path kept among the first head - 1 (or last tail - 1) of both is at the same place in both,
    # between the same two paths
    old_at = {old[at]: at for at in range(max(0, head - 1), min(len(old), len(old) - tail + 1))}
    found = []
    for at in range(max(0, head - 1), min(len(new), len(new) - tail + 1)):
        path = new[at]
        before = old_at.get(path)
        if before is None or neighbours(old, before) != neighbours(new, at):
            found.append(path)
    return found


def _reach(changes: ChannelChanges, key: str, message_id: int) -> None:
    """Note that a change at ``message_id`` reaches the pages of hashtag ``key``."""
    known = changes.tag_from.get(key)
    if known is None or message_id < known:
        changes.tag_from[key] = message_id


def _tags_holding(tags: Iterable[TagPlan], ids: Sequence[int]) -> dict[str, list[int]]:
    """Tag key -> the ids among ``ids`` (ascending) that the tag holds."""
    found: dict[str, list[int]] = {}
    if not ids:
        return found
    low, high = ids[0], ids[-1]
    for tag in tags:
        tag_ids = tag.ids
        at = bisect_left(tag_ids, low)
        if at == len(tag_ids) or tag_ids[at] > high:
            continue
        for message_id in ids:
            k = bisect_left(tag_ids, message_id)
            if k < len(tag_ids) and tag_ids[k] == message_id:
                found.setdefault(tag.key, []).append(message_id)
    return found


def _recut_month(
    posts: PlannedPosts, old: Sequence[array[int]], dirty: set[int], joining: list[int], per_page: int
) -> list[array[int]]:
    """The ids of each page of a month some of whose posts changed (empty: the month has none left).

    ``old``: the ids of the month's pages as kept, in timeline order; ``joining``: the ``dirty`` posts
    now in the month. The posts that stay keep their order (the keys they are sorted by, the date of
    their album's first post and their id, did not change); the joining ones are put in among them by
    their keys. Pages are cut from the month's first post on, each from where the one before ended, so
    the pages before the first one the change reaches come out as they were kept: only the pages from
    the one holding the last post before the first change on are cut again.
    """

    def sort_key(message_id: int) -> tuple[int, int]:
        return posts.date_at(posts.run_start(posts.position(message_id))), message_id

    staying: list[int] = []
    first_left = -1  # where the first post that left (or moves) was in the month's kept order
    for ids in old:
        kept = [i for i in ids if i not in dirty]
        if first_left < 0 and len(kept) != len(ids):
            first_left = len(staying) + next(k for k, i in enumerate(ids) if i in dirty)
        staying.extend(kept)
    if first_left < 0:
        first_left = len(staying)
    joining = sorted(joining, key=sort_key)
    places: list[int] = []  # where each joining post goes among the staying ones
    place = 0
    for message_id in joining:
        place = bisect_left(staying, sort_key(message_id), place, key=sort_key)
        places.append(place)
    same = min(first_left, places[0] if places else len(staying))  # the posts in their kept places
    if not staying and not joining:
        return []
    kept_pages, start = 0, 0
    while kept_pages < len(old) and start + len(old[kept_pages]) <= same - 1:
        start += len(old[kept_pages])
        kept_pages += 1
    tail: list[int] = []
    at = start
    for message_id, place in zip(joining, places, strict=True):
        tail.extend(staying[at:place])
        tail.append(message_id)
        at = place
    tail.extend(staying[at:])
    return [*old[:kept_pages], *cut_pages(((i, posts.group_of(i)) for i in tail), per_page)]


def _reply_of(outline: PostOutline, channel_id: int) -> tuple[int, int] | None:
    """The (channel, message) a post replies to, as the plan keeps it."""
    if outline.reply_to_message_id is None:
        return None
    return outline.reply_to_channel_id or channel_id, outline.reply_to_message_id


def _planned_as_is(posts: PlannedPosts, outline: PostOutline, channel_id: int) -> bool:
    """True when the plan holds the post with every fact of ``outline`` (its stamp changes whenever
    the post, its media row or its comments are written): merging it again would change nothing."""
    old = posts.get(outline.message_id)
    return (
        old is not None
        and old.stamp == stamp_of(outline)
        and old.date == outline.date
        and old.group == outline.grouped_id
        and old.reply_to == _reply_of(outline, channel_id)
        and old.views == outline.views
        and old.deleted == outline.deleted
        and old.service == outline.is_service
    )


def merge_changes(
    plan: ChannelPlan,
    outlines: Sequence[PostOutline],
    zone: tzinfo,
    per_page: int,
    read_outlines: Callable[[list[int]], list[PostOutline]],
) -> ChannelChanges:
    """Bring ``plan`` up to date with the outlines of the posts written since it was made.

    ``read_outlines`` reads more outlines of the channel (for a hashtag whose first post changed).
    Raises :class:`StalePlan` when the change reaches every page of the channel in a way the kept plan
    cannot follow (the channel gets its first hashtag, or loses its last).
    """
    changes = ChannelChanges()
    posts = plan.posts
    channel_id = plan.channel.id
    # posts read again though the plan already holds them as they are (written within CHANGE_LAG of
    # the last build, which read them then): nothing of them to merge
    outlines = [outline for outline in outlines if not _planned_as_is(posts, outline, channel_id)]
    if not outlines:
        return changes
    old_pages = list(plan.pages)
    old_months = sorted(plan.months)
    old_reading = [page.path for page in plan.display_pages()]
    had_tags = bool(plan.tags)
    # old (month, day, page index) of every post whose planned facts are rewritten
    before: dict[int, tuple[int, int, int]] = {}
    changed = sorted({outline.message_id for outline in outlines})
    changed_set = set(changed)
    new_tags: dict[int, dict[str, str]] = {}
    starts: list[tuple[int, set[int]]] = []  # rows to walk from, and the albums they may continue
    for outline in outlines:
        message_id = outline.message_id
        month, day = place_of(outline.date, zone)
        reply = _reply_of(outline, channel_id)
        old = posts.put(
            PlannedPost(
                message_id=message_id,
                date=outline.date,
                month=month,
                day=day,
                group=outline.grouped_id,
                reply_to=reply,
                stamp=stamp_of(outline),
                views=outline.views,
                deleted=outline.deleted,
                service=outline.is_service,
                page=-1,
            )
        )
        at = posts.position(message_id)
        groups = {outline.grouped_id} if outline.grouped_id is not None else set()
        if old is not None:
            before[message_id] = (old.month, old.day, old.page)
            posts.set_page(message_id, old.page)
            if old.group is not None:
                groups.add(old.group)
        elif at > 0:  # a post inserted inside a run splits it
            previous_group = posts.group_at(at - 1)
            if previous_group is not None:
                groups.add(previous_group)
        starts.append((at, groups))
        changes.media[message_id] = outline.media_path
        new_tags[message_id] = outline_tags(outline) if outline.hashtags else {}
    # Album members take the month and day of their album's first post: place every row whose album
    # run may have changed again.
    rows: set[int] = set()
    size = len(posts)
    for at, groups in starts:
        rows.add(at)
        k = at + 1
        while k < size and posts.group_at(k) in groups:
            rows.add(k)
            k += 1
    for at in sorted(rows):
        message_id = posts.id_at(at)
        if message_id not in before and message_id not in changed_set:
            month, day = posts.place_at(at)
            before[message_id] = (month, day, posts.page_of(message_id))
        start = posts.run_start(at)
        month, day = place_of(posts.moment_at(start), zone)
        posts.set_place(at, month, day)
        changes.dirty.add(message_id)
    dirty = changes.dirty

    def old_days(ids: array[int]) -> list[int]:
        found = posts.days_of(ids)
        if before.keys().isdisjoint(ids):
            return found
        return [before[i][1] if i in before else day for i, day in zip(ids, found, strict=True)]

    # The months these posts left or joined are cut into pages again.
    affected: set[int] = set()
    for message_id in dirty:
        kept = before.get(message_id)
        if kept is not None:
            affected.add(kept[0])
        affected.add(posts.place_at(posts.position(message_id))[0])
    shapes_before = {
        month: _month_shape([old_pages[i] for i in plan.months[month]], old_days, plan.order)
        for month in affected
        if month in plan.months
    }
    joining: dict[int, list[int]] = {month: [] for month in affected}  # the dirty posts of each month
    for message_id in dirty:
        joining[posts.place_at(posts.position(message_id))[0]].append(message_id)
    recut = {
        month: _recut_month(
            posts, [old_pages[i].ids for i in plan.months.get(month, ())], dirty, joining[month], per_page
        )
        for month in affected
    }
    # the months before the first one changed keep their pages where they were
    first = min(affected)
    untouched = sum(len(indexes) for month, indexes in plan.months.items() if month < first)
    new_pages: list[TimelinePage] = old_pages[:untouched]
    new_months: dict[int, list[int]] = {month: plan.months[month] for month in old_months if month < first}
    old_index_of_path = {page.path: page.index for page in old_pages[untouched:]}
    moved_index: set[int] = set()
    later = (set(plan.months) - affected) | {m for m in affected if recut[m]}
    for month in sorted(month for month in later if month >= first):
        if month in affected:
            pages = [
                TimelinePage(len(new_pages) + n, month, n + 1, page_path(channel_id, month, n + 1), ids)
                for n, ids in enumerate(recut[month])
            ]
        else:
            pages = [plan.pages[i] for i in plan.months[month]]
        for page in pages:
            index = len(new_pages)
            old_index = old_index_of_path.get(page.path)
            reused = month not in affected
            if reused and old_index == index:
                page.index = index
            else:
                page.index = index
                old_page = old_pages[old_index] if old_index is not None else None
                same = old_page is not None and old_page.ids == page.ids
                if not reused and not same:
                    changes.permalinks.add(index)
                    if changes.timeline is not None:
                        changes.timeline.add(index)
                if same and old_index == index:  # its posts were on it, and are
                    new_pages.append(page)
                    new_months.setdefault(month, []).append(index)
                    continue
                for message_id in page.ids:
                    kept = before.get(message_id)
                    previous = kept[2] if kept is not None else posts.page_of(message_id)
                    if previous != index:
                        moved_index.add(message_id)
                        if previous < 0 or old_pages[previous].path != page.path:
                            dirty.add(message_id)
                    posts.set_page(message_id, index)
            new_pages.append(page)
            new_months.setdefault(month, []).append(index)
    plan.pages = new_pages
    plan.months = new_months
    plan._month_days.clear()
    new_paths = {page.path for page in new_pages[untouched:]}
    changes.removed.extend(page.path for page in old_pages[untouched:] if page.path not in new_paths)
    changes.removed.extend(plan.shard_path(month) for month in old_months if month not in new_months)

    # Which timeline pages and permalinks to key again.
    timeline = changes.timeline
    if sorted(new_months) != old_months:
        changes.timeline = timeline = None  # every page's month navigator changed
    if timeline is not None:
        for month in affected:
            if month in new_months and shapes_before.get(month) != _month_shape(
                [new_pages[i] for i in new_months[month]], posts.days_of, plan.order
            ):
                timeline.update(new_months[month])
        reading = plan.display_pages()
        index_of_path = {page.path: page.index for page in reading}
        for path in _new_neighbours(old_reading, [page.path for page in reading]):
            timeline.add(index_of_path[path])
    for message_id in dirty:
        index = posts.page_of(message_id)
        changes.permalinks.add(index)
        if timeline is not None:
            timeline.add(index)
        kept = before.get(message_id)
        if kept is not None:
            changes.shard_months.add(kept[0])
        changes.shard_months.add(posts[message_id].month)

    # Hashtags: membership of the changed posts, labels taken from each tag's first post.
    touched = _tags_holding(plan.tags.values(), changed)
    keys = set(touched)
    for found in new_tags.values():
        keys.update(found)
    relabel: dict[int, list[str]] = {}
    for key in keys:
        tag = plan.tags.get(key)
        staying = array("q") if tag is None else tag.ids
        if key in touched:
            staying = array("q", (i for i in staying if i not in changed_set))
        adding = [i for i in changed if key in new_tags[i]]  # ascending, none of them staying
        if not staying and not adding:
            if tag is not None:
                changes.removed.extend(plan.tag_page_paths(tag))
                del plan.tags[key]
            continue
        if staying and adding and adding[0] < staying[-1]:  # in among the tag's posts
            ordered_ids = array("q", sorted([*staying, *adding]))
        else:  # after them (new posts): the tag's ids as they were, and the new ones
            ordered_ids = array("q", staying)
            ordered_ids.extend(adding)
        first = ordered_ids[0]
        if first in changed_set:
            label = new_tags[first][key]
        elif tag is not None and tag.ids[0] == first:
            label = tag.label
        else:
            relabel.setdefault(first, []).append(key)
            label = ""
        plan.tags[key] = TagPlan(key=key, label=label, slug=tag_slug(key), ids=ordered_ids)
        changes.tags.add(key)
        reaching = [*touched.get(key, ()), *(i for i in changed if key in new_tags[i])]
        _reach(changes, key, min(reaching))
    if relabel:
        for outline in read_outlines(sorted(relabel)):
            found = outline_tags(outline)
            for key in relabel.pop(outline.message_id, []):
                plan.tags[key].label = found.get(key, "")
        if relabel:
            raise StalePlan("the first post of a hashtag is gone")
    for key, held in _tags_holding(plan.tags.values(), sorted(dirty | moved_index)).items():
        changes.tags.add(key)
        _reach(changes, key, held[0])
    if bool(plan.tags) != had_tags:
        raise StalePlan("the channel's hashtag index appeared or went away")
    changes.permalinks.discard(-1)
    if timeline is not None:
        timeline.discard(-1)
    return changes


def add_repliers(plan: ChannelPlan, changes: ChannelChanges, targets: dict[int, set[int]]) -> None:
    """Key again the pages of posts replying to posts that changed (their reply shows the target)."""
    for message_id in plan.posts.replying_to(targets):
        index = plan.posts.page_of(message_id)
        if index < 0:
            continue
        changes.permalinks.add(index)
        if changes.timeline is not None:
            changes.timeline.add(index)
