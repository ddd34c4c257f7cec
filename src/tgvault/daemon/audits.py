"""A channel's scheduled audit, run in slices that each take its turn and a sync slot, then give them back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import structlog

from tgvault.config import ChannelConfig, Settings
from tgvault.daemon.channel_states import ChannelStates
from tgvault.daemon.options import ServiceOptions
from tgvault.daemon.rebuilds import RebuildQueue
from tgvault.daemon.shared_sources import ChannelArchivers
from tgvault.daemon.timetable import audit_job_id
from tgvault.daemon.turns import ChannelTurns
from tgvault.errors import AccountError, ChannelBusyError, TgvaultError
from tgvault.services.audit import Auditor
from tgvault.services.plans import ChannelPlan
from tgvault.storage.unit_of_work import UnitOfWork

# The service's events keep the logger name they have always had (log filters and alerts match on it).
log = structlog.get_logger("tgvault.service")


class AuditJobs:
    """Runs a channel's audit a slice at a time (an audit never holds a channel for long); a slice that
    changed the archive asks for a site rebuild."""

    def __init__(
        self,
        settings: Callable[[], Settings],
        archivers: ChannelArchivers,
        unit_of_work: Callable[[], UnitOfWork],
        *,
        plan_for: Callable[[Settings, str], ChannelPlan],
        states: ChannelStates,
        turns: ChannelTurns,
        rebuilds: RebuildQueue,
        options: ServiceOptions,
        clock: Callable[[], datetime],
        serves: Callable[[str], bool],
        stopping: Callable[[], bool],
        on_account_failure: Callable[[ChannelConfig, AccountError], None] = lambda channel, error: None,
        account_failure: Callable[[ChannelConfig], AccountError | None] = lambda channel: None,
    ) -> None:
        self._settings = settings
        self._on_account_failure = on_account_failure
        self._account_failure = account_failure
        self._archivers = archivers
        self._uow = unit_of_work
        self._plan_for = plan_for
        self._states = states
        self._turns = turns
        self._rebuilds = rebuilds
        self._options = options
        self._clock = clock
        self._serves = serves
        self._stopping = stopping

    async def job(self, key: str) -> None:
        """The scheduled audit of one channel, in slices that each take a sync slot and give it back."""
        job = audit_job_id(key)
        task = asyncio.current_task()
        if task is not None:
            self._turns.running[job] = task
        try:
            await self._slices(key)
        except asyncio.CancelledError:
            return  # stopping; the audit's cursor is committed and it continues after the restart
        finally:
            self._turns.running.pop(job, None)

    async def _slices(self, key: str) -> None:
        while not self._stopping():
            channel = self._states.channel(key)
            if channel is None or not self._serves(key):
                return  # gone from the config, or its lease moved to another worker
            assert self._turns.slots is not None
            try:
                async with self._turns.turn(key), self._turns.slots:
                    archiver = await self._archivers.archiver_for(self._settings(), channel)
                    outcome = await Auditor(archiver, self._uow, clock=self._clock).audit(
                        self._plan_for(self._settings(), channel.name),
                        pause=self._settings().sync.audit_pause,
                        max_batches=self._options.audit_slice,
                    )
            except ChannelBusyError:
                await asyncio.sleep(self._options.audit_busy_retry)
                continue
            except AccountError as error:  # every Telegram channel stops; said once for the account
                self._on_account_failure(channel, error)
                return
            except (TgvaultError, OSError) as error:
                if self._account_failure(channel) is not None:
                    return  # its connection was closed because the account failed: said once for it
                log.warning(
                    "channel audit failed; it continues at its next run",
                    channel=channel.name,
                    error=str(error),
                )
                return
            if outcome.counts.changed and outcome.channel_id is not None:
                self._rebuilds.queue(outcome.channel_id)
            if outcome.complete:
                return
            # paced like the requests within a slice; a sync waiting for the channel goes first
            await asyncio.sleep(self._settings().sync.audit_pause)
