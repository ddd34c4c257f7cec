"""What a command prints: every line without secrets and without terminal control characters.

Text that came from Telegram or an export (titles, post text, file names, Telegram's own error wording)
may carry escape sequences (clear the screen, recolour, set the window title), bidirectional overrides or
rich markup. Every line a command prints goes through :func:`say` (or :func:`cell` for a table), which
applies the one redaction (:func:`tgvault.logs.redact_text`) and the one filter
(:func:`tgvault.logs.printable`) the logs use too.
"""

from __future__ import annotations

import click
from rich.text import Text

from tgvault.logs import printable, redact_text


def shown(text: str, *, one_line: bool = False) -> str:
    """``text`` as it may reach a terminal: secrets masked, control characters removed."""
    return printable(redact_text(text), one_line=one_line)


def say(message: str, *, err: bool = False) -> None:
    """Print one message (stdout, or stderr with ``err``), secrets masked and control characters removed."""
    click.echo(shown(message), err=err)


def cell(text: str) -> Text:
    """A table cell for rich: plain text (``[bold]`` in a title is shown, never interpreted), one line."""
    return Text(shown(text, one_line=True))


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 file``, ``2 files``, ``12,345 posts``: the count with thousands separators and the right form."""
    return f"{count:,} {noun if count == 1 else (nouns or noun + 's')}"
