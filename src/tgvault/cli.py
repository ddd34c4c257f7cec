"""The ``tgvault`` command line. Every command is thin: parse, call a library function, report.

Exit codes: 0 success; 1 a run failed (a channel could not be archived, the archive is busy or behind);
2 bad configuration or usage; 130 interrupted.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import click
from rich.console import Console
from rich.table import Table

from tgvault import __version__
from tgvault.config import Settings, load_settings
from tgvault.errors import ConfigError, TgvaultError
from tgvault.logs import configure_logging, register_secret

if TYPE_CHECKING:
    from tgvault.storage.media_queue import Backlog

P = ParamSpec("P")
R = TypeVar("R")

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130


class CliState:
    """What the group options set for every command."""

    def __init__(self, config_path: Path | None, log_format: str, log_level: str) -> None:
        self.config_path = config_path
        self.log_format = log_format
        self.log_level = log_level
        self._settings: Settings | None = None

    def settings(self) -> Settings:
        """Load (once) and validate the configuration; secrets are registered for redaction."""
        if self._settings is None:
            self._settings = load_settings(self.config_path)
            for secret in self._settings.secret_values():
                register_secret(secret)
        return self._settings


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"tgvault: error: {message}", err=True)
    sys.exit(code)


def handles_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Turn tgvault's exceptions into a one-line message and an exit code (never a traceback)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except ConfigError as error:
            _fail(str(error), EXIT_CONFIG)
        except TgvaultError as error:
            _fail(str(error), EXIT_FAILED)
        except KeyboardInterrupt:
            _fail("interrupted; committed work is kept and the next run resumes from there", EXIT_INTERRUPTED)

    return wrapper


def run_async(coroutine: Coroutine[Any, Any, R]) -> R:
    """Run a coroutine to completion (Ctrl-C cancels it cleanly and raises KeyboardInterrupt)."""
    return asyncio.run(coroutine)


def _state(ctx: click.Context) -> CliState:
    state = ctx.find_object(CliState)
    assert state is not None
    return state


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD", param_hint=option) from None


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Examples:\n\n\b\n  tgvault db upgrade\n  tgvault login\n  tgvault backfill @durov\n"
    "  tgvault sync\n  tgvault status\n\nDocs: README.md; every option: config/tgvault.example.toml",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Config file (default: $TGVAULT_CONFIG, ./tgvault.toml, then config/tgvault.toml).",
)
@click.option(
    "--log-format",
    type=click.Choice(["auto", "console", "json"]),
    default="auto",
    show_default=True,
    help="Log format; auto = readable on a terminal, JSON lines otherwise.",
)
@click.option("--log-level", default="info", show_default=True, help="debug, info, warning or error.")
@click.version_option(__version__, prog_name="tgvault")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, log_format: str, log_level: str) -> None:
    """tgvault keeps a faithful archive of Telegram channels and publishes it as a static site."""
    try:
        configure_logging(log_format, log_level)  # type: ignore[arg-type]
    except (ConfigError, ValueError) as error:
        _fail(str(error), EXIT_CONFIG)
    ctx.obj = CliState(config_path, log_format, log_level)


# -- db ------------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Create and upgrade the archive database.

    \b
    Examples:
      tgvault db upgrade
      TGVAULT_DATABASE__URL=postgresql://tgvault@db/tgvault tgvault db upgrade
      tgvault db status
    """


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Schema revision to upgrade to.")
@click.pass_context
@handles_errors
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Create the archive schema or bring it up to date (back up first if you wish).

    \b
    Example:
      tgvault db upgrade
    """
    from tgvault.storage.database import create_archive_engine, describe_url
    from tgvault.storage.schema import schema_status, upgrade

    settings = _state(ctx).settings()
    engine = create_archive_engine(settings.database.url)
    try:
        before = schema_status(engine).current
        upgrade(engine, revision)
        after = schema_status(engine).current
    finally:
        engine.dispose()
    where = describe_url(settings.database.url)
    if before == after:
        click.echo(f"{where}: schema already at {after}")
    else:
        click.echo(f"{where}: schema upgraded from {before or 'empty'} to {after}")


@db.command("status")
@click.pass_context
@handles_errors
def db_status(ctx: click.Context) -> None:
    """Show the archive's schema revision and the newest this tgvault knows.

    \b
    Example:
      tgvault db status
    """
    from tgvault.storage.database import create_archive_engine, describe_url
    from tgvault.storage.schema import schema_status

    settings = _state(ctx).settings()
    engine = create_archive_engine(settings.database.url)
    try:
        status = schema_status(engine)
    finally:
        engine.dispose()
    click.echo(f"database: {describe_url(settings.database.url)}")
    click.echo(f"schema:   {status.current or 'none (empty database)'}")
    click.echo(f"newest:   {status.head}")
    if not status.up_to_date and not status.empty:
        click.echo("run `tgvault db upgrade` to bring it up to date")


# -- login ---------------------------------------------------------------------------------------


@main.command()
@click.option("--string", "as_string", is_flag=True, help="Print a session string instead of writing a file.")
@click.pass_context
@handles_errors
def login(ctx: click.Context, as_string: bool) -> None:
    """Log in to Telegram (phone, code, 2FA password) and save the session.

    The session file ([telegram] session_file, mode 0600) is written; with --string a StringSession
    is printed instead, to keep in TGVAULT_TELEGRAM__SESSION_STRING (e.g. for containers). Both are
    secrets: they give full access to the account. Prompts go to stderr, so with --string stdout
    holds only the session string. A session that is already logged in is kept as it is.

    \b
    Examples:
      TGVAULT_TELEGRAM__API_ID=12345 TGVAULT_TELEGRAM__API_HASH=... tgvault login
      tgvault login --string
    """
    from tgvault.app import client_options
    from tgvault.sources.telegram import interactive_login

    options = client_options(_state(ctx).settings())
    # Prompts and messages go to stderr, so that stdout carries only the result (the session string).
    hide = sys.stdin.isatty()
    result = run_async(
        interactive_login(
            options,
            as_string=as_string,
            phone=lambda: click.prompt("Phone number (international format)", err=True),
            code=lambda: click.prompt("Login code Telegram sent you", err=True),
            password=lambda: click.prompt("Two-step verification password", hide_input=hide, err=True),
            notify=lambda message: click.echo(message, err=True),
        )
    )
    if as_string:
        assert result is not None
        register_secret(result)  # never logged from here on
        click.echo("Keep this secret; set it as TGVAULT_TELEGRAM__SESSION_STRING:", err=True)
        click.echo(result)
    else:
        click.echo(f"logged in; session saved to {options.session_file} (mode 0600)")


# -- backfill / sync -----------------------------------------------------------------------------


def _progress(console: Console) -> Any:
    from tgvault.progress_display import BarProgress, LogProgress

    return BarProgress(console) if console.is_terminal else LogProgress()


_SOURCE_OPTION = click.option(
    "--source",
    type=click.Choice(["telegram", "web", "auto"]),
    help="telegram (your account), web (the public t.me/s/ preview, no account) or auto (web when no "
    "API id/hash is set). Default: the channel's configured source, else telegram.",
)


@main.command()
@click.argument("channel")
@click.option("--since", help="Only posts on or after this date (YYYY-MM-DD).")
@click.option("--until", help="Only posts on or before this date (YYYY-MM-DD).")
@click.option("--no-media", is_flag=True, help="Archive text only; media can be fetched by a later sync.")
@_SOURCE_OPTION
@click.pass_context
@handles_errors
def backfill(
    ctx: click.Context, channel: str, since: str | None, until: str | None, no_media: bool, source: str | None
) -> None:
    """Archive a channel's whole history (or a date range), resumably.

    A checkpoint is committed with every page of 100 posts, so after Ctrl-C, a crash or kill -9 the
    same command resumes where it stopped. CHANNEL is @username, a t.me link or a numeric id; it
    need not be in the config (its media policy then uses the defaults).

    \b
    Examples:
      tgvault backfill @durov
      tgvault backfill https://t.me/durov --since 2024-01-01 --no-media
      tgvault backfill @durov --since 2023-01-01 --until 2023-12-31
      tgvault backfill @durov --source web
    """
    from contextlib import nullcontext

    from tgvault.app import make_archiver, open_archive, plan_for, source_for, source_kind_for

    settings = _state(ctx).settings()
    kind = source_kind_for(settings, channel, source)
    plan = plan_for(
        settings, channel, since=_date(since, "--since"), until=_date(until, "--until"), media=not no_media
    )
    console = Console(stderr=True)
    progress = _progress(console)
    archive = open_archive(settings)

    async def go() -> Any:
        async with source_for(settings, kind) as posts:
            return await make_archiver(archive, posts, progress=progress).backfill(plan)

    try:
        with progress if hasattr(progress, "__enter__") else nullcontext():
            counts = run_async(go())
    finally:
        archive.close()
    click.echo(
        f"{plan.key}: {counts.posts_added} new, {counts.posts_edited} edited, "
        f"{counts.media_files} files ({counts.media_bytes:,} bytes)"
    )


@main.command()
@click.argument("channels", nargs=-1)
@click.option("--no-media", is_flag=True, help="Skip media downloads in this pass.")
@_SOURCE_OPTION
@click.pass_context
@handles_errors
def sync(ctx: click.Context, channels: Sequence[str], no_media: bool, source: str | None = None) -> None:
    """One pass over channels: new posts, then re-read the newest for edits, deletions and counters.

    Without CHANNELS, every configured channel is synced. A channel that fails (private, renamed,
    flood-limited) is reported and the others carry on; the exit code is 1 if any failed.

    \b
    Examples:
      tgvault sync
      tgvault sync @durov @telegram
      tgvault sync @durov --source web
    """
    from tgvault.app import make_archiver, open_archive, plan_for, source_for, source_kind_for

    settings = _state(ctx).settings()
    names = list(channels) or [channel.name for channel in settings.channels]
    if not names:
        _fail("no channels to sync: name some, or add [[channels]] to the config", EXIT_CONFIG)
    plans = [plan_for(settings, name, media=not no_media) for name in names]
    kinds = [source_kind_for(settings, name, source) for name in names]
    archive = open_archive(settings)

    async def go() -> Any:
        outcomes = []
        for kind in dict.fromkeys(kinds):  # one source per kind, channels in the order given
            group = [plan for plan, plan_kind in zip(plans, kinds, strict=True) if plan_kind is kind]
            async with source_for(settings, kind) as posts:
                outcomes.extend(await make_archiver(archive, posts).sync_many(group))
        order = {plan.key: index for index, plan in enumerate(plans)}
        return sorted(outcomes, key=lambda outcome: order.get(outcome.key, 0))

    try:
        outcomes = run_async(go())
    finally:
        archive.close()
    _report_outcomes(outcomes)


@main.command()
@click.argument("channel")
@click.option("--full", is_flag=True, help="Start over from the oldest post, even if an audit is under way.")
@click.option("--since", help="Only posts dated on or after this day (YYYY-MM-DD).")
@click.option(
    "--pause",
    type=click.FloatRange(min=0),
    help="Seconds between two requests (default: [sync] audit_pause, 1.0).",
)
@_SOURCE_OPTION
@click.pass_context
@handles_errors
def audit(
    ctx: click.Context,
    channel: str,
    full: bool,
    since: str | None,
    pause: float | None,
    source: str | None,
) -> None:
    """Re-read a channel's whole archived history for edits, deletions and counters far back.

    A sync re-reads only the newest posts; the audit walks every archived post, oldest first, 100 per
    request (channels.getMessages): an edit becomes a revision, a deletion a tombstone (the content is
    kept), changed views/forwards/reactions a new point of their time series. It continues an audit
    that was stopped (Ctrl-C, a crash, the service's slices) unless --full; --since limits it to posts
    dated on or after a day. `tgvault run` audits each channel on its `audit_schedule` (default weekly).

    \b
    Examples:
      tgvault audit @durov
      tgvault audit @durov --full
      tgvault audit @durov --since 2024-01-01 --pause 0.5
    """
    from tgvault.app import make_archiver, open_archive, plan_for, source_for, source_kind_for
    from tgvault.services.audit import Auditor

    if full and since is not None:
        raise click.UsageError("use either --full or --since, not both")
    settings = _state(ctx).settings()
    kind = source_kind_for(settings, channel, source)
    plan = plan_for(settings, channel)
    day = _date(since, "--since")
    start = None if day is None else datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    archive = open_archive(settings)

    async def go() -> Any:
        async with source_for(settings, kind) as posts:
            archiver = make_archiver(archive, posts)
            return await Auditor(archiver, archive.unit_of_work).audit(
                plan,
                restart=full,
                since=start,
                pause=settings.sync.audit_pause if pause is None else pause,
            )

    try:
        outcome = run_async(go())
    finally:
        archive.close()
    counts = outcome.counts
    click.echo(
        f"{plan.key}: audited {outcome.checked} posts: {counts.posts_edited} edited, "
        f"{counts.posts_deleted} deleted, {counts.media_files} files"
    )


def _report_outcomes(outcomes: Sequence[Any]) -> None:
    """One line per channel; exit 1 when any channel failed."""
    failed = 0
    for outcome in outcomes:
        if outcome.ok:
            counts = outcome.counts
            click.echo(
                f"{outcome.key}: {counts.posts_added} new, {counts.posts_edited} edited, "
                f"{counts.posts_deleted} deleted, {counts.media_files} files"
            )
        else:
            failed += 1
            click.echo(f"{outcome.key}: FAILED: {outcome.error}", err=True)
    if failed:
        sys.exit(EXIT_FAILED)


# -- run -----------------------------------------------------------------------------------------


def _load_again(state: CliState) -> Settings:
    """Read the configuration afresh (for SIGHUP); new secrets are registered for redaction."""
    settings = load_settings(state.config_path)
    for secret in settings.secret_values():
        register_secret(secret)
    return settings


def _exit_at_once() -> None:
    os.write(2, b"tgvault: error: second stop signal; exiting at once\n")
    os._exit(EXIT_INTERRUPTED)


@main.command()
@click.option("--once", is_flag=True, help="Sync every configured channel once and exit (for cron).")
@click.option(
    "--live",
    is_flag=True,
    help="Also follow every Telegram channel's updates (as `live = true` on each): new, edited and "
    "deleted posts are recorded within seconds.",
)
@click.option(
    "--health-file",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="TGVAULT_HEALTH_FILE",
    help="Keep a JSON heartbeat here (at least every 30 s) for `tgvault health` [env: TGVAULT_HEALTH_FILE].",
)
@click.option(
    "--worker",
    is_flag=True,
    help="Be one of several processes sharing a PostgreSQL archive: serve the channels this process "
    "holds leases on ([workers] settings); the site is left to `tgvault export site`.",
)
@click.pass_context
@handles_errors
def run(ctx: click.Context, once: bool, live: bool, health_file: Path | None, worker: bool) -> None:
    """Run the archive service: every configured channel synced on its own schedule.

    Each channel's job is the same sync as `tgvault sync`, on its `schedule` (interval, or cron read in
    [site] timezone), with jitter; a failing channel backs off (doubling, at most 6 h) while the others
    carry on. Only one `tgvault run` serves an archive: a second one exits 1 naming the first's pid.
    SIGTERM or Ctrl-C stops cleanly (committed pages stay, the run is marked interrupted; a second
    signal exits at once); SIGHUP reloads the config. With --once, every configured channel is synced
    once and the command exits (1 if any failed). Each channel's whole history is also audited on its
    `audit_schedule` (default weekly). With --live (or `live = true` per channel) the one Telegram
    connection also receives the channels' updates: new, edited and deleted posts are recorded within
    seconds, and after a reconnection the live channels are synced for what was missed (the account must
    have joined a channel for Telegram to push its updates).

    \b
    Examples:
      tgvault run
      tgvault run --health-file data/health.json
      tgvault run --once
      tgvault run --live
      kill -HUP <pid>      # after editing the config: add, remove or reschedule channels
      tgvault run --worker # on each of several machines sharing one PostgreSQL archive
    """
    from tgvault.app import live_settings, open_archive
    from tgvault.daemon import serve, sync_once
    from tgvault.storage.database import describe_url

    if once and worker:
        raise click.UsageError("--once syncs every channel in this process; it cannot be a --worker")
    if live and once:
        raise click.UsageError("--live follows updates until stopped; it cannot be combined with --once")
    if live and worker:
        raise click.UsageError("--live is for the single service; workers catch up on their schedules")
    state = _state(ctx)
    settings = live_settings(state.settings()) if live else state.settings()
    archive = open_archive(settings)
    try:
        archive.media_store.prepare()
        where = describe_url(settings.database.url)
        media = archive.media_store.describe()
        click.echo(f"archive: {where} (schema {archive.schema.current}); media: {media}")
    finally:
        archive.close()
    if not settings.channels:
        source = settings.source_file or "no config file found"
        message = (
            f"no channels configured ({source}); copy config/tgvault.example.toml to tgvault.toml "
            "and add [[channels]], or try: tgvault backfill @channel"
        )
        if not once:
            _fail(message, EXIT_CONFIG)
        click.echo(message)
        return
    if not once:
        run_async(
            serve(
                settings,
                reload_settings=lambda: live_settings(_load_again(state)) if live else _load_again(state),
                health_file=health_file,
                force_exit=_exit_at_once,
                worker=worker,
            )
        )
        return
    _report_outcomes(run_async(sync_once(settings)))


# -- status --------------------------------------------------------------------------------------


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


@main.command()
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
    --clear-alerts (nothing was removed from the archive).

    \b
    Examples:
      tgvault status
      tgvault status --clear-alerts
    """
    from tgvault.app import open_archive
    from tgvault.services.status import archive_status
    from tgvault.services.status import clear_alerts as clear
    from tgvault.storage.tables import utcnow

    settings = _state(ctx).settings()
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


