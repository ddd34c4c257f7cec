"""Channel locks: one process at a time syncs a channel; dead or silent holders are taken over."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, delete, update
from sqlalchemy.orm import Session

from tgvault.storage.tables import ChannelLockRow, utcnow

# Statements run for every page of a backfill, built once (their compiled form is then cached by key).
# (Core statements on the tables: no ORM compile step on each execution.)
_LOCKS = cast(Table, ChannelLockRow.__table__)
_HEARTBEAT = (
    update(_LOCKS)
    .where(_LOCKS.c.channel_key == bindparam("lock_key"), _LOCKS.c.owner == bindparam("lock_owner"))
    .values(heartbeat_at=bindparam("now"))
)


@dataclass(frozen=True)
class LockHolder:
    """Who holds a channel lock."""

    owner: str
    host: str
    pid: int
    heartbeat_at: datetime


def this_process() -> tuple[str, int]:
    """(host name, process id) of the current process."""
    return socket.gethostname(), os.getpid()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ChannelLockRepository:
    """Locks that keep two processes from syncing one channel at the same time.

    A lock whose holder is a dead process on this host, or whose heartbeat is older than
    ``stale_after``, is taken over, so a killed process never blocks the next run.
    """

    def __init__(self, session: Session) -> None:
        self._session = session

    def try_acquire(self, channel_key: str, owner: str, stale_after: timedelta) -> LockHolder | None:
        """Take the lock; returns None on success, or the live holder that keeps it."""
        host, pid = this_process()
        now = utcnow()
        row = self._session.get(ChannelLockRow, channel_key, with_for_update=True)
        if row is not None and row.owner != owner:
            dead = row.host == host and not _process_alive(row.pid)
            stale = row.heartbeat_at < now - stale_after
            if not (dead or stale):
                return LockHolder(row.owner, row.host, row.pid, row.heartbeat_at)
            self._session.delete(row)
            self._session.flush()
            row = None
        if row is None:
            self._session.add(
                ChannelLockRow(
                    channel_key=channel_key,
                    owner=owner,
                    host=host,
                    pid=pid,
                    acquired_at=now,
                    heartbeat_at=now,
                )
            )
        else:
            row.heartbeat_at = now
        self._session.flush()
        return None

    def heartbeat(self, channel_key: str, owner: str) -> None:
        """Keep a held lock fresh."""
        self._session.execute(_HEARTBEAT, {"lock_key": channel_key, "lock_owner": owner, "now": utcnow()})

    def release(self, channel_key: str, owner: str) -> None:
        """Give the lock back."""
        self._session.execute(
            delete(ChannelLockRow).where(
                ChannelLockRow.channel_key == channel_key, ChannelLockRow.owner == owner
            )
        )
