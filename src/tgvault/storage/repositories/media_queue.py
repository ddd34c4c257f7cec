"""The media download queue in the archive database (table ``media_downloads``).

Posts are committed first; their files wait here until a worker stores them. The queue survives any
interruption: what a killed run left is picked up by the next one. It never commits (the unit of work does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import Select, and_, case, delete, func, select, update
from sqlalchemy.orm import Session

from tgvault.domain import MediaItem, MediaStatus
from tgvault.storage.bulk import insert_rows
from tgvault.storage.repositories.rows import chunks, media_from_row, table
from tgvault.storage.tables import MediaDownloadRow, MediaItemRow

QUEUED = "queued"
FAILED = "failed"
_Ts = TypeVarTuple("_Ts")
_WAITING = (MediaStatus.PENDING.value, MediaStatus.FAILED.value, MediaStatus.SKIPPED.value)


@dataclass(frozen=True)
class QueuedDownload:
    """A file waiting in the queue, with its post's media description."""

    channel_id: int
    message_id: int
    media: MediaItem
    attempts: int
    state: str


@dataclass(frozen=True)
class Backlog:
    """What is still to download for a channel: files and their announced bytes; ``failed`` gave up for now."""

    files: int = 0
    bytes: int = 0
    failed: int = 0


class MediaQueueRepository:
    """Add, take and settle queued downloads."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, channel_id: int, message_ids: Sequence[int], now: datetime) -> int:
        """Queue the files of these posts that are not stored yet (and not already queued); returns how many."""
        added = 0
        for chunk in chunks(list(message_ids)):
            rows = self._session.execute(
                _not_queued(select(MediaItemRow.message_id, MediaItemRow.size), channel_id, _WAITING).where(
                    MediaItemRow.message_id.in_(chunk)
                )
            ).all()
            insert_rows(
                self._session.connection(),
                table(MediaDownloadRow),
                [_new_row(channel_id, message_id, size, now) for message_id, size in rows],
            )
            added += len(rows)
        return added

    def unqueued(self, channel_id: int, limit: int = 1000) -> list[int]:
        """Posts whose file is pending or failed in ``media_items`` but not queued (left by a killed run)."""
        statuses = (MediaStatus.PENDING.value, MediaStatus.FAILED.value)
        query = (
            _not_queued(select(MediaItemRow.message_id), channel_id, statuses)
            .order_by(MediaItemRow.message_id)
            .limit(limit)
        )
        return list(self._session.scalars(query))

    def due(
        self, channel_id: int, now: datetime, *, exclude: Sequence[int] = (), limit: int = 100
    ) -> list[QueuedDownload]:
        """Queued files whose next attempt is due, oldest post first."""
        query = (
            select(MediaDownloadRow, MediaItemRow)
            .join(
                MediaItemRow,
                and_(
                    MediaItemRow.channel_id == MediaDownloadRow.channel_id,
                    MediaItemRow.message_id == MediaDownloadRow.message_id,
                ),
            )
            .where(MediaDownloadRow.channel_id == channel_id, MediaDownloadRow.next_attempt_at <= now)
            .order_by(MediaDownloadRow.message_id)
            .limit(limit + len(exclude))
        )
        skip = set(exclude)
        found = []
        for queued, media in self._session.execute(query):
            if queued.message_id in skip:
                continue
            found.append(
                QueuedDownload(
                    channel_id, queued.message_id, media_from_row(media), queued.attempts, queued.state
                )
            )
        return found[:limit]

    def next_due_at(self, channel_id: int) -> datetime | None:
        """When the channel's next queued file becomes due (None when the queue is empty)."""
        return self._session.scalar(
            select(func.min(MediaDownloadRow.next_attempt_at)).where(
                MediaDownloadRow.channel_id == channel_id
            )
        )

    def restart_round(self, channel_id: int, message_id: int, now: datetime) -> None:
        """A file that had given up is due again: a fresh round of attempts begins."""
        self._session.execute(
            update(MediaDownloadRow)
            .where(MediaDownloadRow.channel_id == channel_id, MediaDownloadRow.message_id == message_id)
            .values(state=QUEUED, attempts=0, updated_at=now)
        )

    def attempt_failed(
        self,
        channel_id: int,
        message_id: int,
        error: str,
        *,
        retry_at: datetime,
        gave_up: bool,
        now: datetime,
    ) -> None:
        """Count a failed attempt, keep its reason, and say when to try again (``gave_up``: ceiling reached)."""
        self._session.execute(
            update(MediaDownloadRow)
            .where(MediaDownloadRow.channel_id == channel_id, MediaDownloadRow.message_id == message_id)
            .values(
                state=FAILED if gave_up else QUEUED,
                attempts=MediaDownloadRow.attempts + 1,
                last_error=error[:2000],
                next_attempt_at=retry_at,
                updated_at=now,
            )
        )

    def remove(self, channel_id: int, message_ids: Sequence[int]) -> None:
        """Take files off the queue (stored, refused by the policy, or no longer on Telegram)."""
        for chunk in chunks(list(message_ids)):
            self._session.execute(
                delete(MediaDownloadRow).where(
                    MediaDownloadRow.channel_id == channel_id, MediaDownloadRow.message_id.in_(chunk)
                )
            )

    def backlog(self, channel_id: int) -> Backlog:
        """Files (and bytes) queued for the channel, and how many of them gave up for now."""
        row = self._session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(MediaDownloadRow.size), 0),
                func.coalesce(func.sum(case((MediaDownloadRow.state == FAILED, 1), else_=0)), 0),
            ).where(MediaDownloadRow.channel_id == channel_id)
        ).one()
        return Backlog(int(row[0] or 0), int(row[1] or 0), int(row[2] or 0))


def _new_row(channel_id: int, message_id: int, size: int | None, now: datetime) -> dict[str, object]:
    return {
        "channel_id": channel_id,
        "message_id": message_id,
        "state": QUEUED,
        "size": size,
        "attempts": 0,
        "last_error": None,
        "next_attempt_at": now,
        "queued_at": now,
        "updated_at": now,
    }


def _not_queued(query: Select[*_Ts], channel_id: int, statuses: Sequence[str]) -> Select[*_Ts]:
    """Narrow a select over ``media_items`` to the channel's files in these states that are not queued."""
    return query.outerjoin(
        MediaDownloadRow,
        and_(
            MediaDownloadRow.channel_id == MediaItemRow.channel_id,
            MediaDownloadRow.message_id == MediaItemRow.message_id,
        ),
    ).where(
        MediaItemRow.channel_id == channel_id,
        MediaItemRow.status.in_(statuses),
        MediaDownloadRow.message_id.is_(None),
    )
