"""The record of every backfill and sync run: started, attached to its channel, finished."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tgvault.domain import RunCounts, RunStatus, SyncRun
from tgvault.storage.tables import SyncRunRow, utcnow


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
