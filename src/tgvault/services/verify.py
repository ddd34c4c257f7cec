"""``tgvault verify``: recompute every hash of the archive and check it against the channel's ledger.

For each channel: the chain (every entry's hash from its fields, each one sealing the one before, no
sequence number missing, the head where the last entry is), then the records a page of posts at a time
(each post's current state is the last state the ledger recorded, each earlier revision, tombstone,
stored file and counters snapshot is one the ledger recorded, no entry points at a post the archive
lost), the pages and files the web source kept as WARC records (each ``capture`` entry's record, and
each ``media`` entry's that names one, found in the channel's WARC files, its payload hashed) and, with ``media``, every stored file read back and hashed. Each problem is a
:class:`Finding` naming the channel, the post and the entry; nothing is changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tgvault.services.progress import Progress, SilentProgress
from tgvault.services.timestamps import token_problem
from tgvault.storage.ledger_records import (
    CAPTURE,
    COUNTERS,
    DELETION,
    GENESIS,
    MEDIA,
    RESTORED,
    REVISION,
    Entry,
    entry_hash,
)
from tgvault.storage.media_store import MediaStore
from tgvault.storage.repositories.ledger_pages import ArchivedPost
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.storage.warc_store import WarcArchive

PAGE = 2000
READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class Finding:
    """One thing verify found wrong: where (channel, post, entry) and what, in one line."""

    channel_id: int
    message_id: int | None
    seq: int | None
    problem: str

    def describe(self) -> str:
        """The finding as one line: ``channel 1 post 5 entry 12: ...``."""
        where = [f"channel {self.channel_id}"]
        if self.message_id is not None:
            where.append(f"post {self.message_id}")
        if self.seq is not None:
            where.append(f"entry {self.seq}")
        return f"{' '.join(where)}: {self.problem}"


@dataclass
class VerifyReport:
    """What verify checked and what it found."""

    channels: int = 0
    entries: int = 0
    posts: int = 0
    media_files: int = 0
    media_bytes: int = 0
    timestamps: int = 0
    captures: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was found wrong."""
        return not self.findings


