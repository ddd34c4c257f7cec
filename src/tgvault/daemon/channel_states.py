"""Each channel's service state (next run, failures in a row, backoff, last error): in memory and saved."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from tgvault.config import ChannelConfig, CronSchedule, Settings
from tgvault.domain import ChannelServiceState, RunCounts, RunStatus, SyncRun
from tgvault.storage.unit_of_work import UnitOfWork

# The service's events keep the logger name they have always had (log filters and alerts match on it).
log = structlog.get_logger("tgvault.service")


class ChannelStates:
    """The state ``tgvault status`` shows for every configured channel, kept in memory by the service and
    saved to the archive (so failures and backoff survive a restart)."""

    def __init__(
        self,
        settings: Callable[[], Settings],
        unit_of_work: Callable[[], UnitOfWork],
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self._settings = settings
        self._uow = unit_of_work
        self._clock = clock
        self.states: dict[str, ChannelServiceState] = {}
        """Each channel's state, by key."""

    def channel(self, key: str) -> ChannelConfig | None:
        """The channel's configuration in force, or None once it is no longer configured."""
        return next((channel for channel in self._settings().channels if channel.key == key), None)

    def state(self, channel: ChannelConfig) -> ChannelServiceState:
        """The channel's state (a fresh one for a channel never seen)."""
        state = self.states.get(channel.key)
        if state is None:
            state = ChannelServiceState(
                channel_key=channel.key,
                name=channel.name,
                schedule=describe(channel, self._settings()),
                updated_at=self._clock(),
            )
            self.states[channel.key] = state
        return state

    def update(self, key: str, **changes: Any) -> None:
        """Change the state of a configured channel in memory (see :meth:`save`)."""
        channel = self.channel(key)
        if channel is None:
            return
        state = self.state(channel)
        changes.setdefault("name", channel.name)
        self.states[key] = state.model_copy(update={**changes, "updated_at": self._clock()})

    def load(self, queue_rebuild: Callable[[int], None]) -> None:
        """Pick up failures and backoff from before a restart; forget channels no longer configured."""
        settings = self._settings()
        keys = {channel.key for channel in settings.channels}
        with self._uow() as uow:
            stored = {state.channel_key: state for state in uow.service_state.all()}
        self.states = {key: state for key, state in stored.items() if key in keys}
        for channel in settings.channels:
            self.update(channel.key, schedule=describe(channel, settings), next_run_at=None)
            run = self.last_run(channel)
            if run is not None and run.status is not RunStatus.OK and run.counts.changed and run.channel_id:
                queue_rebuild(run.channel_id)  # a run stopped midway changed the archive
        self.keep_configured()

    def keep_configured(self) -> None:
        """Delete the saved states of channels no longer configured."""
        try:
            with self._uow() as uow:
                uow.service_state.keep_only([channel.key for channel in self._settings().channels])
                uow.commit()
        except Exception:
            log.exception("cannot update the service state")

    def save(self, key: str) -> None:
        """Write the channel's state to the archive (a failure is logged, never raised)."""
        state = self.states.get(key)
        if state is None:
            return
        try:
            with self._uow() as uow:
                uow.service_state.save(state)
                uow.commit()
        except Exception:
            log.exception("cannot save the service state", channel=state.name)

    def save_all(self, serves: Callable[[str], bool]) -> None:
        """Write the state of every channel this process ``serves``."""
        for key in list(self.states):
            if serves(key):  # a worker writes only the state of the channels it serves
                self.save(key)

    def record_failed_run(self, channel: ChannelConfig, started: datetime, error: str) -> None:
        """Record a sync of the channel that failed before its source could be used (a failure is logged)."""
        channel_id = self.state(channel).channel_id
        try:
            with self._uow() as uow:
                run_id = uow.runs.start(channel.name, "sync", started)
                uow.runs.finish(
                    run_id,
                    status=RunStatus.FAILED,
                    counts=RunCounts(),
                    channel_id=channel_id,
                    error=error,
                    finished_at=self._clock(),
                )
                uow.commit()
        except Exception:
            log.exception("cannot record the failed run", channel=channel.name)

    def by_name(self) -> dict[str, ChannelServiceState]:
        """Each channel's state, by configured name."""
        return {state.name: state for state in self.states.values()}

    def last_run(self, channel: ChannelConfig) -> SyncRun | None:
        """The channel's newest recorded run (the archiver records every run under the configured name)."""
        try:
            with self._uow() as uow:
                return uow.runs.last(channel_key=channel.name)
        except Exception:
            log.exception("cannot read the last run", channel=channel.name)
            return None


def describe(channel: ChannelConfig, settings: Settings) -> str:
    """The schedule as shown in status; a cron schedule names the timezone it is read in."""
    if isinstance(channel.schedule, CronSchedule):
        return f"{channel.schedule} ({settings.site.timezone})"
    return f"every {channel.schedule}"
