"""Postings of a whole build, spilled to temporary files by bucket so memory stays flat in the posts.

A full build files every key of every post here; :meth:`PostingSpill.partitions` then hands back one
partition (a set of buckets) at a time, sorted, so only one partition is ever in memory.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from tgvault.export.site.search.postings import Posting, order
from tgvault.export.site.search.tokens import BUCKET_PREFIX, bucket_of

# postings buffered in memory (≈ 35 MB of lines) before they go to the temporary files: each flush
# appends to every partition's file (4,096 at 1,000,000 posts, ≈ 20 µs of CPU each), so a smaller
# buffer trades memory for many more appends (100,000: 7.5 million appends at 1,000,000 posts)
FLUSH_AT = 400_000
PREFIXES_KEPT = 50_000  # key prefixes whose bucket is remembered (forgotten all at once beyond that)


class PostingSpill:
    """Postings by bucket: buffered, appended to one temporary file per partition of buckets."""

    def __init__(self, buckets: int, partitions: int) -> None:
        self.buckets = buckets
        self.partitions = max(1, min(partitions, buckets))
        self._folder = tempfile.TemporaryDirectory(prefix="tgvault-search-")
        self._buffers: list[list[str]] = [[] for _ in range(self.partitions)]
        self._buffered = 0
        self._bucket_of: dict[str, int] = {}  # bucket by the first characters of a key

    def add(self, keys: set[str], posting: Posting) -> None:
        """File a post's keys."""
        tail = "\t%d\t%d\t%d\n" % posting  # noqa: UP031 - the fastest way in a loop this hot
        buckets, partitions, buffers, known = self.buckets, self.partitions, self._buffers, self._bucket_of
        for key in keys:
            prefix = key[:BUCKET_PREFIX]
            bucket = known.get(prefix)
            if bucket is None:
                if len(known) >= PREFIXES_KEPT:
                    known.clear()  # the prefixes of a big archive's words would grow with it
                bucket = known[prefix] = bucket_of(prefix, buckets)
            buffers[bucket % partitions].append(f"{bucket}\t{key}{tail}")
        self._buffered += len(keys)
        if self._buffered >= FLUSH_AT:
            self._flush()

    def _path(self, partition: int) -> Path:
        return Path(self._folder.name) / f"{partition}.tsv"

    def _flush(self) -> None:
        for partition, lines in enumerate(self._buffers):
            if lines:
                with self._path(partition).open("a", encoding="utf-8") as out:
                    out.writelines(lines)
                lines.clear()
        self._buffered = 0

    def partitions_sorted(self) -> Iterator[dict[int, dict[str, list[Posting]]]]:
        """Each partition in turn: bucket → key → postings (newest first)."""
        self._flush()
        for partition in range(self.partitions):
            path = self._path(partition)
            by_bucket: dict[int, dict[str, list[Posting]]] = defaultdict(lambda: defaultdict(list))
            if path.exists():
                with path.open(encoding="utf-8") as lines:
                    for line in lines:
                        bucket, key, month, slot, message_id = line.split("\t")
                        by_bucket[int(bucket)][key].append((int(month), int(slot), int(message_id)))
                path.unlink()
            for keys in by_bucket.values():
                for postings in keys.values():
                    postings.sort(key=order)
            yield by_bucket

    def close(self) -> None:
        """Remove the temporary files."""
        self._folder.cleanup()
