"""This process's share of the channels: all of them alone, those whose leases it holds as a worker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import structlog

from tgvault.config import Settings
from tgvault.daemon.channel_states import ChannelStates
from tgvault.daemon.timetable import Timetable
from tgvault.daemon.turns import ChannelTurns
from tgvault.storage.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from tgvault.daemon.workers import WorkerLeases

# The service's events keep the logger name they have always had (log filters and alerts match on it).
log = structlog.get_logger("tgvault.service")


class ChannelShare:
    """Which channels this process serves, kept in step with its worker leases (none: it serves all)."""

    def __init__(
        self,
        leases: WorkerLeases | None,
        settings: Callable[[], Settings],
        unit_of_work: Callable[[], UnitOfWork],
        *,
        states: ChannelStates,
        turns: ChannelTurns,
        timetable: Timetable,
        clock: Callable[[], datetime],
    ) -> None:
        self._leases = leases
        self._settings = settings
        self._uow = unit_of_work
        self._states = states
        self._turns = turns
        self._timetable = timetable
        self._clock = clock

    def serves(self, key: str) -> bool:
        """True when this process serves the channel: always alone, only with its lease as a worker."""
        return self._leases is None or key in self._leases.held

    def join(self) -> None:
        """As a worker, join the group (a failure is logged; the next rebalance tries again)."""
        if self._leases is not None:
            # Join the group first and claim a beat later, so workers started together share at once.
            try:
                self._leases.register()
            except Exception:
                log.exception("cannot join the workers; trying again on the next beat")

    def rebalance(self) -> None:
        """Renew this worker's leases and move to its fair share: drop jobs it lost, add jobs it gained."""
        if self._leases is None:
            return
        change = self._leases.rebalance(self._settings(), busy=self._turns.syncing)
        for key in change.lost | change.released:
            self._timetable.drop(key)
            task = self._turns.running.get(key)
            if (
                task is not None
                and not task.done()
                and (key in change.lost or key not in self._turns.syncing)
            ):
                if key in change.lost:
                    log.warning("lease taken over by another worker; stopping its sync", channel=key)
                task.cancel()
        if not change.gained or not self._timetable.active:
            return
        with self._uow() as uow:
            stored = {key: uow.service_state.get(key) for key in change.gained}
        now = self._clock()
        for key in sorted(change.gained):
            channel = self._states.channel(key)
            if channel is None:
                continue
            state = stored.get(key)
            if state is not None:
                self._states.states[key] = state  # another worker ran it: keep its last run and backoff
            self._timetable.schedule(channel, now=now)
            self._states.save(key)

    def leave(self) -> None:
        """As a worker, give every lease back (a failure is logged: the leases expire on their own)."""
        if self._leases is None:
            return
        try:
            self._leases.stop()
        except Exception:
            log.exception("cannot release the worker's leases (they expire on their own)")