# -- health --------------------------------------------------------------------------------------


@main.command()
@click.option(
    "--file",
    "path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="TGVAULT_HEALTH_FILE",
    required=True,
    help="The health file `tgvault run --health-file` keeps [env: TGVAULT_HEALTH_FILE].",
)
@click.option("--max-age", default=120, show_default=True, help="Seconds a heartbeat stays fresh.")
@handles_errors
def health(path: Path, max_age: int) -> None:
    """Exit 0 if the service's heartbeat is fresh, 1 if not (for a docker or systemd healthcheck).

    Reads only the health file: no database, no Telegram. A failing channel does not make the
    service unhealthy (see `tgvault status`).

    \b
    Examples:
      tgvault health --file data/health.json
      TGVAULT_HEALTH_FILE=/app/data/health.json tgvault health --max-age 120
    """
    from datetime import UTC, timedelta

    from tgvault.daemon import check_health

    report = check_health(path, timedelta(seconds=max_age), datetime.now(UTC))
    click.echo(
        f"healthy: pid {report.pid} on {report.host}, heartbeat {int(report.age.total_seconds())} s ago, "
        f"{report.channels} channels ({report.failing} failing)"
    )


@main.command()
@click.argument("channel", required=False)
@click.pass_context
@handles_errors
def reparse(ctx: click.Context, channel: str | None) -> None:
    """Read again the posts kept "not fully understood" (from their raw TL) and upgrade them.

    A message this version could not map is archived with its raw TL, its text and a parse error.
    After upgrading tgvault, this maps them again; newly understood media is downloaded by the next run.
    No Telegram access is needed.

    \b
    Examples:
      tgvault reparse
      tgvault reparse @durov
    """
    from tgvault.app import open_archive
    from tgvault.services.reparse import reparse as reparse_posts
    from tgvault.sources.telegram_raw import remap_raw
    from tgvault.storage.tables import utcnow

    archive = open_archive(_state(ctx).settings())
    try:
        channel_id = None
        if channel is not None:
            with archive.unit_of_work() as uow:
                found = uow.channels.find(channel)
            if found is None:
                raise TgvaultError(f"channel {channel} is not in the archive (see `tgvault status`)")
            channel_id = found.id
        report = reparse_posts(archive.unit_of_work, remap_raw, utcnow, channel_id)
    finally:
        archive.close()
    click.echo(
        f"{report.examined} posts with a parse error read again: {report.upgraded} now fully understood, "
        f"{report.improved} better understood, {report.still_failing} still not fully understood"
    )


