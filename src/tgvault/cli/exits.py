"""How a command ends: its exit code, and a one-line message instead of a traceback.

Exit codes: 0 success; 1 a run failed (a channel could not be archived, the archive is missing, busy or
behind, the database, network or disk failed); 2 bad configuration or usage (a malformed config, an
option missing where it is needed, an ambiguous channel name); 130 interrupted.

Every message is printed through :func:`tgvault.cli.output.shown`: secrets masked, control characters
removed (a configuration error listing several problems keeps one line per problem). The traceback is printed (above the message) only with ``--log-level debug``.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import socket
import sys
import traceback
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, ParamSpec, TypeVar

import click

from tgvault.cli.output import shown
from tgvault.errors import ConfigError, TgvaultError, UsageError

P = ParamSpec("P")
R = TypeVar("R")

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130

_DEBUG_HINT = "run again with --log-level debug to see the traceback"


def fail(message: str, code: int, *, error: BaseException | None = None) -> NoReturn:
    """Print ``tgvault: error: <message>`` on stderr and exit with ``code`` (the traceback of ``error``
    first, when logging at debug level)."""
    if error is not None and logging.getLogger().isEnabledFor(logging.DEBUG):
        click.echo(shown("".join(traceback.format_exception(error))), err=True, nl=False)
    click.echo(f"tgvault: error: {shown(message)}", err=True)
    sys.exit(code)


def ending(error: BaseException) -> tuple[str, int]:
    """The one-line message and exit code for an exception that ends a command."""
    if isinstance(error, BaseExceptionGroup):
        return ending(_first_leaf(error))
    if isinstance(error, ConfigError | UsageError):
        return str(error), EXIT_CONFIG
    if isinstance(error, TgvaultError):
        return str(error), EXIT_FAILED
    from tgvault.storage.database_faults import fault_from

    fault = fault_from(error)
    if fault is not None:
        return str(fault), EXIT_FAILED
    if isinstance(error, EOFError):
        return _closed_connection(error), EXIT_FAILED
    if isinstance(error, OSError):
        return _os_failure(error), EXIT_FAILED
    return f"unexpected {type(error).__name__}: {error}; this is a bug in tgvault: {_DEBUG_HINT}", EXIT_FAILED


def handles_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Turn every exception into a one-line message and an exit code (never a traceback, unless debugging).

    tgvault's own errors carry their message; a database driver's error is described by the storage
    layer; a closed connection (``EOFError``, e.g. asyncio's ``IncompleteReadError``, which click would
    print as a bare ``Aborted!``), a network or disk failure (``OSError``) becomes one line, exit 1.
    click's own usage errors pass through to click.
    """

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            fail("interrupted; committed work is kept and the next run resumes from there", EXIT_INTERRUPTED)
        except Exception as error:
            message, code = ending(error)
            fail(message, code, error=error)

    return wrapper


def run_async(coroutine: Coroutine[Any, Any, R]) -> R:
    """Run a coroutine to completion (Ctrl-C cancels it cleanly and raises KeyboardInterrupt)."""
    return asyncio.run(coroutine)


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def _closed_connection(error: EOFError) -> str:
    detail = f" ({type(error).__name__}: {error})" if str(error) else f" ({type(error).__name__})"
    return (
        f"the connection was closed before its answer arrived{detail}; "
        "check the network (a proxy or firewall may cut it) and run again"
    )


def _os_failure(error: OSError) -> str:
    where = f" {error.filename}" if error.filename is not None else ""
    reason = error.strerror or str(error) or type(error).__name__
    if isinstance(error, socket.gaierror):
        return (
            f"a host name could not be resolved ({reason}); check the network and the address, then run again"
        )
    if isinstance(error, TimeoutError):
        return f"a connection timed out ({reason}); check the network and run again"
    if isinstance(error, ConnectionError):
        return f"a network connection failed ({reason}); check the network and run again"
    if isinstance(error, PermissionError):
        return f"permission denied:{where}; give tgvault's user access to it, or choose another path"
    if error.errno == errno.ENOSPC:
        return f"the disk is full:{where}; free some space and run again"
    if error.errno == errno.EROFS:
        return f"the file system is read-only:{where}; choose a writable place"
    return f"{reason}:{where}" if where else f"{reason} ({type(error).__name__}); check the network and disk"
