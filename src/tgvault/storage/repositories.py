"""Repositories: the archive's aggregates in and out of SQL. They never commit; the unit of work does."""

from __future__ import annotations

import builtins
import os
import socket
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar, cast

from sqlalchemy import Select, String, Table, and_, bindparam, case, delete, func, select, update
from sqlalchemy import cast as cast_to
from sqlalchemy.orm import Session

from tgvault.domain import (
    Channel,
    ChannelKind,
    ChannelSummary,
    Contact,
    EntityKind,
    Forward,
    Location,
    MediaItem,
    MediaStatus,
    Poll,
    Post,
    PostRevision,
    Reaction,
    RunCounts,
    RunStatus,
    ServiceAction,
    SourceKind,
    SyncRun,
    SyncState,
    TextEntity,
    WebPagePreview,
)
from tgvault.merge import merge_sources
from tgvault.storage.bulk import insert_rows
from tgvault.storage.database import load_json
from tgvault.storage.observations import (
    COUNTER_FIELDS,
    CounterRepository,
    counters_changed,
    merged_counters,
)
from tgvault.storage.tables import (
    ChannelLockRow,
    ChannelObservationRow,
    ChannelRow,
    MediaItemRow,
    PostRevisionRow,
    PostRow,
    SyncRunRow,
    SyncStateRow,
    utcnow,
)

T = TypeVar("T")

# SQLite limits bound parameters per statement; keep IN lists and multi-row inserts below it.
CHUNK = 500


def _table(row_class: Any) -> Table:
    """The Core table of a row class (for executemany inserts that skip the ORM's per-row work)."""
    return cast(Table, row_class.__table__)


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Statements run for every page of a backfill, built once (their compiled form is then cached by key).
# (Core statements on the tables: no ORM compile step on each execution.)
_POSTS = cast(Table, PostRow.__table__)
_EXISTING_IDS = select(_POSTS.c.message_id).where(
    _POSTS.c.channel_id == bindparam("channel_id"), _POSTS.c.message_id.in_(bindparam("ids", expanding=True))
)
_SYNC_STATE = cast(Table, SyncStateRow.__table__)
_SYNC_STATE_GET = select(_SYNC_STATE).where(_SYNC_STATE.c.channel_id == bindparam("state_channel_id"))
_SYNC_STATE_UPDATE = update(_SYNC_STATE).where(_SYNC_STATE.c.channel_id == bindparam("state_channel_id"))
_LOCKS = cast(Table, ChannelLockRow.__table__)
_HEARTBEAT = (
    update(_LOCKS)
    .where(_LOCKS.c.channel_key == bindparam("lock_key"), _LOCKS.c.owner == bindparam("lock_owner"))
    .values(heartbeat_at=bindparam("now"))
)


def _dump(model: Any) -> Any:
    return None if model is None else model.model_dump(mode="json", exclude_defaults=True)


def entities_json(entities: Iterable[TextEntity]) -> list[dict[str, Any]]:
    """The stored JSON of text entities: ``model_dump(mode="json", exclude_defaults=True)`` of each,
    written by hand (same keys, same order) because it runs for every post archived."""
    dumped = []
    for entity in entities:
        item: dict[str, Any] = {"kind": entity.kind.value, "offset": entity.offset, "length": entity.length}
        if entity.url is not None:
            item["url"] = entity.url
        if entity.language is not None:
            item["language"] = entity.language
        if entity.user_id is not None:
            item["user_id"] = entity.user_id
        if entity.document_id is not None:
            item["document_id"] = entity.document_id
        if entity.collapsed:
            item["collapsed"] = entity.collapsed
        dumped.append(item)
    return dumped


def reactions_json(reactions: Iterable[Reaction]) -> list[dict[str, Any]]:
    """The stored JSON of reactions, like :func:`entities_json` (by hand, as ``model_dump`` would)."""
    dumped = []
    for reaction in reactions:
        item: dict[str, Any] = {}
        if reaction.emoji is not None:
            item["emoji"] = reaction.emoji
        if reaction.custom_emoji_id is not None:
            item["custom_emoji_id"] = reaction.custom_emoji_id
        if reaction.paid:
            item["paid"] = reaction.paid
        item["count"] = reaction.count
        dumped.append(item)
    return dumped


