"""Every path that writes records appends their ledger entries: after the web source's backfill and sync
(edits, deletions, counters, files) and after Desktop imports (an edit, files), `verify` finds nothing, and
a record changed afterwards is found."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text
from tests.test_tdesktop_import import CURRENT, CURRENT_ID, load, write_export
from tests.test_webpreview_archive import CHANNEL_ID, NAME, PLAN, Clock, archiver

from tgvault.services.tdesktop_import import import_tdesktop
from tgvault.services.verify import verify_archive
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing.webpreview import FakeWebPreview

UoW = Callable[[], UnitOfWork]
FIXTURES = Path(__file__).parent / "fixtures" / "webpreview"


def kinds(uow_factory: UoW, channel_id: int) -> dict[str, int]:
    with uow_factory() as uow:
        found: dict[str, int] = {}
        for entry in uow.ledger.entries(channel_id):
            found[entry.kind] = found.get(entry.kind, 0) + 1
    return found


def test_the_web_source_appends_every_observation(unit_of_work: UoW, tmp_path: Path) -> None:
    fake = FakeWebPreview(page_size=6)
    fake.add_saved_page((FIXTURES / "tgvault_webtest.html").read_text())
    clock = Clock()
    store = LocalMediaStore(tmp_path / "media")
    with fake.running():
        asyncio.run(archiver(fake, unit_of_work, tmp_path / "media", clock).backfill(PLAN))
        fake.edit(NAME, 13, "Corrected text", "Corrected twice")
        fake.edit(NAME, 21, '"tgme_widget_message_views">51<', '"tgme_widget_message_views">1.5K<')
        fake.delete(NAME, 22)
        clock.now += timedelta(hours=1)
        asyncio.run(archiver(fake, unit_of_work, tmp_path / "media", clock).sync(PLAN))
    report = verify_archive(unit_of_work, media_store=store)
    assert report.findings == []
    assert report.media_files == 8
    seen = kinds(unit_of_work, CHANNEL_ID)
    with unit_of_work() as uow:
        snapshots = uow.ledger._session.scalar(text("SELECT count(*) FROM post_counters"))
    assert (seen["revision"], seen["deletion"], seen["media"]) == (33 + 1, 1, 8)
    assert seen["counters"] == snapshots > 30  # the views seen first, and the 1.5K of post 21


def test_desktop_imports_append_every_observation(unit_of_work: UoW, tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "media")
    store.prepare()
    document = load(CURRENT)
    earlier = document | {"messages": copy.deepcopy(document["messages"][:120])}
    later = document | {"messages": copy.deepcopy(document["messages"][80:])}
    edited = later["messages"][20]
    edited["text"] = "Rewritten"
    edited["text_entities"] = [{"type": "plain", "text": "Rewritten"}]
    edited["edited"] = "2026-07-01T10:00:00"
    edited["edited_unixtime"] = "1782896400"
    import_tdesktop(write_export(tmp_path / "earlier", earlier), unit_of_work, store)
    import_tdesktop(write_export(tmp_path / "later", later), unit_of_work, store)
    report = verify_archive(unit_of_work, media_store=store)
    assert report.findings == []
    assert report.posts == 213
    assert kinds(unit_of_work, CURRENT_ID)["revision"] == 213 + 1
    with unit_of_work() as uow:
        uow.ledger._session.execute(
            text("UPDATE post_revisions SET text = 'forged' WHERE channel_id = :c"), {"c": CURRENT_ID}
        )
        uow.commit()
    found = [f.describe() for f in verify_archive(unit_of_work).findings]
    assert found == [
        f"channel {CURRENT_ID} post {edited['id']}: revision 1 differs from every state the ledger recorded: altered"
    ]
