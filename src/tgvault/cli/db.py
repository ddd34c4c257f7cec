"""The ``tgvault db`` commands: create, upgrade and inspect the archive's schema."""

from __future__ import annotations

import click

from tgvault.cli.exits import handles_errors
from tgvault.cli.help_text import WholeHelpGroup
from tgvault.cli.output import say
from tgvault.cli.state import cli_state, with_first_steps


@click.group(cls=WholeHelpGroup)
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

    settings = cli_state(ctx).settings()
    engine = create_archive_engine(settings.database.url)
    try:
        before = schema_status(engine).current
        upgrade(engine, revision)
        after = schema_status(engine).current
    finally:
        engine.dispose()
    where = describe_url(settings.database.url)
    if before == after:
        say(f"{where}: schema already at {after}")
    else:
        say(f"{where}: schema upgraded from {before or 'empty'} to {after}")


@db.command("status")
@click.pass_context
@handles_errors
def db_status(ctx: click.Context) -> None:
    """Show the archive's schema revision and the newest this tgvault knows.

    Only reads: a SQLite archive that does not exist is reported (exit 1) and not created.

    \b
    Example:
      tgvault db status
    """
    from tgvault.errors import ArchiveMissingError
    from tgvault.storage.database import create_archive_engine, describe_url
    from tgvault.storage.schema import schema_status

    settings = cli_state(ctx).settings()
    try:
        engine = create_archive_engine(settings.database.url, create=False)
    except ArchiveMissingError as error:
        raise with_first_steps(error, settings) from error
    try:
        status = schema_status(engine)
    finally:
        engine.dispose()
    say(f"database: {describe_url(settings.database.url)}")
    say(f"schema:   {status.current or 'none (empty database)'}")
    say(f"newest:   {status.head}")
    if not status.up_to_date and not status.empty:
        say("run `tgvault db upgrade` to bring it up to date")
