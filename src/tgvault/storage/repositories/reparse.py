"""Posts kept with a parse error, read back for re-mapping and written again when the mapping improved."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tgvault.domain import Post, SourceKind
from tgvault.storage.ledger_records import REVISION, Draft, record_hash, revision_record
from tgvault.storage.repositories.ledger import LedgerRepository
from tgvault.storage.repositories.post_writes import PostWriter
from tgvault.storage.repositories.rows import post_values
from tgvault.storage.tables import PostRow


class ReparseRepository:
    """Read posts whose mapping failed (with their raw TL) and store their better reading in place."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def with_parse_errors(
        self, channel_id: int | None, *, after: tuple[int, int] = (0, 0), limit: int = 200
    ) -> list[tuple[int, int, str, dict[str, object]]]:
        """(channel id, message id, parse error, raw) of Telegram posts with a parse error, in key order."""
        query = (
            select(PostRow.channel_id, PostRow.message_id, PostRow.parse_error, PostRow.raw)
            .where(
                PostRow.parse_error.is_not(None),
                PostRow.raw.is_not(None),
                PostRow.source == SourceKind.TELEGRAM.value,
                (PostRow.channel_id > after[0])
                | ((PostRow.channel_id == after[0]) & (PostRow.message_id > after[1])),
            )
            .order_by(PostRow.channel_id, PostRow.message_id)
            .limit(limit)
        )
        if channel_id is not None:
            query = query.where(PostRow.channel_id == channel_id)
        return [(row[0], row[1], row[2], row[3]) for row in self._session.execute(query)]

    def count_with_parse_errors(self, channel_id: int | None) -> int:
        """How many Telegram posts (of one channel, or all) :meth:`with_parse_errors` would read."""
        query = (
            select(func.count())
            .select_from(PostRow)
            .where(
                PostRow.parse_error.is_not(None),
                PostRow.raw.is_not(None),
                PostRow.source == SourceKind.TELEGRAM.value,
            )
        )
        if channel_id is not None:
            query = query.where(PostRow.channel_id == channel_id)
        return int(self._session.scalar(query) or 0)

    def replace(self, post: Post, now: datetime) -> None:
        """Overwrite a post's reading (same message, better understood): no revision, tombstone kept."""
        values = post_values(post)
        values.pop("source")
        before = self._session.execute(
            select(PostRow.text, PostRow.entities, PostRow.edit_date, PostRow.poll, PostRow.web_page).where(
                PostRow.channel_id == post.channel_id, PostRow.message_id == post.message_id
            )
        ).one_or_none()
        self._session.execute(
            update(PostRow)
            .where(PostRow.channel_id == post.channel_id, PostRow.message_id == post.message_id)
            .values(updated_at=now, **values)
        )
        after = record_hash(
            revision_record(
                post.channel_id,
                post.message_id,
                values["text"],
                values["entities"],
                values["edit_date"],
                values["poll"],
                values["web_page"],
            )
        )
        if before is not None and after != record_hash(
            revision_record(post.channel_id, post.message_id, *before)
        ):
            LedgerRepository(self._session).append(
                post.channel_id, [Draft(REVISION, post.message_id, now, after)]
            )
        if post.media is not None:
            PostWriter(self._session).upsert_media(post.channel_id, [post], now)
        self._session.flush()
