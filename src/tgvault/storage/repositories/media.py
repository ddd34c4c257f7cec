"""Media items: the files of posts still to download, and the record of those stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tgvault.domain import MediaItem, MediaStatus
from tgvault.storage.ledger_records import MEDIA, Draft, media_record, record_hash
from tgvault.storage.repositories.ledger import LedgerRepository
from tgvault.storage.repositories.rows import chunks, media_from_row
from tgvault.storage.tables import MediaItemRow, utcnow


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
        return [PendingMedia(r.channel_id, r.message_id, media_from_row(r), r.attempts) for r in rows]

    def needing_download(self, channel_id: int, message_ids: Sequence[int], *, max_attempts: int) -> set[int]:
        """Posts whose file is pending, skipped, or failed fewer than ``max_attempts`` times."""
        found: set[int] = set()
        for chunk in chunks(message_ids):
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

    def mark_downloaded(
        self,
        channel_id: int,
        message_id: int,
        *,
        sha256: str,
        path: str,
        size: int,
        observed_at: datetime | None = None,
        warc_record_id: str | None = None,
    ) -> None:
        """Record a complete, verified file for a post (and append it to the channel's ledger, naming the
        WARC record that also holds it, when the web source kept one), as stored at ``observed_at`` (now
        when None)."""
        now = observed_at or utcnow()
        result = self._session.execute(
            update(MediaItemRow)
            .where(MediaItemRow.channel_id == channel_id, MediaItemRow.message_id == message_id)
            .values(
                status=MediaStatus.DOWNLOADED.value,
                sha256=sha256,
                path=path,
                size=size,
                error=None,
                updated_at=now,
            )
        )
        if not getattr(result, "rowcount", 0):
            return
        record = record_hash(media_record(channel_id, message_id, sha256, size))
        LedgerRepository(self._session).append(
            channel_id,
            [Draft(MEDIA, message_id, now, record, sha256, warc_record_id=warc_record_id)],
            at=now,
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
