"""The ledger on real SQLite and PostgreSQL: entries appended with what they cover, and verify catching tampering."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.test_storage import CHANNEL, T0, UoW, make_post

from tgvault.domain import MediaItem, MediaKind
from tgvault.services.verify import verify_archive
from tgvault.storage.ledger_records import GENESIS, entry_hash
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork


def archive_with_history(uow_factory: UoW, store: LocalMediaStore) -> None:
    """Five posts; post 2 edited, post 3 deleted, post 4 with a stored file, post 5 with new views."""
    with uow_factory() as uow:
        uow.channels.upsert(CHANNEL, T0)
        photo = MediaItem(kind=MediaKind.PHOTO, telegram_id=77, size=11)
        uow.posts.upsert_many(
            [make_post(i) for i in range(1, 4)] + [make_post(4, media=photo), make_post(5)], T0
        )
        uow.commit()
    stored = store.put_bytes(b"photo bytes", "image/jpeg")
    with uow_factory() as uow:
        uow.posts.upsert_many([make_post(2, "hello, edited"), make_post(5, views=9)], T0 + timedelta(hours=1))
        uow.posts.mark_deleted(CHANNEL.id, [3], T0 + timedelta(hours=2))
        uow.media.mark_downloaded(CHANNEL.id, 4, sha256=stored.sha256, path=stored.path, size=stored.size)
        uow.commit()


def run_sql(uow_factory: UoW, statement: str) -> None:
    with uow_factory() as uow:
        uow.ledger._session.execute(text(statement))  # tampering from outside tgvault, as an attacker would
        uow.commit()


def findings(uow_factory: UoW, store: LocalMediaStore | None = None) -> list[str]:
    report = verify_archive(uow_factory, media_store=store)
    return [finding.describe() for finding in report.findings]


@pytest.fixture
def store(tmp_path: Path) -> LocalMediaStore:
    media = LocalMediaStore(tmp_path / "media")
    media.prepare()
    return media


def test_every_observation_appends_one_chained_entry(unit_of_work: UoW, store: LocalMediaStore) -> None:
    archive_with_history(unit_of_work, store)
    with unit_of_work() as uow:
        entries = list(uow.ledger.entries(CHANNEL.id))
        head = uow.ledger.head(CHANNEL.id)
    kinds = [(e.kind, e.message_id) for e in entries]
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0].prev_sha256 == GENESIS
    assert all(b.prev_sha256 == a.entry_sha256 for a, b in itertools.pairwise(entries))
    assert all(entry_hash(e) == e.entry_sha256 for e in entries)
    assert head == (entries[-1].seq, entries[-1].entry_sha256)
    # first sight: a counters snapshot and a state per post; then the edit, new views, tombstone, file
    assert kinds[:10] == [(kind, i) for i in range(1, 6) for kind in ("counters", "revision")]
    assert kinds[10:] == [("revision", 2), ("counters", 5), ("deletion", 3), ("media", 4)]
    assert entries[-1].media_sha256 is not None
    assert all(e.backfilled_at is None for e in entries)


def test_seeing_the_same_posts_again_appends_nothing(unit_of_work: UoW, store: LocalMediaStore) -> None:
    archive_with_history(unit_of_work, store)
    with unit_of_work() as uow:
        before = uow.ledger.head(CHANNEL.id)
        uow.posts.upsert_many(
            [make_post(1), make_post(2, "hello, edited"), make_post(5, views=9)], T0 + timedelta(days=1)
        )
        uow.posts.mark_deleted(CHANNEL.id, [3], T0 + timedelta(days=1))
        uow.commit()
    with unit_of_work() as uow:
        assert uow.ledger.head(CHANNEL.id) == before


def test_a_rolled_back_write_leaves_no_entry(unit_of_work: UoW, store: LocalMediaStore) -> None:
    archive_with_history(unit_of_work, store)
    with unit_of_work() as uow:
        before = uow.ledger.head(CHANNEL.id)
        uow.posts.upsert_many([make_post(9)], T0 + timedelta(days=1))
        uow.rollback()
    with unit_of_work() as uow:
        assert uow.ledger.head(CHANNEL.id) == before
        assert [e.message_id for e in uow.ledger.entries(CHANNEL.id)].count(9) == 0


def test_an_untouched_archive_verifies(unit_of_work: UoW, store: LocalMediaStore) -> None:
    archive_with_history(unit_of_work, store)
    report = verify_archive(unit_of_work, media_store=store)
    assert report.findings == []
    assert (report.channels, report.posts, report.media_files) == (1, 5, 1)
    assert report.entries == 14


TAMPERING = {
    "post text changed": (
        "UPDATE posts SET text = 'hello, altered' WHERE message_id = 1",
        "channel 1001 post 1 entry 2: text, formatting, edit date, poll or link preview differ",
    ),
    "earlier revision changed": (
        "UPDATE post_revisions SET text = 'never said' WHERE message_id = 2",
        "channel 1001 post 2: revision 1 differs from every state",
    ),
    "tombstone removed": (
        "UPDATE posts SET deleted_at = NULL WHERE message_id = 3",
        "channel 1001 post 3 entry 13: was recorded deleted, but the archive shows it live",
    ),
    "views changed": (
        "UPDATE post_counters SET views = 1000000 WHERE message_id = 5 AND views = 9",
        "channel 1001 post 5: its counters snapshot",
    ),
    "post removed": (
        "DELETE FROM posts WHERE message_id = 1",
        "channel 1001 post 1 entry 1: recorded in the ledger but missing from the archive",
    ),
    "entry deleted": (
        "DELETE FROM ledger_entries WHERE seq = 6",
        "channel 1001 post 4 entry 7: entries 6..6 are missing",
    ),
    "last entry deleted": (
        "DELETE FROM ledger_entries WHERE seq = 14",
        "channel 1001 entry 14: the ledger's head is entry 14 but its entries end at 13",
    ),
    "entries reordered": (
        "UPDATE ledger_entries SET seq = CASE seq WHEN 3 THEN 4 WHEN 4 THEN 3 END WHERE seq IN (3, 4)",
        "channel 1001 post 2 entry 3: does not seal the entry before it",
    ),
    "entry rewritten": (
        "UPDATE ledger_entries SET record_sha256 = (SELECT record_sha256 FROM ledger_entries WHERE seq = 11) WHERE seq = 4",
        "channel 1001 post 2 entry 4: altered: its hash does not match its fields",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampering_is_found_and_named(unit_of_work: UoW, store: LocalMediaStore, case: str) -> None:
    archive_with_history(unit_of_work, store)
    statement, expected = TAMPERING[case]
    if case == "entries reordered":
        # the primary key forbids a swap in one statement on PostgreSQL; move one aside first
        run_sql(unit_of_work, "UPDATE ledger_entries SET seq = 1000 WHERE seq = 3")
        run_sql(unit_of_work, "UPDATE ledger_entries SET seq = 3 WHERE seq = 4")
        statement = "UPDATE ledger_entries SET seq = 4 WHERE seq = 1000"
    run_sql(unit_of_work, statement)
    found = findings(unit_of_work)
    assert any(line.startswith(expected) for line in found), found


def test_a_media_file_altered_or_removed_is_found(unit_of_work: UoW, store: LocalMediaStore) -> None:
    archive_with_history(unit_of_work, store)
    with unit_of_work() as uow:
        path = uow.posts.get(CHANNEL.id, 4).media.path  # type: ignore[union-attr]
    assert path is not None
    file = store.path_of(path)
    assert findings(unit_of_work, store) == []
    file.chmod(0o644)
    file.write_bytes(b"photo bytez")
    assert [line for line in findings(unit_of_work, store) if "is corrupt" in line] == [
        f"channel 1001 post 4 entry 14: its file {path} is corrupt: its sha256 is not the one recorded"
    ]
    assert findings(unit_of_work) == []  # without --media files are not read
    file.unlink()
    assert findings(unit_of_work, store) == [f"channel 1001 post 4 entry 14: its file {path} is missing"]


def test_the_migration_backfills_entries_for_what_was_archived_before(
    database_url: str, store: LocalMediaStore
) -> None:
    from alembic import command

    from tgvault.storage.database import create_archive_engine, make_session_factory
    from tgvault.storage.schema import alembic_config, upgrade

    engine = create_archive_engine(database_url)
    try:
        upgrade(engine)
        factory = make_session_factory(engine)

        def uow_factory() -> UnitOfWork:
            return UnitOfWork(factory)

        archive_with_history(uow_factory, store)
        config = alembic_config()
        with engine.begin() as connection:  # back to an archive from before the ledger
            config.attributes["connection"] = connection
            command.downgrade(config, "0009")
        before_upgrade = datetime.now(UTC)
        upgrade(engine)
        with uow_factory() as uow:
            entries = list(uow.ledger.entries(CHANNEL.id))
        report = verify_archive(uow_factory, media_store=store)
    finally:
        engine.dispose()
    assert report.findings == []
    assert all(e.backfilled_at is not None and e.backfilled_at >= before_upgrade for e in entries)
    kinds = [(e.kind, e.message_id) for e in entries]
    assert kinds == [
        ("revision", 1),
        ("counters", 1),
        ("revision", 2),
        ("revision", 2),
        ("counters", 2),
        ("revision", 3),
        ("deletion", 3),
        ("counters", 3),
        ("revision", 4),
        ("media", 4),
        ("counters", 4),
        ("revision", 5),
        ("counters", 5),
        ("counters", 5),
    ]
    edited = [e for e in entries if e.message_id == 2 and e.kind == "revision"]
    assert [e.observed_at for e in edited] == [T0, T0 + timedelta(hours=1)]  # when each state was first seen
