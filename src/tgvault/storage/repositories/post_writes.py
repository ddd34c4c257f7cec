"""Writing posts: idempotent batch upserts with revisions, attachments and tombstones."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from tgvault.domain import MediaStatus, Post
from tgvault.merge import merge_sources
from tgvault.storage.bulk import insert_rows
from tgvault.storage.ledger_records import (
    COUNTERS,
    DELETION,
    RESTORED,
    REVISION,
    Draft,
    counters_record,
    deletion_record,
    record_hash,
    revision_record,
)
from tgvault.storage.repositories.ledger import LedgerRepository
from tgvault.storage.repositories.observations import (
    COUNTER_FIELDS,
    CounterRepository,
    counters_changed,
    merged_counters,
)
from tgvault.storage.repositories.rows import (
    MEDIA_DESCRIPTION,
    chunks,
    entities_json,
    load_post_rows,
    media_values,
    post_from_row,
    post_values,
    table,
)
from tgvault.storage.tables import MediaItemRow, PostRevisionRow, PostRow, utcnow

# Statements run for every page of a backfill, built once (their compiled form is then cached by key).
# (Core statements on the tables: no ORM compile step on each execution.)
_POSTS = cast(Table, PostRow.__table__)
_EXISTING_IDS = select(_POSTS.c.message_id).where(
    _POSTS.c.channel_id == bindparam("channel_id"), _POSTS.c.message_id.in_(bindparam("ids", expanding=True))
)


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
        "poll": None if state.poll is None else state.poll.model_dump(mode="json", exclude_defaults=True),
        "web_page": None
        if state.web_page is None
        else state.web_page.model_dump(mode="json", exclude_defaults=True),
    }


def _with_known_size(post: Post, media_row: MediaItemRow | None) -> Post:
    """A source that does not know a file's size (the web preview) keeps the size already recorded."""
    media = post.media
    if media is None or media.size is not None or media_row is None or media_row.size is None:
        return post
    if media_row.kind != media.kind.value or media_row.telegram_id != media.telegram_id:
        return post
    return post.model_copy(update={"media": media.model_copy(update={"size": media_row.size})})


def _state_hash(channel_id: int, message_id: int, state: PostRow | dict[str, Any]) -> str:
    """The ledger hash of a post's state: a row of ``posts`` or the values about to be inserted."""
    if isinstance(state, dict):
        text, entities, edit_date = state["text"], state["entities"], state["edit_date"]
        poll, web_page = state.get("poll"), state.get("web_page")
    else:
        text, entities, edit_date = state.text, state.entities, state.edit_date
        poll, web_page = state.poll, state.web_page
    return record_hash(revision_record(channel_id, message_id, text, entities, edit_date, poll, web_page))


