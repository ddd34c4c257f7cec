"""The archive's records of a channel's posts as the ledger sees them: their hashes, a page at a time.

Read by ``verify`` (to compare with the entries) and by the backfill of the ledger (to write them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tgvault.storage.ledger_records import (
    canonical_bytes,
    counters_record,
    deletion_record,
    media_record,
    record_hash,
    revision_record,
)
from tgvault.storage.tables import MediaItemRow, PostCounterRow, PostRevisionRow, PostRow


@dataclass(frozen=True)
class StoredFileRecord:
    """A post's downloaded file as the archive records it."""

    sha256: str
    size: int | None
    path: str | None
    stored_at: datetime
    record_sha256: str


@dataclass
class ArchivedPost:
    """One post's records, hashed as the ledger hashes them."""

    message_id: int
    first_seen_at: datetime
    state_sha256: str
    deleted_at: datetime | None
    deletion_sha256: str | None
    revisions: list[tuple[int, str, datetime]] = field(
        default_factory=list
    )  # (revision, hash, superseded at)
    media: StoredFileRecord | None = None
    counters: list[tuple[str, datetime]] = field(default_factory=list)  # (hash, observed at)


def archived_posts(session: Session, channel_id: int, *, after: int, limit: int) -> list[ArchivedPost]:
    """Posts of the channel with ``message_id > after``, ``limit`` of them in id order, with their records."""
    rows = session.execute(
        select(
            PostRow.message_id,
            PostRow.text,
            PostRow.entities,
            PostRow.edit_date,
            PostRow.first_seen_at,
            PostRow.deleted_at,
        )
        .where(PostRow.channel_id == channel_id, PostRow.message_id > after)
        .order_by(PostRow.message_id)
        .limit(limit)
    ).all()
    if not rows:
        return []
    posts = {
        row.message_id: ArchivedPost(
            message_id=row.message_id,
            first_seen_at=row.first_seen_at,
            state_sha256=record_hash(
                revision_record(channel_id, row.message_id, row.text, row.entities, row.edit_date)
            ),
            deleted_at=row.deleted_at,
            deletion_sha256=None
            if row.deleted_at is None
            else record_hash(deletion_record(channel_id, row.message_id, row.deleted_at)),
        )
        for row in rows
    }
    _add_details(session, channel_id, posts, rows[0].message_id, rows[-1].message_id)
    return list(posts.values())


def _add_details(
    session: Session, channel_id: int, posts: dict[int, ArchivedPost], low: int, high: int
) -> None:
    for row in session.execute(
        select(
            PostRevisionRow.message_id,
            PostRevisionRow.revision,
            PostRevisionRow.text,
            PostRevisionRow.entities,
            PostRevisionRow.edit_date,
            PostRevisionRow.observed_at,
        )
        .where(PostRevisionRow.channel_id == channel_id, PostRevisionRow.message_id.between(low, high))
        .order_by(PostRevisionRow.message_id, PostRevisionRow.revision)
    ):
        state = revision_record(channel_id, row.message_id, row.text, row.entities, row.edit_date)
        _post(posts, row.message_id).revisions.append((row.revision, record_hash(state), row.observed_at))
    for row in session.execute(
        select(
            MediaItemRow.message_id,
            MediaItemRow.sha256,
            MediaItemRow.size,
            MediaItemRow.path,
            MediaItemRow.updated_at,
        ).where(
            MediaItemRow.channel_id == channel_id,
            MediaItemRow.message_id.between(low, high),
            MediaItemRow.status == "downloaded",
            MediaItemRow.sha256.is_not(None),
        )
    ):
        stored = record_hash(media_record(channel_id, row.message_id, row.sha256, row.size))
        _post(posts, row.message_id).media = StoredFileRecord(
            row.sha256, row.size, row.path, row.updated_at, stored
        )
    for row in session.execute(
        select(
            PostCounterRow.channel_id,
            PostCounterRow.message_id,
            PostCounterRow.observed_at,
            PostCounterRow.views,
            PostCounterRow.forwards,
            PostCounterRow.replies,
            PostCounterRow.reactions,
        )
        .where(PostCounterRow.channel_id == channel_id, PostCounterRow.message_id.between(low, high))
        .order_by(PostCounterRow.message_id, PostCounterRow.observed_at, PostCounterRow.id)
    ):
        values: dict[str, Any] = dict(row._mapping)
        _post(posts, row.message_id).counters.append((record_hash(counters_record(values)), row.observed_at))


def _post(posts: dict[int, ArchivedPost], message_id: int) -> ArchivedPost:
    """The post a detail row belongs to (a row of a post outside the page cannot be in range)."""
    return posts[message_id]


def post_records(session: Session, channel_id: int, message_id: int) -> dict[str, bytes]:
    """A post's records in their canonical bytes, by name: ``revision-<n>`` (earlier states, oldest
    first), ``current``, ``deletion``, ``media``, ``counters-<n>``; empty when the post is not archived."""
    found: dict[str, bytes] = {}
    post = session.execute(
        select(PostRow.text, PostRow.entities, PostRow.edit_date, PostRow.deleted_at).where(
            PostRow.channel_id == channel_id, PostRow.message_id == message_id
        )
    ).one_or_none()
    if post is None:
        return found
    for row in session.execute(
        select(
            PostRevisionRow.revision,
            PostRevisionRow.text,
            PostRevisionRow.entities,
            PostRevisionRow.edit_date,
        )
        .where(PostRevisionRow.channel_id == channel_id, PostRevisionRow.message_id == message_id)
        .order_by(PostRevisionRow.revision)
    ):
        record = revision_record(channel_id, message_id, row.text, row.entities, row.edit_date)
        found[f"revision-{row.revision}"] = canonical_bytes(record)
    found["current"] = canonical_bytes(
        revision_record(channel_id, message_id, post.text, post.entities, post.edit_date)
    )
    if post.deleted_at is not None:
        found["deletion"] = canonical_bytes(deletion_record(channel_id, message_id, post.deleted_at))
    media = session.execute(
        select(MediaItemRow.sha256, MediaItemRow.size).where(
            MediaItemRow.channel_id == channel_id,
            MediaItemRow.message_id == message_id,
            MediaItemRow.status == "downloaded",
            MediaItemRow.sha256.is_not(None),
        )
    ).one_or_none()
    if media is not None:
        found["media"] = canonical_bytes(media_record(channel_id, message_id, media.sha256, media.size))
    for number, row in enumerate(
        session.execute(
            select(
                PostCounterRow.channel_id,
                PostCounterRow.message_id,
                PostCounterRow.observed_at,
                PostCounterRow.views,
                PostCounterRow.forwards,
                PostCounterRow.replies,
                PostCounterRow.reactions,
            )
            .where(PostCounterRow.channel_id == channel_id, PostCounterRow.message_id == message_id)
            .order_by(PostCounterRow.observed_at, PostCounterRow.id)
        ),
        start=1,
    ):
        found[f"counters-{number}"] = canonical_bytes(counters_record(dict(row._mapping)))
    return found
