"""A database that cannot be used, said in one line: which database, what failed, and what to do.

Every engine :func:`~tgvault.storage.database.create_archive_engine` makes hands its driver errors to
:func:`translate_driver_error` (SQLAlchemy's ``handle_error`` event), so a PostgreSQL server that refuses
the connection, a database or role that does not exist, a wrong password, a SQLite file that is locked,
damaged or in a folder tgvault may not write reach every caller as a
:class:`~tgvault.errors.ResourceFaultError` with a message a person can act on, wherever the engine was
used (a unit of work, a schema check, Alembic). Errors that mean a bug or a race (an integrity error, a
syntax error) are left as they are. :func:`fault_from` is the same description for an error that reached
the command line some other way.
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path
from typing import Final

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, ExceptionContext

from tgvault.errors import ResourceFaultError

__all__ = ["fault_from", "translate_driver_error"]

_CHECK_URL: Final = "check [database] url (or TGVAULT_DATABASE__URL)"
_FATAL_RE: Final = re.compile(r"^.*? failed: (?:FATAL:\s+)?", re.DOTALL)
# PostgreSQL error classes that come from the environment, not from tgvault's SQL: 08 connection,
# 28 authorisation, 3D no such database, 53 out of resources, 57 operator intervention, 58 system error;
# 42501 a missing privilege, 25006 a read-only server.
_ENVIRONMENT_SQLSTATES: Final = ("08", "28", "3D", "53", "57", "58", "42501", "25006")


def translate_driver_error(context: ExceptionContext) -> ResourceFaultError | None:
    """``handle_error`` listener: the error to raise instead of the driver's, or None to keep it.

    A failed pre-ping is left to the pool (it reconnects); so is everything that is not environmental.
    """
    if context.is_pre_ping:
        return None
    url = context.engine.url if context.engine is not None else None
    return _describe(context.original_exception, url)


def fault_from(error: BaseException, url: URL | None = None) -> ResourceFaultError | None:
    """The one-line fault for a database driver error (SQLAlchemy's wrapper or the driver's own), or None
    when ``error`` is not a database failure caused by the environment."""
    if isinstance(error, sa_exc.TimeoutError):  # the pool had no free connection in time
        return ResourceFaultError(
            f"no free connection to the archive database in time ({_first_line(str(error))}); "
            "another process may hold them all; run again"
        )
    if isinstance(error, sa_exc.DBAPIError) and error.orig is not None:
        return _describe(error.orig, url)
    return _describe(error, url)


def _describe(error: BaseException, url: URL | None) -> ResourceFaultError | None:
    if isinstance(error, sqlite3.Error):
        return _sqlite_fault(error, url)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - PostgreSQL support not installed
        return None
    if isinstance(error, psycopg.Error):
        return _postgres_fault(error, url)
    return None


def _first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0].strip() if stripped else ""


def _sqlite_path(url: URL | None) -> str:
    database = url.database if url is not None else None
    return f"the SQLite archive {database}" if database else "the SQLite archive"


def _sqlite_fault(error: sqlite3.Error, url: URL | None) -> ResourceFaultError | None:
    name = getattr(error, "sqlite_errorname", "") or ""
    reason = _first_line(str(error)) or name
    where = _sqlite_path(url)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return ResourceFaultError(
            f"{where} is locked by another process ({reason}); let it finish or stop it "
            "(`tgvault status` shows a running service), then run again; committed work is kept"
        )
    if name.startswith("SQLITE_CANTOPEN"):
        return ResourceFaultError(
            f"{where} cannot be opened ({reason}){_why_unopenable(url)}; give tgvault's user access, or "
            f"{_CHECK_URL}"
        )
    if name.startswith(("SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH")):
        return ResourceFaultError(
            f"{where} cannot be written ({reason}); make the file and its folder (which holds the -wal and "
            "-shm files) writable for tgvault's user"
        )
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return ResourceFaultError(
            f"{where} is damaged or not a database ({reason}); restore it from a backup, or point "
            "[database] url at another file"
        )
    if name.startswith("SQLITE_FULL"):
        return ResourceFaultError(
            f"the disk holding {where} is full ({reason}); free some space and run again"
        )
    if name.startswith("SQLITE_IOERR"):
        return ResourceFaultError(
            f"the disk failed while reading or writing {where} ({reason}); check the disk"
        )
    if name.startswith(("SQLITE_NOMEM", "SQLITE_PROTOCOL", "SQLITE_NOLFS")):
        return ResourceFaultError(f"{where} cannot be used ({reason}); committed work is kept, run again")
    return None  # SQLITE_ERROR (no such table, a syntax error) and the like are bugs, not the environment


def _why_unopenable(url: URL | None) -> str:
    """Why SQLite could not open the file: its folder is missing, not a folder or not writable (SQLite
    writes its -wal and -shm files beside the archive, even to read it), or the file is not accessible."""
    if url is None or not url.database or url.database == ":memory:":
        return ""
    path = Path(url.database).expanduser()
    folder = path.parent
    if not folder.exists():
        return f": the folder {folder} does not exist"
    if not folder.is_dir():
        return f": {folder} is not a folder"
    if path.is_dir():
        return f": {path} is a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f": the folder {folder} is not writable (SQLite keeps its -wal and -shm files there)"
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return f": the file {path} is not readable and writable for this user"
    return ""


def _postgres_fault(error: BaseException, url: URL | None) -> ResourceFaultError | None:
    import psycopg

    sqlstate = getattr(error, "sqlstate", None) or ""
    environmental = isinstance(
        error, psycopg.OperationalError | psycopg.InterfaceError
    ) or sqlstate.startswith(_ENVIRONMENT_SQLSTATES)
    if not environmental:
        return None
    text = _first_line(str(error))
    reason = _FATAL_RE.sub("", text) or text or type(error).__name__
    server = _server(url)
    user = url.username if url is not None and url.username else "(none)"
    database = url.database if url is not None and url.database else "(default)"
    lowered = text.lower()
    if "connection refused" in lowered:
        return ResourceFaultError(
            f"cannot connect to PostgreSQL {server}: connection refused; is the server running there and "
            f"accepting TCP connections? {_CHECK_URL}"
        )
    if sqlstate == "3D000" or ("database" in lowered and "does not exist" in lowered):
        return ResourceFaultError(
            f"PostgreSQL {server} has no database {database!r}; create it (createdb {database}) or {_CHECK_URL}"
        )
    if "role" in lowered and "does not exist" in lowered:
        return ResourceFaultError(
            f"PostgreSQL {server} has no role {user!r}; create it (createuser {user}) or {_CHECK_URL}"
        )
    if "password authentication failed" in lowered or sqlstate == "28P01":
        return ResourceFaultError(
            f"PostgreSQL {server} refused the password of user {user!r}; correct it in [database] url "
            "(or TGVAULT_DATABASE__URL)"
        )
    if "no password supplied" in lowered:
        return ResourceFaultError(
            f"PostgreSQL {server} asks user {user!r} for a password; give it in the URL: "
            "TGVAULT_DATABASE__URL=postgresql://user:password@host/dbname"
        )
    if "pg_hba.conf" in lowered:
        return ResourceFaultError(
            f"PostgreSQL {server} does not accept user {user!r} from this machine ({reason}); allow it in "
            "the server's pg_hba.conf"
        )
    if (
        "translate host name" in lowered
        or "resolve host" in lowered
        or "name or service not known" in lowered
    ):
        return ResourceFaultError(
            f"the database host of {server} cannot be resolved ({reason}); {_CHECK_URL}"
        )
    if "timeout expired" in lowered or "timed out" in lowered:
        return ResourceFaultError(
            f"no answer from PostgreSQL {server} ({reason}); check the address, the network and the firewall"
        )
    if sqlstate == "42501" or "permission denied" in lowered:
        return ResourceFaultError(
            f"PostgreSQL {server}: user {user!r} lacks a permission ({reason}); grant it, e.g. make the user "
            f"the owner of database {database!r} (ALTER DATABASE {database} OWNER TO {user})"
        )
    return ResourceFaultError(
        f"the archive database on PostgreSQL {server} cannot be used ({reason}); committed work is kept, "
        "run again when it is back"
    )


def _server(url: URL | None) -> str:
    if url is None:
        return "(the configured server)"
    host = url.host or "localhost"
    return f"at {host}:{url.port or 5432}"
