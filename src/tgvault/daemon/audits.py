"""A channel's scheduled audit, run in slices that each take its turn and a sync slot, then give them back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from tgvault.daemon.job_parts import ChannelJobParts
from tgvault.daemon.timetable import audit_job_id
from tgvault.errors import AccountError, ChannelBusyError, TgvaultError
from tgvault.services.audit import Auditor
from tgvault.storage.unit_of_work import UnitOfWork

# The service's events keep the logger name they have always had (log filters and alerts match on it).
log = structlog.get_logger("tgvault.service")


class AuditJobs:
    """Runs a channel's audit a slice at a time (an audit never holds a channel for long); a slice that
    changed the archive asks for a site rebuild."""

    def __init__(
        self,
        parts: ChannelJobParts,
        unit_of_work: Callable[[], UnitOfWork],
    ) -> None:
        self._parts = parts
        self._uow = unit_of_work

    async def job(self, key: str) -> None:
        """The scheduled audit of one channel, in slices that each take a sync slot and give it back."""
        job = audit_job_id(key)
        task = asyncio.current_task()
        if task is not None:
            self._parts.turns.running[job] = task
        try:
            await self._slices(key)
        except asyncio.CancelledError:
            return  # stopping; the audit's cursor is committed and it continues after the restart
        finally:
            self._parts.turns.running.pop(job, None)

    async def _slices(self, key: str) -> None:
        while not self._parts.stopping():
            channel = self._parts.states.channel(key)
            if channel is None or not self._parts.serves(key):
                return  # gone from the config, or its lease moved to another worker
            assert self._parts.turns.slots is not None
            try:
                async with self._parts.turns.turn(key), self._parts.turns.slots:
                    archiver = await self._parts.archivers.archiver_for(self._parts.settings(), channel)
                    outcome = await Auditor(archiver, self._uow, clock=self._parts.clock).audit(
                        self._parts.plan_for(self._parts.settings(), channel.name),
                        pause=self._parts.settings().sync.audit_pause,
                        max_batches=self._parts.options.audit_slice,
                    )
            except ChannelBusyError:
                await asyncio.sleep(self._parts.options.audit_busy_retry)
                continue
            except AccountError as error:  # every Telegram channel stops; said once for the account
                self._parts.on_account_failure(channel, error)
                return
            except (TgvaultError, OSError) as error:
                if self._parts.account_failure(channel) is not None:
                    return  # its connection was closed because the account failed: said once for it
                log.warning(
                    "channel audit failed; it continues at its next run",
                    channel=channel.name,
                    error=str(error),
                )
                return
            if outcome.counts.changed and outcome.channel_id is not None:
                self._parts.rebuilds.queue(outcome.channel_id)
            if outcome.complete:
                return
            # paced like the requests within a slice; a sync waiting for the channel goes first
            await asyncio.sleep(self._parts.settings().sync.audit_pause)
