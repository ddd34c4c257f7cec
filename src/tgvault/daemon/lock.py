"""The single-service lock: one ``tgvault run`` per archive, and none beside the workers that share one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

import structlog

from tgvault.config import Settings
from tgvault.daemon.options import ServiceOptions
from tgvault.errors import ServiceBusyError
from tgvault.services.status import SERVICE_LOCK_KEY
from tgvault.storage.repositories import LockHolder
from tgvault.storage.tables import utcnow
from tgvault.storage.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from tgvault.app import Archive

# The service's events keep the logger name they have always had (log filters and alerts match on it).
log = structlog.get_logger("tgvault.service")


class ServiceLock:
    """The row in ``channel_locks`` that makes one ``tgvault run`` per archive (SQLite or PostgreSQL).

    A lock whose holder is a dead process on this host, or whose heartbeat is older than
    ``stale_after``, is taken over, so a killed service never blocks the next one.
    """

    def __init__(
        self, unit_of_work: Callable[[], UnitOfWork], *, stale_after: timedelta, owner: str | None = None
    ) -> None:
        self._uow = unit_of_work
        self._stale_after = stale_after
        self.owner = owner or f"service-{uuid.uuid4().hex}"

    def acquire(self) -> None:
        """Take the lock, or raise :class:`ServiceBusyError` naming the process that holds it."""
        holder = self._try()
        if holder is not None:
            raise busy_error(holder, self._stale_after)

    def renew(self) -> LockHolder | None:
        """Refresh the heartbeat; returns the other process that took the lock over, if one did."""
        return self._try()

    def release(self) -> None:
        """Give the lock back (only if still ours)."""
        with self._uow() as uow:
            uow.locks.release(SERVICE_LOCK_KEY, self.owner)
            uow.commit()

    def _try(self) -> LockHolder | None:
        with self._uow() as uow:
            holder = uow.locks.try_acquire(SERVICE_LOCK_KEY, self.owner, self._stale_after)
            uow.commit()
        return holder


def busy_error(holder: LockHolder, stale_after: timedelta) -> ServiceBusyError:
    """The error saying which process holds the service lock, and when a dead holder's lock is taken over."""
    age = int((utcnow() - holder.heartbeat_at).total_seconds())
    return ServiceBusyError(
        f"this archive is already served by `tgvault run` (pid {holder.pid} on {holder.host}, "
        f"last heartbeat {age} s ago); stop that process first (a lock left by a killed process is "
        f"taken over at once on the same host, or after {int(stale_after.total_seconds())} s)",
        pid=holder.pid,
        host=holder.host,
    )


@asynccontextmanager
async def locked_archive(
    settings: Settings, options: ServiceOptions, *, worker: bool = False
) -> AsyncIterator[tuple[Archive, ServiceLock | None]]:
    """The open archive and, unless this is a worker (workers share through leases), the service lock."""
    from tgvault.app import open_archive

    archive = open_archive(settings)
    try:
        archive.media_store.prepare()
        if worker:
            yield archive, None
            return
        lock = ServiceLock(archive.unit_of_work, stale_after=options.lock_stale_after)
        lock.acquire()
        try:
            _refuse_if_workers(archive, options)
            yield archive, lock
        finally:
            try:
                lock.release()
            except Exception:
                log.exception("cannot release the service lock (it is taken over when it goes stale)")
    finally:
        archive.close()


def _refuse_if_workers(archive: Archive, options: ServiceOptions) -> None:
    """A single `tgvault run` never serves an archive that `tgvault run --worker` processes share."""
    with archive.unit_of_work() as uow:
        live = uow.leases.live_workers(utcnow(), options.lock_stale_after)
    if live:
        raise ServiceBusyError(
            f"this archive is served by {live} `tgvault run --worker` process(es); start this one with "
            "--worker too, or stop them first",
            pid=0,
            host="",
        )
