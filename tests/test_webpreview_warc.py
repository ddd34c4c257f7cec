"""The web source's pages kept as WARC records, named by the ledger and checked by verify (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import re
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tgvault.domain import PageCapture
from tgvault.services.archiver import Archiver
from tgvault.services.plans import ChannelPlan
from tgvault.services.verify import verify_archive
from tgvault.sources.webpreview import WebClient, WebOptions, WebPreviewSource
from tgvault.storage.ledger_records import CAPTURE, MEDIA, canonical_bytes, entry_hash, sha256_hex
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.storage.warc_store import WarcArchive, complete_length, cut_broken_tail
from tgvault.testing.webpreview import FakeWebPreview

FIXTURES = Path(__file__).parent / "fixtures" / "webpreview"
NAME = "tgvault_webtest"
CHANNEL_ID = 1987654321
ALL_IDS = [i for i in range(1, 36) if i not in (7, 25)]
UoW = Callable[[], UnitOfWork]


@pytest.fixture
def preview() -> Iterator[FakeWebPreview]:
    fake = FakeWebPreview(page_size=6)
    fake.add_saved_page((FIXTURES / "tgvault_webtest.html").read_text())
    with fake.running():
        yield fake


def backfill(fake: FakeWebPreview, unit_of_work: UoW, media: Path) -> None:
    client = WebClient(WebOptions(base_url=fake.base_url, request_delay=0))
    archiver = Archiver(WebPreviewSource(client), unit_of_work, LocalMediaStore(media))
    asyncio.run(archiver.backfill(ChannelPlan(key=f"@{NAME}")))


def read_warc(folder: Path) -> tuple[dict[str, tuple[str, bytes]], dict[str, str]]:
    """Response records by id (target URL, payload) and request records' WARC-Concurrent-To by URL."""
    responses: dict[str, tuple[str, bytes]] = {}
    requests: dict[str, str] = {}
    for path in sorted(folder.glob("*.warc.gz")):
        with path.open("rb") as handle:
            for record in ArchiveIterator(handle):
                uri = record.rec_headers.get_header("WARC-Target-URI")
                if record.rec_type == "response":
                    responses[record.rec_headers.get_header("WARC-Record-ID")] = (
                        uri,
                        record.raw_stream.read(),
                    )
                elif record.rec_type == "request":
                    assert record.http_headers.get_header("User-Agent", "").startswith("tgvault/")
                    requests[record.rec_headers.get_header("WARC-Concurrent-To")] = uri
    return responses, requests


def test_backfill_keeps_each_page_as_warc_records_the_ledger_names(
    preview: FakeWebPreview, unit_of_work: UoW, tmp_path: Path
) -> None:
    """Every post's capture entry names a response record holding the exact page it was read from."""
    media = tmp_path / "media"
    backfill(preview, unit_of_work, media)

    folder = media / "warc" / str(CHANNEL_ID)
    files = list(folder.glob("*.warc.gz"))
    assert 1 == len(files) and files[0].name == f"{datetime.now(UTC):%Y-%m-%d}.warc.gz"
    responses, requests = read_warc(folder)
    assert responses and set(responses) == set(requests)  # each response with its request
    with unit_of_work() as uow:
        captures = [entry for entry in uow.ledger.entries(CHANNEL_ID) if entry.kind == CAPTURE]
        files = [entry for entry in uow.ledger.entries(CHANNEL_ID) if entry.kind == MEDIA]
    # every file downloaded is kept too, as the response of its request, named by its ledger entry
    assert len(files) == 8 and all(entry.warc_record_id in responses for entry in files)
    for entry in files:
        uri, payload = responses.pop(str(entry.warc_record_id))
        assert "/cdn/" in uri and hashlib.sha256(payload).hexdigest() == entry.media_sha256
    for record_id, (uri, payload) in responses.items():
        assert requests[record_id] == uri and f"/s/{NAME}" in uri
        assert b"tgme_widget_message" in payload
    assert ALL_IDS == sorted({entry.message_id for entry in captures if entry.message_id is not None})
    for entry in captures:
        assert entry.warc_record_id in responses
        uri, payload = responses[entry.warc_record_id]
        assert hashlib.sha256(payload).hexdigest() == entry.record_sha256
        assert re.search(rf"{NAME}/{entry.message_id}\D".encode(), payload), entry.message_id  # read from it
    report = verify_archive(unit_of_work, warcs=WarcArchive(media / "warc"))
    assert report.ok, [finding.describe() for finding in report.findings]
    assert len(responses) + len(files) == report.captures


def test_a_compressed_page_is_kept_as_sent_and_read_decoded(
    preview: FakeWebPreview, unit_of_work: UoW, tmp_path: Path
) -> None:
    """A gzip page: parsed decoded, kept compressed with its Content-Encoding, hashed as sent."""
    preview.compress_pages = True
    media = tmp_path / "media"
    backfill(preview, unit_of_work, media)

    with unit_of_work() as uow:
        assert ALL_IDS == uow.posts.ids(CHANNEL_ID)
        captures = {
            entry.warc_record_id: entry for entry in uow.ledger.entries(CHANNEL_ID) if entry.kind == CAPTURE
        }
    (path,) = (media / "warc" / str(CHANNEL_ID)).glob("*.warc.gz")
    seen = 0
    with path.open("rb") as handle:
        for record in ArchiveIterator(handle):
            if record.rec_type != "response" or "/cdn/" in record.rec_headers.get_header("WARC-Target-URI"):
                continue  # a file the post holds (kept too; not compressed by the server)
            assert "gzip" == record.http_headers.get_header("Content-Encoding")
            payload = record.raw_stream.read()
            assert payload.startswith(b"\x1f\x8b") and b"tgme_widget_message" in gzip.decompress(payload)
            entry = captures[record.rec_headers.get_header("WARC-Record-ID")]
            assert hashlib.sha256(payload).hexdigest() == entry.record_sha256
            seen += 1
    assert seen == len(captures) > 1
    assert verify_archive(unit_of_work, warcs=WarcArchive(media / "warc")).ok


