"""The ``tgvault status`` command: alerts, the service, and a table of every channel."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from tgvault.cli.exits import handles_errors
from tgvault.cli.state import cli_state

if TYPE_CHECKING:
    from tgvault.storage.repositories import Backlog


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _next_run(line: Any, running: bool) -> str:
    state = line.service
    if state is None:
        return "—"
    if not running:
        return "service not running"
    return _when(state.next_run_at)


def _backoff(line: Any, now: datetime) -> str:
    state = line.service
    if state is None or not state.consecutive_failures:
        return "—"
    failures = f"{state.consecutive_failures} failure{'s' if state.consecutive_failures != 1 else ''}"
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
    """Show per channel: posts, newest post, last run and outcome, next run, backoff, media backlog.

    Channels the service (`tgvault run`) failed to archive are listed too, with their last error and
    how long they back off. Alerts come first: a run that saw more than [sync] mass_deletion_share of
    the posts it re-read vanish (a wiped channel, a banned account) raises one, and it is shown until
    --clear-alerts (nothing was removed from the archive); so does a Telegram account that cannot be
    used (a revoked session), until it works again.

    \b
    Examples:
      tgvault status
      tgvault status --clear-alerts
    """
    from tgvault.app import open_archive
    from tgvault.services.status import archive_status
    from tgvault.services.status import clear_alerts as clear
    from tgvault.storage.tables import utcnow

    settings = cli_state(ctx).settings()
    archive = open_archive(settings)
    now = utcnow()
    try:
        report = archive_status(archive.unit_of_work, now)
        if clear_alerts:
            clear(archive.unit_of_work, now)
    finally:
        archive.close()
    console = Console()
    for alert in report.alerts:
        console.print(
            f"ALERT {_when(alert.raised_at)} {alert.channel_key}: {alert.message}",
            markup=False,
            highlight=False,
            style="bold red",
        )
    if report.alerts and clear_alerts:
        console.print(f"({len(report.alerts)} alert(s) marked as seen)")
    holder = report.service
    if holder is not None and report.service_running:
        age = int((now - holder.heartbeat_at).total_seconds())
        console.print(f"service: running, pid {holder.pid} on {holder.host} (heartbeat {age} s ago)")
    elif report.workers:
        console.print(f"service: {len(report.workers)} workers")
        for worker in report.workers:
            age = int((now - worker.heartbeat_at).total_seconds())
            session = f", session {worker.session_name}" if worker.session_name else ""
            console.print(
                f"  pid {worker.pid} on {worker.host}{session}: {worker.channels} channels "
                f"(heartbeat {age} s ago)",
                markup=False,
                highlight=False,
            )
    else:
        console.print("service: not running")
    if not report.channels:
        console.print("The archive is empty. Add channels to the config, or: tgvault backfill @channel")
        return
    table = Table(
        "channel", "posts", "newest post", "last run", "outcome", "next run", "backoff", "media backlog"
    )
    errors = []
    for line in report.channels:
        run_ = line.last_run
        summary = line.summary
        backlog = "—" if line.media_backlog is None else _backlog(line.media_backlog)
        table.add_row(
            line.name,
            "—" if summary is None else f"{summary.posts:,}",
            _when(summary.newest_post_at if summary else None),
            _when(run_.started_at if run_ else None),
            "—" if run_ is None else run_.status.value,
            _next_run(line, report.service_running or bool(report.workers)),
            _backoff(line, now),
            backlog,
        )
        error = run_.error if run_ is not None and run_.error else None
        if line.service is not None and line.service.last_error and error is None:
            error = line.service.last_error
        if error:
            errors.append(f"{line.name}: {error}")
    console.print(table)
    if errors:
        console.print("last errors:")
        for text in errors:
            console.print(f"  {text}", markup=False, highlight=False)


def _backlog(backlog: Backlog) -> str:
    """``3 files, 12,345 bytes`` still to download (and how many gave up for now)."""
    text = f"{backlog.files} files, {backlog.bytes:,} bytes"
    return f"{text} ({backlog.failed} failed)" if backlog.failed else text
