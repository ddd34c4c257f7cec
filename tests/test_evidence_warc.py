"""Evidence bundles of a post the web source read carry the WARC records of its pages and of its file as
downloaded: checked by `verify --bundle`, by `sha256sum -c` and by warcio's own command line; a page
altered or left out is found."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
import zlib
from pathlib import Path

from tests.test_evidence import resum
from tests.test_webpreview_warc import ALL_IDS, CHANNEL_ID, UoW, backfill, preview  # noqa: F401
from warcio.archiveiterator import ArchiveIterator

from tgvault.export.evidence import export_evidence
from tgvault.services.evidence_check import verify_bundle
from tgvault.storage.ledger_records import CAPTURE, MEDIA
from tgvault.storage.media_store import LocalMediaStore
from tgvault.testing.webpreview import FakeWebPreview

POST = ALL_IDS[3]


def web_bundle(fake: FakeWebPreview, unit_of_work: UoW, tmp_path: Path) -> Path:
    media = tmp_path / "media"
    backfill(fake, unit_of_work, media)
    folder = tmp_path / "bundle"
    with unit_of_work() as uow:
        export_evidence(uow, CHANNEL_ID, POST, folder, LocalMediaStore(media), made_at="2026-12-07T12:00:00Z")
    return folder


def members(path: Path) -> list[bytes]:
    """The decompressed gzip members of a WARC file (one record each)."""
    data, found = path.read_bytes(), []
    while data:
        inflater = zlib.decompressobj(31)
        found.append(inflater.decompress(data))
        data = inflater.unused_data
    return found


def test_a_web_post_bundle_carries_its_pages_warc_records(
    preview: FakeWebPreview,  # noqa: F811
    unit_of_work: UoW,
    tmp_path: Path,
) -> None:
    folder = web_bundle(preview, unit_of_work, tmp_path)
    warc = folder / "warc" / "captures.warc.gz"
    with unit_of_work() as uow:
        entries = [e for e in uow.ledger.entries(CHANNEL_ID) if e.message_id == POST]
    captures = [e for e in entries if e.kind == CAPTURE]
    files = [e for e in entries if e.kind == MEDIA]
    assert captures and len(files) == 1 and files[0].warc_record_id  # the file, downloaded, kept as WARC
    types: dict[str, str] = {}
    payloads: dict[str, bytes] = {}
    with warc.open("rb") as handle:
        for record in ArchiveIterator(handle):
            record_id = record.rec_headers.get_header("WARC-Record-ID")
            types[record_id] = record.rec_type
            if record.rec_type == "response":
                payloads[record_id] = record.raw_stream.read()
    pages = {e.warc_record_id for e in captures}
    assert pages | {files[0].warc_record_id} == set(payloads)
    assert all(f"/{POST}".encode() in payloads[str(page)] for page in pages)
    with unit_of_work() as uow:
        kept = uow.posts.get(CHANNEL_ID, POST).media.path  # type: ignore[union-attr]
    stored = LocalMediaStore(tmp_path / "media").path_of(str(kept)).read_bytes()
    assert payloads[str(files[0].warc_record_id)] == stored  # the file's bytes, as downloaded
    assert hashlib.sha256(stored).hexdigest() == files[0].media_sha256
    assert sorted(types.values()).count("request") == len(payloads)  # each response with its request
    report = verify_bundle(folder)
    assert report.problems == [] and report.pages == len(payloads)
    assert "warc/captures.warc.gz" in (folder / "SHA256SUMS").read_text()
    readme = (folder / "README.md").read_text()
    assert "warcio extract --payload warc/captures.warc.gz" in readme and "replayweb.page" in readme
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=folder, check=True)
    # the README's steps with warcio's own command line: the payload's sha256 is the entry's record_sha256
    warcio = [sys.executable, "-m", "warcio.cli"]
    index = subprocess.run(
        [*warcio, "index", "-f", "warc-record-id,warc-type,offset", str(warc)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    offsets = {
        line.split('"warc-record-id": "')[1].split('"')[0]: line.split('"offset": "')[1].split('"')[0]
        for line in index.splitlines()
        if '"response"' in line
    }
    for entry in [*captures, *files]:
        payload = subprocess.run(
            [*warcio, "extract", "--payload", str(warc), offsets[str(entry.warc_record_id)]],
            check=True,
            capture_output=True,
        ).stdout
        expected = entry.record_sha256 if entry.kind == CAPTURE else entry.media_sha256
        assert hashlib.sha256(payload).hexdigest() == expected


def test_a_page_altered_or_left_out_of_the_bundle_is_found(
    preview: FakeWebPreview,  # noqa: F811
    unit_of_work: UoW,
    tmp_path: Path,
) -> None:
    folder = web_bundle(preview, unit_of_work, tmp_path)
    warc = folder / "warc" / "captures.warc.gz"
    original = warc.read_bytes()
    forged = [m.replace(b"tgme_widget_message_text", b"tgme_widget_message_TEXT") for m in members(warc)]
    warc.write_bytes(b"".join(gzip.compress(m) for m in forged))
    resum(folder)
    problems = verify_bundle(folder).problems
    assert problems and all("differs from the one the ledger recorded: altered" in p for p in problems)
    warc.write_bytes(original)
    resum(folder)
    assert verify_bundle(folder).problems == []
    warc.unlink()
    resum(folder)
    problems = verify_bundle(folder).problems
    assert problems and all("is not in warc/" in p for p in problems), problems
