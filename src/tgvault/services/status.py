"""What ``tgvault status`` shows: per channel the archive, the last run, and how the service treats it.

A channel's discussion group is no line of its own: its comments are shown with the channel ("comments:
N in <group>"), and the files of its comments still to download count in the channel's media backlog.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tgvault.domain import ChannelAlert, ChannelServiceState, ChannelSummary, SyncRun
from tgvault.storage.repositories import Backlog, LockHolder, WorkerInfo
from tgvault.storage.unit_of_work import UnitOfWork

SERVICE_LOCK_KEY = "service:run"
SERVICE_STALE_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class ConfiguredChannel:
    """A channel of the config, as status matches it: its key (lowercase username or bare id) and name."""

    key: str
    name: str


@dataclass(frozen=True)
class GroupComments:
    """A channel's discussion group as status shows it with the channel: its name and comments archived."""

    group_id: int
    name: str
    comments: int


@dataclass(frozen=True)
class ChannelStatus:
    """One line of ``tgvault status``: an archived channel, a configured one, or both.

    ``channel_id``, ``username`` and ``title`` are what the archive knows (None for a channel never
    archived); ``name`` is one text naming it (the title and @username, else the configured name).
    """

    name: str
    summary: ChannelSummary | None
    last_run: SyncRun | None
    service: ChannelServiceState | None
    media_backlog: Backlog | None
    channel_id: int | None = None
    username: str | None = None
    title: str | None = None
    comments: tuple[GroupComments, ...] = ()
    """The channel's discussion groups (most have one) and their comments not deleted."""


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

    @property
    def archived(self) -> int:
        """How many channels the archive holds."""
        return sum(1 for line in self.channels if line.summary is not None)


def archive_status(
    unit_of_work: Callable[[], UnitOfWork], now: datetime, configured: Sequence[ConfiguredChannel] = ()
) -> ArchiveStatus:
    """Gather the status report: archived channels, the service's channels and the ``configured`` ones,
    matched by id or username.

    A configured channel that was never archived (not run yet, or it failed to resolve) still gets a line,
    and the last run is the newest of the runs recorded under the channel's id and under its configured
    name. The media backlog counts every file not stored yet, whatever recorded it.
    """
    with unit_of_work() as uow:
        summaries = uow.summaries.channels()
        backlogs = uow.summaries.files_to_fetch()
        states = uow.service_state.all()
        holder = uow.service_state.lock_holder(SERVICE_LOCK_KEY)
        workers = uow.leases.workers(now, SERVICE_STALE_AFTER)
        alerts = uow.alerts.open()
        groups = uow.discussions.groups()
        in_groups = {group_id for by_group in groups.values() for group_id in by_group}
        names = {summary.channel_id: summary.title for summary in summaries}
        by_id = {state.channel_id: state for state in states if state.channel_id is not None}
        by_key = {state.channel_key: state for state in states}
        matched: set[str] = set()
        lines = []
        for summary in summaries:
            if summary.channel_id in in_groups and summary.channel_id not in groups:
                matched.update(_keys(summary))
                continue  # a discussion group: shown with its channel
            state = by_id.get(summary.channel_id) or (
                by_key.get(summary.username.lower()) if summary.username else None
            )
            if state is not None and state.channel_key in matched:
                state = None
            if state is not None:
                matched.add(state.channel_key)
            matched.update(_keys(summary))
            name = f"{summary.title} (@{summary.username})" if summary.username else summary.title
            by_name = uow.runs.last(channel_key=state.name) if state is not None else None
            linked = groups.get(summary.channel_id, {})
            backlog = backlogs.get(summary.channel_id, Backlog())
            for group_id in linked:
                backlog = _sum(backlog, backlogs.get(group_id, Backlog()))
            lines.append(
                ChannelStatus(
                    name=name,
                    summary=summary,
                    last_run=_newest(summary.last_run, by_name),
                    service=state,
                    media_backlog=backlog,
                    channel_id=summary.channel_id,
                    username=summary.username,
                    title=summary.title,
                    comments=tuple(
                        GroupComments(group_id, names.get(group_id, f"group {group_id}"), count)
                        for group_id, count in sorted(linked.items())
                    ),
                )
            )
        for state in states:
            if state.channel_key not in matched:
                matched.add(state.channel_key)
                lines.append(_unarchived(uow, state.name, state))
        for channel in configured:
            if channel.key not in matched:
                matched.add(channel.key)
                lines.append(_unarchived(uow, channel.name, None))
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


def _keys(summary: ChannelSummary) -> set[str]:
    """The keys a configured channel would have for this archived one: its bare id, its username."""
    keys = {str(summary.channel_id)}
    if summary.username:
        keys.add(summary.username.lower())
    return keys


def _unarchived(uow: UnitOfWork, name: str, state: ChannelServiceState | None) -> ChannelStatus:
    username = name.removeprefix("@") if name.startswith("@") else None
    return ChannelStatus(
        name=name,
        summary=None,
        last_run=uow.runs.last(channel_key=name),
        service=state,
        media_backlog=None,
        username=username,
    )


def _sum(one: Backlog, other: Backlog) -> Backlog:
    return Backlog(one.files + other.files, one.bytes + other.bytes, one.failed + other.failed)


def _newest(*runs: SyncRun | None) -> SyncRun | None:
    present = [run for run in runs if run is not None]
    return max(present, key=lambda run: run.started_at) if present else None
