"""How a command ends: its exit code, and a one-line message instead of a traceback.

Exit codes: 0 success; 1 a run failed (a channel could not be archived, the archive is busy or behind);
2 bad configuration or usage; 130 interrupted.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, ParamSpec, TypeVar

import click

from tgvault.errors import ConfigError, TgvaultError

P = ParamSpec("P")
R = TypeVar("R")

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130


def fail(message: str, code: int) -> NoReturn:
    """Print ``tgvault: error: <message>`` on stderr and exit with ``code``."""
    click.echo(f"tgvault: error: {message}", err=True)
    sys.exit(code)


def handles_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Turn tgvault's exceptions into a one-line message and an exit code (never a traceback)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except ConfigError as error:
            fail(str(error), EXIT_CONFIG)
        except TgvaultError as error:
            fail(str(error), EXIT_FAILED)
        except KeyboardInterrupt:
            fail("interrupted; committed work is kept and the next run resumes from there", EXIT_INTERRUPTED)

    return wrapper


def run_async(coroutine: Coroutine[Any, Any, R]) -> R:
    """Run a coroutine to completion (Ctrl-C cancels it cleanly and raises KeyboardInterrupt)."""
    return asyncio.run(coroutine)
