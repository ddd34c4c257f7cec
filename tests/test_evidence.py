"""Evidence bundles: one post's proof in a folder, checked by `verify --bundle` and by sha256sum and
openssl alone; a record, an entry, the token or the readable JSON changed is found."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tests.test_ledger import T0, archive_with_history, make_post
from tests.tsa_support import LocalTsa, local_tsa

from tgvault.errors import StorageError
from tgvault.export.evidence import export_evidence
from tgvault.services.evidence_check import verify_bundle
from tgvault.services.timestamps import TimestampAuthority, stamp_heads
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[LocalTsa]:
    with local_tsa(tmp_path / "tsa") as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> LocalMediaStore:
    media = LocalMediaStore(tmp_path / "media")
    media.prepare()
    return media


@pytest.fixture
def stamped_archive(unit_of_work: UoW, store: LocalMediaStore, tsa: LocalTsa) -> UoW:
    archive_with_history(unit_of_work, store)
    stamp_heads(unit_of_work, TimestampAuthority.from_files(tsa.url, tsa.ca_file))
    return unit_of_work


def bundle(uow_factory: UoW, store: LocalMediaStore, folder: Path, message_id: int) -> Path:
    with uow_factory() as uow:
        export_evidence(uow, 1001, message_id, folder, store, made_at="2026-12-07T04:00:00+00:00")
    return folder


def resum(folder: Path) -> None:
    """What a forger would do after changing a file: write SHA256SUMS again."""
    lines = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "SHA256SUMS"):
        lines.append(
            f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(folder).as_posix()}\n"
        )
    (folder / "SHA256SUMS").write_text("".join(lines))


def test_a_bundle_holds_every_revision_the_file_and_a_stamped_chain(
    stamped_archive: UoW, store: LocalMediaStore, tmp_path: Path, tsa: LocalTsa
) -> None:
    edited = bundle(stamped_archive, store, tmp_path / "post-2", 2)
    with_file = bundle(stamped_archive, store, tmp_path / "post-4", 4)
    for folder in (edited, with_file):
        report = verify_bundle(folder)
        assert report.problems == []
        assert report.stamped
    names = {p.relative_to(edited).as_posix() for p in edited.rglob("*") if p.is_file()}
    assert {
        "post.json",
        "post.html",
        "records/revision-1.json",
        "records/current.json",
        "ledger.jsonl",
    } <= names
    assert {"head.json", "head.tsr", "tsa-ca.pem", "README.md", "SHA256SUMS", "raw/current.json"} <= names
    document = json.loads((edited / "post.json").read_text())
    assert [document["post"]["text"], document["revisions"][0]["text"]] == ["hello, edited", "hello"]
    assert [p.name for p in (with_file / "media").iterdir()] and verify_bundle(with_file).files == 1
    # The README's steps, with standard tools only.
    assert (
        "OK"
        in subprocess.run(
            ["sha256sum", "-c", "SHA256SUMS"], cwd=edited, capture_output=True, text=True
        ).stdout
    )
    head = json.loads((edited / "head.json").read_text())
    checked = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-digest",
            head["entry_sha256"],
            "-in",
            "head.tsr",
            "-CAfile",
            "tsa-ca.pem",
        ],
        cwd=edited,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Verification: OK" in checked.stdout, checked.stderr
    current = hashlib.sha256((edited / "records" / "current.json").read_bytes()).hexdigest()
    assert current in (edited / "ledger.jsonl").read_text()
    assert f"openssl ts -verify -digest {head['entry_sha256']}" in (edited / "README.md").read_text()
    for line in (edited / "ledger.jsonl").read_text().splitlines():  # the chain step, with jq
        sealed = subprocess.run(
            ["jq", "-cS", "del(.entry_sha256)"], input=line, capture_output=True, text=True
        )
        digest = hashlib.sha256(sealed.stdout.rstrip("\n").encode()).hexdigest()
        assert digest == json.loads(line)["entry_sha256"]


TAMPERING = {
    "record changed": (
        lambda folder: (folder / "records" / "current.json").write_bytes(
            (folder / "records" / "current.json").read_bytes().replace(b"hello, edited", b"hello, forged")
        ),
        "records/current.json: its sha256 is in no ledger entry of the post: altered",
    ),
    "readable JSON changed": (
        lambda folder: (folder / "post.json").write_text(
            (folder / "post.json").read_text().replace('"hello, edited"', '"hello, forged"')
        ),
        "post.json: the post's text is not the one in records/current.json",
    ),
    "entry removed": (
        lambda folder: (folder / "ledger.jsonl").write_text(
            "".join(
                line + "\n"
                for i, line in enumerate((folder / "ledger.jsonl").read_text().splitlines())
                if i != 1
            )
        ),
        "entries between",
    ),
    "token swapped": (
        lambda folder: shutil.copyfile(folder.parent / "other" / "head.tsr", folder / "head.tsr"),
        "head.tsr: the RFC 3161 token does not check",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_a_changed_bundle_is_found_even_with_new_checksums(
    stamped_archive: UoW, store: LocalMediaStore, tmp_path: Path, tsa: LocalTsa, case: str
) -> None:
    folder = bundle(stamped_archive, store, tmp_path / "post-2", 2)
    with stamped_archive() as uow:
        uow.posts.upsert_many([make_post(9)], T0 + timedelta(days=1))
        uow.commit()
    stamp_heads(stamped_archive, TimestampAuthority.from_files(tsa.url, tsa.ca_file))
    bundle(stamped_archive, store, tmp_path / "other", 9)
    change, expected = TAMPERING[case]
    change(folder)
    assert any("changed since the bundle was made" in p for p in verify_bundle(folder).problems)
    resum(folder)
    problems = verify_bundle(folder).problems
    assert any(expected in problem for problem in problems), problems


def test_a_post_without_entries_or_a_used_folder_is_refused(
    stamped_archive: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    with pytest.raises(StorageError, match="no ledger entry"):
        bundle(stamped_archive, store, tmp_path / "none", 99)
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "note.txt").write_text("mine")
    with pytest.raises(StorageError, match="not empty"):
        bundle(stamped_archive, store, tmp_path / "used", 2)
