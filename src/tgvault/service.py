"""``tgvault run``: every configured channel synced on its own schedule, until SIGTERM or SIGINT.

One :class:`Service` per archive (a lock row in the database says which process serves it), one source
of each kind shared by every job (one connected Telegram client, so flood waits are shared too; the web
preview for ``source = "web"`` channels), and one APScheduler job per channel. Each job is
:meth:`Archiver.sync` — exactly what ``tgvault sync`` runs — followed by the bookkeeping
``tgvault status`` shows: next run, failures in a row, backoff, last error.

* Jobs coalesce missed runs, never overlap for one channel, and at most
  :attr:`ServiceOptions.max_parallel_channels` channels sync at the same time.
* A failing channel backs off (see :mod:`tgvault.scheduling`); the others keep their schedules.
* After a sync that changed anything, the site rebuilder is asked to rebuild those channels.
* SIGTERM / SIGINT: running jobs are cancelled at their next await — every page already committed stays,
  and the archiver records the run as interrupted — the connection is closed and :func:`serve` returns.
  A second signal ends the process at once. SIGHUP reloads the configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from tgvault.config import ChannelConfig, ChannelSource, CronSchedule, Settings
from tgvault.domain import AuditState, ChannelServiceState, JobOutcome, RunCounts, RunStatus, SyncRun
from tgvault.errors import ChannelBusyError, FloodWaitTooLongError, ServiceBusyError, TgvaultError
from tgvault.health import health_document, write_health_file
from tgvault.scheduling import (
    BACKOFF_CEILING,
    backoff_delay,
    first_run_at,
    jitter_seconds,
    period,
    trigger_for,
)
from tgvault.services.archiver import Archiver, ChannelOutcome
from tgvault.services.audit import SLICE_BATCHES, Auditor
from tgvault.services.live import LiveWriter
from tgvault.services.plans import ChannelPlan
from tgvault.services.site_hook import NoSiteRebuild, SiteRebuilder
from tgvault.services.status import SERVICE_LOCK_KEY, SERVICE_STALE_AFTER
from tgvault.sources.base import ChannelUpdate, UpdateFeed
from tgvault.storage.repositories import LockHolder, this_process
from tgvault.storage.tables import utcnow
from tgvault.storage.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from tgvault.app import Archive
    from tgvault.sources.telegram import TelegramSource
    from tgvault.workers import WorkerLeases

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ServiceOptions:
    """Timings of the service; the defaults suit production, tests shorten them."""

    heartbeat_seconds: float = 10.0
    """How often the service lock is renewed and the health file rewritten (must stay well under 30 s)."""
    lock_stale_after: timedelta = SERVICE_STALE_AFTER
    """A service lock not renewed for this long belongs to a dead process and is taken over."""
    backoff_ceiling: timedelta = BACKOFF_CEILING
    max_parallel_channels: int = 2
    stop_timeout: float = 5.0
    """Seconds cancelled jobs get to record themselves as interrupted."""
    disconnect_timeout: float = 3.0
    min_misfire_grace: float = 60.0
    startup_spread: float = 2.0
    """Channels due when the service starts begin within this many seconds of each other (at random)."""
    audit_slice: int = SLICE_BATCHES
    """Requests of an audit between two turns at a sync slot (an audit never holds a channel for long)."""
    audit_resume_delay: float = 60.0
    """Seconds after the start before an audit that a stop interrupted continues (the syncs go first)."""
    audit_busy_retry: float = 30.0
    """Seconds an audit waits when the channel's sync holds it, before its next slice."""


class ChannelArchivers(Protocol):
    """Gives the archiver for a channel's configured source; its sources are shared by every job."""

    async def archiver_for(self, settings: Settings, channel: ChannelConfig) -> Archiver:
        """The archiver to sync ``channel`` with (raises a TgvaultError when its source is unusable)."""
        ...


# -- the service lock -----------------------------------------------------------------------------


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
            raise _busy(holder, self._stale_after)

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


def _busy(holder: LockHolder, stale_after: timedelta) -> ServiceBusyError:
    age = int((utcnow() - holder.heartbeat_at).total_seconds())
    return ServiceBusyError(
        f"this archive is already served by `tgvault run` (pid {holder.pid} on {holder.host}, "
        f"last heartbeat {age} s ago); stop that process first (a lock left by a killed process is "
        f"taken over at once on the same host, or after {int(stale_after.total_seconds())} s)",
        pid=holder.pid,
        host=holder.host,
    )


# -- the service ----------------------------------------------------------------------------------


