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

from tgvault.errors import StorageError

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalise_url(url: str) -> URL:
    """Parse a database URL, choosing our drivers: ``postgresql://`` uses psycopg 3."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with a terse message
        raise StorageError(f"database url {url!r} is not a valid SQLAlchemy URL: {exc}") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise StorageError(
            f"database url {url!r}: unsupported database {parsed.drivername!r}; "
            "use sqlite:///path/to/file.db or postgresql://user@host/dbname"
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


def create_archive_engine(url: str) -> Engine:
    """Create an engine for the archive; a SQLite file's folder is created when missing.

    SQLite runs in WAL mode with foreign keys on and a generous busy timeout, so a reader (the
    site exporter, ``tgvault status``) never blocks the syncing writer.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            poolclass=NullPool if database in ("", ":memory:") else None,
            json_serializer=dump_json,
            json_deserializer=load_json,
        )
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise StorageError("PostgreSQL needs the psycopg driver: pip install 'tgvault[postgres]'") from exc
    engine = create_engine(parsed, pool_pre_ping=True, json_serializer=dump_json, json_deserializer=load_json)
    event.listen(engine, "connect", _on_postgres_connect)
    return engine


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
