"""Migrations: an empty database upgrades to head on SQLite and PostgreSQL, and models match them."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.util.exc import CommandError
from sqlalchemy import Engine, inspect

from tgvault.errors import SchemaOutOfDateError
from tgvault.storage.database import create_archive_engine
from tgvault.storage.schema import alembic_config, ensure_schema, head_revision, schema_status, upgrade

EXPECTED_TABLES = {
    "alembic_version",
    "channels",
    "channel_observations",
    "posts",
    "users",
    "discussion_threads",
    "comments",
    "archive_keys",
    "post_revisions",
    "media_items",
    "sync_state",
    "sync_runs",
    "channel_locks",
    "service_state",
    "channel_leases",
    "workers",
    "post_counters",
    "channel_alerts",
    "audit_state",
    "media_downloads",
    "ledger_entries",
    "ledger_heads",
    "ledger_timestamps",
}


def test_an_empty_database_upgrades_to_head_and_has_no_drift(database_url: str) -> None:
    engine = create_archive_engine(database_url)
    try:
        upgrade(engine)
        status = schema_status(engine)
        tables = set(inspect(engine).get_table_names())
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.check(config)  # raises when the models and the migrations disagree
    finally:
        engine.dispose()
    assert head_revision() == status.current
    assert EXPECTED_TABLES == tables


def test_indexes_for_the_exporter_exist(database_url: str) -> None:
    engine = create_archive_engine(database_url)
    try:
        upgrade(engine)
        indexes = {index["name"] for index in inspect(engine).get_indexes("posts")}
        media_indexes = {index["name"] for index in inspect(engine).get_indexes("media_items")}
    finally:
        engine.dispose()
    assert {"ix_posts_channel_date", "ix_posts_channel_grouped", "ix_posts_channel_updated"} <= indexes
    assert "ix_media_items_channel_updated" in media_indexes  # the site's change feed


def test_a_new_database_is_created_but_an_old_one_is_never_migrated_silently(database_url: str) -> None:
    engine = create_archive_engine(database_url)
    try:
        assert head_revision() == ensure_schema(engine).current
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_future'")
        with pytest.raises(SchemaOutOfDateError, match="newer than this tgvault knows"):
            ensure_schema(engine)
    finally:
        engine.dispose()


def test_downgrade_to_base_and_back_works(database_url: str) -> None:
    engine = create_archive_engine(database_url)
    try:
        upgrade(engine)
        downgrade_to_base(engine)
        assert {"alembic_version"} == set(inspect(engine).get_table_names())
        upgrade(engine)
        assert EXPECTED_TABLES == set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_an_unknown_revision_is_an_error() -> None:
    with pytest.raises(CommandError):
        command.upgrade(alembic_config(), "nonexistent")


def downgrade_to_base(engine: Engine) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")


def test_an_archive_behind_is_refused_with_the_command_to_run(database_url: str) -> None:
    engine = create_archive_engine(database_url)
    try:
        upgrade(engine, "0001")
        with pytest.raises(SchemaOutOfDateError, match="tgvault db upgrade"):
            ensure_schema(engine)
        upgrade(engine)
        assert ensure_schema(engine).up_to_date
    finally:
        engine.dispose()
