"""``--help`` that lists each command with its whole first sentence, wrapped rather than cut off."""

from __future__ import annotations

import click

# A short help longer than any first sentence: click then keeps the sentence whole (and wraps it).
_WHOLE_SENTENCE = 1_000


class WholeHelpGroup(click.Group):
    """A command group whose ``--help`` shows every command's first sentence in full (click cuts it to
    the terminal's width with ``...``)."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The "Commands" section: each visible command and the first sentence of its help."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(_WHOLE_SENTENCE)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
