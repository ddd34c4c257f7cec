"""Each channel's ledger published beside its pages, so that anyone holding a copy of the site checks it
with ``tgvault verify --site DIR``:

* ``<channel>/ledger/<n>.jsonl``: the entries, one JSON object a line (as in an evidence bundle), in
  files of :data:`CHUNK` entries (file ``n`` holds entries ``(n-1)*CHUNK+1`` to ``n*CHUNK``);
* ``<channel>/ledger/timestamps/<seq>.tsr``: each RFC 3161 token, over the entry ``seq``; and
  ``<channel>/ledger/tsa-ca.pem``, the TSA's CA certificate.

They are written through the site's writer (so the manifest knows them, an incremental build rewrites
only the last, growing file, and a channel no longer in the site loses them). A file is keyed by the
hash of its last entry: a full file is never read again, and the growing one is appended to — its lines
already published are kept as they are (when the file is the one the manifest recorded, and its last
entry still the archive's), so a rebuild reads only the entries added since.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from json.encoder import encode_basestring_ascii

from tgvault.export.site.writer import SiteWriter, content_hash
from tgvault.storage.ledger_records import Entry, timestamp
from tgvault.storage.unit_of_work import UnitOfWork

CHUNK = 5000
FOLDER = "ledger"


def entry_line(entry: Entry) -> str:
    """One line of a ledger file: the entry's canonical JSON with its hash."""
    return json.dumps(entry.as_json(), sort_keys=True, separators=(",", ":")) + "\n"


def _json(value: object) -> str:
    """A value of an entry as ``json.dumps`` writes it (None, an int or a string)."""
    if value is None:
        return "null"
    if type(value) is str:
        return encode_basestring_ascii(value)
    if type(value) is int:
        return str(value)
    return json.dumps(value)


def entry_lines(entries: Iterable[Entry]) -> str:
    """The lines of these entries, exactly as :func:`entry_line` writes each (keys in sorted order), but
    without a dictionary and a JSON encoding an entry: a full build writes every entry of the ledger, two
    or more a post. Times are written once each."""
    times: dict[datetime | None, str] = {}
    out = []
    for entry in entries:
        observed, backfilled = entry.observed_at, entry.backfilled_at
        observed_json = times.get(observed)
        if observed_json is None:
            observed_json = times[observed] = _json(timestamp(observed))
        backfilled_json = times.get(backfilled)
        if backfilled_json is None:
            backfilled_json = times[backfilled] = _json(timestamp(backfilled))
        warc = entry.warc_record_id
        out.append(
            f'{{"backfilled_at":{backfilled_json},"channel_id":{_json(entry.channel_id)},'
            f'"entry_sha256":{_json(entry.entry_sha256)},"kind":{_json(entry.kind)},'
            f'"media_sha256":{_json(entry.media_sha256)},"message_id":{_json(entry.message_id)},'
            f'"observed_at":{observed_json},"prev_sha256":{_json(entry.prev_sha256)},'
            f'"record_sha256":{_json(entry.record_sha256)},"seq":{_json(entry.seq)},"v":{entry.form_version}'
            + ("}\n" if warc is None else f',"warc_record_id":{_json(warc)}}}\n')
        )
    return "".join(out)


def publish_ledger(uow: UnitOfWork, writer: SiteWriter, channel_id: int, root: str) -> None:
    """Write (or keep) the channel's ledger files and tokens under ``<root>/ledger/``."""
    head, _ = uow.ledger.head(channel_id)
    numbers = range(1, (head + CHUNK - 1) // CHUNK + 1)
    closings = uow.ledger.entry_hashes(channel_id, [min(number * CHUNK, head) for number in numbers])
    for number in numbers:
        first, last = (number - 1) * CHUNK + 1, min(number * CHUNK, head)
        closing = closings.get(last)
        if closing is None:
            continue  # a gap verify reports; the site publishes what there is
        path = f"{root}/{FOLDER}/{number}.jsonl"
        key = f"{last}:{closing}"
        if writer.skip_if_current(path, key):
            continue
        kept, start = _published(uow, writer, channel_id, path, first, last)
        lines = entry_lines(uow.ledger.entries_range(channel_id, start, last))
        writer.write(path, kept + lines.encode("utf-8"), key)
    stamps = uow.ledger.stamps(channel_id)
    for stamp in stamps:
        path = f"{root}/{FOLDER}/timestamps/{stamp.seq}.tsr"
        if not writer.skip_if_current(path, stamp.entry_sha256):
            writer.write(path, stamp.token, stamp.entry_sha256)
    if stamps:
        writer.write(f"{root}/{FOLDER}/tsa-ca.pem", stamps[-1].certificates)


def _published(
    uow: UnitOfWork, writer: SiteWriter, channel_id: int, path: str, first: int, last: int
) -> tuple[bytes, int]:
    """The lines of a growing ledger file an earlier build published, to append to, and the first entry
    to add after them: ``(b"", first)`` unless the file is exactly as that build wrote it and ended on an
    entry the archive still has with the same hash."""
    entry = writer.manifest.page(path)
    if entry is None or not entry[0] or ":" not in entry[0]:
        return b"", first
    seq_text, sha = entry[0].split(":", 1)
    if not seq_text.isdigit() or not first <= int(seq_text) < last:
        return b"", first
    seq = int(seq_text)
    closing = uow.ledger.entry(channel_id, seq)
    if closing is None or closing.entry_sha256 != sha:
        return b"", first
    try:
        data = (writer.out_dir / path).read_bytes()
    except OSError:
        return b"", first
    if content_hash(data) != entry[1] or data.count(b"\n") != seq - first + 1:
        return b"", first
    return data, seq + 1