class PostWriter:
    """Store posts of a channel: new ones, edits (as revisions), merges of sources, tombstones."""

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
        existing = load_post_rows(self._session, channel_id, sorted(known)) if known else {}
        new_rows: list[dict[str, Any]] = []
        revisions: list[dict[str, Any]] = []
        counters: list[dict[str, Any]] = []
        drafts: list[Draft] = []
        edited = unchanged = undeleted = 0
        for message_id, post in latest.items():
            found = existing.get(message_id)
            if found is not None:
                post = latest[message_id] = _with_known_size(post, found[1])
            values = post_values(post)
            stored = None if found is None else {name: getattr(found[0], name) for name in COUNTER_FIELDS}
            if counters_changed(stored, values):
                counters.append(
                    {"channel_id": channel_id, "message_id": message_id, "observed_at": now}
                    | merged_counters(stored, values)
                )
                drafts.append(Draft(COUNTERS, message_id, now, record_hash(counters_record(counters[-1]))))
            if found is None:
                drafts.append(Draft(REVISION, message_id, now, _state_hash(channel_id, message_id, values)))
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
            state_before = _state_hash(channel_id, message_id, row)
            kept_other_state = False
            if row.deleted_at is not None:
                row.deleted_at = None
                undeleted += 1
                drafts.append(
                    Draft(
                        RESTORED, message_id, now, record_hash(deletion_record(channel_id, message_id, None))
                    )
                )
            if row.source != post.source.value:
                # Another source's record: merged field by field (tgvault.merge), off the hot path.
                merged = merge_sources(post_from_row(row, media_row), post)
                post = latest[message_id] = merged.post
                if merged.kept is not None and not self._has_revision(channel_id, message_id, merged.kept):
                    row.revision_count += 1
                    revisions.append(_revision_values(merged.kept, row.revision_count, now))
                    kept = _state_hash(channel_id, message_id, revisions[-1])
                    if kept != state_before:  # the other source's state, kept as a revision: observed now
                        drafts.append(Draft(REVISION, message_id, now, kept))
                        kept_other_state = True
                values = post_values(post)
                for key in _POST_FIELDS:
                    setattr(row, key, values[key])
                if merged.text_changed:
                    edited += 1
                else:
                    unchanged += 1
            elif (archived := post_from_row(row, media_row)).content_key() != post.content_key():
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
                        "poll": row.poll,
                        "web_page": row.web_page,
                    }
                )
                for key in _POST_FIELDS:
                    setattr(row, key, values[key])
                edited += 1
            elif archived.parse_error is not None and archived.parse_error != post.parse_error:
                # The same content read better (a row partly unreadable, issue 17.2): every field is renewed.
                unchanged += 1
                for key in _POST_FIELDS:
                    setattr(row, key, values[key])
            else:
                unchanged += 1
                for key in ("views", "forwards", "replies", "reactions", "pinned", "edit_date", "raw"):
                    if key in ("raw",) or values[key] is not None:
                        setattr(row, key, values[key])
            row.updated_at = now
            state_after = _state_hash(channel_id, message_id, row)
            if state_after != state_before or kept_other_state:
                drafts.append(Draft(REVISION, message_id, now, state_after))
        connection = self._session.connection()
        # One bulk insert per page and table (executemany on SQLite, COPY on PostgreSQL; storage/bulk.py).
        insert_rows(connection, table(PostRow), new_rows)
        insert_rows(connection, table(PostRevisionRow), revisions)
        CounterRepository(self._session).add_many(counters)
        LedgerRepository(self._session).append(channel_id, drafts, at=now)
        self._session.flush()
        self.upsert_media(channel_id, [p for p in latest.values() if p.media is not None], now)
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

    def archived_ids(self, channel_id: int, message_ids: Sequence[int]) -> set[int]:
        """Which of ``message_ids`` the channel already has archived (deleted or not): one light query
        a chunk, to tell the posts known to be new (see :meth:`insert_new`)."""
        return self._existing_ids(channel_id, message_ids)

    def _existing_ids(self, channel_id: int, message_ids: Sequence[int]) -> set[int]:
        """Which of ``message_ids`` the channel already has archived (deleted or not)."""
        found: set[int] = set()
        for chunk in chunks(message_ids):
            found.update(self._session.scalars(_EXISTING_IDS, {"channel_id": channel_id, "ids": list(chunk)}))
        return found

    def upsert_media(self, channel_id: int, posts: Sequence[Post], now: datetime) -> None:
        """Record each post's attachment; a file already downloaded stays downloaded if unchanged."""
        if not posts:
            return
        current = {
            row.message_id: row
            for chunk in chunks([p.message_id for p in posts])
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
            values = media_values(media)
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
            for key in MEDIA_DESCRIPTION:
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
        insert_rows(self._session.connection(), table(MediaItemRow), fresh)
        self._session.flush()

    def mark_deleted(self, channel_id: int, message_ids: Iterable[int], noticed_at: datetime) -> int:
        """Set tombstones on posts that Telegram no longer has; content is kept. Returns how many were new."""
        drafts: list[Draft] = []
        for chunk in chunks(list(message_ids)):
            live = self._session.scalars(
                select(PostRow.message_id).where(
                    PostRow.channel_id == channel_id,
                    PostRow.message_id.in_(chunk),
                    PostRow.deleted_at.is_(None),
                )
            ).all()
            if not live:
                continue
            self._session.execute(
                update(PostRow)
                .where(PostRow.channel_id == channel_id, PostRow.message_id.in_(live))
                .values(deleted_at=noticed_at, updated_at=noticed_at)
            )
            drafts.extend(
                Draft(
                    DELETION,
                    message_id,
                    noticed_at,
                    record_hash(deletion_record(channel_id, message_id, noticed_at)),
                )
                for message_id in sorted(live)
            )
        LedgerRepository(self._session).append(channel_id, drafts)
        return len(drafts)
