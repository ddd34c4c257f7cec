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
    FORMS,
    VERSION,
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


@dataclass(slots=True)
class PostState:
    """A state of a post as archived (its row or an earlier revision), hashed in any canonical form."""

    channel_id: int
    message_id: int
    text: str
    entities: list[Any] | None
    edit_date: datetime | None
    poll: dict[str, Any] | None = None
    web_page: dict[str, Any] | None = None
    _hashes: dict[int, str] = field(default_factory=dict, repr=False)

    def record(self, form: int = VERSION) -> dict[str, Any]:
        """The state's canonical object in ``form``."""
        return revision_record(
            self.channel_id,
            self.message_id,
            self.text,
            self.entities,
            self.edit_date,
            self.poll,
            self.web_page,
            form=form,
        )

    def sha256(self, form: int = VERSION) -> str:
        """The state's record hash in ``form`` (computed once per form)."""
        found = self._hashes.get(form)
        if found is None:
            found = self._hashes[form] = record_hash(self.record(form))
        return found

    def recorded_form(self, recorded: set[str]) -> int | None:
        """The newest form in which the state's hash is one of ``recorded``; None when in none."""
        return next((form for form in FORMS if self.sha256(form) in recorded), None)


@dataclass
class ArchivedPost:
    """One post's records, hashed as the ledger hashes them (a state in whichever form its entry says)."""

    message_id: int
    first_seen_at: datetime
    state: PostState
    deleted_at: datetime | None
    deletion_sha256: str | None
    revisions: list[tuple[int, PostState, datetime]] = field(
        default_factory=list
    )  # (revision, state, superseded at)
    media: StoredFileRecord | None = None
    counters: list[tuple[str, datetime]] = field(default_factory=list)  # (hash, observed at)


def archived_posts(
    session: Session, channel_id: int, *, after: int, limit: int, form_1: bool = False
) -> list[ArchivedPost]:
    """Posts of the channel with ``message_id > after``, ``limit`` of them in id order, with their records.

    ``form_1``: read only what canonical form 1 hashes (the ledger's backfill in migration 0010 runs on a
    schema whose earlier revisions have no poll or link preview yet)."""
    rows = session.execute(
        select(
            PostRow.message_id,
            PostRow.text,
            PostRow.entities,
            PostRow.edit_date,
            PostRow.poll,
            PostRow.web_page,
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
            state=PostState(
                channel_id, row.message_id, row.text, row.entities, row.edit_date, row.poll, row.web_page
            ),
            deleted_at=row.deleted_at,
            deletion_sha256=None
            if row.deleted_at is None
            else record_hash(deletion_record(channel_id, row.message_id, row.deleted_at)),
        )
        for row in rows
    }
    _add_details(session, channel_id, posts, rows[0].message_id, rows[-1].message_id, form_1)
    return list(posts.values())


_REVISION_COLUMNS = (
    PostRevisionRow.message_id,
    PostRevisionRow.revision,
    PostRevisionRow.text,
    PostRevisionRow.entities,
    PostRevisionRow.edit_date,
    PostRevisionRow.observed_at,
)


def _add_details(
    session: Session, channel_id: int, posts: dict[int, ArchivedPost], low: int, high: int, form_1: bool
) -> None:
    columns = (
        _REVISION_COLUMNS if form_1 else (*_REVISION_COLUMNS, PostRevisionRow.poll, PostRevisionRow.web_page)
    )
    for row in session.execute(
        select(*columns)
        .where(PostRevisionRow.channel_id == channel_id, PostRevisionRow.message_id.between(low, high))
        .order_by(PostRevisionRow.message_id, PostRevisionRow.revision)
    ):
        state = PostState(channel_id, row.message_id, row.text, row.entities, row.edit_date)
        if not form_1:
            state.poll, state.web_page = row.poll, row.web_page
        _post(posts, row.message_id).revisions.append((row.revision, state, row.observed_at))
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


def post_records(
    session: Session, channel_id: int, message_id: int, recorded: set[str] | None = None
) -> dict[str, bytes]:
    """A post's records in their canonical bytes, by name: ``revision-<n>`` (earlier states, oldest
    first), ``current``, ``deletion``, ``media``, ``counters-<n>``; empty when the post is not archived.

    A state is written in the newest form whose hash is in ``recorded`` (the hashes of the post's
    ``revision`` entries), else in the current form."""
    found: dict[str, bytes] = {}
    recorded = recorded or set()
    post = session.execute(
        select(
            PostRow.text,
            PostRow.entities,
            PostRow.edit_date,
            PostRow.poll,
            PostRow.web_page,
            PostRow.deleted_at,
        ).where(PostRow.channel_id == channel_id, PostRow.message_id == message_id)
    ).one_or_none()
    if post is None:
        return found

    def state_bytes(state: PostState) -> bytes:
        return canonical_bytes(state.record(state.recorded_form(recorded) or VERSION))

    for row in session.execute(
        select(
            PostRevisionRow.revision,
            PostRevisionRow.text,
            PostRevisionRow.entities,
            PostRevisionRow.edit_date,
            PostRevisionRow.poll,
            PostRevisionRow.web_page,
        )
        .where(PostRevisionRow.channel_id == channel_id, PostRevisionRow.message_id == message_id)
        .order_by(PostRevisionRow.revision)
    ):
        earlier = PostState(
            channel_id, message_id, row.text, row.entities, row.edit_date, row.poll, row.web_page
        )
        found[f"revision-{row.revision}"] = state_bytes(earlier)
    found["current"] = state_bytes(
        PostState(channel_id, message_id, post.text, post.entities, post.edit_date, post.poll, post.web_page)
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
