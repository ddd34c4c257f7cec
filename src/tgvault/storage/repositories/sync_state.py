"""Per-channel sync checkpoints: the newest message seen and how far the backfill went."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from tgvault.domain import SyncState
from tgvault.storage.bulk import insert_rows
from tgvault.storage.tables import SyncStateRow

# Statements run for every page of a backfill, built once (their compiled form is then cached by key).
# (Core statements on the tables: no ORM compile step on each execution.)
_SYNC_STATE = cast(Table, SyncStateRow.__table__)
_SYNC_STATE_GET = select(_SYNC_STATE).where(_SYNC_STATE.c.channel_id == bindparam("state_channel_id"))
_SYNC_STATE_UPDATE = update(_SYNC_STATE).where(_SYNC_STATE.c.channel_id == bindparam("state_channel_id"))


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
