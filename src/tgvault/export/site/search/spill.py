"""Postings of a whole build, spilled to temporary files by bucket so memory stays flat in the posts.

A full build files every key of every post here, in the process that rendered the post's month (each
process appends to files of its own, :class:`SpillPart`); :meth:`PostingSpill.partitions_sorted` then
hands back one partition (a set of buckets) at a time, sorted, so only one partition is ever in memory.

A posting travels as one integer whose ascending order is the lists' order (newest first, see
:func:`~tgvault.export.site.search.postings.posting_code`): the files are sorted by C's integer sort, without a
key function per posting.
"""

from __future__ import annotations

import marshal
import os
import tempfile
from collections.abc import Collection, Iterator
from pathlib import Path

from tgvault.export.site.search.postings import Posting, posting_code
from tgvault.export.site.search.tokens import BUCKET_PREFIX, bucket_of

FLUSH_AT = 400_000  # postings buffered in memory before they go to the temporary files
PREFIXES_KEPT = 50_000  # key prefixes whose bucket is remembered (forgotten all at once beyond that)


class SpillPart:
    """One process's share of the spill: postings gathered by key, appended to files of the process.

    A flush appends to each partition's file one :mod:`marshal` record (after its length), bucket → key → the codes of
    every post gathered for the key since the last flush (a month's worth in a worker): written and read
    back by C, a key once a record rather than once a posting. The files are temporary, read only by the
    build that wrote them (by the same Python)."""

    def __init__(self, folder: Path, buckets: int, partitions: int) -> None:
        self.folder = folder
        self.buckets = buckets
        self.partitions = partitions
        self._pending: dict[str, list[int]] = {}
        self._buffered = 0
        self._bucket_of: dict[str, int] = {}  # bucket by the first characters of a key
        self._pid = os.getpid()

    def add(self, keys: Collection[str], posting: Posting) -> None:
        """File a post's keys."""
        code = posting_code(posting)
        pending = self._pending
        for key in keys:
            codes = pending.get(key)
            if codes is None:
                pending[key] = [code]
            else:
                codes.append(code)
        self._buffered += len(keys)
        if self._buffered >= FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        """Append what is gathered to this process's files."""
        if os.getpid() != self._pid:  # a forked copy starts with nothing gathered
            self._pid = os.getpid()
            self._pending.clear()
        buckets, partitions, known = self.buckets, self.partitions, self._bucket_of
        records: list[dict[int, dict[str, list[int]]]] = [{} for _ in range(partitions)]
        for key, codes in self._pending.items():
            prefix = key[:BUCKET_PREFIX]
            bucket = known.get(prefix)
            if bucket is None:
                if len(known) >= PREFIXES_KEPT:
                    known.clear()  # the prefixes of a big archive's words would grow with it
                bucket = known[prefix] = bucket_of(prefix, buckets)
            record = records[bucket % partitions]
            keys = record.get(bucket)
            if keys is None:
                keys = record[bucket] = {}
            keys[key] = codes
        for partition, record in enumerate(records):
            if record:
                data = marshal.dumps(record)
                with (self.folder / f"{partition}.{self._pid}.spill").open("ab") as out:
                    out.write(len(data).to_bytes(8, "little") + data)
        self._pending.clear()
        self._buffered = 0


class PostingSpill:
    """Postings by bucket: buffered, appended to temporary files, a set of them per partition of buckets."""

    def __init__(self, buckets: int, partitions: int) -> None:
        self.buckets = buckets
        self.partitions = max(1, min(partitions, buckets))
        self._folder = tempfile.TemporaryDirectory(prefix="tgvault-search-")
        self._own = self.part()

    def part(self) -> SpillPart:
        """A writer of postings into this spill for the calling process (a worker forked from the build)."""
        return SpillPart(Path(self._folder.name), self.buckets, self.partitions)

    def add(self, keys: Collection[str], posting: Posting) -> None:
        """File a post's keys."""
        self._own.add(keys, posting)

    def flush(self) -> None:
        """Put what this process gathered into the files (before the partitions are read, in any process)."""
        self._own.flush()

    def partitions_sorted(self) -> Iterator[dict[int, dict[str, list[int]]]]:
        """Each partition in turn (:meth:`partition_sorted`), so only one is ever in memory."""
        self.flush()
        for partition in range(self.partitions):
            yield self.partition_sorted(partition)

    def partition_sorted(self, partition: int) -> dict[int, dict[str, list[int]]]:
        """One partition: bucket → key → posting codes (:func:`posting_code`), newest first. Its files are
        removed once read."""
        by_bucket: dict[int, dict[str, list[int]]] = {}
        for path in sorted(Path(self._folder.name).glob(f"{partition}.*.spill")):
            data = memoryview(path.read_bytes())
            at = 0
            while at < len(data):
                size = int.from_bytes(data[at : at + 8], "little")
                record = marshal.loads(data[at + 8 : at + 8 + size])  # noqa: S302 - our own 0700 temporary folder
                at += 8 + size
                for bucket, keys in record.items():
                    gathered = by_bucket.get(bucket)
                    if gathered is None:
                        by_bucket[bucket] = keys
                        continue
                    for key, codes in keys.items():
                        known = gathered.get(key)
                        if known is None:
                            gathered[key] = codes
                        else:
                            known.extend(codes)
            path.unlink()
        for keys in by_bucket.values():
            for postings in keys.values():
                postings.sort()
        return by_bucket

    def close(self) -> None:
        """Remove the temporary files."""
        self._folder.cleanup()