class Service:
    """The scheduler, its per-channel jobs and their bookkeeping, over shared sources and one archive."""

    def __init__(
        self,
        settings: Settings,
        unit_of_work: Callable[[], UnitOfWork],
        archivers: ChannelArchivers,
        *,
        plan_for: Callable[[Settings, str], ChannelPlan],
        rebuilder: SiteRebuilder | None = None,
        reload_settings: Callable[[], Settings] | None = None,
        lock: ServiceLock | None = None,
        health_file: Path | None = None,
        options: ServiceOptions | None = None,
        clock: Callable[[], datetime] = utcnow,
        leases: WorkerLeases | None = None,
        updates: Callable[[], Awaitable[UpdateFeed]] | None = None,
    ) -> None:
        self._settings = settings
        self._leases = leases
        self._updates = updates
        self._heals: set[asyncio.Task[Any]] = set()
        self._uow = unit_of_work
        self._archivers = archivers
        self._plan_for = plan_for
        self._rebuilder = rebuilder or NoSiteRebuild()
        self._reload_settings = reload_settings
        self._lock = lock
        self._health_file = health_file
        self.options = options or ServiceOptions()
        self._clock = clock
        self._host, self._pid = this_process()
        self.started_at = clock()
        self.states: dict[str, ChannelServiceState] = {}
        self._scheduler: Any = None
        self._running: dict[str, asyncio.Task[Any]] = {}
        self._syncing: set[str] = set()
        self._turns: dict[str, asyncio.Lock] = {}
        self._slots: asyncio.Semaphore | None = None
        self._rebuild_pending: set[int] = set()
        self._rebuild_task: asyncio.Task[None] | None = None
        self._defer_rebuilds = False
        self._stop: asyncio.Event | None = None
        self._fatal: TgvaultError | None = None

    @property
    def settings(self) -> Settings:
        """The configuration in force (replaced by a successful reload)."""
        return self._settings

    # -- running -------------------------------------------------------------------------------

    async def run_once(self) -> list[ChannelOutcome]:
        """Sync every configured channel once, one after another, then rebuild the site for the changes."""
        self._slots = asyncio.Semaphore(1)
        self._defer_rebuilds = True  # one build at the end
        self._load_states()
        self._save_all()
        heartbeat = asyncio.create_task(self._heartbeat_loop(), name="tgvault-heartbeat")
        try:
            outcomes = [await self._sync_channel(channel.key) for channel in self._settings.channels]
            await self._finish_rebuilds()
        finally:
            heartbeat.cancel()
        if self._fatal is not None:
            raise self._fatal
        return [outcome for outcome in outcomes if outcome is not None]

    async def run_forever(self) -> None:
        """Run the scheduled jobs until :meth:`stop`; raises :class:`ServiceBusyError` if the lock is lost."""
        stop = self._stop_event()
        self._slots = asyncio.Semaphore(max(1, self.options.max_parallel_channels))
        self._load_states()
        scheduler = AsyncIOScheduler(timezone=self._settings.site.tzinfo)
        scheduler.start()
        self._scheduler = scheduler
        heartbeat = asyncio.create_task(self._heartbeat_loop(), name="tgvault-heartbeat")
        try:
            now = self._clock()
            for channel in self._settings.channels:
                if self._serves(channel.key):
                    self._schedule(channel, now=now)
            self._save_all()
            log.info(
                "service started",
                channels={name: str(state.next_run_at) for name, state in self._by_name().items()},
                timezone=self._settings.site.timezone,
            )
            self._write_health("running")
            live = asyncio.create_task(self._live(), name="tgvault-live")
            await stop.wait()
            live.cancel()
            await asyncio.gather(live, return_exceptions=True)
        finally:
            heartbeat.cancel()
            for heal in list(self._heals):
                heal.cancel()
            scheduler.pause()
            await self._cancel_jobs()
            self._leave_workers()
            scheduler.shutdown(wait=False)
            self._scheduler = None
            self._write_health("stopped")
            log.info("service stopped")
        if self._fatal is not None:
            raise self._fatal

    def stop(self) -> None:
        """Ask :meth:`run_forever` to finish: running jobs are cancelled and recorded as interrupted."""
        self._stop_event().set()

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop is not None and self._stop.is_set()

    def _stop_event(self) -> asyncio.Event:
        if self._stop is None:
            self._stop = asyncio.Event()
        return self._stop

    async def _cancel_jobs(self) -> None:
        tasks = [task for task in self._running.values() if not task.done()]
        if tasks:
            log.info("interrupting running syncs", channels=sorted(self._running))
            for task in tasks:
                task.cancel()
            _done, pending = await asyncio.wait(tasks, timeout=self.options.stop_timeout)
            if pending:
                log.warning("some syncs did not stop in time", count=len(pending))
        if self._rebuild_task is not None and not self._rebuild_task.done():
            self._rebuild_task.cancel()
            await asyncio.gather(self._rebuild_task, return_exceptions=True)

    async def _heartbeat_loop(self) -> None:
        if self._leases is not None:
            # Join the group first and claim a beat later, so workers started together share at once.
            try:
                self._leases.register()
            except Exception:
                log.exception("cannot join the workers; trying again on the next beat")
        while True:
            await asyncio.sleep(self.options.heartbeat_seconds)
            try:
                if self._leases is not None:
                    self._rebalance()
                if self._lock is not None:
                    holder = self._lock.renew()
                    if holder is not None:
                        log.error(
                            "the service lock was taken over; stopping", pid=holder.pid, host=holder.host
                        )
                        self._fatal = _busy(holder, self.options.lock_stale_after)
                        self.stop()
                        return
                self._write_health("running")
            except Exception:  # the database may be restarting; try again on the next beat
                log.exception("service heartbeat failed")

    # -- workers -------------------------------------------------------------------------------

    def _serves(self, key: str) -> bool:
        """True when this process serves the channel: always alone, only with its lease as a worker."""
        return self._leases is None or key in self._leases.held

    def _rebalance(self) -> None:
        """Renew this worker's leases and move to its fair share: drop jobs it lost, add jobs it gained."""
        assert self._leases is not None
        change = self._leases.rebalance(self._settings, busy=self._syncing)
        for key in change.lost | change.released:
            for job in (key, _audit_job_id(key)):
                if self._scheduler is not None and self._scheduler.get_job(job) is not None:
                    self._scheduler.remove_job(job)
            task = self._running.get(key)
            if task is not None and not task.done() and (key in change.lost or key not in self._syncing):
                if key in change.lost:
                    log.warning("lease taken over by another worker; stopping its sync", channel=key)
                task.cancel()
        if not change.gained or self._scheduler is None:
            return
        with self._uow() as uow:
            stored = {key: uow.service_state.get(key) for key in change.gained}
        now = self._clock()
        for key in sorted(change.gained):
            channel = self._channel(key)
            if channel is None:
                continue
            state = stored.get(key)
            if state is not None:
                self.states[key] = state  # another worker ran it: keep its last run and backoff
            self._schedule(channel, now=now)
            self._save(key)

    def _leave_workers(self) -> None:
        if self._leases is None:
            return
        try:
            self._leases.stop()
        except Exception:
            log.exception("cannot release the worker's leases (they expire on their own)")

    # -- scheduling ----------------------------------------------------------------------------

    def _timezone(self) -> Any:
        return self._settings.site.tzinfo

    def _schedule(self, channel: ChannelConfig, *, now: datetime) -> None:
        """Add (or replace) the channel's job, resuming from its last run and keeping its backoff."""
        state = self._state(channel)
        tz = self._timezone()
        grace = max(self.options.min_misfire_grace, period(channel.schedule, tz, now).total_seconds())
        spread = min(self.options.startup_spread, jitter_seconds(channel.schedule, tz, now))
        running = channel.key in self._running  # rescheduled mid-run: count from now
        first = first_run_at(
            now,
            channel.schedule,
            last_run_at=now if running else state.last_run_at,
            backoff_until=state.backoff_until,
            stagger=random.uniform(0, spread),
        )
        extra: dict[str, Any] = {} if first is None else {"next_run_time": first}
        self._scheduler.add_job(
            self._job,
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
        self._update_state(
            channel.key, schedule=_describe(channel, self._settings), next_run_at=self._next_run(channel.key)
        )
        self._schedule_audit(channel, now=now)

    def _schedule_audit(self, channel: ChannelConfig, *, now: datetime) -> None:
        """Add (or replace) the channel's audit job: on ``audit_schedule`` counted from the last finished
        audit (a channel never audited waits one period), soon after the start when one was interrupted."""
        tz = self._timezone()
        audit = self._audit_state(channel)
        if audit is not None and audit.in_progress:
            first: datetime | None = now + timedelta(seconds=self.options.audit_resume_delay)
        else:
            last = audit.last_completed_at if audit is not None else None
            first = first_run_at(now, channel.audit_schedule, last_run_at=last or now, backoff_until=None)
        extra: dict[str, Any] = {} if first is None else {"next_run_time": first}
        grace = max(self.options.min_misfire_grace, period(channel.audit_schedule, tz, now).total_seconds())
        self._scheduler.add_job(
            self._audit_job,
            trigger=trigger_for(channel.audit_schedule, tz),
            args=[channel.key],
            id=_audit_job_id(channel.key),
            name=f"audit {channel.name}",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(grace),
            replace_existing=True,
            **extra,
        )

    def _audit_state(self, channel: ChannelConfig) -> AuditState | None:
        channel_id = self._state(channel).channel_id
        if channel_id is None:
            return None
        try:
            with self._uow() as uow:
                return uow.audits.get(channel_id)
        except Exception:
            log.exception("cannot read the audit state", channel=channel.name)
            return None

    # -- live mode -----------------------------------------------------------------------------

    async def _live(self) -> None:
        """Follow the updates of the ``live`` channels until the service stops; a reconnection syncs them."""
        wanted = [channel for channel in self._settings.channels if channel.live]
        if not wanted or self._updates is None:
            return
        try:
            feed = await self._updates()
        except TgvaultError as error:
            log.error("live mode is unavailable; the channels keep their schedules", error=str(error))
            return
        followed: dict[int, ChannelConfig] = {}
        records = []
        for channel in wanted:
            try:
                record = await feed.resolve(channel.name)
                with self._uow() as uow:
                    uow.channels.upsert(record, self._clock())
                    uow.commit()
            except TgvaultError as error:
                log.warning("cannot follow the channel live", channel=channel.name, error=str(error))
                continue
            followed[record.id] = channel
            records.append(record)
        writer = LiveWriter(self._uow, clock=self._clock)

        async def on_update(update: ChannelUpdate) -> None:
            channel = followed.get(update.channel_id)
            if channel is None or self._channel(channel.key) is None:
                return
            try:
                async with self._turn(channel.key):
                    counts = writer.apply(update, self._plan_for(self._settings, channel.name))
            except Exception:  # one bad update never ends live mode
                log.exception("cannot record a live update", channel=channel.name)
                return
            log.info("live update", channel=channel.name, **counts.model_dump(exclude_defaults=True))
            if counts.changed:
                self._queue_rebuild(update.channel_id)

        async def on_reconnect() -> None:
            log.info("reconnected to Telegram; syncing the live channels for what was missed")
            for channel in followed.values():
                heal = asyncio.create_task(
                    self._sync_channel(channel.key), name=f"tgvault-heal-{channel.key}"
                )
                self._heals.add(heal)
                heal.add_done_callback(self._heals.discard)

        stop = await feed.follow(records, on_update, on_reconnect)
        log.info("following live", channels=[channel.name for channel in followed.values()])
        try:
            await self._stop_event().wait()
        finally:
            stop()

    def _turn(self, key: str) -> asyncio.Lock:
        """The channel's turn: its syncs and audit slices take it in order, so neither finds it busy."""
        return self._turns.setdefault(key, asyncio.Lock())

    async def _audit_job(self, key: str) -> None:
        """The scheduled audit of one channel, in slices that each take a sync slot and give it back."""
        job = _audit_job_id(key)
        task = asyncio.current_task()
        if task is not None:
            self._running[job] = task
        try:
            await self._audit_slices(key)
        except asyncio.CancelledError:
            return  # stopping; the audit's cursor is committed and it continues after the restart
        finally:
            self._running.pop(job, None)

    async def _audit_slices(self, key: str) -> None:
        while not self.stopping:
            channel = self._channel(key)
            if channel is None or not self._serves(key):
                return  # gone from the config, or its lease moved to another worker
            assert self._slots is not None
            try:
                async with self._turn(key), self._slots:
                    archiver = await self._archivers.archiver_for(self._settings, channel)
                    outcome = await Auditor(archiver, self._uow, clock=self._clock).audit(
                        self._plan_for(self._settings, channel.name),
                        pause=self._settings.sync.audit_pause,
                        max_batches=self.options.audit_slice,
                    )
            except ChannelBusyError:
                await asyncio.sleep(self.options.audit_busy_retry)
                continue
            except (TgvaultError, OSError) as error:
                log.warning(
                    "channel audit failed; it continues at its next run",
                    channel=channel.name,
                    error=str(error),
                )
                return
            if outcome.counts.changed and outcome.channel_id is not None:
                self._queue_rebuild(outcome.channel_id)
            if outcome.complete:
                return
            # paced like the requests within a slice; a sync waiting for the channel goes first
            await asyncio.sleep(self._settings.sync.audit_pause)

    def _next_run(self, key: str) -> datetime | None:
        if self._scheduler is None:
            return None
        job = self._scheduler.get_job(key)
        return None if job is None or job.next_run_time is None else _utc(job.next_run_time)

    async def _job(self, key: str) -> None:
        """The scheduled job of one channel (never raises: a failure is recorded and backed off)."""
        try:
            await self._sync_channel(key)
        except asyncio.CancelledError:
            return  # stopping; the run is already recorded as interrupted

    # -- one sync ------------------------------------------------------------------------------

    async def _sync_channel(self, key: str) -> ChannelOutcome | None:
        """Sync one channel with :meth:`Archiver.sync` and record the outcome; None if no longer configured."""
        channel = self._channel(key)
        if channel is None or self.stopping:
            return None
        task = asyncio.current_task()
        if task is not None:
            self._running[key] = task
        try:
            assert self._slots is not None
            async with self._turn(key), self._slots:
                if not self._serves(key):
                    return None  # released or lost while waiting for a slot
                self._syncing.add(key)
                try:
                    return await self._sync_now(channel)
                finally:
                    self._syncing.discard(key)
        finally:
            self._running.pop(key, None)

    async def _sync_now(self, channel: ChannelConfig) -> ChannelOutcome:
        plan = self._plan_for(self._settings, channel.name)
        started = self._clock()
        try:
            archiver = await self._archivers.archiver_for(self._settings, channel)
            counts: RunCounts = await archiver.sync(plan)
        except asyncio.CancelledError:
            self._record(channel, started, JobOutcome.INTERRUPTED, error="interrupted by shutdown")
            raise
        except ChannelBusyError as error:
            self._record(channel, started, JobOutcome.BUSY, error=str(error))
            return ChannelOutcome(plan.key, RunCounts(), error=str(error))
        except Exception as error:  # one channel failing never stops the others
            if isinstance(error, TgvaultError | OSError):
                message = str(error)
            else:  # a bug, or the database went away
                log.exception("channel sync crashed", channel=channel.name)
                message = f"{type(error).__name__}: {error}"
            run = self._record(channel, started, JobOutcome.FAILED, error=message, exc=error)
            if run is not None and run.counts.changed and run.channel_id is not None:
                self._queue_rebuild(run.channel_id)  # pages committed before the failure
            return ChannelOutcome(plan.key, RunCounts(), error=message)
        run = self._record(channel, started, JobOutcome.OK)
        channel_id = run.channel_id if run is not None else None
        if counts.changed and channel_id is not None:
            self._queue_rebuild(channel_id)
        return ChannelOutcome(plan.key, counts)

    def _record(
        self,
        channel: ChannelConfig,
        started: datetime,
        outcome: JobOutcome,
        *,
        error: str | None = None,
        exc: BaseException | None = None,
    ) -> SyncRun | None:
        """Update the channel's state after a run (backing it off when it failed); returns the recorded run."""
        key = channel.key
        if self._channel(key) is None:  # removed by a reload while it ran
            return None
        state = self._state(channel)
        now = self._clock()
        run = self._last_run(channel)
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
        elif outcome is JobOutcome.FAILED:
            failures = state.consecutive_failures + 1
            base = period(channel.schedule, self._timezone(), now)
            until = now + backoff_delay(failures, base, self.options.backoff_ceiling)
            if isinstance(exc, FloodWaitTooLongError):
                until = max(until, now + timedelta(seconds=exc.seconds))
            changes.update(consecutive_failures=failures, backoff_until=until)
            if self._scheduler is not None and self._scheduler.get_job(key) is not None:
                self._scheduler.modify_job(key, next_run_time=until)
            log.warning(
                "channel sync failed; backing off",
                channel=channel.name,
                failures=failures,
                retry_at=until.isoformat(),
                error=error,
            )
        elif outcome is JobOutcome.BUSY:
            log.info("channel is busy in another process; trying again at the next run", channel=channel.name)
        changes["next_run_at"] = self._next_run(key)
        self._update_state(key, **changes)
        self._save(key)
        if self._scheduler is not None:
            self._write_health("running")
        return run

    def _last_run(self, channel: ChannelConfig) -> SyncRun | None:
        """The channel's newest recorded run (the archiver records every run under the configured name)."""
        try:
            with self._uow() as uow:
                return uow.runs.last(channel_key=channel.name)
        except Exception:
            log.exception("cannot read the last run", channel=channel.name)
            return None

    # -- site rebuilds -------------------------------------------------------------------------

    def _queue_rebuild(self, channel_id: int) -> None:
        if isinstance(self._rebuilder, NoSiteRebuild):
            return  # no site exporter plugged in
        self._rebuild_pending.add(channel_id)
        if self._defer_rebuilds:
            return
        if self._rebuild_task is None or self._rebuild_task.done():
            self._rebuild_task = asyncio.create_task(self._rebuild_loop(), name="tgvault-site-rebuild")

    async def _rebuild_loop(self) -> None:
        """Rebuild the site for the changed channels, one build at a time; changes arriving meanwhile
        are gathered into the next build."""
        while self._rebuild_pending:
            ids = frozenset(self._rebuild_pending)
            self._rebuild_pending.clear()
            try:
                await _in_daemon_thread(self._rebuilder.rebuild, ids)
            except asyncio.CancelledError:
                raise
            except TgvaultError as error:
                log.error("site rebuild failed", channel_ids=sorted(ids), error=str(error))
            except Exception:
                log.exception("site rebuild crashed", channel_ids=sorted(ids))
            else:
                log.info("site rebuilt", channel_ids=sorted(ids))

    async def _finish_rebuilds(self) -> None:
        if self._rebuild_task is not None:
            await self._rebuild_task
        await self._rebuild_loop()

    # -- reload --------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the configuration again and add, remove or reschedule jobs; a bad config is logged and
        the running one kept."""
        if self._reload_settings is None:
            log.warning("config reload requested, but there is no config to reload")
            return
        try:
            new = self._reload_settings()
        except TgvaultError as error:
            log.error("config reload rejected; keeping the running config", error=str(error))
            return
        self.apply(new)

    def apply(self, new: Settings) -> dict[str, list[str]]:
        """Switch to ``new`` settings: jobs for added channels, none for removed ones, new triggers for
        changed schedules. Returns (and logs) what changed."""
        old = self._settings
        before = {channel.key: channel for channel in old.channels}
        after = {channel.key: channel for channel in new.channels}
        changes: dict[str, list[str]] = {
            "added": [after[key].name for key in after if key not in before],
            "removed": [before[key].name for key in before if key not in after],
            "rescheduled": [],
            "changed": [],
        }
        for key in after.keys() & before.keys():
            if _describe(after[key], new) != _describe(before[key], old) or (
                after[key].audit_schedule != before[key].audit_schedule
            ):
                changes["rescheduled"].append(after[key].name)
            elif after[key] != before[key]:
                changes["changed"].append(after[key].name)
        restart = [
            section for section in ("database", "telegram") if getattr(new, section) != getattr(old, section)
        ]
        if new.media.model_copy(update={"concurrency": 0}) != old.media.model_copy(update={"concurrency": 0}):
            restart.append("media")
        if {c.key for c in new.channels if c.live} != {c.key for c in old.channels if c.live}:
            restart.append("live")  # the updates of the channels followed at the start keep coming
        self._settings = new
        if self._scheduler is not None:
            now = self._clock()
            for key in before.keys() - after.keys():
                for job in (key, _audit_job_id(key)):
                    if self._scheduler.get_job(job) is not None:
                        self._scheduler.remove_job(job)
                self.states.pop(key, None)
            for channel in new.channels:
                fresh = channel.key not in before or channel.name in changes["rescheduled"]
                if fresh and self._serves(channel.key):
                    self._schedule(channel, now=now)
            self._keep_configured()
            self._save_all()
            self._write_health("running")
        summary = {name: sorted(values) for name, values in changes.items() if values}
        if summary:
            log.info("config reloaded", **summary)
        else:
            log.info("config reloaded; nothing to change")
        if restart:
            log.warning("config changes that take effect only after a restart", sections=restart)
        return changes

    # -- state ---------------------------------------------------------------------------------

    def _channel(self, key: str) -> ChannelConfig | None:
        return next((channel for channel in self._settings.channels if channel.key == key), None)

    def _state(self, channel: ChannelConfig) -> ChannelServiceState:
        state = self.states.get(channel.key)
        if state is None:
            state = ChannelServiceState(
                channel_key=channel.key,
                name=channel.name,
                schedule=_describe(channel, self._settings),
                updated_at=self._clock(),
            )
            self.states[channel.key] = state
        return state

    def _update_state(self, key: str, **changes: Any) -> None:
        channel = self._channel(key)
        if channel is None:
            return
        state = self._state(channel)
        changes.setdefault("name", channel.name)
        self.states[key] = state.model_copy(update={**changes, "updated_at": self._clock()})

    def _load_states(self) -> None:
        """Pick up failures and backoff from before a restart; forget channels no longer configured."""
        keys = {channel.key for channel in self._settings.channels}
        with self._uow() as uow:
            stored = {state.channel_key: state for state in uow.service_state.all()}
        self.states = {key: state for key, state in stored.items() if key in keys}
        for channel in self._settings.channels:
            self._update_state(channel.key, schedule=_describe(channel, self._settings), next_run_at=None)
            run = self._last_run(channel)
            if run is not None and run.status is not RunStatus.OK and run.counts.changed and run.channel_id:
                self._queue_rebuild(run.channel_id)  # a run stopped midway changed the archive
        self._keep_configured()

    def _keep_configured(self) -> None:
        try:
            with self._uow() as uow:
                uow.service_state.keep_only([channel.key for channel in self._settings.channels])
                uow.commit()
        except Exception:
            log.exception("cannot update the service state")

    def _save(self, key: str) -> None:
        state = self.states.get(key)
        if state is None:
            return
        try:
            with self._uow() as uow:
                uow.service_state.save(state)
                uow.commit()
        except Exception:
            log.exception("cannot save the service state", channel=state.name)

    def _save_all(self) -> None:
        for key in list(self.states):
            if self._serves(key):  # a worker writes only the state of the channels it serves
                self._save(key)

    def _by_name(self) -> dict[str, ChannelServiceState]:
        return {state.name: state for state in self.states.values()}

    def _write_health(self, status: str) -> None:
        if self._health_file is None:
            return
        document = health_document(
            status=status,
            pid=self._pid,
            host=self._host,
            started_at=self.started_at,
            heartbeat_at=self._clock(),
            channels=self._by_name(),
        )
        try:
            write_health_file(self._health_file, document)
        except OSError as error:
            log.warning("cannot write the health file", path=str(self._health_file), error=str(error))


def _describe(channel: ChannelConfig, settings: Settings) -> str:
    """The schedule as shown in status; a cron schedule names the timezone it is read in."""
    if isinstance(channel.schedule, CronSchedule):
        return f"{channel.schedule} ({settings.site.timezone})"
    return f"every {channel.schedule}"


def _audit_job_id(key: str) -> str:
    return f"audit:{key}"


def _utc(value: datetime) -> datetime:
    return value.astimezone(utcnow().tzinfo)


async def _in_daemon_thread(function: Callable[[frozenset[int]], None], argument: frozenset[int]) -> None:
    """Run a blocking call in a daemon thread (a long site build never holds up the process's exit)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if done.done():
            return
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)

    def target() -> None:
        error: BaseException | None = None
        try:
            function(argument)
        except BaseException as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop closed while the build ran
            loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=target, name="tgvault-site-rebuild", daemon=True).start()
    await done