# -- export / import -----------------------------------------------------------------------------


@main.group()
def export() -> None:
    """Export the archive (a Desktop-style JSON, a static site).

    \b
    Examples:
      tgvault export json @durov --out durov/result.json
      tgvault export site
    """


@export.command("json")
@click.argument("channel")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="A .json file, or a folder that gets result.json (default: ./<channel>/result.json).",
)
@click.pass_context
@handles_errors
def export_json(ctx: click.Context, channel: str, out: Path | None) -> None:
    """Export an archived channel as a Telegram Desktop style result.json.

    Tools that read Desktop's "Export chat history" read it too. Media files are copied next to it
    (media/ab/cd/<sha256>.<ext>) and referenced by relative paths; what Desktop lacks (views,
    deletions, earlier revisions, sha256) is in a "tgvault" object per message.

    \b
    Examples:
      tgvault export json @durov
      tgvault export json @durov --out exports/durov/result.json
    """
    from tgvault.app import open_archive
    from tgvault.errors import StorageError
    from tgvault.export.desktop_json import export_channel_json

    archive = open_archive(_state(ctx).settings())
    try:
        with archive.unit_of_work() as uow:
            found = uow.channels.find(channel)
            if found is None:
                raise StorageError(
                    f"channel {channel} is not in the archive; archive it first: tgvault backfill {channel}"
                )
            target = out or Path(found.username or str(found.id)) / "result.json"
            summary = export_channel_json(uow, found, target, archive.media_store)
    finally:
        archive.close()
    click.echo(
        f"{summary.path}: {summary.messages} messages, {summary.media_files} media files "
        f"({summary.media_bytes:,} bytes), {summary.media_not_included} not downloaded"
    )