def test_a_capture_entry_seals_its_warc_record_id(
    preview: FakeWebPreview, unit_of_work: UoW, tmp_path: Path
) -> None:
    """The record id is part of the entry's hash, as published (ledger.jsonl): changing it breaks the chain."""
    backfill(preview, unit_of_work, tmp_path / "media")
    with unit_of_work() as uow:
        entry = next(entry for entry in uow.ledger.entries(CHANNEL_ID) if entry.kind == CAPTURE)
        plain = next(entry for entry in uow.ledger.entries(CHANNEL_ID) if entry.kind != CAPTURE)
    assert entry.warc_record_id is not None
    published, other = entry.as_json(), plain.as_json()
    assert entry.warc_record_id == published["warc_record_id"] and "warc_record_id" not in other

    def sealed(line: dict[str, object]) -> str:  # as verify --site and --bundle hash a published line
        return sha256_hex(
            canonical_bytes({key: value for key, value in line.items() if key != "entry_sha256"})
        )

    assert entry.entry_sha256 == sealed(published) == entry_hash(entry)
    assert plain.entry_sha256 == sealed(other)
    assert entry.entry_sha256 != sealed(published | {"warc_record_id": "<urn:uuid:0>"})


def _members(data: bytes) -> list[bytes]:
    """The decompressed gzip members of a file, one per WARC record."""
    members = []
    while data:
        inflater = zlib.decompressobj(31)
        members.append(inflater.decompress(data))
        data = inflater.unused_data
    return members


def test_verify_names_a_page_altered_or_lost_in_the_warc_file(
    preview: FakeWebPreview, unit_of_work: UoW, tmp_path: Path
) -> None:
    """A page's bytes changed in the WARC file, then the file gone: verify names the posts' entries."""
    media = tmp_path / "media"
    backfill(preview, unit_of_work, media)
    (path,) = (media / "warc" / str(CHANNEL_ID)).glob("*.warc.gz")
    members = _members(path.read_bytes())
    altered = [member.replace(b"Corrected text", b"Corrupted text") for member in members]
    assert altered != members
    path.write_bytes(b"".join(gzip.compress(member) for member in altered))
    warcs = WarcArchive(media / "warc")

    report = verify_archive(unit_of_work, warcs=warcs)
    problems = [finding.describe() for finding in report.findings]
    assert any(
        "post 13 entry" in line and "differs from the one the ledger recorded" in line for line in problems
    )
    assert all("altered" in line for line in problems)

    path.unlink()
    lost = [finding.describe() for finding in verify_archive(unit_of_work, warcs=warcs).findings]
    assert any("post 13" in line and "is missing" in line for line in lost)


def test_verify_names_a_file_altered_in_the_warc_file(
    preview: FakeWebPreview, unit_of_work: UoW, tmp_path: Path
) -> None:
    """A downloaded file's bytes changed in its WARC record: verify names the post's ``media`` entry."""
    media = tmp_path / "media"
    backfill(preview, unit_of_work, media)
    (path,) = (media / "warc" / str(CHANNEL_ID)).glob("*.warc.gz")
    members = _members(path.read_bytes())
    files = [
        n
        for n, member in enumerate(members)
        if b"WARC-Type: response" in member and re.search(rb"WARC-Target-URI: [^\r\n]*/cdn/", member)
    ]
    assert len(files) == 8
    altered = bytearray(members[files[0]])
    altered[-5] ^= 1  # the last byte of the payload (the record ends with two CRLFs)
    members[files[0]] = bytes(altered)
    path.write_bytes(b"".join(gzip.compress(member) for member in members))
    report = verify_archive(unit_of_work, warcs=WarcArchive(media / "warc"))
    problems = [finding.describe() for finding in report.findings]
    assert len(problems) == 1 and "the file in WARC record" in problems[0], problems
    assert "differs from the one the ledger recorded: altered" in problems[0]


def test_a_capture_cut_short_by_a_crash_is_cut_off_before_the_next_append(tmp_path: Path) -> None:
    """The file stays readable to the end: a half-written record is dropped, whole ones are kept."""
    capture = PageCapture(
        url="https://t.me/s/name?before=9",
        fetched_at=datetime(2026, 12, 7, 5, 0, tzinfo=UTC),
        request_headers=(("Host", "t.me"), ("User-Agent", "tgvault/test")),
        status=200,
        reason="OK",
        response_headers=(("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")),
        body=gzip.compress(b"<html>the page</html>"),
    )
    first = WarcArchive(tmp_path).append(1, capture)
    path = tmp_path / first.path
    whole = path.stat().st_size
    with path.open("ab") as handle:  # a crash in the middle of the next capture
        handle.write(gzip.compress(b"WARC/1.0\r\nWARC-Type: response\r\n")[:25])
    assert whole == complete_length(path) < path.stat().st_size

    second = WarcArchive(tmp_path).append(1, capture)  # a new run: the broken tail goes first

    with path.open("rb") as handle:
        ids = [
            record.rec_headers.get_header("WARC-Record-ID")
            for record in ArchiveIterator(handle)
            if record.rec_type == "response"
        ]
    assert [first.record_id, second.record_id] == ids
    assert hashlib.sha256(capture.body).hexdigest() == second.payload_sha256
    assert 0 == cut_broken_tail(path)
