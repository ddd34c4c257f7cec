"""The Telegram account as the service sees it: usable, or failed for a cause that stops all its channels.

A revoked, expired, duplicated, banned or deactivated session is one failure, not one per channel: the
first channel (or the connection at the start) that meets it stops every Telegram-source channel at once,
says so once (a log line, an alert in ``tgvault status``, an unhealthy health file), and leaves the
web-source channels running. Nothing asks Telegram again until a reload (SIGHUP) after ``tgvault login``:
the session is then read afresh and, once Telegram accepts it, the channels are scheduled again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog

from tgvault.config import ChannelConfig, ChannelSource, Settings
from tgvault.daemon.channel_states import ChannelStates
from tgvault.daemon.health import HealthWriter
from tgvault.daemon.timetable import Timetable
from tgvault.errors import AccountError, TgvaultError
from tgvault.services.alerts import ACCOUNT_ALERT_KEY, clear_account_alerts, raise_account_alert
from tgvault.storage.unit_of_work import UnitOfWork

# The service's events keep the logger name they have always had (log filters and alerts match on it).
log = structlog.get_logger("tgvault.service")

Listener = Callable[[AccountError | None], None]
"""Called with the account's new failure, or None once it works again."""


class TelegramAccount:
    """Whether the Telegram account can be used, shared by the sources (which see it fail, or connect) and
    the service (which reacts): while it has failed, no Telegram request is made until a retry is asked."""

    def __init__(self) -> None:
        self.failure: AccountError | None = None
        """The failure that stopped the Telegram channels (None while the account is usable)."""
        self.retrying = False
        """A reload asked to try the account again: the next use reconnects with the session read afresh."""
        self.proven = False
        """Telegram accepted the session since the start (a connection was authorised)."""
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` when the account fails (for a new cause, or again after a retry) or recovers."""
        self._listeners.append(listener)

    def fail(self, error: AccountError) -> None:
        """The account cannot be used; listeners hear of it unless this cause was already known."""
        known = self.failure is not None and not self.retrying and self.failure.cause == error.cause
        self.failure, self.retrying, self.proven = error, False, False
        if not known:
            self._tell(error)

    def connected(self) -> None:
        """Telegram accepted the session: the account works (again)."""
        self.failure, self.retrying, self.proven = None, False, True
        self._tell(None)

    def ask_retry(self) -> bool:
        """Let the next use try the account again (after ``tgvault login``); False when it has not failed."""
        if self.failure is None:
            return False
        self.retrying = True
        return True

    def give_up_retry(self) -> None:
        """The retry could not reach Telegram: the failure stands, and nothing is tried until the next one."""
        self.retrying = False

    def check(self) -> None:
        """Raise the account's failure, unless it is usable or a retry was asked for."""
        if self.failure is not None and not self.retrying:
            raise self.failure

    def _tell(self, failure: AccountError | None) -> None:
        for listener in list(self._listeners):
            listener(failure)


class AccountWatch:
    """The service's side: what an account failure stops (the Telegram channels' jobs), what it shows (a
    log line, an alert, the health file's problem) and what a recovery restores."""

    def __init__(
        self,
        account: TelegramAccount,
        settings: Callable[[], Settings],
        unit_of_work: Callable[[], UnitOfWork],
        *,
        states: ChannelStates,
        timetable: Timetable,
        health: HealthWriter,
        clock: Callable[[], datetime],
        serves: Callable[[str], bool],
        reconnect: Callable[[Settings], Awaitable[None]] | None = None,
        on_recovered: Callable[[], None] = lambda: None,
        alert_key: str = ACCOUNT_ALERT_KEY,
    ) -> None:
        self._account = account
        self._alert_key = alert_key
        self._settings = settings
        self._uow = unit_of_work
        self._states = states
        self._timetable = timetable
        self._health = health
        self._clock = clock
        self._serves = serves
        self._reconnect = reconnect
        self._on_recovered = on_recovered
        self._shown: AccountError | None = None
        self._started = False
        self._service = True
        self._pid = 0
        self._retries: set[asyncio.Task[None]] = set()
        account.subscribe(self._changed)

    @property
    def problem(self) -> str | None:
        """What makes the service unhealthy (for the health file), or None."""
        return None if self._shown is None else f"{self._shown}; {self._then()}"

    def start(self, *, service: bool, pid: int = 0) -> None:
        """Show what the start found: a failure met while connecting, or a working account (which clears
        an account alert left by an earlier run). ``service``: the long-running service (else ``--once``)."""
        self._started, self._service, self._pid = True, service, pid
        if self._account.failure is not None:
            self._failed(self._account.failure)
        elif self._account.proven:
            self._recovered()

    def failed_in(self, channel: ChannelConfig, error: AccountError) -> None:
        """A job of ``channel`` met the account's failure: every Telegram channel stops (this one too)."""
        self._account.fail(error)
        if self._timetable.active:
            self._timetable.drop(channel.key)

    def failure_for(self, channel: ChannelConfig) -> AccountError | None:
        """The account's failure when it stands and ``channel`` is read through the account, else None."""
        failure = self._account.failure
        return failure if failure is not None and self.is_telegram(channel) else None

    def is_telegram(self, channel: ChannelConfig) -> bool:
        """True when the channel is read through the Telegram account."""
        from tgvault.app import source_kind_for

        return source_kind_for(self._settings(), channel.name) is ChannelSource.TELEGRAM

    def reload(self) -> None:
        """After a reload: if the account failed, try it again now with the session read afresh."""
        if self._reconnect is None or not self._account.ask_retry():
            return
        log.info("trying the Telegram account again after the reload")
        task = asyncio.create_task(self._retry(self._reconnect), name="tgvault-account-retry")
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    def cancel(self) -> None:
        """Cancel a retry under way (the service is stopping)."""
        for task in list(self._retries):
            task.cancel()

    async def _retry(self, reconnect: Callable[[Settings], Awaitable[None]]) -> None:
        try:
            await reconnect(self._settings())
        except AccountError:
            return  # the account was told, and says so
        except TgvaultError as error:
            self._account.give_up_retry()
            log.warning("cannot try the Telegram account again; reload again once fixed", error=str(error))

    # -- reacting ------------------------------------------------------------------------------

    def _changed(self, failure: AccountError | None) -> None:
        if not self._started:
            return  # shown by start()
        if failure is None:
            self._recovered()
        else:
            self._failed(failure)

    def _telegram_channels(self) -> list[ChannelConfig]:
        return [channel for channel in self._settings().channels if self.is_telegram(channel)]

    def _then(self, *, pid: bool = True) -> str:
        """How the fixed session is picked up (the health file names this process; an alert, which
        outlives it, does not)."""
        if not self._service:
            return "then run again"
        reload = f"kill -HUP {self._pid}" if pid and self._pid else "SIGHUP"
        return f"then reload the service ({reload}); until then its Telegram channels are stopped"

    def _failed(self, error: AccountError) -> None:
        self._shown = error
        channels = self._telegram_channels()
        if self._timetable.active:
            for channel in channels:
                self._timetable.drop(channel.key)
                self._states.update(channel.key, next_run_at=None)
                self._states.save(channel.key)
        if self._service:
            log.error(
                "the Telegram account cannot be used; its channels are stopped",
                cause=error.cause,
                error=str(error),
                channels=[channel.name for channel in channels],
            )
        try:
            run_kind = "service" if self._service else "run --once"
            raise_account_alert(
                self._uow, error, run_kind, self._clock(), then=self._then(pid=False), key=self._alert_key
            )
        except Exception:  # the alert is a courtesy; the archive may be unreachable right now
            log.exception("cannot record the account alert")
        if self._timetable.active:
            self._health.write("running")

    def _recovered(self) -> None:
        was_failed = self._shown is not None
        self._shown = None
        try:
            clear_account_alerts(self._uow, self._clock(), key=self._alert_key)
        except Exception:
            log.exception("cannot clear the account alert")
        if not was_failed:
            return
        if self._timetable.active:
            now = self._clock()
            for channel in self._telegram_channels():
                if self._serves(channel.key):
                    self._timetable.schedule(channel, now=now)
                    self._states.save(channel.key)
            self._health.write("running")
        log.info("the Telegram account works again; its channels are scheduled")
        self._on_recovered()
