"""The search index's own CPU in a build from scratch: filing every post's keys in the spill, then
writing every bucket, in one process, with no file written (the bytes are hashed instead).

    python -m bench.search_filing --work /tmp/search-filing [--n 20000]

Uses (or fills, as bench/site_scale.py does) a SQLite archive of ``--n`` realistic posts. Prints one JSON
line: CPU seconds of filing (``SpillPart.add`` and its flushes) and of writing the buckets (merging the
runs, cutting and encoding the lists, the scripts' JSON), the files and a hash of their paths and bytes
(the same in two trees = the same index). Run it with ``PYTHONPATH=<tree>/src`` to compare two trees.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import sqlite3
from pathlib import Path

from bench.site_scale import fill


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


class _Sink:
    """Takes the writes of the buckets: counts them and hashes their paths and bytes."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}  # path → the sha256 of its bytes

    def write(self, path: str, data: bytes) -> None:
        self.files[path] = hashlib.sha256(data).digest()

    def digest(self) -> str:
        """A hash of every path and its bytes, whatever order they were written in."""
        whole = hashlib.sha256()
        for path, digest in sorted(self.files.items()):
            whole.update(path.encode() + b"\0" + digest)
        return whole.hexdigest()[:16]


def main() -> None:
    """Fill or reuse the archive, then time filing and writing the index of its posts."""
    from tgvault.export.site.search.builder import _write_buckets, bucket_count
    from tgvault.export.site.search.postings import packed_layout
    from tgvault.export.site.search.spill import PostingSpill
    from tgvault.export.site.search.tokens import index_keys

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    db = args.work / "archive.db"
    if not db.exists():
        args.work.mkdir(parents=True, exist_ok=True)
        fill(args.work, args.n, 1)
    rows = sqlite3.connect(db).execute("SELECT message_id, date, coalesce(text, '') FROM posts").fetchall()
    postings = [((int(date[:4]) * 12 + int(date[5:7]) - 1), 0, message_id) for message_id, date, _ in rows]
    keys = [index_keys(text) for _, _, text in rows]  # worked out before: only filing is timed
    layout = packed_layout({month for month, _, _ in postings}, 1)
    assert layout is not None
    buckets = bucket_count(len(rows))
    spill = PostingSpill(buckets, max(16, buckets // 16), layout)
    part = spill.part()
    started = _cpu()
    for post_keys, posting in zip(keys, postings, strict=True):
        part.add(post_keys, posting)
    part.flush()
    filed = _cpu()
    sink = _Sink()
    try:
        for partition in spill.each_partition():
            _write_buckets(partition, sink, layout)  # type: ignore[arg-type]
    finally:
        spill.close()
    written = _cpu()
    print(
        json.dumps(
            {
                "posts": len(rows),
                "keys_filed": sum(map(len, keys)),
                "file_cpu_s": round(filed - started, 3),
                "write_cpu_s": round(written - filed, 3),
                "files": len(sink.files),
                "sha256": sink.digest(),
            }
        )
    )


if __name__ == "__main__":
    main()
