"""Many rows into one table in one go: the hot inserts of a backfill, one page of posts at a time.

SQLAlchemy's ``execute(insert(table), rows)`` runs every value of every row through the column types'
bind processors and, on PostgreSQL, sends one statement per row down a pipeline. :func:`insert_rows`
stores exactly the same values with less work per row:

* **SQLite**: one prebuilt ``INSERT`` run by the DB-API cursor's ``executemany`` (through
  ``exec_driver_sql``, so driver errors become SQLAlchemy's exceptions as on any other statement);
* **PostgreSQL**: ``COPY ... FROM STDIN`` through psycopg, one ``write_row`` per row.

Values are converted as the archive's column types would convert them: UTC datetimes (a naive one is
refused), JSON documents written by :func:`~tgvault.storage.database.dump_json`, and ``None`` stored as
SQL NULL, also in JSON columns (``none_as_null``, see :mod:`tgvault.storage.tables`). Columns of any
other type go through their type's own bind processor. It never commits: the rows are part of the
connection's current transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import JSON, Column, Connection, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from tgvault.storage.database import dump_json
from tgvault.storage.tables import UTCDateTime

Convert = Callable[[Any], Any]
_Prepared = tuple[str, tuple[Convert | None, ...]]

# (dialect name, table name, column names) -> (SQL, one converter per column): built once per shape.
_PREPARED: dict[tuple[str, str, tuple[str, ...]], _Prepared] = {}


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (mappings of column name to value) into ``table`` in the connection's transaction.

    Every row must name the same columns (those of the first row); columns left out take their
    defaults (an autoincrement id, a server default). Stores what ``connection.execute(insert(table),
    rows)`` would store, faster: see the module's docstring.
    """
    if not rows:
        return
    dialect = connection.dialect
    names = tuple(rows[0])
    key = (dialect.name, table.name, names)
    prepared = _PREPARED.get(key)
    if prepared is None:
        prepared = _PREPARED[key] = _prepare(dialect, table, names)
    sql, converters = prepared
    try:
        values = [
            tuple(
                [
                    value if convert is None else convert(value)
                    for convert, value in zip(converters, row_of, strict=True)
                ]
            )
            for row_of in ([row[name] for name in names] for row in rows)
        ]
    except KeyError as missing:
        raise ValueError(
            f"every row of one insert must name the same columns; {missing} is missing"
        ) from None
    _send(connection, sql, values)


def insert_values(
    connection: Connection, table: Table, names: tuple[str, ...], values: Sequence[tuple[Any, ...]]
) -> None:
    """Insert rows given as tuples in the order of ``names``, each value already as the driver takes it
    (converted by :func:`column_binder` where the column's type converts; otherwise as it is).

    The fast lane of :func:`insert_rows` for a caller that builds its rows itself (the bulk insert of
    new posts): no mapping per row, and no converter called on a column that needs none.
    """
    if not values:
        return
    dialect = connection.dialect
    key = (dialect.name, table.name, names)
    prepared = _PREPARED.get(key)
    if prepared is None:
        prepared = _PREPARED[key] = _prepare(dialect, table, names)
    _send(connection, prepared[0], values)


def column_binder(dialect: Dialect, column: Column[Any]) -> Convert:
    """What turns a Python value into the value the driver is handed for ``column`` (as
    :func:`insert_rows` converts it; the identity for a column whose type converts nothing)."""
    return _converter(dialect, column) or _same


def _same(value: Any) -> Any:
    return value


def _send(connection: Connection, sql: str, values: Sequence[tuple[Any, ...]]) -> None:
    if connection.dialect.name == "postgresql":
        if not connection.in_transaction():
            connection.begin()  # as any statement would: the connection's commit() and rollback() then apply
        _copy(connection, sql, values)
    else:
        connection.exec_driver_sql(sql, values if isinstance(values, list) else list(values))


def _prepare(dialect: Dialect, table: Table, names: tuple[str, ...]) -> _Prepared:
    unknown = [name for name in names if name not in table.c]
    if unknown:
        raise ValueError(f"table {table.name} has no column {', '.join(unknown)}")
    columns = [table.c[name] for name in names]
    quote = dialect.identifier_preparer.quote
    column_list = ", ".join(quote(name) for name in names)
    table_name = dialect.identifier_preparer.format_table(table)
    converters = tuple(_converter(dialect, column) for column in columns)
    if dialect.name == "postgresql":
        return f"COPY {table_name} ({column_list}) FROM STDIN", converters
    placeholders = ", ".join("?" for _ in names)
    # Names are the table's own columns (checked above), quoted by the dialect; values are bound.
    return f"INSERT INTO {table_name} ({column_list}) VALUES ({placeholders})", converters  # noqa: S608


def _converter(dialect: Dialect, column: Column[Any]) -> Convert | None:
    """What turns a Python value into the value the driver is handed (None: the value as it is)."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return _sqlite_datetime if dialect.name == "sqlite" else _utc_datetime
    if isinstance(kind, JSON):
        return _json
    processor: Convert | None = kind.dialect_impl(dialect).bind_processor(dialect)
    return processor


def _utc_datetime(value: datetime | None) -> datetime | None:
    """As :class:`~tgvault.storage.tables.UTCDateTime` binds a value for PostgreSQL."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the archive; use UTC-aware datetimes")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _sqlite_datetime(value: datetime | None) -> str | None:
    """As SQLAlchemy stores a UTC datetime in SQLite: ``YYYY-MM-DD HH:MM:SS.ffffff``, no offset."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the archive; use UTC-aware datetimes")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _json(value: Any) -> str | None:
    """A JSON column's value: None is SQL NULL (``none_as_null``), ``JSON.NULL`` the JSON ``null``."""
    if value is None:
        return None
    if value is JSON.NULL:
        return "null"
    return dump_json(value)


def _copy(connection: Connection, sql: str, values: Sequence[tuple[Any, ...]]) -> None:
    """Write rows with psycopg's COPY; driver errors are raised as SQLAlchemy's, as for any statement."""
    import psycopg

    driver = connection.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError(f"COPY needs a psycopg connection, got {type(driver).__name__}")
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            for row in values:
                copy.write_row(row)
    except psycopg.Error as error:
        proxied = connection.connection
        invalidated = connection.dialect.is_disconnect(cast(Any, error), proxied, None)
        if invalidated:
            connection.invalidate(error)
        raise DBAPIError.instance(
            sql, None, error, psycopg.Error, connection_invalidated=invalidated, dialect=connection.dialect
        ) from error