@export.command("site")
@click.option(
    "--out",
    help="Output folder ([site] dir), or s3://bucket/prefix to publish there (built in [site] dir first).",
)
@click.option(
    "--full", is_flag=True, help="Rewrite (and upload) every page instead of only the changed ones."
)
@click.pass_context
@handles_errors
def export_site(ctx: click.Context, out: str | None, full: bool) -> None:
    """Render the archive as a static website (only changed pages are rewritten).

    Open index.html from disk or serve the folder with any web server; search works from both
    (file:// tested in Chromium). Dates and month pages follow [site] timezone. With --out
    s3://bucket/prefix the site is built in [site] dir and only the files changed since the last
    publish are uploaded ([media] endpoint_url / region and the AWS_* variables reach the storage).

    \b
    Examples:
      tgvault export site
      tgvault export site --out public/ --full
      tgvault export site --out s3://my-site/archive
    """
    from tgvault.app import SiteExport, open_archive, site_options

    settings = _state(ctx).settings()
    publish_to = out if out is not None and out.startswith("s3://") else None
    folder = None if out is None or publish_to is not None else Path(out)
    options = site_options(settings, folder)
    archive = open_archive(settings)
    try:
        report = SiteExport(archive, options).build(full=full)
    finally:
        archive.close()
    click.echo(
        f"{options.out_dir}: {report.channels} channels, {report.posts:,} posts; "
        f"{report.written} pages written, {report.unchanged} unchanged, {report.removed} removed "
        f"in {report.seconds:.1f} s"
    )
    if publish_to is not None:
        from tgvault.export.site.publish import publish_site
        from tgvault.storage.s3_store import S3Options, S3Writer, make_s3_client, parse_s3_url

        location = parse_s3_url(publish_to)
        client = make_s3_client(S3Options(settings.media.endpoint_url, settings.media.region))
        published = publish_site(options.out_dir, S3Writer(client, location), full=full)
        click.echo(
            f"{location.url}: {published.uploaded} files uploaded ({published.uploaded_bytes:,} bytes), "
            f"{published.unchanged} unchanged, {published.deleted} deleted"
        )


