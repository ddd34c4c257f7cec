"""Channel leases for ``tgvault run --worker``: which worker serves which channel, until when.

A lease is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite, which serialises
writers anyway, ignores the clause) followed by an ``UPDATE`` that re-checks the row is still free, so
two workers never hold one channel. A lease lives until ``expires_at``; its worker renews it while
alive, and a lease not renewed in time is free for any other worker.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from tgvault.storage.repositories.channel_locks import this_process
from tgvault.storage.tables import ChannelLeaseRow, ChannelLockRow, WorkerRow


@dataclass(frozen=True)
class Lease:
    """A channel's lease as stored (``owner`` None when free)."""

    channel_key: str
    owner: str | None
    host: str | None
    pid: int | None
    expires_at: datetime | None
    claims: int


@dataclass(frozen=True)
class WorkerInfo:
    """A live worker and how many channel leases it holds."""

    worker_id: str
    session_name: str | None
    host: str
    pid: int
    heartbeat_at: datetime
    channels: int


class LeaseRepository:
    """Workers' heartbeats and their channel leases."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # -- workers ---------------------------------------------------------------------------------

    def beat(self, worker_id: str, session_name: str | None, now: datetime) -> None:
        """Record that the worker is alive (registering it on its first beat)."""
        row = self._session.get(WorkerRow, worker_id)
        if row is None:
            host, pid = this_process()
            self._session.add(
                WorkerRow(
                    worker_id=worker_id,
                    session_name=session_name,
                    host=host,
                    pid=pid,
                    started_at=now,
                    heartbeat_at=now,
                )
            )
        else:
            row.heartbeat_at = now
        self._session.flush()

    def live_workers(self, now: datetime, stale_after: timedelta) -> int:
        """How many workers beat within ``stale_after``."""
        count = self._session.scalar(
            select(func.count()).select_from(WorkerRow).where(WorkerRow.heartbeat_at >= now - stale_after)
        )
        return int(count or 0)

    def workers(self, now: datetime, stale_after: timedelta) -> list[WorkerInfo]:
        """The live workers (heartbeat within ``stale_after``) with their lease counts."""
        held = dict(
            self._session.execute(
                select(ChannelLeaseRow.owner, func.count())
                .where(ChannelLeaseRow.owner.is_not(None), ChannelLeaseRow.expires_at >= now)
                .group_by(ChannelLeaseRow.owner)
            ).all()
        )
        rows = self._session.scalars(
            select(WorkerRow)
            .where(WorkerRow.heartbeat_at >= now - stale_after)
            .order_by(WorkerRow.host, WorkerRow.pid)
        )
        return [
            WorkerInfo(
                r.worker_id, r.session_name, r.host, r.pid, r.heartbeat_at, int(held.get(r.worker_id, 0))
            )
            for r in rows
        ]

    def forget_worker(self, worker_id: str) -> None:
        """Remove a stopping worker (its leases are released separately)."""
        self._session.execute(delete(WorkerRow).where(WorkerRow.worker_id == worker_id))

    # -- leases ----------------------------------------------------------------------------------

    def ensure(self, keys: Collection[str]) -> None:
        """Create free leases for channels that have none yet."""
        existing = set(self._session.scalars(select(ChannelLeaseRow.channel_key)))
        for key in sorted(set(keys) - existing):
            self._session.add(ChannelLeaseRow(channel_key=key, claims=0))
        self._session.flush()

    def renew(self, owner: str, until: datetime) -> set[str]:
        """Extend every lease ``owner`` still holds; returns their keys (a lease taken over is not)."""
        held = set(
            self._session.scalars(select(ChannelLeaseRow.channel_key).where(ChannelLeaseRow.owner == owner))
        )
        if held:
            self._session.execute(
                update(ChannelLeaseRow).where(ChannelLeaseRow.owner == owner).values(expires_at=until)
            )
        return held

    def claim(
        self, owner: str, candidates: Collection[str], limit: int, now: datetime, until: datetime
    ) -> list[tuple[str, str | None]]:
        """Claim up to ``limit`` free or expired leases among ``candidates`` (least claimed first).

        Returns ``(channel_key, previous_owner)`` for each lease now held by ``owner``.
        """
        if limit <= 0 or not candidates:
            return []
        free = or_(ChannelLeaseRow.owner.is_(None), ChannelLeaseRow.expires_at < now)
        rows = self._session.execute(
            select(ChannelLeaseRow.channel_key, ChannelLeaseRow.owner)
            .where(ChannelLeaseRow.channel_key.in_(sorted(candidates)), free)
            .order_by(ChannelLeaseRow.claims, ChannelLeaseRow.channel_key)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        host, pid = this_process()
        claimed = []
        for key, previous in rows:
            result = self._session.execute(
                update(ChannelLeaseRow)
                .where(and_(ChannelLeaseRow.channel_key == key, free))
                .values(
                    owner=owner,
                    host=host,
                    pid=pid,
                    acquired_at=now,
                    expires_at=until,
                    claims=ChannelLeaseRow.claims + 1,
                )
            )
            if getattr(result, "rowcount", 0) == 1:
                claimed.append((str(key), previous))
        return claimed

    def release(self, owner: str, keys: Collection[str]) -> None:
        """Give leases back (only those still held by ``owner``)."""
        if not keys:
            return
        self._session.execute(
            update(ChannelLeaseRow)
            .where(ChannelLeaseRow.owner == owner, ChannelLeaseRow.channel_key.in_(sorted(keys)))
            .values(owner=None, host=None, pid=None, expires_at=None)
        )

    def drop_channel_locks_of(self, owner: str) -> None:
        """Remove per-channel sync locks left by a worker whose leases expired (it is gone)."""
        self._session.execute(
            delete(ChannelLockRow).where(
                ChannelLockRow.owner == owner, ChannelLockRow.channel_key.like("channel:%")
            )
        )

    def all(self) -> list[Lease]:
        """Every lease, by channel key."""
        rows = self._session.scalars(select(ChannelLeaseRow).order_by(ChannelLeaseRow.channel_key))
        return [Lease(r.channel_key, r.owner, r.host, r.pid, r.expires_at, r.claims) for r in rows]
