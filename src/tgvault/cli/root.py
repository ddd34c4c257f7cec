"""The root ``tgvault`` group: its global options, and every command group attached to it.

The commands are listed here, in the group's declaration, so that none depends on being imported first.
"""

from __future__ import annotations

from pathlib import Path

import click

from tgvault import __version__
from tgvault.cli.archiving import audit, backfill, reparse, sync
from tgvault.cli.daemon import health, run
from tgvault.cli.db import db
from tgvault.cli.demo import demo
from tgvault.cli.exits import EXIT_CONFIG, fail
from tgvault.cli.export import export
from tgvault.cli.help_text import WholeHelpGroup
from tgvault.cli.imports import import_
from tgvault.cli.login import login
from tgvault.cli.media import media
from tgvault.cli.state import CliState
from tgvault.cli.status import status
from tgvault.cli.verify import verify
from tgvault.errors import ConfigError
from tgvault.logs import configure_logging

# In the order they were first registered (``--help`` lists them alphabetically).
COMMANDS: list[click.Command] = [
    db,
    login,
    backfill,
    sync,
    audit,
    run,
    status,
    health,
    reparse,
    export,
    media,
    import_,
    demo,
    verify,
]


EXAMPLES = (
    "tgvault demo                          # a sample channel, end to end",
    "tgvault backfill @durov --source web  # a public channel, no account needed",
    "tgvault import tdesktop ChatExport_2024-01-01/",
    "tgvault export site                   # then open data/site/index.html",
    "tgvault export json @durov",
    "tgvault login                         # once, to read with your account",
    "tgvault backfill @durov",
    "tgvault sync",
    "tgvault run",
    "tgvault status",
)


@click.group(
    cls=WholeHelpGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Examples:\n\n\b\n"
    + "".join(f"  {example}\n" for example in EXAMPLES)
    + "\nDocs: README.md; every option: config/tgvault.example.toml",
    commands=COMMANDS,
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
        fail(str(error), EXIT_CONFIG)
    ctx.obj = CliState(config_path, log_format, log_level)


def entrypoint() -> None:
    """Console-script entry point."""
    main()
