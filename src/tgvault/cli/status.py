"""The ``tgvault status`` command: alerts, the service, and a table of every channel."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from tgvault.cli.exits import handles_errors
from tgvault.cli.output import cell, plural, say, shown
from tgvault.cli.state import cli_state, how_to_start
from tgvault.config import parse_channel_ref
from tgvault.errors import ConfigError

if TYPE_CHECKING:
    from tgvault.services.status import ArchiveStatus, ChannelStatus
    from tgvault.storage.repositories import Backlog


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _next_run(line: ChannelStatus, running: bool) -> str:
    state = line.service
    if state is None:
        return "—"
    if not running:
        return "service not running"
    return _when(state.next_run_at)


def _backoff(line: ChannelStatus, now: datetime) -> str:
    state = line.service
    if state is None or not state.consecutive_failures:
        return "—"
    failures = plural(state.consecutive_failures, "failure")
    if state.backoff_until is not None and state.backoff_until > now:
        return f"backing off after {failures} (next run)"
    return failures


@click.command()
@click.option(
    "--clear-alerts", is_flag=True, help="Mark the alerts shown as seen, so they are not shown again."
)
@click.pass_context
@handles_errors
def status(ctx: click.Context, clear_alerts: bool) -> None:
    """Show per channel: id, @username, title, posts, newest post, last run, next run, media backlog.

    Channels the service (`tgvault run`) failed to archive, and configured channels not archived yet,
    are listed too, with their last error and how long they back off. A channel's discussion group is
    no line of its own: "comments" says how many of its comments are archived (not deleted) and in which
    group. The media backlog counts every file not stored yet (queued downloads, and the files an import
    or a web backfill left to fetch), its comments' files included.
    Alerts come first: a run that saw more than [sync] mass_deletion_share of the posts it re-read
    vanish (a wiped channel, a banned account) raises one, and it is shown until --clear-alerts
    (nothing was removed from the archive); so does a Telegram account that cannot be used (a revoked
    session), until it works again. Only reads: a missing archive is reported, never created.
    Piped output is never cut to the width of a terminal.

    \b
    Examples:
      tgvault status
      tgvault status --clear-alerts
      tgvault status | grep durov
    """
    from tgvault.services.status import ConfiguredChannel, archive_status
    from tgvault.services.status import clear_alerts as clear
    from tgvault.storage.tables import utcnow

    state = cli_state(ctx)
    settings = state.settings()
    configured = [ConfiguredChannel(channel.key, _display(channel.name)) for channel in settings.channels]
    archive = state.archive(write=False)
    now = utcnow()
    try:
        report = archive_status(archive.unit_of_work, now, configured)
        if clear_alerts:
            clear(archive.unit_of_work, now)
    finally:
        archive.close()
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=UNLIMITED_WIDTH)  # piped: every cell whole
    _print_alerts(console, report, clear_alerts)
    _print_service(console, report, now)
    if not report.channels:
        say(f"The archive is empty. To start it: {how_to_start(settings)}")
        return
    console.print(_table(report, now))
    errors = [(line.name, error) for line in report.channels if (error := _last_error(line))]
    if errors:
        say("last errors:")
        for name, error in errors:
            say(f"  {shown(name, one_line=True)}: {shown(error, one_line=True)}")
    if not report.archived:
        say(f"Nothing archived yet. To start: {how_to_start(settings)}")


UNLIMITED_WIDTH = 10_000
"""The console width for piped output: wide enough that no table cell is ever cut."""


def _display(name: str) -> str:
    try:
        return parse_channel_ref(name).display
    except ConfigError:
        return name


def _print_alerts(console: Console, report: ArchiveStatus, cleared: bool) -> None:
    for alert in report.alerts:
        console.print(
            cell(f"ALERT {_when(alert.raised_at)} {alert.channel_key}: {alert.message}"), style="bold red"
        )
    if report.alerts and cleared:
        say(f"({plural(len(report.alerts), 'alert')} marked as seen)")


def _print_service(console: Console, report: ArchiveStatus, now: datetime) -> None:
    holder = report.service
    if holder is not None and report.service_running:
        age = int((now - holder.heartbeat_at).total_seconds())
        say(f"service: running, pid {holder.pid} on {holder.host} (heartbeat {age} s ago)")
    elif report.workers:
        say(f"service: {plural(len(report.workers), 'worker')}")
        for worker in report.workers:
            age = int((now - worker.heartbeat_at).total_seconds())
            session = f", session {worker.session_name}" if worker.session_name else ""
            say(
                f"  pid {worker.pid} on {worker.host}{session}: {plural(worker.channels, 'channel')} "
                f"(heartbeat {age} s ago)"
            )
    else:
        say("service: not running")


def _table(report: ArchiveStatus, now: datetime) -> Table:
    table = Table("id", "username", "title", "posts", "newest post", "last run", "outcome", "next run")
    table.add_column("comments")
    table.add_column("backoff")
    table.add_column("media backlog")
    for column in table.columns[4:6] + table.columns[7:8]:
        column.no_wrap = True  # a date is read whole or not at all
    service_up = report.service_running or bool(report.workers)
    for line in report.channels:
        run_ = line.last_run
        summary = line.summary
        table.add_row(
            cell("—" if line.channel_id is None else str(line.channel_id)),
            cell(f"@{line.username}" if line.username else "—"),
            cell(line.title if line.title is not None else "(not archived yet)"),
            cell("—" if summary is None else f"{summary.posts:,}"),
            cell(_when(summary.newest_post_at if summary else None)),
            cell(_when(run_.started_at if run_ else None)),
            cell("—" if run_ is None else run_.status.value),
            cell(_next_run(line, service_up)),
            cell(_comments(line)),
            cell(_backoff(line, now)),
            cell("—" if line.media_backlog is None else _backlog(line.media_backlog)),
        )
    return table


def _comments(line: ChannelStatus) -> str:
    """``1,234 in Group title`` per discussion group of the channel; ``—`` without one."""
    if not line.comments:
        return "—"
    return "; ".join(f"{group.comments:,} in {group.name}" for group in line.comments)


def _last_error(line: ChannelStatus) -> str | None:
    run_ = line.last_run
    error = run_.error if run_ is not None and run_.error else None
    if line.service is not None and line.service.last_error and error is None:
        error = line.service.last_error
    return error


def _backlog(backlog: Backlog) -> str:
    """``3 files, 12,345 bytes`` still to download (and how many gave up for now)."""
    if not backlog.files:
        return "none"
    text = f"{plural(backlog.files, 'file')}, {plural(backlog.bytes, 'byte')}"
    return f"{text} ({backlog.failed:,} failed)" if backlog.failed else text
