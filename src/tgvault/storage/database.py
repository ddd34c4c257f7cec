"""Engines and sessions for the archive database (SQLite by default, PostgreSQL at scale)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from tgvault.errors import ArchiveMissingError, ConfigError, ResourceFaultError, StorageError
from tgvault.storage.database_faults import translate_driver_error

SQLITE_BUSY_TIMEOUT_MS = 30_000
_URL_EXAMPLES = "use sqlite:///path/to/file.db or postgresql://user@host/dbname"


def normalise_url(url: str) -> URL:
    """Parse a database URL, choosing our drivers: ``postgresql://`` uses psycopg 3.

    Raises :class:`ConfigError` (never showing the URL's password) for a URL that cannot be parsed or
    names a database tgvault does not support.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError, and its message repeats the whole URL
        raise ConfigError(
            f"[database] url is not a database URL ({type(exc).__name__}); {_URL_EXAMPLES}"
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        shown = parsed.render_as_string(hide_password=True)
        raise ConfigError(
            f"[database] url {shown!r}: tgvault does not support {parsed.get_backend_name()!r} "
            f"databases; {_URL_EXAMPLES}"
        )
    return parsed


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def dump_json(value: Any) -> str:
    """JSON text of a column value, written by orjson (several times faster than ``json.dumps``).

    orjson refuses a few values ``json.dumps`` writes (integers beyond 64 bits, non-string keys);
    those take ``json.dumps``.
    """
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value)


def load_json(text: str | bytes) -> Any:
    """A JSON column's value, read by orjson; text it refuses (``NaN`` literals) takes ``json.loads``."""
    try:
        return orjson.loads(text)
    except ValueError:  # orjson.JSONDecodeError
        return json.loads(text)


def create_archive_engine(url: str, *, create: bool = True) -> Engine:
    """Create an engine for the archive; with ``create`` a SQLite file's folder is created when missing.

    Without ``create`` (the commands that only read) a SQLite file that does not exist raises
    :class:`ArchiveMissingError` and nothing is created. Driver errors of the engine (a server that
    refuses, a locked or damaged file) reach callers as :class:`~tgvault.errors.ResourceFaultError`
    saying what failed and what to do (:mod:`tgvault.storage.database_faults`).

    SQLite runs in WAL mode with foreign keys on and a generous busy timeout, so a reader (the
    site exporter, ``tgvault status``) never blocks the syncing writer.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            _sqlite_file(Path(database).expanduser(), create=create)
        engine = create_engine(
            parsed,
            poolclass=NullPool if database in ("", ":memory:") else None,
            json_serializer=dump_json,
            json_deserializer=load_json,
        )
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "handle_error", translate_driver_error)
        return engine
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise StorageError("PostgreSQL needs the psycopg driver: pip install 'tgvault[postgres]'") from exc
    engine = create_engine(parsed, pool_pre_ping=True, json_serializer=dump_json, json_deserializer=load_json)
    event.listen(engine, "connect", _on_postgres_connect)
    event.listen(engine, "handle_error", translate_driver_error)
    return engine


def _sqlite_file(path: Path, *, create: bool) -> None:
    """Make sure a SQLite archive file may be opened: its folder created (``create``), or the file there."""
    if not create:
        if not path.is_file():
            raise ArchiveMissingError(
                f"there is no archive at {path} yet (if there should be one, check [database] url)"
            )
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResourceFaultError(
            f"cannot create the folder {path.parent} for the SQLite archive ({exc.strerror or exc}); "
            "choose a writable place in [database] url, or create the folder for tgvault's user"
        ) from exc


def _on_postgres_connect(dbapi_connection: Any, _record: Any) -> None:
    # psycopg prepares a statement run five times on a connection, and PostgreSQL may then keep one
    # generic plan for it, made while the archive was still empty: a backfill then slowed down as its
    # tables grew (bench/). Plan every execution for its own parameters instead.
    if dbapi_connection.info.server_version >= 120000:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_custom_plan")
        dbapi_connection.commit()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose sessions never expire objects on commit."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def describe_url(url: str) -> str:
    """The database URL with any password hidden, for logs and messages."""
    return normalise_url(url).render_as_string(hide_password=True)