@main.group()
def media() -> None:
    """Manage the media store (the local folder or S3-compatible storage).

    \b
    Example:
      tgvault media migrate --to s3://my-archive/media
    """


@media.command("migrate")
@click.option("--to", "target", required=True, help="The new store: s3://bucket/prefix.")
@click.option("--endpoint-url", help="S3 endpoint (MinIO, R2, ...; default: [media] endpoint_url, else AWS).")
@click.option("--region", help="S3 region (default: [media] region).")
@click.pass_context
@handles_errors
def media_migrate(ctx: click.Context, target: str, endpoint_url: str | None, region: str | None) -> None:
    """Copy the media folder ([media] dir) into S3-compatible storage, without stopping the archive.

    Each file is re-hashed, uploaded and verified; files already there are skipped, so the command
    can be stopped and run again at any time. Credentials come from AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY (or any boto3 profile). When every recorded file is in the bucket it tells you
    what to set in [media]; after restarting with that setting, run it once more to copy the files
    written in between. Exits 1 while files are missing or damaged.

    \b
    Examples:
      tgvault media migrate --to s3://my-archive/media
      tgvault media migrate --to s3://archive/media --endpoint-url http://minio:9000
    """
    from tgvault.app import open_archive
    from tgvault.errors import StorageError
    from tgvault.services.media_migrate import migrate_media
    from tgvault.storage.media_store import LocalMediaStore
    from tgvault.storage.s3_store import S3MediaStore, S3Options, parse_s3_url

    settings = _state(ctx).settings()
    location = parse_s3_url(target)
    options = S3Options(
        endpoint_url=endpoint_url or settings.media.endpoint_url, region=region or settings.media.region
    )
    store = S3MediaStore(location, settings.media.dir, options=options)
    archive = open_archive(settings)
    try:
        report = migrate_media(LocalMediaStore(settings.media.dir), store, archive.unit_of_work)
    finally:
        archive.close()
    click.echo(
        f"{location.url}: {report.copied} files copied ({report.copied_bytes:,} bytes), "
        f"{report.already_there} already there"
    )
    for path in report.damaged:
        click.echo(f"damaged (content does not match its name; not copied): {path}", err=True)
    if report.missing:
        shown = ", ".join(report.missing[:5]) + (" ..." if len(report.missing) > 5 else "")
        raise StorageError(
            f"{len(report.missing)} recorded files are not in {location.url} (not in {settings.media.dir} "
            f"either): {shown}; they are fetched again from Telegram by the next sync"
        )
    if report.damaged:
        raise StorageError(f"{len(report.damaged)} damaged files were not copied; see above")
    click.echo("every recorded file is in the new store. Now set, and restart tgvault:")
    click.echo(f'  [media]\n  store = "{location.url}"')
    if options.endpoint_url:
        click.echo(f'  endpoint_url = "{options.endpoint_url}"')
    click.echo("then run this command once more to copy files written meanwhile.")


