"""A post page shows its archive record: first captured, last checked, its record hash and its ledger entry.

Built from an archive with a history (an edit, a deletion, a stored file, new views); the facts shown are
the ledger's; an audit that finishes rewrites the pages of the posts it checked, once, and a build after
a sync that changed nothing rewrites none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event
from tests.test_ledger import CHANNEL, T0, archive_with_history, make_post, run_sql

from tgvault.domain import AuditState
from tgvault.export.site import SiteOptions, build_site
from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.schema import upgrade
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]


@pytest.fixture
def store(tmp_path: Path) -> LocalMediaStore:
    media = LocalMediaStore(tmp_path / "media")
    media.prepare()
    return media


def page(site: Path, message_id: int) -> str:
    return (site / f"c/{CHANNEL.id}/posts/{message_id}.html").read_text(encoding="utf-8")


def record_of(html: str) -> str:
    found = re.search(r'<details class="post-record">.*?</details>', html, re.S)
    assert found, "the page shows no archive record"
    return found.group(0)


def mtimes(site: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (site / f"c/{CHANNEL.id}/posts").iterdir()}


def finish_audit(uow_factory: UoW, when: object) -> None:
    with uow_factory() as uow:
        uow.audits.save(AuditState(channel_id=CHANNEL.id, last_completed_at=when))
        uow.commit()


def test_a_post_page_shows_its_ledger_facts_and_links_its_entry(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    archive_with_history(unit_of_work, store)
    site = tmp_path / "site"
    build_site(unit_of_work, store, SiteOptions(out_dir=site))
    with unit_of_work() as uow:
        revisions = [e for e in uow.ledger.entries(CHANNEL.id) if e.kind == "revision" and e.message_id == 2]
    assert len(revisions) == 2  # first seen, then edited: the page shows the edited state's hash
    record = record_of(page(site, 2))
    assert 'first captured <time datetime="2024-03-01T12:00:00+00:00">1 March 2024</time>' in record
    assert 'last checked <time datetime="2024-03-01">1 March 2024</time>' in record
    assert f'<code class="hash">{revisions[-1].record_sha256}</code>' in record
    assert revisions[0].record_sha256 not in record
    link = re.search(r'<a href="([^"]+)">Entry (\d+) of the channel', record)
    assert link and int(link.group(2)) == revisions[-1].seq
    ledger = (site / f"c/{CHANNEL.id}/posts" / link.group(1)).resolve()
    line = ledger.read_text().splitlines()[revisions[-1].seq - 1]
    assert f'"record_sha256":"{revisions[-1].record_sha256}"' in line
    assert "tgvault verify --site DIR" in record
    # a deleted post keeps its record: last checked when its deletion was seen
    assert 'last checked <time datetime="2024-03-01">' in record_of(page(site, 3))


def test_the_record_is_escaped_and_absent_when_the_ledger_does_not_know_the_post(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    archive_with_history(unit_of_work, store)
    run_sql(unit_of_work, "UPDATE ledger_entries SET record_sha256 = '<b>x</b>' WHERE message_id = 1")
    run_sql(unit_of_work, "DELETE FROM ledger_entries WHERE message_id = 5")
    site = tmp_path / "site"
    build_site(unit_of_work, store, SiteOptions(out_dir=site))
    assert '<code class="hash">&lt;b&gt;x&lt;/b&gt;</code>' in record_of(page(site, 1))
    assert "post-record" not in page(site, 5)
    assert "hello" in page(site, 5)


def test_an_audit_rewrites_the_pages_it_checked_once_and_a_quiet_sync_none(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    archive_with_history(unit_of_work, store)
    site = tmp_path / "site"
    options = SiteOptions(out_dir=site)
    build_site(unit_of_work, store, options)
    before = mtimes(site)
    with unit_of_work() as uow:  # a sync seeing the same posts again: nothing recorded, nothing rewritten
        uow.posts.upsert_many([make_post(1), make_post(2, "hello, edited")], T0 + timedelta(days=2))
        uow.commit()
    report = build_site(unit_of_work, store, options)
    assert report.incremental and mtimes(site) == before

    finish_audit(unit_of_work, T0 + timedelta(days=5, hours=3))
    report = build_site(unit_of_work, store, options)
    assert report.incremental
    after = mtimes(site)
    rewritten = sorted(name for name in after if after[name] != before[name])
    # not 3: a deleted post is not audited; not 4: its file was recorded later (when the test ran)
    assert rewritten == ["1.html", "2.html", "5.html"]
    assert 'last checked <time datetime="2024-03-06">6 March 2024</time>' in record_of(page(site, 1))
    assert 'last checked <time datetime="2024-03-01">' in record_of(page(site, 3))

    finish_audit(unit_of_work, T0 + timedelta(days=5, hours=9))  # another audit the same day
    build_site(unit_of_work, store, options)
    assert mtimes(site) == after


def test_without_post_pages_no_card_carries_the_record(
    uow_factory: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """The documented choice: cards are shared by timeline, hashtag and search pages, so no record there."""
    archive_with_history(uow_factory, store)
    site = tmp_path / "site"
    build_site(uow_factory, store, SiteOptions(out_dir=site, post_pages=False))
    pages = [p.read_text(encoding="utf-8") for p in site.rglob("*.html")]
    assert pages and not any("post-record" in html for html in pages)
    assert not (site / f"c/{CHANNEL.id}/posts").exists()
    assert (site / f"c/{CHANNEL.id}/ledger/1.jsonl").exists()  # the facts stay published in the ledger


@pytest.mark.parametrize("posts", [10, 60])
def test_the_facts_are_read_in_bulk_not_per_post(posts: int, store: LocalMediaStore, tmp_path: Path) -> None:
    engine = create_archive_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    upgrade(engine)
    factory = make_session_factory(engine)
    with UnitOfWork(factory) as uow:
        uow.channels.upsert(CHANNEL, T0)
        uow.posts.upsert_many([make_post(i) for i in range(1, posts + 1)], T0)
        uow.commit()
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "FROM ledger_entries" in statement and "message_id IN" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    site = tmp_path / "site"
    build_site(lambda: UnitOfWork(factory), store, SiteOptions(out_dir=site, workers=1))
    engine.dispose()
    assert len(statements) == 2  # a batch of up to 500 posts: its revisions, its latest entries
    assert "post-record" in page(site, posts)


def test_an_edit_rewrites_the_page_with_the_new_hash_and_a_backfilled_post_says_so(
    uow_factory: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    archive_with_history(uow_factory, store)
    run_sql(
        uow_factory,
        "UPDATE ledger_entries SET backfilled_at = '2024-04-02 08:00:00.000000' WHERE message_id = 5",
    )
    site = tmp_path / "site"
    options = SiteOptions(out_dir=site)
    build_site(uow_factory, store, options)
    old = record_of(page(site, 1))
    assert "archived before the ledger; entered in it on" in record_of(page(site, 5))
    assert 'datetime="2024-04-02T08:00:00+00:00">2 April 2024</time>' in record_of(page(site, 5))
    with uow_factory() as uow:
        uow.posts.upsert_many([make_post(1, "hello, corrected")], T0 + timedelta(days=3))
        uow.commit()
        edited = [e for e in uow.ledger.entries(CHANNEL.id) if e.message_id == 1 and e.kind == "revision"][-1]
    assert build_site(uow_factory, store, options).incremental
    new = record_of(page(site, 1))
    assert new != old and f'<code class="hash">{edited.record_sha256}</code>' in new
    assert 'first captured <time datetime="2024-03-01T12:00:00+00:00">' in new  # still its first capture
    assert 'last checked <time datetime="2024-03-04">4 March 2024</time>' in new
