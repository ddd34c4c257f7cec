"""The bulk path of a Desktop import (batches of posts not yet archived, ``uow.posts.insert_new``) stores
exactly what the generic upsert stores: every table, the ledger included, on real SQLite and PostgreSQL;
a re-import is a no-op and the ledger verifies."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from tests.conftest import create_postgres_database

from tgvault.services.tdesktop_import import import_tdesktop
from tgvault.services.verify import verify_archive
from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.schema import upgrade
from tgvault.storage.tables import Base
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]
TOTAL = 3 * 213
FIXTURE = (
    Path(__file__).parent / "fixtures" / "tdesktop" / "uponthepathofsalaf-public-channel-2026.result.json"
)


def _export(folder: Path, first: int = 0, last: int | None = None) -> Path:
    """The real channel's export three times over (new ids: more than one batch of 500), messages
    ``first:last`` of it, with reactions on some messages (counters) and a photo beside the export for
    others (files copied, recorded as downloaded)."""
    document: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    real = document["messages"]
    messages = [dict(message, id=message["id"] + 100_000 * copy) for copy in range(3) for message in real]
    messages = messages[first:last]
    (folder / "photos").mkdir(parents=True, exist_ok=True)
    for position, message in enumerate(messages):
        if position % 7 == 3:
            message["reactions"] = [{"type": "emoji", "count": position, "emoji": "👍"}]
        if position % 40 == 5 and message.get("type") == "message":
            for key in ("file", "file_name", "file_size", "mime_type", "media_type", "thumbnail"):
                message.pop(key, None)
            name = f"photos/photo_{message['id']}.jpg"
            (folder / name).write_bytes(b"\xff\xd8" + str(message["id"]).encode() * 50)
            message.update(photo=name, photo_file_size=2 + len(str(message["id"])) * 50, width=4, height=3)
    document["messages"] = messages
    (folder / "result.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return folder


class _Clock:
    """A clock that moves one second each time it is read (the same sequence for every import)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def archives(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[UoW, UoW]]:
    """Two empty archives of one kind (two SQLite files, or two PostgreSQL databases)."""
    urls: list[str] = []
    drops: list[Callable[[], None]] = []
    for name in ("generic", "bulk"):
        if request.param == "sqlite":
            urls.append(f"sqlite:///{tmp_path / f'{name}.db'}")
        else:
            url, drop = create_postgres_database()
            urls.append(url)
            drops.append(drop)
    engines = [create_archive_engine(url) for url in urls]
    factories = []
    for engine in engines:
        upgrade(engine)
        factory = make_session_factory(engine)
        factories.append(lambda factory=factory: UnitOfWork(factory))
    try:
        yield factories[0], factories[1]
    finally:
        for engine in engines:
            engine.dispose()
        for drop in drops:
            drop()


@contextlib.contextmanager
def _statements(uow_factory: UoW) -> Iterator[list[str]]:
    """The SQL statements the archive's engine runs inside the block (seen through SQLAlchemy's events)."""
    with uow_factory() as uow:
        engine = uow.posts._session.get_bind()  # type: ignore[attr-defined]
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.lstrip())

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _contents(uow_factory: UoW) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted (autoincrement ids left as they are: they must agree too)."""
    with uow_factory() as uow:
        session = uow.posts._session  # type: ignore[attr-defined]
        return {
            table.name: sorted((tuple(row) for row in session.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
        }


def _import(folder: Path, uow_factory: UoW, media: Path, *, bulk: bool, clock: _Clock) -> Any:
    return import_tdesktop(folder, uow_factory, LocalMediaStore(media), bulk=bulk, clock=clock)


def test_the_bulk_path_stores_what_the_generic_path_stores(archives: tuple[UoW, UoW], tmp_path: Path) -> None:
    """The same export, imported through the generic upsert and through the bulk path with the same
    clock, gives the same rows in every table (posts, media, counters, ledger entries and heads)."""
    generic, bulk = archives
    folder = _export(tmp_path / "export")
    clock_generic, clock_bulk = _Clock(), _Clock()
    with _statements(generic) as generic_sql:
        one = _import(folder, generic, tmp_path / "media-generic", bulk=False, clock=clock_generic)
    with _statements(bulk) as bulk_sql:
        two = _import(folder, bulk, tmp_path / "media-bulk", bulk=True, clock=clock_bulk)

    # The bulk path was taken: no file recorded by an UPDATE of its media row, one insert per table a batch.
    assert any(sql.startswith("UPDATE media_items") for sql in generic_sql)
    assert not any(sql.startswith("UPDATE media_items") for sql in bulk_sql)
    assert len(bulk_sql) < len(generic_sql) / 2

    assert (one.posts_added, one.files_stored) == (two.posts_added, two.files_stored)
    assert two.posts_added == TOTAL and two.files_stored > 10
    expected, found = _contents(generic), _contents(bulk)
    assert len(expected["ledger_entries"]) > two.posts_added + two.files_stored
    assert expected["post_counters"] and any(row for row in expected["media_items"])
    for name in expected:
        assert expected[name] == found[name], name
    for uow_factory, media in ((generic, "media-generic"), (bulk, "media-bulk")):
        report = verify_archive(uow_factory, media_store=LocalMediaStore(tmp_path / media))
        assert report.ok, report.findings[:3]


def test_an_export_that_overlaps_the_archive_gives_what_the_generic_path_gives(
    archives: tuple[UoW, UoW], tmp_path: Path
) -> None:
    """Messages 0-300 archived first; then the whole export: its first batch (holding archived posts)
    goes through the generic path, the second in bulk; the archive ends as with the generic path only."""
    generic, bulk = archives
    part, whole = _export(tmp_path / "part", 0, 300), _export(tmp_path / "whole")
    for uow_factory, media, use_bulk in ((generic, "media-generic", False), (bulk, "media-bulk", True)):
        clock = _Clock()
        _import(part, uow_factory, tmp_path / media, bulk=use_bulk, clock=clock)
        summary = _import(whole, uow_factory, tmp_path / media, bulk=use_bulk, clock=clock)
        assert summary.posts_added == TOTAL - 300
    expected, found = _contents(generic), _contents(bulk)
    for name in expected:
        assert expected[name] == found[name], name
    assert verify_archive(bulk, media_store=LocalMediaStore(tmp_path / "media-bulk")).ok


def test_reimporting_after_a_bulk_import_adds_nothing(archives: tuple[UoW, UoW], tmp_path: Path) -> None:
    """A second import of the same export adds no post, no counter, no file and no ledger entry."""
    _, bulk = archives
    folder = _export(tmp_path / "export")
    clock = _Clock()
    _import(folder, bulk, tmp_path / "media", bulk=True, clock=clock)
    before = _contents(bulk)
    again = _import(folder, bulk, tmp_path / "media", bulk=True, clock=clock)
    after = _contents(bulk)

    assert (again.posts_added, again.posts_edited) == (0, 0)
    for name in ("posts", "media_items", "post_counters", "post_revisions", "ledger_entries", "ledger_heads"):
        assert len(before[name]) == len(after[name]), name
    assert before["ledger_entries"] == after["ledger_entries"]
    assert verify_archive(bulk, media_store=LocalMediaStore(tmp_path / "media")).ok
