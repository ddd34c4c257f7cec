"""The service behind ``tgvault run``: its collaborators wired together, started, stopped and reloaded.

One :class:`Service` per archive (a lock row in the database says which process serves it), one source
of each kind shared by every job (one connected Telegram client, so flood waits are shared too; the web
preview for ``source = "web"`` channels), and one APScheduler job per channel. Each job is
:meth:`Archiver.sync` — exactly what ``tgvault sync`` runs — followed by the bookkeeping
``tgvault status`` shows: next run, failures in a row, backoff, last error.

* Jobs coalesce missed runs, never overlap for one channel, and at most
  :attr:`ServiceOptions.max_parallel_channels` channels sync at the same time.
* A failing channel backs off (see :mod:`tgvault.daemon.scheduling`); the others keep their schedules.
* After a sync that changed anything, the site rebuilder is asked to rebuild those channels.
* SIGTERM / SIGINT: running jobs are cancelled at their next await — every page already committed stays,
  and the archiver records the run as interrupted — the connection is closed and ``serve`` returns.
  A second signal ends the process at once. SIGHUP reloads the configuration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from tgvault.config import Settings
from tgvault.daemon.account import AccountWatch, TelegramAccount
from tgvault.daemon.audits import AuditJobs
from tgvault.daemon.channel_states import ChannelStates
from tgvault.daemon.following import LiveFollowing
from tgvault.daemon.health import HealthWriter
from tgvault.daemon.job_parts import ChannelJobParts
from tgvault.daemon.lock import ServiceLock, busy_error
from tgvault.daemon.options import ServiceOptions
from tgvault.daemon.rebuilds import RebuildQueue
from tgvault.daemon.reloads import channel_changes, log_reload, restart_sections
from tgvault.daemon.shared_sources import ChannelArchivers
from tgvault.daemon.shares import ChannelShare
from tgvault.daemon.sync_jobs import SyncJobs
from tgvault.daemon.timetable import Timetable
from tgvault.daemon.turns import ChannelTurns
from tgvault.domain import ChannelServiceState
from tgvault.errors import TgvaultError
from tgvault.services.alerts import account_alert_key
from tgvault.services.archiver import ChannelOutcome
from tgvault.services.plans import ChannelPlan
from tgvault.services.site_hook import SiteRebuilder
from tgvault.sources.base import UpdateFeed
from tgvault.storage.repositories import this_process
from tgvault.storage.tables import utcnow
from tgvault.storage.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from tgvault.daemon.workers import WorkerLeases

# The service's events keep the logger name they have always had (log filters and alerts match on it).
log = structlog.get_logger("tgvault.service")


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
        account: TelegramAccount | None = None,
        reconnect: Callable[[Settings], Awaitable[None]] | None = None,
    ) -> None:
        self._settings = settings
        self._reload_settings = reload_settings
        self._lock = lock
        self.options = options = options or ServiceOptions()
        self._clock = clock
        host, pid = this_process()
        self.started_at = clock()
        self._stop: asyncio.Event | None = None
        self._fatal: TgvaultError | None = None
        self._live: asyncio.Task[None] | None = None
        self._pid = pid

        def current() -> Settings:
            return self._settings

        self._states = states = ChannelStates(current, unit_of_work, clock=clock)
        self._turns = turns = ChannelTurns()
        self._rebuilds = rebuilds = RebuildQueue(rebuilder)
        self._health = health = HealthWriter(
            health_file,
            pid=pid,
            host=host,
            started_at=self.started_at,
            clock=clock,
            channels=states.by_name,
            problem=lambda: self._account.problem,
        )
        self._timetable = timetable = Timetable(current, states, turns, unit_of_work, options=options)
        self._share = share = ChannelShare(
            leases, current, unit_of_work, states=states, turns=turns, timetable=timetable, clock=clock
        )
        self._account = AccountWatch(
            account or TelegramAccount(),
            current,
            unit_of_work,
            states=states,
            timetable=timetable,
            health=health,
            clock=clock,
            serves=share.serves,
            reconnect=reconnect,
            on_recovered=self._restart_live,
            alert_key=account_alert_key(settings.workers.session if leases is not None else None),
        )
        parts = ChannelJobParts(
            current,
            archivers,
            plan_for=plan_for,
            states=states,
            turns=turns,
            rebuilds=rebuilds,
            options=options,
            clock=clock,
            serves=share.serves,
            stopping=lambda: self.stopping,
            on_account_failure=self._account.failed_in,
            account_failure=self._account.failure_for,
        )
        self._syncs = SyncJobs(parts, timetable=timetable, health=health)
        self._audits = AuditJobs(parts, unit_of_work)
        self._following = LiveFollowing(
            current,
            updates,
            unit_of_work,
            plan_for=plan_for,
            states=states,
            turns=turns,
            rebuilds=rebuilds,
            clock=clock,
            sync_channel=self._syncs.sync_channel,
        )

    @property
    def settings(self) -> Settings:
        """The configuration in force (replaced by a successful reload)."""
        return self._settings

    @property
    def states(self) -> dict[str, ChannelServiceState]:
        """Each configured channel's service state, by key."""
        return self._states.states

    # -- running -------------------------------------------------------------------------------

    async def run_once(self) -> list[ChannelOutcome]:
        """Sync every configured channel once, one after another, then rebuild the site for the changes."""
        self._turns.open_slots(1)
        self._rebuilds.defer()  # one build at the end
        self._states.load(self._rebuilds.queue)
        self._states.save_all(self._share.serves)
        self._account.start(service=False)
        heartbeat = asyncio.create_task(self._heartbeat_loop(), name="tgvault-heartbeat")
        try:
            outcomes = [await self._syncs.sync_channel(channel.key) for channel in self._settings.channels]
            await self._rebuilds.finish()
        finally:
            heartbeat.cancel()
        if self._fatal is not None:
            raise self._fatal
        return [outcome for outcome in outcomes if outcome is not None]

    async def run_forever(self) -> None:
        """Run the scheduled jobs until :meth:`stop`; raises :class:`ServiceBusyError` if the lock is lost."""
        stop = self._stop_event()
        self._turns.open_slots(max(1, self.options.max_parallel_channels))
        self._states.load(self._rebuilds.queue)
        self._timetable.start(sync_job=self._syncs.job, audit_job=self._audits.job)
        heartbeat = asyncio.create_task(self._heartbeat_loop(), name="tgvault-heartbeat")
        try:
            now = self._clock()
            for channel in self._settings.channels:
                if self._share.serves(channel.key):
                    self._timetable.schedule(channel, now=now)
            self._states.save_all(self._share.serves)
            self._account.start(service=True, pid=self._pid)
            log.info(
                "service started",
                channels={name: str(state.next_run_at) for name, state in self._states.by_name().items()},
                timezone=self._settings.site.timezone,
            )
            self._health.write("running")
            self._live = asyncio.create_task(self._following.follow(stop), name="tgvault-live")
            await stop.wait()
            live, self._live = self._live, None
            live.cancel()
            await asyncio.gather(live, return_exceptions=True)
        finally:
            heartbeat.cancel()
            self._account.cancel()
            self._following.cancel_heals()
            self._timetable.pause()
            await self._turns.interrupt(self.options.stop_timeout)
            await self._rebuilds.cancel()
            self._share.leave()
            self._timetable.shutdown()
            self._health.write("stopped")
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

    def _restart_live(self) -> None:
        """Follow the live channels again on the new Telegram connection (the account works again)."""
        if self._live is None or self.stopping:
            return
        self._live.cancel()
        self._live = asyncio.create_task(self._following.follow(self._stop_event()), name="tgvault-live")

    def _stop_event(self) -> asyncio.Event:
        if self._stop is None:
            self._stop = asyncio.Event()
        return self._stop

    async def _heartbeat_loop(self) -> None:
        self._share.join()
        while True:
            await asyncio.sleep(self.options.heartbeat_seconds)
            try:
                self._share.rebalance()
                if self._lock is not None:
                    holder = self._lock.renew()
                    if holder is not None:
                        log.error(
                            "the service lock was taken over; stopping", pid=holder.pid, host=holder.host
                        )
                        self._fatal = busy_error(holder, self.options.lock_stale_after)
                        self.stop()
                        return
                self._health.write("running")
            except Exception:  # the database may be restarting; try again on the next beat
                log.exception("service heartbeat failed")

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
        self._account.reload()  # a failed account is tried again, with the session read afresh

    def apply(self, new: Settings) -> dict[str, list[str]]:
        """Switch to ``new`` settings: jobs for added channels, none for removed ones, new triggers for
        changed schedules. Returns (and logs) what changed."""
        old = self._settings
        before = {channel.key: channel for channel in old.channels}
        after = {channel.key: channel for channel in new.channels}
        changes = channel_changes(old, new)
        restart = restart_sections(old, new)
        self._settings = new
        if self._timetable.active:
            now = self._clock()
            for key in before.keys() - after.keys():
                self._timetable.drop(key)
                self.states.pop(key, None)
            for channel in new.channels:
                fresh = channel.key not in before or channel.name in changes["rescheduled"]
                if fresh and self._share.serves(channel.key):
                    self._timetable.schedule(channel, now=now)
            self._states.keep_configured()
            self._states.save_all(self._share.serves)
            self._health.write("running")
        log_reload(changes, restart)
        return changes