class ChannelRepository:
    """Channels, and the history of their title, username, description and subscriber count."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def upsert(self, channel: Channel, observed_at: datetime | None = None) -> None:
        """Insert or update a channel; record an observation when anything visible changed."""
        now = observed_at or utcnow()
        row = self._session.get(ChannelRow, channel.id)
        values = {
            "username": channel.username,
            "title": channel.title,
            "description": channel.description,
            "subscribers": channel.subscribers,
            "kind": channel.kind.value,
            "created_at": channel.created_at,
            "photo_sha256": channel.photo_sha256,
        }
        if row is None:
            self._session.add(ChannelRow(id=channel.id, first_seen_at=now, updated_at=now, **values))
            self._session.flush()
            changed = True
        else:
            changed = any(
                getattr(row, key) != values[key]
                for key in ("username", "title", "description", "subscribers")
            )
            for key, value in values.items():
                if value is not None or key in ("username", "description"):
                    setattr(row, key, value)
            row.updated_at = now
        if changed:
            self._session.add(
                ChannelObservationRow(
                    channel_id=channel.id,
                    observed_at=now,
                    title=channel.title,
                    username=channel.username,
                    description=channel.description,
                    subscribers=channel.subscribers,
                )
            )
        self._session.flush()

    def get(self, channel_id: int) -> Channel | None:
        """The channel with this Telegram id, if archived."""
        row = self._session.get(ChannelRow, channel_id)
        return None if row is None else _channel_from_row(row)

    def find(self, key: str) -> Channel | None:
        """Find an archived channel by username (with or without @, any case) or numeric id."""
        key = key.strip().removeprefix("@")
        for prefix in ("https://t.me/", "http://t.me/", "t.me/"):
            key = key.removeprefix(prefix)
        key = key.split("/")[0]
        if key.lstrip("-").isdigit():
            number = int(key)
            if number < 0 and str(number).startswith("-100"):
                number = int(str(number)[4:])
            return self.get(abs(number))
        row = self._session.scalars(
            select(ChannelRow).where(func.lower(ChannelRow.username) == key.lower())
        ).first()
        return None if row is None else _channel_from_row(row)

    def list(self) -> list[Channel]:
        """Every archived channel, by title."""
        rows = self._session.scalars(select(ChannelRow).order_by(ChannelRow.title, ChannelRow.id))
        return [_channel_from_row(row) for row in rows]

    def observations(self, channel_id: int) -> builtins.list[tuple[datetime, int | None, str]]:
        """(observed_at, subscribers, title) over time, oldest first."""
        rows = self._session.execute(
            select(
                ChannelObservationRow.observed_at,
                ChannelObservationRow.subscribers,
                ChannelObservationRow.title,
            )
            .where(ChannelObservationRow.channel_id == channel_id)
            .order_by(ChannelObservationRow.observed_at, ChannelObservationRow.id)
        )
        return [(row[0], row[1], row[2]) for row in rows]


def _channel_from_row(row: ChannelRow) -> Channel:
    return Channel(
        id=row.id,
        username=row.username,
        title=row.title,
        description=row.description,
        subscribers=row.subscribers,
        kind=ChannelKind(row.kind),
        created_at=row.created_at,
        photo_sha256=row.photo_sha256,
    )


@dataclass(frozen=True, slots=True)
class PostOutline:
    """A post's light facts for planning pages: dates, links between posts, counters, text and hashtags.

    ``version`` changes whenever the post or its media row is written (their ``updated_at`` stamps, as
    the database spells them). ``media_path`` is the stored file the site shows: the attachment when
    downloaded, else its stored thumbnail if any; ``hashtags`` are the post's hashtag entities (the only
    entities a page plan needs) and ``text`` is read only for posts that have some (else "").
    """

    message_id: int
    date: datetime
    version: str
    media_path: str | None
    grouped_id: int | None
    reply_to_message_id: int | None
    reply_to_channel_id: int | None
    views: int | None
    is_service: bool
    deleted: bool
    text: str
    hashtags: tuple[TextEntity, ...]


@dataclass(frozen=True)
class UpsertOutcome:
    """What an upsert of a batch of posts did."""

    added: int = 0
    edited: int = 0
    unchanged: int = 0
    undeleted: int = 0


_POST_FIELDS = (
    "date",
    "edit_date",
    "text",
    "entities",
    "service",
    "author",
    "grouped_id",
    "reply_to_message_id",
    "reply_to_channel_id",
    "forward",
    "views",
    "forwards",
    "replies",
    "reactions",
    "poll",
    "web_page",
    "location",
    "contact",
    "pinned",
    "raw",
    "parse_error",
    "source",
)


def _post_values(post: Post) -> dict[str, Any]:
    return {
        "date": post.date,
        "edit_date": post.edit_date,
        "text": post.text,
        "entities": entities_json(post.entities),
        "service": _dump(post.service),
        "author": post.author,
        "grouped_id": post.grouped_id,
        "reply_to_message_id": post.reply_to_message_id,
        "reply_to_channel_id": post.reply_to_channel_id,
        "forward": _dump(post.forward),
        "views": post.views,
        "forwards": post.forwards,
        "replies": post.replies,
        "reactions": reactions_json(post.reactions),
        "poll": _dump(post.poll),
        "web_page": _dump(post.web_page),
        "location": _dump(post.location),
        "contact": _dump(post.contact),
        "pinned": post.pinned,
        "raw": post.raw,
        "parse_error": post.parse_error,
        "source": post.source.value,
    }


_MEDIA_DESCRIPTION = (
    "kind",
    "telegram_id",
    "mime_type",
    "file_name",
    "size",
    "width",
    "height",
    "duration",
    "performer",
    "title",
    "sticker_emoji",
    "spoiler",
)


def _media_values(media: MediaItem) -> dict[str, Any]:
    values = {name: getattr(media, name) for name in _MEDIA_DESCRIPTION}
    values["kind"] = media.kind.value
    values.update(status=media.status.value, sha256=media.sha256, path=media.path, error=media.error)
    values.update(thumbnail_sha256=media.thumbnail_sha256, thumbnail_path=media.thumbnail_path)
    return values


def _revision_values(state: Post, revision: int, observed_at: datetime) -> dict[str, Any]:
    return {
        "channel_id": state.channel_id,
        "message_id": state.message_id,
        "revision": revision,
        "text": state.text,
        "entities": entities_json(state.entities),
        "edit_date": state.edit_date,
        "observed_at": observed_at,
        "raw": state.raw,
    }


def _revision_key(row: PostRow, media: MediaItemRow | None) -> tuple[Any, ...]:
    """The same content key as :meth:`Post.content_key`, computed from stored rows."""
    stored = _post_from_row(row, media)
    return stored.content_key()


def _with_known_size(post: Post, media_row: MediaItemRow | None) -> Post:
    """A source that does not know a file's size (the web preview) keeps the size already recorded."""
    media = post.media
    if media is None or media.size is not None or media_row is None or media_row.size is None:
        return post
    if media_row.kind != media.kind.value or media_row.telegram_id != media.telegram_id:
        return post
    return post.model_copy(update={"media": media.model_copy(update={"size": media_row.size})})