# -- composition: what `tgvault run` runs ---------------------------------------------------------


@asynccontextmanager
async def _locked_archive(
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


class SharedSources:
    """One source of each kind for the whole service, shared by every job (so Telegram's flood waits are
    shared too): Telegram connects once — at start, or when a reloaded config first needs it — and
    reconnects after a long outage; the web preview needs no connection. Connection settings are those
    of the start (a reload cannot change them)."""

    def __init__(
        self, archive: Archive, settings: Settings, *, close_timeout: float = 3.0, owner: str | None = None
    ) -> None:
        self._archive = archive
        self._settings = settings
        self._owner = owner
        self._close_timeout = close_timeout
        self._archivers: dict[ChannelSource, Archiver] = {}
        self._telegram: TelegramSource | None = None
        self._stack = AsyncExitStack()
        self._connecting = asyncio.Lock()

    async def open_for(self, settings: Settings) -> None:
        """Connect the sources the configured channels need now, so a bad session fails at start."""
        for channel in settings.channels:
            await self.archiver_for(settings, channel)

    async def archiver_for(self, settings: Settings, channel: ChannelConfig) -> Archiver:
        """The shared archiver for the channel's source (``auto`` resolved against ``settings``)."""
        from tgvault.app import make_archiver, source_kind_for, web_source

        kind = source_kind_for(settings, channel.name)
        if kind is ChannelSource.WEB:
            if kind not in self._archivers:
                self._archivers[kind] = make_archiver(
                    self._archive, web_source(self._settings), owner=self._owner
                )
            return self._archivers[kind]
        telegram = await self._telegram_source()
        try:
            await telegram.ensure_connected()
        except TgvaultError as error:  # the sync then fails, and is recorded, with the real error
            log.warning("cannot reconnect to Telegram", error=str(error))
        return self._archivers[ChannelSource.TELEGRAM]

    async def _telegram_source(self) -> TelegramSource:
        from tgvault.app import make_archiver, telegram_source

        async with self._connecting:
            if self._telegram is None:
                live = any(channel.live for channel in self._settings.channels)
                source = await self._stack.enter_async_context(
                    telegram_source(self._settings, receive_updates=live)
                )
                self._archivers[ChannelSource.TELEGRAM] = make_archiver(
                    self._archive, source, owner=self._owner
                )
                self._telegram = source
            return self._telegram

    async def update_feed(self) -> UpdateFeed:
        """The Telegram source, whose connection receives updates when a channel is ``live`` at the start."""
        return await self._telegram_source()

    async def aclose(self) -> None:
        """Close the Telegram connection (bounded in time)."""
        if self._telegram is not None:
            log.info("closing the Telegram connection")
        try:
            await asyncio.wait_for(self._stack.aclose(), self._close_timeout)
        except (TimeoutError, TgvaultError, OSError) as error:
            log.warning(
                "the Telegram connection did not close cleanly", error=str(error) or type(error).__name__
            )


def _service(
    settings: Settings,
    archive: Archive,
    sources: SharedSources,
    lock: ServiceLock | None,
    *,
    reload_settings: Callable[[], Settings] | None,
    health_file: Path | None,
    options: ServiceOptions,
    leases: WorkerLeases | None = None,
) -> Service:
    from tgvault.app import plan_for, site_rebuilder

    return Service(
        settings,
        archive.unit_of_work,
        sources,
        plan_for=plan_for,
        # Workers leave the site to `tgvault export site` (one builder, not one per worker).
        rebuilder=None if leases is not None else site_rebuilder(settings, archive),
        reload_settings=reload_settings,
        lock=lock,
        health_file=health_file,
        options=options,
        leases=leases,
        updates=sources.update_feed,
    )


async def sync_once(settings: Settings, *, options: ServiceOptions | None = None) -> list[ChannelOutcome]:
    """``tgvault run --once``: hold the service lock, sync every configured channel once, rebuild the site."""
    options = options or ServiceOptions()
    async with _locked_archive(settings, options) as (archive, lock):
        sources = SharedSources(archive, settings, close_timeout=options.disconnect_timeout)
        try:
            await sources.open_for(settings)
            service = _service(
                settings, archive, sources, lock, reload_settings=None, health_file=None, options=options
            )
            return await service.run_once()
        finally:
            await sources.aclose()


async def serve(
    settings: Settings,
    *,
    reload_settings: Callable[[], Settings] | None = None,
    health_file: Path | None = None,
    force_exit: Callable[[], None] | None = None,
    options: ServiceOptions | None = None,
    worker: bool = False,
) -> None:
    """``tgvault run``: serve the archive until SIGTERM/SIGINT (SIGHUP reloads the config).

    With ``worker`` this process is one of several sharing the archive: it serves the channels whose
    leases it holds (see :mod:`tgvault.workers`) instead of taking the single-service lock.

    Raises :class:`ServiceBusyError` when another process serves the archive. After the first stop
    signal, a second one ends the process at once: it calls ``force_exit`` (the CLI exits with 130), or,
    if the event loop is stuck, the signal's default action kills the process.
    """
    options = options or ServiceOptions()
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    service: Service | None = None

    def on_stop(signum: int) -> None:
        if stopped.is_set():
            log.warning("second stop signal; exiting at once", signal=signal.Signals(signum).name)
            if force_exit is not None:
                force_exit()
            return
        log.info(
            "stop signal; interrupting the running syncs (send it again to exit at once)",
            signal=signal.Signals(signum).name,
        )
        stopped.set()
        # From now on SIGTERM/SIGINT kill the process outright, even if the event loop is stuck
        # (e.g. waiting for a locked database) and could not run a handler.
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop_signal, signal.SIG_DFL)
        if service is not None:
            service.stop()

    def on_reload() -> None:
        if service is None or service.stopping:
            log.info("config reload requested before the service started; ignored")
            return
        service.reload()

    if worker:
        options = replace(options, heartbeat_seconds=settings.workers.renew_seconds)
    installed = _install_signals(loop, on_stop, on_reload)
    try:
        async with _locked_archive(settings, options, worker=worker) as (archive, lock):
            leases = _worker_leases(settings, archive) if worker else None
            sources = SharedSources(
                archive,
                settings,
                close_timeout=options.disconnect_timeout,
                owner=leases.worker_id if leases is not None else None,
            )
            try:
                opened = await _unless_stopped(sources.open_for(settings), stopped)
                if not opened or stopped.is_set():
                    return
                service = _service(
                    settings,
                    archive,
                    sources,
                    lock,
                    reload_settings=reload_settings,
                    health_file=health_file,
                    options=options,
                    leases=leases,
                )
                await service.run_forever()
            finally:
                await sources.aclose()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def _worker_leases(settings: Settings, archive: Archive) -> WorkerLeases:
    from tgvault.workers import WorkerLeases

    return WorkerLeases(
        archive.unit_of_work,
        settings.workers.session,
        lease_for=timedelta(seconds=settings.workers.lease_seconds),
    )


async def _unless_stopped(awaitable: Awaitable[None], stopped: asyncio.Event) -> bool:
    """Await ``awaitable`` unless ``stopped`` is set first (then cancel it); True when it completed."""
    work = asyncio.ensure_future(awaitable)
    waiter = asyncio.ensure_future(stopped.wait())
    try:
        await asyncio.wait({work, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if work.done():
        work.result()
        return True
    work.cancel()
    await asyncio.gather(work, return_exceptions=True)
    return False


def _install_signals(
    loop: asyncio.AbstractEventLoop, on_stop: Callable[[int], None], on_reload: Callable[[], None]
) -> Sequence[int]:
    installed = []
    handlers: list[tuple[int, Callable[..., None], tuple[Any, ...]]] = [
        (signal.SIGTERM, on_stop, (signal.SIGTERM,)),
        (signal.SIGINT, on_stop, (signal.SIGINT,)),
    ]
    if hasattr(signal, "SIGHUP"):
        handlers.append((signal.SIGHUP, on_reload, ()))
    for signum, handler, args in handlers:
        try:
            loop.add_signal_handler(signum, handler, *args)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on this platform
            continue
        installed.append(signum)
    return installed
