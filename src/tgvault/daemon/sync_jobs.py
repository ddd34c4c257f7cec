"""One channel's sync job: :meth:`Archiver.sync`, then its outcome recorded (backing a failure off)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import structlog

from tgvault.config import ChannelConfig
from tgvault.daemon.health import HealthWriter
from tgvault.daemon.job_parts import ChannelJobParts
from tgvault.daemon.scheduling import backoff_delay, period
from tgvault.daemon.timetable import Timetable
from tgvault.domain import JobOutcome, RunCounts, SyncRun
from tgvault.errors import AccountError, ChannelBusyError, FloodWaitTooLongError, SourceError, TgvaultError
from tgvault.services.archiver import ChannelOutcome

# The service's events keep the logger name they have always had (log filters and alerts match on it).
log = structlog.get_logger("tgvault.service")


class SyncJobs:
    """Runs a channel's sync in its turn and a sync slot, and records what came of it: the channel's
    state (next run, failures in a row, backoff, last error), a backoff on failure, a site rebuild."""

    def __init__(
        self,
        parts: ChannelJobParts,
        *,
        timetable: Timetable,
        health: HealthWriter,
    ) -> None:
        self._parts = parts
        self._timetable = timetable
        self._health = health

    async def job(self, key: str) -> None:
        """The scheduled job of one channel (never raises: a failure is recorded and backed off)."""
        try:
            await self.sync_channel(key)
        except asyncio.CancelledError:
            return  # stopping; the run is already recorded as interrupted

    async def sync_channel(self, key: str) -> ChannelOutcome | None:
        """Sync one channel with :meth:`Archiver.sync` and record the outcome; None if no longer configured."""
        channel = self._parts.states.channel(key)
        if channel is None or self._parts.stopping():
            return None
        task = asyncio.current_task()
        if task is not None:
            self._parts.turns.running[key] = task
        try:
            assert self._parts.turns.slots is not None
            async with self._parts.turns.turn(key), self._parts.turns.slots:
                if not self._parts.serves(key):
                    return None  # released or lost while waiting for a slot
                self._parts.turns.syncing.add(key)
                try:
                    return await self._sync_now(channel)
                finally:
                    self._parts.turns.syncing.discard(key)
        finally:
            self._parts.turns.running.pop(key, None)

    async def _sync_now(self, channel: ChannelConfig) -> ChannelOutcome:
        plan = self._parts.plan_for(self._parts.settings(), channel.name)
        started = self._parts.clock()
        opened = False
        try:
            archiver = await self._parts.archivers.archiver_for(self._parts.settings(), channel)
            opened = True
            counts: RunCounts = await archiver.sync(plan)
        except asyncio.CancelledError:
            self._record(channel, started, JobOutcome.INTERRUPTED, error="interrupted by shutdown")
            raise
        except ChannelBusyError as error:
            self._record(channel, started, JobOutcome.BUSY, error=str(error))
            return ChannelOutcome(plan.key, RunCounts(), error=str(error))
        except AccountError as error:  # not the channel's failure: every Telegram channel stops
            return self._stopped_by_account(channel, plan.key, started, error, opened=opened)
        except Exception as error:  # one channel failing never stops the others
            standing = self._parts.account_failure(channel)
            if standing is not None and isinstance(error, SourceError):  # its connection closed meanwhile
                return self._stopped_by_account(channel, plan.key, started, standing, opened=opened)
            if isinstance(error, TgvaultError | OSError):
                message = str(error)
            else:  # a bug, or the database went away
                log.exception("channel sync crashed", channel=channel.name)
                message = f"{type(error).__name__}: {error}"
            run = self._record(channel, started, JobOutcome.FAILED, error=message, exc=error, opened=opened)
            if run is not None and run.counts.changed and run.channel_id is not None:
                self._parts.rebuilds.queue(run.channel_id)  # pages committed before the failure
            stopped = not opened and isinstance(error, SourceError)  # the source itself failed
            return ChannelOutcome(plan.key, RunCounts(), error=message, stopped=stopped)
        run = self._record(channel, started, JobOutcome.OK)
        channel_id = run.channel_id if run is not None else None
        if counts.changed and channel_id is not None:
            self._parts.rebuilds.queue(channel_id)
        return ChannelOutcome(plan.key, counts)

    def _stopped_by_account(
        self, channel: ChannelConfig, key: str, started: datetime, error: AccountError, *, opened: bool
    ) -> ChannelOutcome:
        self._parts.on_account_failure(channel, error)
        self._record(channel, started, JobOutcome.FAILED, error=str(error), exc=error, opened=opened)
        return ChannelOutcome(key, RunCounts(), error=str(error), stopped=True)

    def _record(
        self,
        channel: ChannelConfig,
        started: datetime,
        outcome: JobOutcome,
        *,
        error: str | None = None,
        exc: BaseException | None = None,
        opened: bool = True,
    ) -> SyncRun | None:
        """Update the channel's state after a run (backing it off when it failed); returns the recorded run.

        A run whose source could not be opened (``opened`` False) is recorded here as a failed run, so
        ``tgvault status`` shows why; a failure of the account is not held against the channel (no
        backoff: its job waits for the account).
        """
        key = channel.key
        if self._parts.states.channel(key) is None:  # removed by a reload while it ran
            return None
        if not opened and error is not None:
            self._parts.states.record_failed_run(channel, started, error)
        state = self._parts.states.state(channel)
        now = self._parts.clock()
        run = self._parts.states.last_run(channel)
        if run is not None and run.started_at < started:
            run = None  # the run never got recorded (its source could not even be opened)
        channel_id = (run.channel_id if run is not None else None) or state.channel_id
        changes: dict[str, Any] = {
            "channel_id": channel_id,
            "last_run_at": started,
            "last_outcome": outcome,
            "last_error": error,
        }
        if outcome is JobOutcome.OK:
            changes.update(consecutive_failures=0, backoff_until=None)
        elif isinstance(exc, AccountError):
            changes.update(backoff_until=None)  # said once for the account, not per channel
        elif outcome is JobOutcome.FAILED:
            failures = state.consecutive_failures + 1
            base = period(channel.schedule, self._parts.settings().site.tzinfo, now)
            until = now + backoff_delay(failures, base, self._parts.options.backoff_ceiling)
            if isinstance(exc, FloodWaitTooLongError):
                until = max(until, now + timedelta(seconds=exc.seconds))
            changes.update(consecutive_failures=failures, backoff_until=until)
            self._timetable.back_off(key, until)
            if opened or self._timetable.active:  # with --once, a source that failed as a whole is said once
                log.warning(
                    "channel sync failed; backing off",
                    channel=channel.name,
                    failures=failures,
                    retry_at=until.isoformat(),
                    error=error,
                )
        elif outcome is JobOutcome.BUSY:
            log.info("channel is busy in another process; trying again at the next run", channel=channel.name)
        changes["next_run_at"] = self._timetable.next_run(key)
        self._parts.states.update(key, **changes)
        self._parts.states.save(key)
        if self._timetable.active:
            self._health.write("running")
        return run
