"""Reading archived posts: whole, for display, as ids, texts and revisions, or streamed by channel."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import Select, and_, func, null, select
from sqlalchemy.orm import Session

from tgvault.domain import Post, PostRevision, TextEntity
from tgvault.storage.repositories.rows import chunks, load_post_rows, post_from_row
from tgvault.storage.tables import MediaItemRow, PostRevisionRow, PostRow

_NOT_SHOWN = frozenset({"first_seen_at", "updated_at", "revision_count"})  # columns no Post record holds


class PostReader:
    """Archived posts with their media, revisions and tombstones, read back."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, channel_id: int, message_id: int) -> Post | None:
        """One archived post with its media and tombstone."""
        found = load_post_rows(self._session, channel_id, [message_id]).get(message_id)
        return None if found is None else post_from_row(*found)

    def get_many(self, channel_id: int, message_ids: Sequence[int]) -> dict[int, Post]:
        """Archived posts of the channel among ``message_ids`` (with media and tombstones), by message id."""
        found = load_post_rows(self._session, channel_id, list(message_ids))
        return {message_id: post_from_row(*rows) for message_id, rows in found.items()}

    def count(self, channel_id: int, *, include_deleted: bool = True) -> int:
        """How many posts of the channel are archived."""
        posts = PostRow.__table__  # Core: no ORM compile state for a count
        query = select(func.count()).select_from(posts).where(posts.c.channel_id == channel_id)
        if not include_deleted:
            query = query.where(posts.c.deleted_at.is_(None))
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

    def revisions(self, channel_id: int, message_id: int) -> list[PostRevision]:
        """Earlier states of a post, oldest first."""
        rows = self._session.scalars(
            select(PostRevisionRow)
            .where(PostRevisionRow.channel_id == channel_id, PostRevisionRow.message_id == message_id)
            .order_by(PostRevisionRow.revision)
        )
        return [revision_from_row(row) for row in rows]

    def revisions_for(self, channel_id: int, message_ids: Sequence[int]) -> dict[int, list[PostRevision]]:
        """Earlier states of several posts at once, keyed by message id, without their raw TL (``raw``
        is None): read in bulk as plain rows, no ORM objects to track."""
        revisions = PostRevisionRow.__table__
        columns = [column for column in revisions.columns if column.name != "raw"]
        found: dict[int, list[PostRevision]] = {}
        for chunk in chunks(message_ids):
            rows = self._session.execute(
                select(*columns)
                .where(revisions.c.channel_id == channel_id, revisions.c.message_id.in_(chunk))
                .order_by(revisions.c.message_id, revisions.c.revision)
            )
            for row in rows:
                revision = revision_from_row(cast(PostRevisionRow, _WithoutRaw(row)))
                found.setdefault(row.message_id, []).append(revision)
        return found

    def for_display(self, channel_id: int, message_ids: Sequence[int]) -> dict[int, Post]:
        """Like :meth:`get_many` without the raw TL (``raw`` is None): what pages and feeds show.

        Read as plain rows (no ORM objects to track), posts and their media in two queries a chunk.
        A row this version cannot read is left out (its page shows the others).
        """
        posts = PostRow.__table__
        media = MediaItemRow.__table__
        # ``raw`` is read as NULL: the rows then read like mapped rows without a wrapper per row; the
        # archive's own bookkeeping (when first seen, last updated, how many revisions) is not read
        columns = [
            null().label("raw") if c.name == "raw" else c for c in posts.columns if c.name not in _NOT_SHOWN
        ]
        found: dict[int, Post] = {}
        for chunk in chunks(message_ids):
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
                post_row = cast(PostRow, row)
                try:
                    found[row.message_id] = post_from_row(
                        post_row, cast(MediaItemRow | None, media_rows.get(row.message_id))
                    )
                except (ValueError, TypeError):
                    # a row this version cannot read (damaged JSON, a value out of range): the page
                    # shows the others, as it does for a post missing from the archive
                    continue
        return found

    def texts(self, channel_id: int, message_ids: Sequence[int]) -> dict[int, tuple[str, bool]]:
        """(text, deleted) of several posts by message id: what a list of snippets needs, nothing more."""
        found: dict[int, tuple[str, bool]] = {}
        for chunk in chunks(message_ids):
            posts = PostRow.__table__.c  # Core columns: no ORM compile state
            rows = self._session.execute(
                select(posts.message_id, posts.text, posts.deleted_at).where(
                    posts.channel_id == channel_id, posts.message_id.in_(chunk)
                )
            ).all()  # fetched at once: a row at a time costs the driver a call each
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
                yield post_from_row(post_row, media_row)
            last = rows[-1][0].message_id
            self._session.expunge_all()


class _WithoutRaw:
    """A plain result row read like a :class:`PostRow` whose ``raw`` was left out."""

    __slots__ = ("_row",)
    raw = None

    def __init__(self, row: Any) -> None:
        self._row = row

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


def revision_from_row(row: PostRevisionRow) -> PostRevision:
    """A ``post_revisions`` row as its record."""
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
