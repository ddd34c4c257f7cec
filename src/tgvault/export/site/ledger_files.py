"""Each channel's ledger published beside its pages, so that anyone holding a copy of the site checks it
with ``tgvault verify --site DIR``:

* ``<channel>/ledger/<n>.jsonl``: the entries, one JSON object a line (as in an evidence bundle), in
  files of :data:`CHUNK` entries (file ``n`` holds entries ``(n-1)*CHUNK+1`` to ``n*CHUNK``);
* ``<channel>/ledger/timestamps/<seq>.tsr``: each RFC 3161 token, over the entry ``seq``; and
  ``<channel>/ledger/tsa-ca.pem``, the TSA's CA certificate.

They are written through the site's writer (so the manifest knows them, an incremental build rewrites
only the last, growing file, and a channel no longer in the site loses them). A file is keyed by the
hash of its last entry: a full file is never read again.
"""

from __future__ import annotations

import json

from tgvault.export.site.writer import SiteWriter
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
        lines = "".join(entry_line(entry) for entry in uow.ledger.entries_range(channel_id, first, last))
        writer.write(path, lines, key)
    stamps = uow.ledger.stamps(channel_id)
    for stamp in stamps:
        path = f"{root}/{FOLDER}/timestamps/{stamp.seq}.tsr"
        if not writer.skip_if_current(path, stamp.entry_sha256):
            writer.write(path, stamp.token, stamp.entry_sha256)
    if stamps:
        writer.write(f"{root}/{FOLDER}/tsa-ca.pem", stamps[-1].certificates)
