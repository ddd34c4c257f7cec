"""The ``tgvault`` command line. Every command is thin: parse, call a library function, report.

Exit codes: 0 success; 1 a run failed (a channel could not be archived, the archive is busy or behind);
2 bad configuration or usage; 130 interrupted.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar

import click
from rich.console import Console
from rich.table import Table

from tgvault import __version__
from tgvault.config import Settings, load_settings
from tgvault.errors import ConfigError, TgvaultError
from tgvault.logs import configure_logging, register_secret

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
    secrets: they give full access to the account.

    \b
    Examples:
      TGVAULT_TELEGRAM__API_ID=12345 TGVAULT_TELEGRAM__API_HASH=... tgvault login
      tgvault login --string
    """
    from tgvault.app import client_options
    from tgvault.sources.telegram import interactive_login

    options = client_options(_state(ctx).settings())
    result = run_async(
        interactive_login(
            options,
            as_string=as_string,
            phone=lambda: click.prompt("Phone number (international format)"),
            code=lambda: click.prompt("Login code Telegram sent you"),
            password=lambda: click.prompt("Two-step verification password", hide_input=True),
        )
    )
    if as_string:
        click.echo("Keep this secret; set it as TGVAULT_TELEGRAM__SESSION_STRING:", err=True)
        click.echo(result)
    else:
        click.echo(f"logged in; session saved to {options.session_file} (mode 0600)")


# -- backfill / sync -----------------------------------------------------------------------------


def _progress(console: Console) -> Any:
    from tgvault.progress_display import BarProgress, LogProgress

    return BarProgress(console) if console.is_terminal else LogProgress()


@main.command()
@click.argument("channel")
@click.option("--since", help="Only posts on or after this date (YYYY-MM-DD).")
@click.option("--until", help="Only posts on or before this date (YYYY-MM-DD).")
@click.option("--no-media", is_flag=True, help="Archive text only; media can be fetched by a later sync.")
@click.pass_context
@handles_errors
def backfill(ctx: click.Context, channel: str, since: str | None, until: str | None, no_media: bool) -> None:
    """Archive a channel's whole history (or a date range), resumably.

    A checkpoint is committed with every page of 100 posts, so after Ctrl-C, a crash or kill -9 the
    same command resumes where it stopped. CHANNEL is @username, a t.me link or a numeric id; it
    need not be in the config (its media policy then uses the defaults).

    \b
    Examples:
      tgvault backfill @durov
      tgvault backfill https://t.me/durov --since 2024-01-01 --no-media
      tgvault backfill @durov --since 2023-01-01 --until 2023-12-31
    """
    from contextlib import nullcontext

    from tgvault.app import make_archiver, open_archive, plan_for, telegram_source

    settings = _state(ctx).settings()
    plan = plan_for(
        settings, channel, since=_date(since, "--since"), until=_date(until, "--until"), media=not no_media
    )
    console = Console(stderr=True)
    progress = _progress(console)
    archive = open_archive(settings)

    async def go() -> Any:
        async with telegram_source(settings) as source:
            return await make_archiver(archive, source, progress=progress).backfill(plan)

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
@click.pass_context
@handles_errors
def sync(ctx: click.Context, channels: Sequence[str], no_media: bool) -> None:
    """One pass over channels: new posts, then re-read the newest for edits, deletions and counters.

    Without CHANNELS, every configured channel is synced. A channel that fails (private, renamed,
    flood-limited) is reported and the others carry on; the exit code is 1 if any failed.

    \b
    Examples:
      tgvault sync
      tgvault sync @durov @telegram
    """
    from tgvault.app import make_archiver, open_archive, plan_for, telegram_source

    settings = _state(ctx).settings()
    names = list(channels) or [channel.name for channel in settings.channels]
    if not names:
        _fail("no channels to sync: name some, or add [[channels]] to the config", EXIT_CONFIG)
    plans = [plan_for(settings, name, media=not no_media) for name in names]
    archive = open_archive(settings)

    async def go() -> Any:
        async with telegram_source(settings) as source:
            return await make_archiver(archive, source).sync_many(plans)

    try:
        outcomes = run_async(go())
    finally:
        archive.close()
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


