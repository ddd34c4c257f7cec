"""What ``tgvault status`` shows: per channel the archive, the last run, and how the service treats it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tgvault.domain import ChannelAlert, ChannelServiceState, ChannelSummary, SyncRun
from tgvault.storage.repositories import Backlog, LockHolder, WorkerInfo
from tgvault.storage.unit_of_work import UnitOfWork

SERVICE_LOCK_KEY = "service:run"
SERVICE_STALE_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class ChannelStatus:
    """One line of ``tgvault status``: an archived channel, a configured one, or both."""

    name: str
    summary: ChannelSummary | None
    last_run: SyncRun | None
    service: ChannelServiceState | None
    media_backlog: Backlog | None


@dataclass(frozen=True)
class ArchiveStatus:
    """The whole ``tgvault status`` report."""

    service: LockHolder | None
    service_running: bool
    channels: list[ChannelStatus]
    workers: list[WorkerInfo] = field(default_factory=list)
    """Live `tgvault run --worker` processes."""
    alerts: list[ChannelAlert] = field(default_factory=list)
    """Alerts not cleared yet (mass deletions), newest first."""


def archive_status(unit_of_work: Callable[[], UnitOfWork], now: datetime) -> ArchiveStatus:
    """Gather the status report: archived channels and the service's configured ones, matched by id or name.

    A configured channel that was never archived (it failed to resolve) still gets a line, and the last
    run is the newest of the runs recorded under the channel's id and under its configured name.
    """
    with unit_of_work() as uow:
        summaries = uow.summaries.channels()
        states = uow.service_state.all()
        holder = uow.service_state.lock_holder(SERVICE_LOCK_KEY)
        workers = uow.leases.workers(now, SERVICE_STALE_AFTER)
        alerts = uow.alerts.open()
        by_id = {state.channel_id: state for state in states if state.channel_id is not None}
        by_key = {state.channel_key: state for state in states}
        matched: set[str] = set()
        lines = []
        for summary in summaries:
            state = by_id.get(summary.channel_id) or (
                by_key.get(summary.username.lower()) if summary.username else None
            )
            if state is not None and state.channel_key in matched:
                state = None
            if state is not None:
                matched.add(state.channel_key)
            name = f"{summary.title} (@{summary.username})" if summary.username else summary.title
            by_name = uow.runs.last(channel_key=state.name) if state is not None else None
            lines.append(
                ChannelStatus(
                    name=name,
                    summary=summary,
                    last_run=_newest(summary.last_run, by_name),
                    service=state,
                    media_backlog=uow.media_queue.backlog(summary.channel_id),
                )
            )
        for state in states:
            if state.channel_key not in matched:
                lines.append(
                    ChannelStatus(
                        name=state.name,
                        summary=None,
                        last_run=uow.runs.last(channel_key=state.name),
                        service=state,
                        media_backlog=None,
                    )
                )
    running = holder is not None and now - holder.heartbeat_at <= SERVICE_STALE_AFTER
    return ArchiveStatus(
        service=holder, service_running=running, channels=lines, workers=workers, alerts=alerts
    )


def clear_alerts(unit_of_work: Callable[[], UnitOfWork], now: datetime) -> int:
    """Mark every open alert as seen (``tgvault status --clear-alerts``); returns how many."""
    with unit_of_work() as uow:
        cleared = uow.alerts.clear(now)
        uow.commit()
    return cleared


def _newest(*runs: SyncRun | None) -> SyncRun | None:
    present = [run for run in runs if run is not None]
    return max(present, key=lambda run: run.started_at) if present else None
