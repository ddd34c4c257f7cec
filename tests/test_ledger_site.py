"""The ledger published beside a built site: `<channel>/ledger.jsonl` and its tokens, appended by each
build, checked by `verify --site` with nothing but the site's files; a changed line or token is found."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.test_ledger import T0, archive_with_history, make_post
from tests.tsa_support import LocalTsa, local_tsa

from tgvault.export.site import SiteOptions, build_site
from tgvault.export.site.ledger_files import entry_line, entry_lines
from tgvault.services.evidence_check import verify_site
from tgvault.services.timestamps import TimestampAuthority, stamp_heads
from tgvault.storage.ledger_records import Entry
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[LocalTsa]:
    with local_tsa(tmp_path / "tsa") as running:
        yield running


def test_a_site_publishes_its_ledgers_and_verify_site_checks_them(
    uow_factory: UoW, tmp_path: Path, tsa: LocalTsa
) -> None:
    store = LocalMediaStore(tmp_path / "media")
    store.prepare()
    archive_with_history(uow_factory, store)
    authority = TimestampAuthority.from_files(tsa.url, tsa.ca_file)
    stamp_heads(uow_factory, authority)
    site = tmp_path / "site"
    build_site(uow_factory, store, SiteOptions(out_dir=site))
    (ledger,) = site.rglob("ledger/1.jsonl")
    first = ledger.read_text()
    assert len(first.splitlines()) == 14
    assert [p.name for p in sorted((ledger.parent / "timestamps").iterdir())] == ["14.tsr"]
    assert (ledger.parent / "tsa-ca.pem").read_bytes() == tsa.ca_file.read_bytes()
    report = verify_site(site)
    assert (report.problems, report.entries, report.files) == ([], 14, 1)

    with uow_factory() as uow:  # a later run: the next build appends, the lines published stay as they were
        uow.posts.upsert_many([make_post(9)], T0 + timedelta(days=1))
        uow.commit()
    stamp_heads(uow_factory, authority)
    build_site(uow_factory, store, SiteOptions(out_dir=site))
    second = ledger.read_text()
    assert second.startswith(first) and len(second.splitlines()) == 16
    assert verify_site(site).problems == []

    copy = tmp_path / "copy"  # a third party's copy, changed
    shutil.copytree(site, copy)
    (copied,) = copy.rglob("ledger/1.jsonl")
    copied.write_text(second.replace('"kind":"deletion"', '"kind":"revision"'))
    shutil.copyfile(copied.parent / "timestamps" / "14.tsr", copied.parent / "timestamps" / "16.tsr")
    problems = verify_site(copy).problems
    root = copied.parent.parent.relative_to(copy).as_posix()
    assert f"{root}: entry 13: altered: its hash does not match its fields" in problems
    assert any(p.startswith(f"{root}: 16.tsr: the RFC 3161 token does not check") for p in problems)


def test_a_channel_of_many_entries_is_published_in_files_of_5000(uow_factory: UoW, tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "media")
    store.prepare()
    archive_with_history(uow_factory, store)
    with uow_factory() as uow:  # 2 entries per new post (its state and its counters)
        for first in range(100, 3100, 100):
            uow.posts.upsert_many([make_post(i) for i in range(first, first + 100)], T0)
        uow.commit()
    site = tmp_path / "site"
    build_site(uow_factory, store, SiteOptions(out_dir=site))
    files = sorted(site.rglob("ledger/*.jsonl"))
    assert [p.name for p in files] == ["1.jsonl", "2.jsonl"]
    assert [len(p.read_text().splitlines()) for p in files] == [5000, 6014 - 5000]
    full = files[0].stat().st_mtime_ns
    with uow_factory() as uow:
        uow.posts.upsert_many([make_post(5000)], T0)
        uow.commit()
    build_site(uow_factory, store, SiteOptions(out_dir=site))
    assert files[0].stat().st_mtime_ns == full  # a full file is kept, not written again
    assert len(files[1].read_text().splitlines()) == 1016
    assert verify_site(site).problems == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.builds(
            Entry,
            channel_id=st.integers(-(2**62), 2**62),
            seq=st.integers(1, 2**40),
            kind=st.text(max_size=12),
            message_id=st.none() | st.integers(-(2**40), 2**40),
            observed_at=st.datetimes(
                timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))])
            ),
            record_sha256=st.text(max_size=70),
            media_sha256=st.none() | st.text(max_size=70),
            prev_sha256=st.text(max_size=70),
            entry_sha256=st.text(max_size=70),
            backfilled_at=st.none() | st.datetimes(timezones=st.just(UTC)),
            warc_record_id=st.none() | st.text(max_size=40),
        ),
        max_size=8,
    )
)
def test_ledger_lines_are_written_as_json_dumps_writes_each_entry(entries: list[Entry]) -> None:
    """The site's ledger files, written without a dictionary an entry, are the canonical JSON lines."""
    assert entry_lines(entries) == "".join(entry_line(entry) for entry in entries)


def test_the_growing_file_is_appended_to_as_a_full_build_writes_it(uow_factory: UoW, tmp_path: Path) -> None:
    """A rebuild appends the new entries to the lines it published; a file changed since is written whole."""
    store = LocalMediaStore(tmp_path / "media")
    store.prepare()
    archive_with_history(uow_factory, store)
    site, fresh = tmp_path / "site", tmp_path / "fresh"
    build_site(uow_factory, store, SiteOptions(out_dir=site))
    (ledger,) = site.rglob("ledger/1.jsonl")
    for round_, message_id in enumerate((9, 10, 11)):
        with uow_factory() as uow:
            uow.posts.upsert_many([make_post(message_id)], T0 + timedelta(days=1 + round_))
            uow.commit()
        if round_ == 2:  # someone changed the published file: it is not appended to
            ledger.write_text(ledger.read_text().replace('"kind":"deletion"', '"kind":"revision"'))
        build_site(uow_factory, store, SiteOptions(out_dir=site))
        shutil.rmtree(fresh, ignore_errors=True)
        build_site(uow_factory, store, SiteOptions(out_dir=fresh))
        (expected,) = fresh.rglob("ledger/1.jsonl")
        assert ledger.read_bytes() == expected.read_bytes(), round_
    assert verify_site(site).problems == []