@main.command()
@click.option("--once", is_flag=True, help="Sync every configured channel once and exit.")
@click.pass_context
@handles_errors
def run(ctx: click.Context, once: bool) -> None:
    """Run the archive service: every configured channel on its own schedule.

    With --once, every configured channel is synced once and the command exits; with no channels
    configured it just creates (or checks) the archive.

    \b
    Examples:
      tgvault run --once
      tgvault run
    """
    from tgvault.app import open_archive
    from tgvault.storage.database import describe_url

    settings = _state(ctx).settings()
    archive = open_archive(settings)
    try:
        archive.media_store.prepare()
        where = describe_url(settings.database.url)
        click.echo(f"archive: {where} (schema {archive.schema.current}); media: {settings.media.dir}")
    finally:
        archive.close()
    if not settings.channels:
        source = settings.source_file or "no config file found"
        click.echo(
            f"no channels configured ({source}); copy config/tgvault.example.toml to tgvault.toml "
            "and add [[channels]], or try: tgvault backfill @channel"
        )
        return
    if not once:
        _fail("the scheduled service is not available yet; use `tgvault run --once` from cron", EXIT_FAILED)
    ctx.invoke(sync, channels=(), no_media=False)


# -- status --------------------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


@main.command()
@click.pass_context
@handles_errors
def status(ctx: click.Context) -> None:
    """Show per channel: posts archived, newest post, last run and its outcome, media backlog.

    \b
    Example:
      tgvault status
    """
    from tgvault.app import open_archive

    settings = _state(ctx).settings()
    archive = open_archive(settings)
    try:
        with archive.unit_of_work() as uow:
            summaries = uow.summaries.channels()
            backlogs = {summary.channel_id: uow.media.backlog(summary.channel_id) for summary in summaries}
    finally:
        archive.close()
    console = Console()
    if not summaries:
        console.print("The archive is empty. Add channels to the config, or: tgvault backfill @channel")
        return
    table = Table("channel", "posts", "newest post", "last run", "outcome", "media backlog")
    for summary in summaries:
        run_ = summary.last_run
        outcome = "—"
        if run_ is not None:
            outcome = run_.status.value + (f": {run_.error}" if run_.error else "")
        files, size = backlogs[summary.channel_id]
        table.add_row(
            f"{summary.title} (@{summary.username})" if summary.username else summary.title,
            f"{summary.posts:,}",
            _when(summary.newest_post_at),
            _when(run_.started_at if run_ else None),
            outcome,
            f"{files} files, {size:,} bytes",
        )
    console.print(table)


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
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), help="Output folder ([site] dir).")
@click.option("--full", is_flag=True, help="Rewrite every page instead of only the changed ones.")
def export_site(out: Path | None, full: bool) -> None:
    """Render the archive as a static website.

    \b
    Example:
      tgvault export site --out public/
    """
    _fail("`tgvault export site` is not available yet", EXIT_FAILED)


@main.group("import")
def import_() -> None:
    """Import posts from elsewhere into the archive.

    \b
    Example:
      tgvault import tdesktop ~/Downloads/ChatExport_2024-01-01/
    """


@import_.command("tdesktop")
@click.argument("path", type=click.Path(path_type=Path, exists=True))
@click.option("--channel", help="Which channel of a full-account export to import (name or id).")
@click.option("--timezone", "zone", help="Timezone of an old export's local times (e.g. Europe/Berlin).")
@click.pass_context
@handles_errors
def import_tdesktop(ctx: click.Context, path: Path, channel: str | None, zone: str | None) -> None:
    """Import a Telegram Desktop export: a chat's result.json, its folder, or a full-account export.

    Files present in the export are copied into the media store; "(File not included ...)"
    placeholders are recorded so a later sync can fetch them. Re-importing adds no duplicates, and a
    post archived through Telegram keeps its richer data. The whole import is one transaction: a
    malformed file imports nothing.

    \b
    Examples:
      tgvault import tdesktop ChatExport_2024-01-01/result.json
      tgvault import tdesktop DataExport_2024-01-01/ --channel "My Channel"
      tgvault import tdesktop old_export/ --timezone Europe/Berlin
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
