"""The ``tgvault`` command line: every command is thin (parse, call a library function, report).

One module per command group (``db``, ``login``, ``archiving``, ``daemon``, ``status``, ``export``,
``media``, ``imports``), the root group that lists them all (``root``), how a command ends and its exit
code (``exits``: 0 success, 1 a run failed, 2 bad configuration or usage, 130 interrupted), and the
terminal's progress display (``progress``). ``main`` is the console-script entry point.
"""

from tgvault.cli.root import entrypoint, main

__all__ = ["entrypoint", "main"]
