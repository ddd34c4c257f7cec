"""Schema versions: apply Alembic migrations and refuse to run on an out-of-date archive."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, inspect

from tgvault.errors import ArchiveMissingError, SchemaOutOfDateError, UsageError


def alembic_config() -> Config:
    """An Alembic config pointing at tgvault's migrations, wherever the package is installed."""
    config = Config()
    config.set_main_option("script_location", str(Path(str(files("tgvault.migrations")))))
    return config


def head_revision() -> str:
    """The newest schema revision this version of tgvault knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("tgvault ships no migrations")
    return head


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None for a database tgvault never touched)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (default: the newest); an unknown revision raises
    :class:`~tgvault.errors.UsageError`."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        try:
            command.upgrade(config, revision)
        except CommandError as exc:
            raise UsageError(
                f"cannot upgrade to schema revision {revision!r} ({exc}); the newest is {head_revision()}"
            ) from exc


@dataclass(frozen=True)
class SchemaStatus:
    """Where an archive's schema stands."""

    current: str | None
    head: str
    empty: bool

    @property
    def up_to_date(self) -> bool:
        """True when the database is at the newest revision."""
        return self.current == self.head


def schema_status(engine: Engine) -> SchemaStatus:
    """Compare the database's revision with the newest one."""
    current = current_revision(engine)
    empty = current is None and not set(inspect(engine).get_table_names()) - {"alembic_version"}
    return SchemaStatus(current=current, head=head_revision(), empty=empty)


def ensure_schema(engine: Engine) -> SchemaStatus:
    """Make sure the archive is usable by this version.

    A brand-new, empty database is created at the newest schema (there is nothing in it to back
    up). An existing database that is behind is never migrated silently: this raises
    :class:`SchemaOutOfDateError` telling the user to run ``tgvault db upgrade``.
    """
    status = schema_status(engine)
    if status.empty:
        upgrade(engine)
        return schema_status(engine)
    return require_current(engine, status)


def existing_schema(engine: Engine) -> SchemaStatus:
    """For the commands that only read: the archive must exist and be current; nothing is created.

    An empty database raises :class:`ArchiveMissingError`, one that is behind (or ahead)
    :class:`SchemaOutOfDateError`.
    """
    status = schema_status(engine)
    if status.empty:
        url = engine.url.render_as_string(hide_password=True)
        raise ArchiveMissingError(f"the database {url} holds no archive yet (nothing was archived there)")
    return require_current(engine, status)


def require_current(engine: Engine, status: SchemaStatus) -> SchemaStatus:
    """``status`` when the schema is the newest; else :class:`SchemaOutOfDateError` saying what to do."""
    if status.up_to_date:
        return status
    url = engine.url.render_as_string(hide_password=True)
    if status.current is None:
        raise SchemaOutOfDateError(
            f"the database {url} has tables but no tgvault schema version; "
            "point [database] url at an empty database or an existing tgvault archive"
        )
    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    if status.current not in known:
        raise SchemaOutOfDateError(
            f"the archive {url} is at schema {status.current}, newer than this tgvault knows "
            f"({status.head}); upgrade tgvault"
        )
    raise SchemaOutOfDateError(
        f"the archive {url} is at schema {status.current} but this tgvault needs {status.head}; "
        "back it up if you wish, then run: tgvault db upgrade"
    )