@main.group("import")
def import_() -> None:
    """Import posts from elsewhere into the archive.

    \b
    Example:
      tgvault import tdesktop ~/Downloads/ChatExport_2024-01-01/
    """


@import_.command("tdesktop")
@click.argument("path", type=click.Path(path_type=Path, exists=True))
@click.option(
    "--channel",
    help="Which channel of a full-account export to import (name or id); for an HTML export, the channel's "
    "numeric id or an archived channel's @username.",
)
@click.option("--timezone", "zone", help="Timezone of an old export's local times (e.g. Europe/Berlin).")
@click.pass_context
@handles_errors
def import_tdesktop(ctx: click.Context, path: Path, channel: str | None, zone: str | None) -> None:
    """Import a Telegram Desktop export: a chat's result.json, its folder, a full-account export, or an
    HTML export (messages.html, messages2.html, ...).

    An HTML export does not say its channel's id: it goes to the archived channel with the same title,
    or to the one --channel names. Files present in the export are copied into the media store; "(File not included ...)"
    placeholders are recorded so a later sync can fetch them. Re-importing adds no duplicates, and a
    post archived through Telegram keeps its richer data. The whole import is one transaction: a
    malformed file imports nothing.

    \b
    Examples:
      tgvault import tdesktop ChatExport_2024-01-01/result.json
      tgvault import tdesktop DataExport_2024-01-01/ --channel "My Channel"
      tgvault import tdesktop old_export/ --timezone Europe/Berlin
      tgvault import tdesktop ChatExport_html/ --channel 1234567890
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from tgvault.app import open_archive
    from tgvault.sources.tdesktop import import_tdesktop as run_import

    timezone = None
    if zone is not None:
        try:
            timezone = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise click.BadParameter(f"{zone!r} is not an IANA timezone", param_hint="--timezone") from None
    archive = open_archive(_state(ctx).settings())
    try:
        summary = run_import(
            path, archive.unit_of_work, archive.media_store, channel_name=channel, timezone=timezone
        )
    finally:
        archive.close()
    if summary.timezone_assumed:
        click.echo(f"local times read as {summary.timezone_assumed}")
    for warning in summary.warnings:
        click.echo(f"warning: {warning}", err=True)
    for item in summary.channels:
        click.echo(
            f"{item.title}: {item.messages} messages read, {item.added} new, {item.edited} edited, "
            f"{item.kept} kept as archived, {item.files_stored} files stored, "
            f"{item.media_pending} files to fetch later"
        )


def entrypoint() -> None:
    """Console-script entry point."""
    main()


if __name__ == "__main__":  # pragma: no cover
    entrypoint()
