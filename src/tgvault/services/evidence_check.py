"""``tgvault verify --bundle DIR``: check an evidence folder (``tgvault export evidence``) on its own.

No archive is needed: the folder's checksums, the chain of its ledger entries up to the head, the
RFC 3161 token over the head (offline, with the CA certificate in the folder), each record and file
against the entries that hashed it, each web page a ``capture`` entry names against the WARC records
in ``warc/``, and the readable ``post.json`` against the records.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tgvault.services.timestamps import token_problem
from tgvault.storage.ledger_records import CAPTURE, GENESIS, MEDIA, REVISION, canonical_bytes, sha256_hex
from tgvault.storage.warc_store import read_responses


@dataclass
class BundleReport:
    """What a bundle check found: problems (empty when the bundle holds), and what it checked."""

    problems: list[str] = field(default_factory=list)
    entries: int = 0
    records: int = 0
    files: int = 0
    pages: int = 0
    stamped: bool = False

    @property
    def ok(self) -> bool:
        """True when nothing was found wrong."""
        return not self.problems


def verify_bundle(folder: Path) -> BundleReport:
    """Check the evidence folder (see the module)."""
    report = BundleReport()
    problems = report.problems
    if not (folder / "ledger.jsonl").is_file() or not (folder / "head.json").is_file():
        problems.append(f"{folder} is not an evidence folder (no ledger.jsonl and head.json)")
        return report
    _check_sums(folder, problems)
    entries = _check_chain(folder, report)
    head = _load(folder / "head.json", problems)
    if head is None or not entries:
        return report
    if (head.get("seq"), head.get("entry_sha256")) != (
        entries[-1].get("seq"),
        entries[-1].get("entry_sha256"),
    ):
        problems.append("head.json does not name the last entry of ledger.jsonl")
    if (folder / "head.tsr").is_file():
        report.stamped = True
        ca = (folder / "tsa-ca.pem").read_bytes() if (folder / "tsa-ca.pem").is_file() else b""
        reason = token_problem((folder / "head.tsr").read_bytes(), ca, str(head.get("entry_sha256")))
        if reason is not None:
            problems.append(f"head.tsr: the RFC 3161 token does not check: {reason}")
    document = _load(folder / "post.json", problems)
    message_id = None if document is None else document.get("post", {}).get("message_id")
    mine = [e for e in entries if e.get("message_id") == message_id]
    _check_records(folder, mine, document, report)
    _check_pages(folder, mine, report)
    return report


def _check_pages(folder: Path, mine: list[dict[str, Any]], report: BundleReport) -> None:
    """Each ``capture`` entry's page must be in the bundle's WARC records, with the hash it recorded."""
    captures = [
        e for e in mine if e.get("kind") == CAPTURE or (e.get("kind") == MEDIA and e.get("warc_record_id"))
    ]
    if not captures:
        return
    pages = {
        stored.record_id: stored
        for path in sorted((folder / "warc").glob("*.warc.gz"))
        for stored in read_responses(path, f"warc/{path.name}")
    }
    report.pages = len(pages)
    for entry in captures:
        record_id = entry.get("warc_record_id")
        stored = pages.get(str(record_id))
        if stored is None:
            report.problems.append(
                f"entry {entry.get('seq')}: the WARC record {record_id} of its page or file is not in warc/"
            )
        elif stored.payload_sha256 != entry.get(
            "record_sha256" if entry.get("kind") == CAPTURE else "media_sha256"
        ):
            report.problems.append(
                f"entry {entry.get('seq')}: the page or file in WARC record {record_id} ({stored.path}) "
                "differs from the one the ledger recorded: altered"
            )


def _load(path: Path, problems: list[str]) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        problems.append(f"{path.name}: unreadable ({error})")
        return None


def _check_sums(folder: Path, problems: list[str]) -> None:
    sums = folder / "SHA256SUMS"
    if not sums.is_file():
        problems.append("SHA256SUMS is missing")
        return
    listed = set()
    for line in sums.read_text(encoding="utf-8").splitlines():
        expected, _, name = line.partition("  ")
        listed.add(name)
        path = folder / name
        if ".." in Path(name).parts or not path.is_file():
            problems.append(f"{name}: listed in SHA256SUMS but missing")
        elif _file_sha256(path) != expected:
            problems.append(f"{name}: changed since the bundle was made (its sha256 differs from SHA256SUMS)")
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and name != "SHA256SUMS" and name not in listed:
            problems.append(f"{name}: not part of the bundle (not in SHA256SUMS)")


def _check_chain(folder: Path, report: BundleReport) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    with (folder / "ledger.jsonl").open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            _check_line(number, line, entries, report)
    report.entries = len(entries)
    return entries


def _check_line(number: int, line: str, entries: list[dict[str, Any]], report: BundleReport) -> None:
    """One line of a ledger.jsonl, appended to ``entries`` (whose last item is the line before): its
    hash, its link to the line before, its sequence number."""
    try:
        entry = json.loads(line)
    except ValueError:
        report.problems.append(f"ledger.jsonl line {number}: not JSON")
        return
    previous = entries[-1] if entries else None
    sealed = {key: value for key, value in entry.items() if key != "entry_sha256"}
    seq = entry.get("seq")
    if sha256_hex(canonical_bytes(sealed)) != entry.get("entry_sha256"):
        report.problems.append(f"entry {seq}: altered: its hash does not match its fields")
    if previous is not None and entry.get("prev_sha256") != previous.get("entry_sha256"):
        report.problems.append(f"entry {seq}: does not seal the entry before it: the chain is broken")
    if previous is None and seq == 1 and entry.get("prev_sha256") != GENESIS:
        report.problems.append("entry 1: does not start the chain")
    if previous is not None and seq != previous.get("seq", 0) + 1:
        report.problems.append(f"entry {seq}: entries between {previous.get('seq')} and {seq} are missing")
    entries.append(entry)


def _check_records(folder: Path, mine: list[dict[str, Any]], document: Any, report: BundleReport) -> None:
    recorded = {e.get("record_sha256") for e in mine}
    files = {e.get("media_sha256") for e in mine if e.get("kind") == MEDIA}
    states = [e for e in mine if e.get("kind") == REVISION]
    records: dict[str, Any] = {}
    for path in sorted((folder / "records").glob("*.json")):
        data = path.read_bytes()
        report.records += 1
        try:
            records[path.stem] = json.loads(data)
            canonical = canonical_bytes(records[path.stem]) == data
        except (ValueError, TypeError):
            canonical = False
        if not canonical:
            report.problems.append(f"records/{path.name}: not in canonical form")
        elif sha256_hex(data) not in recorded:
            report.problems.append(
                f"records/{path.name}: its sha256 is in no ledger entry of the post: altered"
            )
    current = folder / "records" / "current.json"
    if not states:
        report.problems.append("the ledger holds no state of the post")
    elif not current.is_file() or sha256_hex(current.read_bytes()) != states[-1].get("record_sha256"):
        report.problems.append(
            f"records/current.json is not the last state the ledger recorded (entry {states[-1].get('seq')})"
        )
    for path in sorted((folder / "media").glob("*")):
        report.files += 1
        if _file_sha256(path) not in files:
            report.problems.append(f"media/{path.name}: its sha256 is in no ledger entry of the post")
    if document is not None and "current" in records:
        post = document.get("post", {})
        if post.get("text") != records["current"].get("text"):
            report.problems.append("post.json: the post's text is not the one in records/current.json")
        for revision in document.get("revisions", []):
            kept = records.get(f"revision-{revision.get('revision')}")
            if kept is None or kept.get("text") != revision.get("text"):
                report.problems.append(
                    f"post.json: revision {revision.get('revision')} is not the one in records/"
                )


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_site(folder: Path) -> BundleReport:
    """Check the ledgers a site publishes (``<channel>/ledger/<n>.jsonl``, ``ledger/timestamps/``): each
    chain, and each token against the entry it names. Problems are prefixed with the channel's folder."""
    report = BundleReport()
    ledgers = sorted({path.parent for path in folder.rglob("ledger/*.jsonl")})
    if not ledgers:
        report.problems.append(f"{folder} publishes no ledger (built before the ledger, or not a site)")
    for ledger in ledgers:
        channel = BundleReport()
        stamps = ledger / "timestamps"
        tokens = {int(t.stem): t for t in stamps.glob("*.tsr") if t.stem.isdigit()}
        hashes: dict[int, str] = {}  # of the entries a token names only: memory stays flat
        first: int | None = None
        lines: list[dict[str, Any]] = []
        files = sorted((p for p in ledger.glob("*.jsonl") if p.stem.isdigit()), key=lambda p: int(p.stem))
        for file in files:
            with file.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, start=1):
                    _check_line(number, line, lines, channel)
                    if lines:
                        seq = int(lines[-1].get("seq", 0))
                        first = seq if first is None else first
                        if seq in tokens:
                            hashes[seq] = str(lines[-1].get("entry_sha256"))
                        del lines[:-1]  # only the line before is needed
                        report.entries += 1
        if first is not None and first != 1:
            channel.problems.append("the ledger does not start at entry 1")
        ca = (ledger / "tsa-ca.pem").read_bytes() if (ledger / "tsa-ca.pem").is_file() else b""
        for seq, token in sorted(tokens.items()):
            report.files += 1
            report.stamped = True
            if seq not in hashes:
                channel.problems.append(f"{token.name}: names an entry the ledger does not publish")
                continue
            reason = token_problem(token.read_bytes(), ca, hashes[seq])
            if reason is not None:
                channel.problems.append(f"{token.name}: the RFC 3161 token does not check: {reason}")
        where = ledger.parent.relative_to(folder).as_posix()
        report.problems.extend(f"{where}: {problem}" for problem in channel.problems)
    return report