class PostRepository:
    """Posts with their media, revisions and tombstones."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def upsert_many(self, posts: Sequence[Post], observed_at: datetime | None = None) -> UpsertOutcome:
        """Idempotently store a batch of posts of one channel.

        A post seen for the first time is inserted. A post whose text, entities or attachment
        changed keeps its earlier state as a :class:`PostRevision` (with that state's raw TL) and
        takes the new one. Counters (views, forwards, reactions) are updated without a revision.
        A post that reappears after being marked deleted loses its tombstone.
        """
        if not posts:
            return UpsertOutcome()
        now = observed_at or utcnow()
        channel_ids = {post.channel_id for post in posts}
        if len(channel_ids) != 1:
            raise ValueError("upsert_many takes posts of one channel at a time")
        (channel_id,) = channel_ids
        latest: dict[int, Post] = {}
        for post in posts:
            latest[post.message_id] = post
        # One light query tells which posts are already archived; only those are loaded whole (a
        # backfill's pages are mostly new, and new rows go straight to a bulk insert).
        known = self._existing_ids(channel_id, list(latest))
        existing = self._load_rows(channel_id, sorted(known)) if known else {}
        new_rows: list[dict[str, Any]] = []
        revisions: list[dict[str, Any]] = []
        counters: list[dict[str, Any]] = []
        edited = unchanged = undeleted = 0
        for message_id, post in latest.items():
            found = existing.get(message_id)
            if found is not None:
                post = latest[message_id] = _with_known_size(post, found[1])
            values = _post_values(post)
            stored = None if found is None else {name: getattr(found[0], name) for name in COUNTER_FIELDS}
            if counters_changed(stored, values):
                counters.append(
                    {"channel_id": channel_id, "message_id": message_id, "observed_at": now}
                    | merged_counters(stored, values)
                )
            if found is None:
                new_rows.append(
                    {
                        "channel_id": channel_id,
                        "message_id": message_id,
                        "deleted_at": None,
                        "revision_count": 0,
                        "first_seen_at": now,
                        "updated_at": now,
                        **values,
                    }
                )
                continue
            row, media_row = found
            if row.deleted_at is not None:
                row.deleted_at = None
                undeleted += 1
            if row.source != post.source.value:
                # Another source's record: merged field by field (tgvault.merge), off the hot path.
                merged = merge_sources(_post_from_row(row, media_row), post)
                post = latest[message_id] = merged.post
                if merged.kept is not None and not self._has_revision(channel_id, message_id, merged.kept):
                    row.revision_count += 1
                    revisions.append(_revision_values(merged.kept, row.revision_count, now))
                values = _post_values(post)
                for key in _POST_FIELDS:
                    setattr(row, key, values[key])
                if merged.text_changed:
                    edited += 1
                else:
                    unchanged += 1
            elif _revision_key(row, media_row) != post.content_key():
                row.revision_count += 1
                revisions.append(
                    {
                        "channel_id": channel_id,
                        "message_id": message_id,
                        "revision": row.revision_count,
                        "text": row.text,
                        "entities": row.entities,
                        "edit_date": row.edit_date,
                        "observed_at": now,
                        "raw": row.raw,
                    }
                )
                for key in _POST_FIELDS:
                    setattr(row, key, values[key])
                edited += 1
            else:
                unchanged += 1
                for key in ("views", "forwards", "replies", "reactions", "pinned", "edit_date", "raw"):
                    if key in ("raw",) or values[key] is not None:
                        setattr(row, key, values[key])
            row.updated_at = now
        connection = self._session.connection()
        # One bulk insert per page and table (executemany on SQLite, COPY on PostgreSQL; storage/bulk.py).
        insert_rows(connection, _table(PostRow), new_rows)
        insert_rows(connection, _table(PostRevisionRow), revisions)
        CounterRepository(self._session).add_many(counters)
        self._session.flush()
        self._upsert_media(channel_id, [p for p in latest.values() if p.media is not None], now)
        return UpsertOutcome(added=len(new_rows), edited=edited, unchanged=unchanged, undeleted=undeleted)

    def _has_revision(self, channel_id: int, message_id: int, state: Post) -> bool:
        """True when a revision of the post already holds this text (a merge keeps each text once)."""
        found = self._session.scalar(
            select(PostRevisionRow.id)
            .where(
                PostRevisionRow.channel_id == channel_id,
                PostRevisionRow.message_id == message_id,
                PostRevisionRow.text == state.text,
            )
            .limit(1)
        )
        return found is not None

    def _existing_ids(self, channel_id: int, message_ids: Sequence[int]) -> set[int]:
        """Which of ``message_ids`` the channel already has archived (deleted or not)."""
        found: set[int] = set()
        for chunk in _chunks(message_ids):
            found.update(self._session.scalars(_EXISTING_IDS, {"channel_id": channel_id, "ids": list(chunk)}))
        return found

    def _load_rows(
        self, channel_id: int, message_ids: Sequence[int]
    ) -> dict[int, tuple[PostRow, MediaItemRow | None]]:
        found: dict[int, tuple[PostRow, MediaItemRow | None]] = {}
        for chunk in _chunks(message_ids):
            query = (
                select(PostRow, MediaItemRow)
                .outerjoin(
                    MediaItemRow,
                    and_(
                        MediaItemRow.channel_id == PostRow.channel_id,
                        MediaItemRow.message_id == PostRow.message_id,
                    ),
                )
                .where(PostRow.channel_id == channel_id, PostRow.message_id.in_(chunk))
            )
            for post_row, media_row in self._session.execute(query):
                found[post_row.message_id] = (post_row, media_row)
        return found

    def _upsert_media(self, channel_id: int, posts: Sequence[Post], now: datetime) -> None:
        """Record each post's attachment; a file already downloaded stays downloaded if unchanged."""
        if not posts:
            return
        current = {
            row.message_id: row
            for chunk in _chunks([p.message_id for p in posts])
            for row in self._session.scalars(
                select(MediaItemRow).where(
                    MediaItemRow.channel_id == channel_id, MediaItemRow.message_id.in_(chunk)
                )
            )
        }
        fresh: list[dict[str, Any]] = []
        for post in posts:
            media = post.media
            assert media is not None
            values = _media_values(media)
            row = current.get(post.message_id)
            if row is None:
                fresh.append(
                    {
                        "channel_id": channel_id,
                        "message_id": post.message_id,
                        "attempts": 0,
                        "updated_at": now,
                    }
                    | values
                )
                continue
            same_file = row.telegram_id == media.telegram_id and row.size == media.size
            keep_download = same_file and row.status == MediaStatus.DOWNLOADED.value
            for key in _MEDIA_DESCRIPTION:
                setattr(row, key, values[key])
            if not keep_download and (media.status != MediaStatus.PENDING or not same_file):
                row.status, row.sha256, row.path, row.error = (
                    values["status"],
                    values["sha256"],
                    values["path"],
                    values["error"],
                )
                if not same_file:
                    row.attempts = 0
            row.updated_at = now
        insert_rows(self._session.connection(), _table(MediaItemRow), fresh)
        self._session.flush()

    def get(self, channel_id: int, message_id: int) -> Post | None:
        """One archived post with its media and tombstone."""
        found = self._load_rows(channel_id, [message_id]).get(message_id)
        return None if found is None else _post_from_row(*found)

    def get_many(self, channel_id: int, message_ids: Sequence[int]) -> dict[int, Post]:
        """Archived posts of the channel among ``message_ids`` (with media and tombstones), by message id."""
        found = self._load_rows(channel_id, list(message_ids))
        return {message_id: _post_from_row(*rows) for message_id, rows in found.items()}

    def count(self, channel_id: int, *, include_deleted: bool = True) -> int:
        """How many posts of the channel are archived."""
        query = select(func.count()).select_from(PostRow).where(PostRow.channel_id == channel_id)
        if not include_deleted:
            query = query.where(PostRow.deleted_at.is_(None))
        return int(self._session.scalar(query) or 0)

    def ids(self, channel_id: int, *, min_id: int = 0, include_deleted: bool = False) -> list[int]:
        """Archived message ids of a channel, ascending."""
        query = select(PostRow.message_id).where(
            PostRow.channel_id == channel_id, PostRow.message_id > min_id
        )
        if not include_deleted:
            query = query.where(PostRow.deleted_at.is_(None))
        return list(self._session.scalars(query.order_by(PostRow.message_id)))

    def ids_for_refresh(self, channel_id: int, newest: int, since: datetime) -> list[int]:
        """Ids of live posts to re-read: the newest ``newest`` ones and all posts since ``since``."""
        by_rank = select(PostRow.message_id).where(
            PostRow.channel_id == channel_id, PostRow.deleted_at.is_(None)
        )
        top = list(self._session.scalars(by_rank.order_by(PostRow.message_id.desc()).limit(newest)))
        recent = list(self._session.scalars(by_rank.where(PostRow.date >= since)))
        return sorted(set(top) | set(recent), reverse=True)

    def mark_deleted(self, channel_id: int, message_ids: Iterable[int], noticed_at: datetime) -> int:
        """Set tombstones on posts that Telegram no longer has; content is kept. Returns how many were new."""
        total = 0
        ids = list(message_ids)
        for chunk in _chunks(ids):
            result = self._session.execute(
                update(PostRow)
                .where(
                    PostRow.channel_id == channel_id,
                    PostRow.message_id.in_(chunk),
                    PostRow.deleted_at.is_(None),
                )
                .values(deleted_at=noticed_at, updated_at=noticed_at)
            )
            total += int(getattr(result, "rowcount", 0) or 0)
        return total

    def revisions(self, channel_id: int, message_id: int) -> list[PostRevision]:
        """Earlier states of a post, oldest first."""
        rows = self._session.scalars(
            select(PostRevisionRow)
            .where(PostRevisionRow.channel_id == channel_id, PostRevisionRow.message_id == message_id)
            .order_by(PostRevisionRow.revision)
        )
        return [_revision_from_row(row) for row in rows]

    def revisions_for(self, channel_id: int, message_ids: Sequence[int]) -> dict[int, list[PostRevision]]:
        """Earlier states of several posts at once, keyed by message id."""
        found: dict[int, list[PostRevision]] = {}
        for chunk in _chunks(message_ids):
            rows = self._session.scalars(
                select(PostRevisionRow)
                .where(PostRevisionRow.channel_id == channel_id, PostRevisionRow.message_id.in_(chunk))
                .order_by(PostRevisionRow.message_id, PostRevisionRow.revision)
            )
            for row in rows:
                found.setdefault(row.message_id, []).append(_revision_from_row(row))
        return found

    def for_display(self, channel_id: int, message_ids: Sequence[int]) -> dict[int, Post]:
        """Like :meth:`get_many` without the raw TL (``raw`` is None): what pages and feeds show.

        Read as plain rows (no ORM objects to track), posts and their media in two queries a chunk.
        """
        posts = PostRow.__table__
        media = MediaItemRow.__table__
        columns = [column for column in posts.columns if column.name != "raw"]
        found: dict[int, Post] = {}
        for chunk in _chunks(message_ids):
            media_rows = {
                row.message_id: row
                for row in self._session.execute(
                    select(media).where(media.c.channel_id == channel_id, media.c.message_id.in_(chunk))
                )
            }
            for row in self._session.execute(
                select(*columns).where(posts.c.channel_id == channel_id, posts.c.message_id.in_(chunk))
            ):
                # Rows name their columns like the mapped classes do: the same mapping serves both.
                post_row = cast(PostRow, _WithoutRaw(row))
                found[row.message_id] = _post_from_row(
                    post_row, cast(MediaItemRow | None, media_rows.get(row.message_id))
                )
        return found

    def texts(self, channel_id: int, message_ids: Sequence[int]) -> dict[int, tuple[str, bool]]:
        """(text, deleted) of several posts by message id: what a list of snippets needs, nothing more."""
        found: dict[int, tuple[str, bool]] = {}
        for chunk in _chunks(message_ids):
            rows = self._session.execute(
                select(PostRow.message_id, PostRow.text, PostRow.deleted_at).where(
                    PostRow.channel_id == channel_id, PostRow.message_id.in_(chunk)
                )
            )
            for message_id, text, deleted_at in rows:
                found[message_id] = (text, deleted_at is not None)
        return found

    def iter_channel(
        self,
        channel_id: int,
        *,
        order: Literal["asc", "desc"] = "asc",
        batch_size: int = 1000,
        since: datetime | None = None,
    ) -> Iterator[Post]:
        """Stream a channel's posts by message id, a batch at a time (keyset pagination)."""
        last: int | None = None
        while True:
            query: Select[PostRow, MediaItemRow | None] = (
                select(PostRow, MediaItemRow)
                .outerjoin(
                    MediaItemRow,
                    and_(
                        MediaItemRow.channel_id == PostRow.channel_id,
                        MediaItemRow.message_id == PostRow.message_id,
                    ),
                )
                .where(PostRow.channel_id == channel_id)
            )
            if since is not None:
                query = query.where(PostRow.date >= since)
            if order == "asc":
                if last is not None:
                    query = query.where(PostRow.message_id > last)
                query = query.order_by(PostRow.message_id)
            else:
                if last is not None:
                    query = query.where(PostRow.message_id < last)
                query = query.order_by(PostRow.message_id.desc())
            rows = self._session.execute(query.limit(batch_size)).all()
            if not rows:
                return
            for post_row, media_row in rows:
                yield _post_from_row(post_row, media_row)
            last = rows[-1][0].message_id
            self._session.expunge_all()

    def outline(self, channel_id: int, *, batch_size: int = 5000) -> Iterator[PostOutline]:
        """Stream the light facts of a channel's posts by message id (no raw TL, no media description).

        Enough to plan pages and to tell from the archive which pages changed. A hot path on every
        site build: the stamps are read as text (no datetime objects), and the text and entities only
        of posts with a hashtag entity.
        """
        last: int | None = None
        while True:
            query = _outline_query(channel_id).order_by(PostRow.message_id).limit(batch_size)
            if last is not None:
                query = query.where(PostRow.message_id > last)
            rows = self._session.execute(query).all()
            if not rows:
                return
            yield from map(_outline_from_row, rows)
            last = rows[-1][0]

    def outline_for(self, channel_id: int, message_ids: Iterable[int]) -> list[PostOutline]:
        """The outlines (as :meth:`outline` makes them) of the given posts that exist, by message id."""
        found: list[PostOutline] = []
        for chunk in _chunks(sorted(set(message_ids))):
            query = _outline_query(channel_id).where(PostRow.message_id.in_(chunk))
            found.extend(map(_outline_from_row, self._session.execute(query).all()))
        found.sort(key=lambda outline: outline.message_id)
        return found

    def change_marks(self, channel_id: int) -> tuple[datetime | None, datetime | None]:
        """The latest ``updated_at`` of the channel's posts and of its media rows (None when none).

        With :meth:`changed_since`, a site build reads only the posts written after its last build.
        """
        posts = self._session.scalar(
            select(func.max(PostRow.updated_at)).where(PostRow.channel_id == channel_id)
        )
        media = self._session.scalar(
            select(func.max(MediaItemRow.updated_at)).where(MediaItemRow.channel_id == channel_id)
        )
        return posts, media

    def changed_since(self, channel_id: int, posts_since: datetime, media_since: datetime) -> set[int]:
        """Ids of the channel's posts whose row was written after ``posts_since``, or whose media row was
        written after ``media_since`` (both read through ``(channel_id, updated_at)`` indexes)."""
        posts = self._session.scalars(
            select(PostRow.message_id).where(
                PostRow.channel_id == channel_id, PostRow.updated_at > posts_since
            )
        )
        media = self._session.scalars(
            select(MediaItemRow.message_id).where(
                MediaItemRow.channel_id == channel_id, MediaItemRow.updated_at > media_since
            )
        )
        return set(posts) | set(media)


def _outline_query(channel_id: int) -> Select[*tuple[Any, ...]]:
    has_hashtag = cast_to(PostRow.entities, String).contains('"hashtag"')
    return (
        select(
            PostRow.message_id,
            PostRow.date,
            cast_to(PostRow.updated_at, String).label("post_version"),
            cast_to(MediaItemRow.updated_at, String).label("media_version"),
            MediaItemRow.status,
            MediaItemRow.path,
            PostRow.grouped_id,
            PostRow.reply_to_message_id,
            PostRow.reply_to_channel_id,
            PostRow.views,
            PostRow.service.is_not(None).label("is_service"),
            PostRow.deleted_at.is_not(None).label("is_deleted"),
            case((has_hashtag, PostRow.text), else_="").label("hashtag_text"),
            case((has_hashtag, PostRow.entities), else_=None).label("hashtag_entities"),
            MediaItemRow.thumbnail_path,
        )
        .outerjoin(
            MediaItemRow,
            and_(
                MediaItemRow.channel_id == PostRow.channel_id,
                MediaItemRow.message_id == PostRow.message_id,
            ),
        )
        .where(PostRow.channel_id == channel_id)
    )


_DOWNLOADED = MediaStatus.DOWNLOADED.value


def _outline_from_row(row: Any) -> PostOutline:
    entities = row[13]
    if isinstance(entities, str):  # a CASE hides the JSON type from some dialects
        entities = load_json(entities)
    return PostOutline(
        message_id=row[0],
        date=row[1],
        version=f"{row[2]}|{row[3]}",
        media_path=row[5] if row[4] == _DOWNLOADED else row[14],
        grouped_id=row[6],
        reply_to_message_id=row[7],
        reply_to_channel_id=row[8],
        views=row[9],
        is_service=bool(row[10]),
        deleted=bool(row[11]),
        text=row[12] or "",
        hashtags=tuple(
            TextEntity.model_validate(item)
            for item in entities or ()
            if item.get("kind") == EntityKind.HASHTAG.value
        ),
    )


class _WithoutRaw:
    """A plain result row read like a :class:`PostRow` whose ``raw`` was left out."""

    __slots__ = ("_row",)
    raw = None

    def __init__(self, row: Any) -> None:
        self._row = row

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


def _post_from_row(row: PostRow, media_row: MediaItemRow | None) -> Post:
    return Post(
        channel_id=row.channel_id,
        message_id=row.message_id,
        date=row.date,
        edit_date=row.edit_date,
        text=row.text,
        entities=tuple(TextEntity.model_validate(item) for item in row.entities or ()),
        service=None if row.service is None else ServiceAction.model_validate(row.service),
        author=row.author,
        grouped_id=row.grouped_id,
        reply_to_message_id=row.reply_to_message_id,
        reply_to_channel_id=row.reply_to_channel_id,
        forward=None if row.forward is None else Forward.model_validate(row.forward),
        views=row.views,
        forwards=row.forwards,
        replies=row.replies,
        reactions=tuple(Reaction.model_validate(item) for item in row.reactions or ()),
        media=None if media_row is None else _media_from_row(media_row),
        poll=None if row.poll is None else Poll.model_validate(row.poll),
        web_page=None if row.web_page is None else WebPagePreview.model_validate(row.web_page),
        location=None if row.location is None else Location.model_validate(row.location),
        contact=None if row.contact is None else Contact.model_validate(row.contact),
        pinned=row.pinned,
        raw=row.raw,
        parse_error=row.parse_error,
        deleted_at=row.deleted_at,
        source=SourceKind(row.source),
    )


def _media_from_row(row: MediaItemRow) -> MediaItem:
    return MediaItem.model_validate(
        {name: getattr(row, name) for name in _MEDIA_DESCRIPTION}
        | {"status": row.status, "sha256": row.sha256, "path": row.path, "error": row.error}
        | {"thumbnail_sha256": row.thumbnail_sha256, "thumbnail_path": row.thumbnail_path}
    )


def _revision_from_row(row: PostRevisionRow) -> PostRevision:
    return PostRevision(
        channel_id=row.channel_id,
        message_id=row.message_id,
        revision=row.revision,
        text=row.text,
        entities=tuple(TextEntity.model_validate(item) for item in row.entities or ()),
        edit_date=row.edit_date,
        observed_at=row.observed_at,
        raw=row.raw,
    )


@dataclass(frozen=True)
class PendingMedia:
    """A post whose file still has to be downloaded."""

    channel_id: int
    message_id: int
    media: MediaItem
    attempts: int


class MediaRepository:
    """The download queue and the record of stored files."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def pending(self, channel_id: int, *, max_attempts: int, limit: int = 100) -> list[PendingMedia]:
        """Media of the channel still to download (pending, or failed fewer than ``max_attempts`` times)."""
        rows = self._session.scalars(
            select(MediaItemRow)
            .where(
                MediaItemRow.channel_id == channel_id,
                MediaItemRow.status.in_([MediaStatus.PENDING.value, MediaStatus.FAILED.value]),
                MediaItemRow.attempts < max_attempts,
            )
            .order_by(MediaItemRow.message_id.desc())
            .limit(limit)
        )
        return [PendingMedia(r.channel_id, r.message_id, _media_from_row(r), r.attempts) for r in rows]

    def needing_download(self, channel_id: int, message_ids: Sequence[int], *, max_attempts: int) -> set[int]:
        """Posts whose file is pending, skipped, or failed fewer than ``max_attempts`` times."""
        found: set[int] = set()
        for chunk in _chunks(message_ids):
            found.update(
                self._session.scalars(
                    select(MediaItemRow.message_id).where(
                        MediaItemRow.channel_id == channel_id,
                        MediaItemRow.message_id.in_(chunk),
                        MediaItemRow.status.in_(
                            [MediaStatus.PENDING.value, MediaStatus.FAILED.value, MediaStatus.SKIPPED.value]
                        ),
                        MediaItemRow.attempts < max_attempts,
                    )
                )
            )
        return found

    def mark_downloaded(self, channel_id: int, message_id: int, *, sha256: str, path: str, size: int) -> None:
        """Record a complete, verified file for a post."""
        self._session.execute(
            update(MediaItemRow)
            .where(MediaItemRow.channel_id == channel_id, MediaItemRow.message_id == message_id)
            .values(
                status=MediaStatus.DOWNLOADED.value,
                sha256=sha256,
                path=path,
                size=size,
                error=None,
                updated_at=utcnow(),
            )
        )

    def mark_thumbnail(self, channel_id: int, message_id: int, *, sha256: str, path: str) -> None:
        """Record a stored thumbnail of a post's file (the file itself stays as it is)."""
        self._session.execute(
            update(MediaItemRow)
            .where(MediaItemRow.channel_id == channel_id, MediaItemRow.message_id == message_id)
            .values(thumbnail_sha256=sha256, thumbnail_path=path, updated_at=utcnow())
        )

    def has_thumbnail(self, channel_id: int, message_id: int) -> bool:
        """True when a thumbnail of the post's file is stored."""
        found = self._session.scalar(
            select(MediaItemRow.thumbnail_path).where(
                MediaItemRow.channel_id == channel_id, MediaItemRow.message_id == message_id
            )
        )
        return found is not None

    def mark_failed(self, channel_id: int, message_id: int, error: str) -> None:
        """Count a failed attempt and keep the reason; the file is retried on later runs."""
        self._session.execute(
            update(MediaItemRow)
            .where(MediaItemRow.channel_id == channel_id, MediaItemRow.message_id == message_id)
            .values(
                status=MediaStatus.FAILED.value,
                error=error[:2000],
                attempts=MediaItemRow.attempts + 1,
                updated_at=utcnow(),
            )
        )

    def mark_skipped(self, channel_id: int, message_id: int, reason: str) -> None:
        """Record that the channel's media policy excludes this file."""
        self._session.execute(
            update(MediaItemRow)
            .where(MediaItemRow.channel_id == channel_id, MediaItemRow.message_id == message_id)
            .values(status=MediaStatus.SKIPPED.value, error=reason, updated_at=utcnow())
        )

    def backlog(self, channel_id: int) -> tuple[int, int]:
        """(files, bytes) still waiting to be downloaded for the channel."""
        row = self._session.execute(
            select(func.count(), func.coalesce(func.sum(MediaItemRow.size), 0)).where(
                MediaItemRow.channel_id == channel_id,
                MediaItemRow.status.in_([MediaStatus.PENDING.value, MediaStatus.FAILED.value]),
            )
        ).one()
        return int(row[0] or 0), int(row[1] or 0)

    def downloaded_paths(self) -> set[str]:
        """Store paths of every file the archive records as downloaded (all channels)."""
        rows = self._session.scalars(
            select(MediaItemRow.path).where(
                MediaItemRow.status == MediaStatus.DOWNLOADED.value, MediaItemRow.path.is_not(None)
            )
        )
        return {path for path in rows if path is not None}


class SyncStateRepository:
    """Per-channel checkpoints."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # Read and written as plain rows with prebuilt statements (never ORM objects): a backfill saves
    # its checkpoint on every page.

    def get(self, channel_id: int) -> SyncState:
        """The channel's checkpoints (all empty for a channel never synced)."""
        row = self._session.execute(_SYNC_STATE_GET, {"state_channel_id": channel_id}).first()
        if row is None:
            return SyncState(channel_id=channel_id)
        return SyncState(
            channel_id=row.channel_id,
            newest_id=row.newest_id,
            backfill_top_id=row.backfill_top_id,
            backfill_offset_id=row.backfill_offset_id,
            backfill_complete=row.backfill_complete,
            last_sync_at=row.last_sync_at,
        )

    def save(self, state: SyncState) -> None:
        """Store the checkpoints; call inside the same unit of work as the posts they cover."""
        values = state.model_dump()
        channel_id = values.pop("channel_id")
        result = self._session.execute(_SYNC_STATE_UPDATE, {"state_channel_id": channel_id, **values})
        if not getattr(result, "rowcount", 0):
            insert_rows(self._session.connection(), _SYNC_STATE, [{"channel_id": channel_id, **values}])
        self._session.flush()


class RunRepository:
    """The record of every backfill and sync run."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def start(self, channel_key: str, kind: str, started_at: datetime | None = None) -> int:
        """Record a run as started; returns its id."""
        row = SyncRunRow(
            channel_key=channel_key,
            channel_id=None,
            kind=kind,
            started_at=started_at or utcnow(),
            finished_at=None,
            status=RunStatus.RUNNING.value,
            posts_added=0,
            posts_edited=0,
            posts_deleted=0,
            media_files=0,
            media_bytes=0,
            error=None,
        )
        self._session.add(row)
        self._session.flush()
        return row.id

    def finish(
        self,
        run_id: int,
        *,
        status: RunStatus,
        counts: RunCounts,
        channel_id: int | None = None,
        error: str | None = None,
        finished_at: datetime | None = None,
    ) -> None:
        """Record how a run ended and what it changed."""
        values: dict[str, Any] = {
            "status": status.value,
            "finished_at": finished_at or utcnow(),
            "posts_added": counts.posts_added,
            "posts_edited": counts.posts_edited,
            "posts_deleted": counts.posts_deleted,
            "media_files": counts.media_files,
            "media_bytes": counts.media_bytes,
            "error": error,
        }
        if channel_id is not None:
            values["channel_id"] = channel_id
        self._session.execute(update(SyncRunRow).where(SyncRunRow.id == run_id).values(**values))

    def attach(self, run_id: int, channel_id: int) -> None:
        """Record which channel a started run is archiving (once it is resolved and locked)."""
        self._session.execute(update(SyncRunRow).where(SyncRunRow.id == run_id).values(channel_id=channel_id))

    def interrupt_stale(self, channel_id: int, channel_key: str, current: int, now: datetime) -> int:
        """Mark runs of this channel still "running" (their process was killed) as interrupted.

        Call with the channel's lock held: no other live run of the channel can then exist.
        """
        result = self._session.execute(
            update(SyncRunRow)
            .where(
                SyncRunRow.status == RunStatus.RUNNING.value,
                SyncRunRow.id != current,
                (SyncRunRow.channel_id == channel_id)
                | (SyncRunRow.channel_id.is_(None) & (SyncRunRow.channel_key == channel_key)),
            )
            .values(
                status=RunStatus.INTERRUPTED.value,
                finished_at=now,
                channel_id=channel_id,
                error="the process stopped without finishing this run (killed?)",
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def last(self, channel_key: str | None = None, channel_id: int | None = None) -> SyncRun | None:
        """The most recent run of a channel (by its id or the key it was asked for)."""
        query = select(SyncRunRow)
        if channel_id is not None:
            query = query.where(SyncRunRow.channel_id == channel_id)
        elif channel_key is not None:
            query = query.where(SyncRunRow.channel_key == channel_key)
        row = self._session.scalars(
            query.order_by(SyncRunRow.started_at.desc(), SyncRunRow.id.desc())
        ).first()
        return None if row is None else _run_from_row(row)

    def recent(self, limit: int = 20) -> list[SyncRun]:
        """The latest runs over all channels, newest first."""
        rows = self._session.scalars(select(SyncRunRow).order_by(SyncRunRow.id.desc()).limit(limit))
        return [_run_from_row(row) for row in rows]


def _run_from_row(row: SyncRunRow) -> SyncRun:
    return SyncRun(
        id=row.id,
        channel_key=row.channel_key,
        channel_id=row.channel_id,
        kind=row.kind,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=RunStatus(row.status),
        counts=RunCounts(
            posts_added=row.posts_added,
            posts_edited=row.posts_edited,
            posts_deleted=row.posts_deleted,
            media_files=row.media_files,
            media_bytes=row.media_bytes,
        ),
        error=row.error,
    )


@dataclass(frozen=True)
class LockHolder:
    """Who holds a channel lock."""

    owner: str
    host: str
    pid: int
    heartbeat_at: datetime


def this_process() -> tuple[str, int]:
    """(host name, process id) of the current process."""
    return socket.gethostname(), os.getpid()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ChannelLockRepository:
    """Locks that keep two processes from syncing one channel at the same time.

    A lock whose holder is a dead process on this host, or whose heartbeat is older than
    ``stale_after``, is taken over, so a killed process never blocks the next run.
    """

    def __init__(self, session: Session) -> None:
        self._session = session

    def try_acquire(self, channel_key: str, owner: str, stale_after: timedelta) -> LockHolder | None:
        """Take the lock; returns None on success, or the live holder that keeps it."""
        host, pid = this_process()
        now = utcnow()
        row = self._session.get(ChannelLockRow, channel_key, with_for_update=True)
        if row is not None and row.owner != owner:
            dead = row.host == host and not _process_alive(row.pid)
            stale = row.heartbeat_at < now - stale_after
            if not (dead or stale):
                return LockHolder(row.owner, row.host, row.pid, row.heartbeat_at)
            self._session.delete(row)
            self._session.flush()
            row = None
        if row is None:
            self._session.add(
                ChannelLockRow(
                    channel_key=channel_key,
                    owner=owner,
                    host=host,
                    pid=pid,
                    acquired_at=now,
                    heartbeat_at=now,
                )
            )
        else:
            row.heartbeat_at = now
        self._session.flush()
        return None

    def heartbeat(self, channel_key: str, owner: str) -> None:
        """Keep a held lock fresh."""
        self._session.execute(_HEARTBEAT, {"lock_key": channel_key, "lock_owner": owner, "now": utcnow()})

    def release(self, channel_key: str, owner: str) -> None:
        """Give the lock back."""
        self._session.execute(
            delete(ChannelLockRow).where(
                ChannelLockRow.channel_key == channel_key, ChannelLockRow.owner == owner
            )
        )


class SummaryRepository:
    """Read models for ``tgvault status``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def channels(self) -> list[ChannelSummary]:
        """Per channel: posts archived, newest post date, and the last run."""
        counts: dict[int, int] = {}
        newest: dict[int, datetime | None] = {}
        grouped = select(PostRow.channel_id, func.count(), func.max(PostRow.date)).group_by(
            PostRow.channel_id
        )
        for channel_id, count, newest_date in self._session.execute(grouped):
            counts[channel_id] = int(count)
            newest[channel_id] = newest_date
        runs = RunRepository(self._session)
        summaries = []
        for row in self._session.scalars(select(ChannelRow).order_by(ChannelRow.title)):
            newest_at = newest.get(row.id)
            summaries.append(
                ChannelSummary(
                    channel_id=row.id,
                    title=row.title,
                    username=row.username,
                    posts=int(counts.get(row.id, 0)),
                    newest_post_at=newest_at,
                    last_run=runs.last(channel_id=row.id),
                )
            )
        return summaries
