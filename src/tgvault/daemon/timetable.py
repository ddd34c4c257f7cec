"""The service's timetable: each served channel's sync job and audit job on the APScheduler."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from tgvault.config import ChannelConfig, Settings
from tgvault.daemon.channel_states import ChannelStates, describe
from tgvault.daemon.options import ServiceOptions
from tgvault.daemon.scheduling import first_run_at, jitter_seconds, period, trigger_for
from tgvault.daemon.turns import ChannelTurns
from tgvault.domain import AuditState
from tgvault.storage.tables import utcnow
from tgvault.storage.unit_of_work import UnitOfWork

# The service's events keep the logger name they have always had (log filters and alerts match on it).
log = structlog.get_logger("tgvault.service")

Job = Callable[[str], Awaitable[None]]
"""A scheduled job: called with the channel's key."""


class Timetable:
    """The scheduler while the service runs (:meth:`start` to :meth:`shutdown`): a channel's sync job
    resumes from its last run and keeps its backoff, its audit job counts from its last finished audit."""

    def __init__(
        self,
        settings: Callable[[], Settings],
        states: ChannelStates,
        turns: ChannelTurns,
        unit_of_work: Callable[[], UnitOfWork],
        *,
        options: ServiceOptions,
    ) -> None:
        self._settings = settings
        self._states = states
        self._turns = turns
        self._uow = unit_of_work
        self._options = options
        self._scheduler: Any = None
        self._sync_job: Job | None = None
        self._audit_job: Job | None = None

    @property
    def active(self) -> bool:
        """True while the scheduler runs."""
        return self._scheduler is not None

    def start(self, *, sync_job: Job, audit_job: Job) -> None:
        """Start the scheduler (in the site timezone) that runs these jobs of the channels scheduled."""
        self._sync_job, self._audit_job = sync_job, audit_job
        scheduler = AsyncIOScheduler(timezone=self._settings().site.tzinfo)
        scheduler.start()
        self._scheduler = scheduler

    def pause(self) -> None:
        """Start no more jobs (those running go on)."""
        self._scheduler.pause()

    def shutdown(self) -> None:
        """Stop the scheduler for good (without waiting for running jobs)."""
        self._scheduler.shutdown(wait=False)
        self._scheduler = None

    def _timezone(self) -> Any:
        return self._settings().site.tzinfo

    def schedule(self, channel: ChannelConfig, *, now: datetime) -> None:
        """Add (or replace) the channel's job, resuming from its last run and keeping its backoff."""
        state = self._states.state(channel)
        tz = self._timezone()
        grace = max(self._options.min_misfire_grace, period(channel.schedule, tz, now).total_seconds())
        spread = min(self._options.startup_spread, jitter_seconds(channel.schedule, tz, now))
        running = channel.key in self._turns.running  # rescheduled mid-run: count from now
        first = first_run_at(
            now,
            channel.schedule,
            last_run_at=now if running else state.last_run_at,
            backoff_until=state.backoff_until,
            stagger=random.uniform(0, spread),
        )
        extra: dict[str, Any] = {} if first is None else {"next_run_time": first}
        self._scheduler.add_job(
            self._sync_job,
            trigger=trigger_for(channel.schedule, tz),
            args=[channel.key],
            id=channel.key,
            name=channel.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(grace),
            replace_existing=True,
            **extra,
        )
        self._states.update(
            channel.key, schedule=describe(channel, self._settings()), next_run_at=self.next_run(channel.key)
        )
        self._schedule_audit(channel, now=now)

    def _schedule_audit(self, channel: ChannelConfig, *, now: datetime) -> None:
        """Add (or replace) the channel's audit job: on ``audit_schedule`` counted from the last finished
        audit (a channel never audited waits one period), soon after the start when one was interrupted."""
        tz = self._timezone()
        audit = self._audit_state(channel)
        if audit is not None and audit.in_progress:
            first: datetime | None = now + timedelta(seconds=self._options.audit_resume_delay)
        else:
            last = audit.last_completed_at if audit is not None else None
            first = first_run_at(now, channel.audit_schedule, last_run_at=last or now, backoff_until=None)
        extra: dict[str, Any] = {} if first is None else {"next_run_time": first}
        grace = max(self._options.min_misfire_grace, period(channel.audit_schedule, tz, now).total_seconds())
        self._scheduler.add_job(
            self._audit_job,
            trigger=trigger_for(channel.audit_schedule, tz),
            args=[channel.key],
            id=audit_job_id(channel.key),
            name=f"audit {channel.name}",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(grace),
            replace_existing=True,
            **extra,
        )

    def _audit_state(self, channel: ChannelConfig) -> AuditState | None:
        channel_id = self._states.state(channel).channel_id
        if channel_id is None:
            return None
        try:
            with self._uow() as uow:
                return uow.audits.get(channel_id)
        except Exception:
            log.exception("cannot read the audit state", channel=channel.name)
            return None

    def next_run(self, key: str) -> datetime | None:
        """When the channel's sync job runs next (None while the scheduler is not running)."""
        if self._scheduler is None:
            return None
        job = self._scheduler.get_job(key)
        return None if job is None or job.next_run_time is None else _utc(job.next_run_time)

    def back_off(self, key: str, until: datetime) -> None:
        """Move the channel's next sync to ``until`` (a failing channel backs off)."""
        if self._scheduler is not None and self._scheduler.get_job(key) is not None:
            self._scheduler.modify_job(key, next_run_time=until)

    def drop(self, key: str) -> None:
        """Remove the channel's sync and audit jobs (those running go on)."""
        for job in (key, audit_job_id(key)):
            if self._scheduler is not None and self._scheduler.get_job(job) is not None:
                self._scheduler.remove_job(job)


def audit_job_id(key: str) -> str:
    """The id of the channel's audit job (its sync job's id is its key)."""
    return f"audit:{key}"


def _utc(value: datetime) -> datetime:
    return value.astimezone(utcnow().tzinfo)