def verify_archive(
    uow_factory: Callable[[], UnitOfWork],
    channel_ids: Iterable[int] | None = None,
    *,
    media_store: MediaStore | None = None,
    warcs: WarcArchive | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Verify the given channels (every channel with a ledger or posts when None); see the module.

    ``warcs`` is where the web source's WARC files are; without it, captures are not checked."""
    progress = progress or SilentProgress()
    report = VerifyReport()
    with uow_factory() as uow:
        wanted = list(channel_ids) if channel_ids is not None else uow.ledger.all_channels()
    for channel_id in wanted:
        report.channels += 1
        with uow_factory() as uow:
            _check_chain(uow, channel_id, report)
            _check_stamps(uow, channel_id, report)
            if warcs is not None:
                _check_captures(uow, channel_id, warcs, report)
            progress.started(f"channel {channel_id}", uow.ledger.count_posts(channel_id), "posts")
            try:
                _check_records(uow, channel_id, media_store, report, progress)
            finally:
                progress.finished()
    return report


def _check_chain(uow: UnitOfWork, channel_id: int, report: VerifyReport) -> None:
    found = report.findings
    expected, previous = 1, GENESIS
    for entry in uow.ledger.entries(channel_id):
        report.entries += 1
        if entry.seq != expected:
            found.append(
                Finding(
                    channel_id,
                    entry.message_id,
                    entry.seq,
                    f"entries {expected}..{entry.seq - 1} are missing",
                )
            )
        if entry.prev_sha256 != previous:
            found.append(
                Finding(
                    channel_id,
                    entry.message_id,
                    entry.seq,
                    "does not seal the entry before it: the chain is broken",
                )
            )
        if entry_hash(entry) != entry.entry_sha256:
            found.append(
                Finding(
                    channel_id, entry.message_id, entry.seq, "altered: its hash does not match its fields"
                )
            )
        expected, previous = entry.seq + 1, entry.entry_sha256
    head_seq, head_hash = uow.ledger.head(channel_id)
    if (head_seq, head_hash) != (expected - 1, previous):
        found.append(
            Finding(
                channel_id,
                None,
                head_seq,
                f"the ledger's head is entry {head_seq} but its entries end at {expected - 1}: entries were removed",
            )
        )


def _check_stamps(uow: UnitOfWork, channel_id: int, report: VerifyReport) -> None:
    """Every RFC 3161 token must be a valid one over the entry it names, as the chain holds it."""
    for stamp in uow.ledger.stamps(channel_id):
        report.timestamps += 1
        entry = uow.ledger.entry(channel_id, stamp.seq)
        problem: str | None
        if entry is None:
            problem = "its timestamp names an entry the ledger does not hold"
        elif entry.entry_sha256 != stamp.entry_sha256:
            problem = "its timestamp was taken over another entry hash than the chain holds"
        else:
            reason = token_problem(stamp.token, stamp.certificates, entry.entry_sha256)
            problem = None if reason is None else f"its RFC 3161 token does not check: {reason}"
        if problem is not None:
            report.findings.append(Finding(channel_id, None, stamp.seq, problem))


def _check_captures(uow: UnitOfWork, channel_id: int, warcs: WarcArchive, report: VerifyReport) -> None:
    """Every ``capture`` entry's WARC record must be in the channel's files and hold the page it recorded."""
    wanted: dict[str, list[Entry]] = {}
    for entry in uow.ledger.entries(channel_id):
        if entry.kind == CAPTURE or (entry.kind == MEDIA and entry.warc_record_id is not None):
            wanted.setdefault(entry.warc_record_id or "", []).append(entry)
    if not wanted:
        return
    for stored in warcs.responses(channel_id):
        entries = wanted.pop(stored.record_id, None)
        if entries is None:
            continue
        report.captures += 1
        for entry in entries:
            page = entry.kind == CAPTURE
            if (entry.record_sha256 if page else entry.media_sha256) != stored.payload_sha256:
                report.findings.append(
                    Finding(
                        channel_id,
                        entry.message_id,
                        entry.seq,
                        f"the {'page' if page else 'file'} in WARC record {stored.record_id} ({stored.path}) "
                        "differs from the one the ledger recorded: altered",
                    )
                )
    for record_id, entries in sorted(wanted.items()):
        report.findings.extend(
            Finding(
                channel_id,
                entry.message_id,
                entry.seq,
                f"the WARC record {record_id or '(none named)'} of the "
                f"{'page it was read from' if entry.kind == CAPTURE else 'file'} is missing",
            )
            for entry in entries
        )


def _check_records(
    uow: UnitOfWork, channel_id: int, media_store: MediaStore | None, report: VerifyReport, progress: Progress
) -> None:
    after = 0
    while True:
        posts = uow.ledger.archived_posts(channel_id, after=after, limit=PAGE)
        last_page = len(posts) < PAGE
        upto = None if last_page else posts[-1].message_id
        by_post: dict[int, list[Entry]] = {}
        for entry in uow.ledger.entries_between(channel_id, after, upto):
            if entry.message_id is not None:
                by_post.setdefault(entry.message_id, []).append(entry)
        size = 0
        for post in posts:
            entries = by_post.pop(post.message_id, [])
            report.findings.extend(_post_findings(channel_id, post, entries))
            if media_store is not None and post.media is not None:
                size += _check_file(channel_id, post, entries, media_store, report)
        for message_id, entries in sorted(by_post.items()):
            report.findings.append(
                Finding(
                    channel_id,
                    message_id,
                    entries[0].seq,
                    "recorded in the ledger but missing from the archive",
                )
            )
        report.posts += len(posts)
        progress.advance(len(posts), size)
        if last_page:
            return
        after = posts[-1].message_id


def _post_findings(channel_id: int, post: ArchivedPost, entries: list[Entry]) -> list[Finding]:
    found: list[Finding] = []
    message_id = post.message_id

    def finding(entry: Entry | None, problem: str) -> None:
        found.append(Finding(channel_id, message_id, None if entry is None else entry.seq, problem))

    states = [e for e in entries if e.kind == REVISION]
    if not states:
        finding(None, "has no ledger entry: it was not written by tgvault")
    elif states[-1].record_sha256 != post.state.sha256(states[-1].form_version):
        finding(
            states[-1],
            "text, formatting, edit date, poll or link preview differ from what the ledger recorded: altered",
        )
    recorded = {e.record_sha256 for e in states}
    forms = sorted({e.form_version for e in states}, reverse=True)
    for number, state, _ in post.revisions:
        if states and not any(state.sha256(form) in recorded for form in forms):
            finding(None, f"revision {number} differs from every state the ledger recorded: altered")
    marks = [e for e in entries if e.kind in (DELETION, RESTORED)]
    last_mark = marks[-1] if marks else None
    if post.deleted_at is not None:
        if last_mark is None or last_mark.kind != DELETION:
            finding(last_mark, "has a tombstone the ledger never recorded")
        elif last_mark.record_sha256 != post.deletion_sha256:
            finding(last_mark, "its deletion time differs from what the ledger recorded: altered")
    elif last_mark is not None and last_mark.kind == DELETION:
        finding(last_mark, "was recorded deleted, but the archive shows it live: the tombstone was removed")
    if post.media is not None:
        files = [e for e in entries if e.kind == MEDIA]
        if not files:
            finding(None, "has a stored file the ledger never recorded")
        elif files[-1].record_sha256 != post.media.record_sha256:
            finding(
                files[-1], "its file record (hash or size) differs from what the ledger recorded: altered"
            )
    counted = {e.record_sha256 for e in entries if e.kind == COUNTERS}
    for snapshot, observed_at in post.counters:
        if snapshot not in counted:
            finding(
                None,
                f"its counters snapshot of {observed_at.isoformat()} was not recorded in the ledger: altered",
            )
    return found


def _check_file(
    channel_id: int, post: ArchivedPost, entries: list[Entry], store: MediaStore, report: VerifyReport
) -> int:
    """Hash the post's stored file; a finding when it is missing or not the file the ledger recorded."""
    assert post.media is not None
    files = [e for e in entries if e.kind == MEDIA]
    entry = files[-1] if files else None
    expected = entry.media_sha256 if entry is not None else post.media.sha256
    seq = None if entry is None else entry.seq
    path = store.path_of(post.media.path) if post.media.path else None
    if path is None or not path.is_file():
        report.findings.append(
            Finding(channel_id, post.message_id, seq, f"its file {post.media.path} is missing")
        )
        return 0
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    report.media_files += 1
    report.media_bytes += size
    if digest.hexdigest() != expected:
        report.findings.append(
            Finding(
                channel_id,
                post.message_id,
                seq,
                f"its file {post.media.path} is corrupt: its sha256 is not the one recorded",
            )
        )
    return size
