"""The ``tgvault run`` service's per-channel state, and who holds the service lock."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tgvault.domain import ChannelServiceState, JobOutcome
from tgvault.storage.repositories.channel_locks import LockHolder
from tgvault.storage.tables import ChannelLockRow, ServiceStateRow


class ServiceStateRepository:
    """Per configured channel: next run, failures in a row, backoff and last error (for ``tgvault status``)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, channel_key: str) -> ChannelServiceState | None:
        """The state of one channel (by its normalised key), if the service has seen it."""
        row = self._session.get(ServiceStateRow, channel_key)
        return None if row is None else _state_from_row(row)

    def all(self) -> list[ChannelServiceState]:
        """Every channel's state, by name."""
        rows = self._session.scalars(select(ServiceStateRow).order_by(ServiceStateRow.name))
        return [_state_from_row(row) for row in rows]

    def save(self, state: ChannelServiceState) -> None:
        """Insert or replace a channel's state."""
        values = state.model_dump()
        values["last_outcome"] = None if state.last_outcome is None else state.last_outcome.value
        row = self._session.get(ServiceStateRow, state.channel_key)
        if row is None:
            self._session.add(ServiceStateRow(**values))
        else:
            for key, value in values.items():
                setattr(row, key, value)
        self._session.flush()

    def keep_only(self, channel_keys: Collection[str]) -> int:
        """Forget channels no longer configured; returns how many were removed."""
        query = delete(ServiceStateRow)
        if channel_keys:
            query = query.where(ServiceStateRow.channel_key.not_in(list(channel_keys)))
        result = self._session.execute(query)
        return int(getattr(result, "rowcount", 0) or 0)

    def lock_holder(self, lock_key: str) -> LockHolder | None:
        """Who holds a lock (e.g. the service lock) right now, without taking it."""
        row = self._session.get(ChannelLockRow, lock_key)
        return None if row is None else LockHolder(row.owner, row.host, row.pid, row.heartbeat_at)


def _state_from_row(row: ServiceStateRow) -> ChannelServiceState:
    return ChannelServiceState(
        channel_key=row.channel_key,
        name=row.name,
        channel_id=row.channel_id,
        schedule=row.schedule,
        next_run_at=row.next_run_at,
        last_run_at=row.last_run_at,
        last_outcome=None if row.last_outcome is None else JobOutcome(row.last_outcome),
        consecutive_failures=row.consecutive_failures,
        backoff_until=row.backoff_until,
        last_error=row.last_error,
        updated_at=row.updated_at,
    )
