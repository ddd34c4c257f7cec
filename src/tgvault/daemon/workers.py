"""Sharing the configured channels among ``tgvault run --worker`` processes through leases in the database.

Every few seconds (``[workers] renew_seconds``) each worker, in one transaction: beats its heartbeat,
renews the leases it holds, counts the live workers, and moves towards its fair share —
``ceil(unpinned channels / live workers)`` plus every channel pinned to its session — by releasing
extra channels it is not syncing right now, or by claiming free or expired ones
(``SELECT ... FOR UPDATE SKIP LOCKED``). A worker that dies stops renewing; once its leases expire
(``[workers] lease_seconds``) and its heartbeat is stale, the others' fair share grows and they claim
its channels. Each channel is served by one worker at a time; a worker that finds a lease of its own
taken over stops syncing that channel at once.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from tgvault.config import Settings
from tgvault.storage.tables import utcnow
from tgvault.storage.unit_of_work import UnitOfWork

# The workers' events keep the logger name they have always had (log filters and alerts match on it).
log = structlog.get_logger("tgvault.workers")


@dataclass(frozen=True)
class Rebalance:
    """What one round changed for this worker."""

    gained: frozenset[str] = frozenset()
    lost: frozenset[str] = frozenset()
    """Leases another worker took over (stop syncing these at once)."""
    released: frozenset[str] = frozenset()
    live_workers: int = 1
    share: int = 0


def fair_share(unpinned: int, live_workers: int) -> int:
    """How many unpinned channels one of ``live_workers`` workers serves: ``ceil(unpinned / live)``."""
    return math.ceil(unpinned / max(1, live_workers))


@dataclass
class WorkerLeases:
    """This worker's leases: claimed, renewed, balanced and released through the archive database."""

    unit_of_work: Callable[[], UnitOfWork]
    session_name: str | None
    lease_for: timedelta
    clock: Callable[[], datetime] = utcnow
    worker_id: str = field(default_factory=lambda: f"worker-{uuid.uuid4().hex}")
    held: set[str] = field(default_factory=set)

    def register(self) -> None:
        """Join the group (a heartbeat) without claiming anything yet."""
        with self.unit_of_work() as uow:
            uow.leases.beat(self.worker_id, self.session_name, self.clock())
            uow.commit()

    def rebalance(self, settings: Settings, busy: Collection[str] = ()) -> Rebalance:
        """One round: beat, renew, then release extras (never a ``busy`` one) or claim up to the fair share."""
        now = self.clock()
        until = now + self.lease_for
        shared = {channel.key for channel in settings.channels if channel.session is None}
        pinned = {
            channel.key
            for channel in settings.channels
            if channel.session is not None and channel.session == self.session_name
        }
        with self.unit_of_work() as uow:
            uow.leases.beat(self.worker_id, self.session_name, now)
            uow.leases.ensure(shared | pinned)
            renewed = uow.leases.renew(self.worker_id, until)
            live = max(1, uow.leases.live_workers(now, self.lease_for))
            share = fair_share(len(shared), live)
            release = renewed - shared - pinned  # no longer configured, or pinned elsewhere now
            held_shared = renewed & shared
            if len(held_shared) > share:
                idle = sorted(held_shared - set(busy))
                release |= set(idle[: len(held_shared) - share])
            uow.leases.release(self.worker_id, release)
            kept = renewed - release
            wanted = share - len(kept & shared)
            claimed = uow.leases.claim(self.worker_id, pinned - kept, len(pinned - kept), now, until)
            claimed += uow.leases.claim(self.worker_id, shared - kept, wanted, now, until)
            for _key, previous in claimed:
                if previous is not None and previous != self.worker_id:
                    uow.leases.drop_channel_locks_of(previous)
            uow.commit()
        gained = {key for key, _previous in claimed}
        lost = self.held - renewed
        self.held = kept | gained
        if gained or lost or release:
            log.info(
                "worker leases changed",
                worker=self.worker_id,
                live_workers=live,
                share=share,
                claimed=sorted(gained),
                released=sorted(release),
                lost=sorted(lost),
                holding=len(self.held),
            )
        return Rebalance(
            gained=frozenset(gained),
            lost=frozenset(lost),
            released=frozenset(release),
            live_workers=live,
            share=share,
        )

    def stop(self) -> None:
        """Give every lease back and leave the group, so the others take over at once."""
        with self.unit_of_work() as uow:
            uow.leases.release(self.worker_id, self.held)
            uow.leases.forget_worker(self.worker_id)
            uow.commit()
        self.held = set()
