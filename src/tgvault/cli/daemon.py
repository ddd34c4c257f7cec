"""The commands of the long-running service: run (serve, or sync once) and health (its heartbeat)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import click

from tgvault.cli.archiving import report_outcomes
from tgvault.cli.exits import EXIT_CONFIG, EXIT_INTERRUPTED, fail, handles_errors, run_async
from tgvault.cli.output import plural, say
from tgvault.cli.state import CliState, cli_state
from tgvault.config import Settings, load_settings
from tgvault.logs import register_secret


def _load_again(state: CliState) -> Settings:
    """Read the configuration afresh (for SIGHUP); new secrets are registered for redaction."""
    settings = load_settings(state.config_path)
    for secret in settings.secret_values():
        register_secret(secret)
    return settings


def _exit_at_once() -> None:
    os.write(2, b"tgvault: error: second stop signal; exiting at once\n")
    os._exit(EXIT_INTERRUPTED)


@click.command()
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
    have joined a channel for Telegram to push its updates). A Telegram account that cannot be used
    (a session logged out from another device, revoked, banned) stops every Telegram channel at once
    and makes the service unhealthy, while web-source channels carry on: run `tgvault login`, then
    send SIGHUP (kill -HUP <pid>) and the session is picked up without a restart.

    \b
    Examples:
      tgvault run
      tgvault run --health-file data/health.json
      tgvault run --once
      tgvault run --live
      kill -HUP <pid>      # after editing the config: add, remove or reschedule channels
      tgvault run --worker # on each of several machines sharing one PostgreSQL archive
    """
    from tgvault.app import live_settings
    from tgvault.daemon.entry import serve, sync_once
    from tgvault.storage.database import describe_url

    if once and worker:
        raise click.UsageError("--once syncs every channel in this process; it cannot be a --worker")
    if live and once:
        raise click.UsageError("--live follows updates until stopped; it cannot be combined with --once")
    if live and worker:
        raise click.UsageError("--live is for the single service; workers catch up on their schedules")
    state = cli_state(ctx)
    settings = live_settings(state.settings()) if live else state.settings()
    archive = state.archive(write=True, settings=settings)
    try:
        archive.media_store.prepare()
        where = describe_url(settings.database.url)
        media = archive.media_store.describe()
        say(f"archive: {where} (schema {archive.schema.current}); media: {media}")
    finally:
        archive.close()
    if not settings.channels:
        source = settings.source_file or "no config file found"
        message = (
            f"no channels configured ({source}); copy config/tgvault.example.toml to tgvault.toml "
            "and add [[channels]], or try: tgvault backfill @channel"
        )
        if not once:
            fail(message, EXIT_CONFIG)
        say(message)
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
    outcomes = run_async(sync_once(settings))
    try:
        report_outcomes(outcomes)
    finally:
        click.echo(_where_the_site_is(settings))


def _where_the_site_is(settings: Settings) -> str:
    """The last line of `run --once`: the page to open, or how to build the site."""
    index = settings.site.dir / "index.html"
    if not index.is_file():
        return "site: not built yet; build it with: tgvault export site"
    try:
        shown = index.relative_to(Path.cwd())
    except ValueError:
        shown = index
    return f"site: open {shown}"


@click.command()
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
    """Exit 0 if the service's heartbeat is fresh and it is healthy, 1 with the reason if not (for a
    docker or systemd healthcheck).

    Reads only the health file: no database, no Telegram. A failing channel does not make the
    service unhealthy (see `tgvault status`); a Telegram account that cannot be used does (a revoked
    session: run `tgvault login`, then `kill -HUP <pid>`).

    \b
    Examples:
      tgvault health --file data/health.json
      TGVAULT_HEALTH_FILE=/app/data/health.json tgvault health --max-age 120
    """
    from datetime import UTC, timedelta

    from tgvault.daemon.health import check_health

    report = check_health(path, timedelta(seconds=max_age), datetime.now(UTC))
    say(
        f"healthy: pid {report.pid} on {report.host}, heartbeat {int(report.age.total_seconds())} s ago, "
        f"{plural(report.channels, 'channel')} ({report.failing:,} failing)"
    )
