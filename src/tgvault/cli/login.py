"""The ``tgvault login`` command: log in to Telegram and keep the session."""

from __future__ import annotations

import sys

import click

from tgvault.cli.exits import handles_errors, run_async
from tgvault.cli.output import say
from tgvault.cli.state import cli_state
from tgvault.logs import register_secret


@click.command()
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

    options = client_options(cli_state(ctx).settings())
    # Prompts and messages go to stderr, so that stdout carries only the result (the session string).
    hide = sys.stdin.isatty()
    result = run_async(
        interactive_login(
            options,
            as_string=as_string,
            phone=lambda: click.prompt("Phone number (international format)", err=True),
            code=lambda: click.prompt("Login code Telegram sent you", err=True),
            password=lambda: click.prompt("Two-step verification password", hide_input=hide, err=True),
            notify=lambda message: say(message, err=True),
        )
    )
    if as_string:
        assert result is not None
        register_secret(result)  # never logged from here on
        click.echo("Keep this secret; set it as TGVAULT_TELEGRAM__SESSION_STRING:", err=True)
        click.echo(result)  # the one output not redacted: the secret asked for
    else:
        say(f"logged in; session saved to {options.session_file} (mode 0600)")
