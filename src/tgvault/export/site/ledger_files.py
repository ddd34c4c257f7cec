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

from tgvault.export.site.writer import SiteWriter, content_hash
from tgvault.storage.ledger_records import Entry
from tgvault.storage.unit_of_work import UnitOfWork

CHUNK = 5000
FOLDER = "ledger"


def entry_line(entry: Entry) -> str:
    """One line of a ledger file: the entry's canonical JSON with its hash."""
    return json.dumps(entry.as_json(), sort_keys=True, separators=(",", ":")) + "\n"


def publish_ledger(uow: UnitOfWork, writer: SiteWriter, channel_id: int, root: str) -> None:
    """Write (or keep) the channel's ledger files and tokens under ``<root>/ledger/``."""
    head, _ = uow.ledger.head(channel_id)
    for number in range(1, (head + CHUNK - 1) // CHUNK + 1):
        first, last = (number - 1) * CHUNK + 1, min(number * CHUNK, head)
        closing = uow.ledger.entry(channel_id, last)
        if closing is None:
            continue  # a gap verify reports; the site publishes what there is
        path = f"{root}/{FOLDER}/{number}.jsonl"
        key = f"{last}:{closing.entry_sha256}"
        if writer.skip_if_current(path, key):
            continue
        kept, start = _published(uow, writer, channel_id, path, first, last)
        lines = "".join(entry_line(entry) for entry in uow.ledger.entries_range(channel_id, start, last))
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
