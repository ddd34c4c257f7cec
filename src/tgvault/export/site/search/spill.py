"""Postings of a whole build, spilled to temporary files by bucket so memory stays flat in the posts.

A full build files every key of every post here, in the process that rendered the post's month (each
process appends to files of its own, :class:`SpillPart`); :meth:`PostingSpill.partition` then hands
back one partition (a set of buckets) at a time, so only one partition is ever in memory, and
:func:`merged` puts together one key's list at a time.

A posting travels as one integer whose ascending order is the lists' order (newest first, see
:func:`~tgvault.export.site.search.postings.posting_code`), packed in 8 bytes: each flush writes a
sorted run of every key it gathered (an ``array('Q')``'s bytes), so a partition in memory costs about
8 bytes a posting, not a Python integer and a list slot each. The runs of a key are put together in
order by C (a month's run of a key is one group of postings: runs rarely overlap, and the few that do,
where one process filed several months before a flush, are merged by a sort of those runs alone).
"""

from __future__ import annotations

import marshal
import os
import tempfile
from array import array
from collections import defaultdict
from collections.abc import Collection, Iterator
from itertools import chain
from pathlib import Path

from tgvault.export.site.search.postings import CodeLayout, Posting
from tgvault.export.site.search.tokens import BUCKET_PREFIX, bucket_of

FLUSH_AT = 400_000  # postings buffered in memory before they go to the temporary files
PREFIXES_KEPT = 50_000  # key prefixes whose bucket is remembered (forgotten all at once beyond that)


class SpillPart:
    """One process's share of the spill: postings gathered by key, appended to files of the process.

    A flush appends to each partition's file one :mod:`marshal` record (after its length), bucket → key → the
    sorted codes of every post gathered for the key since the last flush (a month's worth in a worker),
    packed as an ``array('Q')``'s bytes: written and read back by C, a key once a record rather than once a
    posting. The files are temporary, read only by the build that wrote them (by the same Python)."""

    def __init__(self, folder: Path, buckets: int, partitions: int, layout: CodeLayout) -> None:
        self.folder = folder
        self.layout = layout
        self.buckets = buckets
        self.partitions = partitions
        self.flush_at = FLUSH_AT
        self._pending: defaultdict[str, list[int]] = defaultdict(list)
        self._buffered = 0
        self._bucket_of: dict[str, int] = {}  # bucket by the first characters of a key
        self._pid = os.getpid()

    def add(self, keys: Collection[str], posting: Posting) -> None:
        """File a post's keys (distinct: a set)."""
        code = self.layout.code(posting)
        for codes in map(self._pending.__getitem__, keys):  # a defaultdict's lookup, by C
            codes.append(code)
        self._buffered += len(keys)
        if self._buffered >= self.flush_at:
            self.flush()

    def flush(self) -> None:
        """Append what is gathered to this process's files."""
        if os.getpid() != self._pid:  # a forked copy starts with nothing gathered
            self._pid = os.getpid()
            self._pending.clear()
        buckets, partitions, known = self.buckets, self.partitions, self._bucket_of
        records: list[dict[int, dict[str, bytes]]] = [{} for _ in range(partitions)]
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
            codes.sort()
            keys[key] = array("Q", codes).tobytes()
        for partition, record in enumerate(records):
            if record:
                data = marshal.dumps(record)
                with (self.folder / f"{partition}.{self._pid}.spill").open("ab") as out:
                    out.write(len(data).to_bytes(8, "little") + data)
        self._pending.clear()
        self._buffered = 0


class PostingSpill:
    """Postings by bucket: buffered, appended to temporary files, a set of them per partition of buckets."""

    def __init__(self, buckets: int, partitions: int, layout: CodeLayout) -> None:
        """A spill of ``buckets`` buckets read back ``partitions`` at a time; codes of ``layout``
        (:func:`~tgvault.export.site.search.postings.packed_layout`: they must fit in 64 bits)."""
        self.buckets = buckets
        self.layout = layout
        self.partitions = max(1, min(partitions, buckets))
        self._folder = tempfile.TemporaryDirectory(prefix="tgvault-search-")
        self._own = self.part()

    def part(self) -> SpillPart:
        """A writer of postings into this spill for the calling process (a worker forked from the build)."""
        return SpillPart(Path(self._folder.name), self.buckets, self.partitions, self.layout)

    def add(self, keys: Collection[str], posting: Posting) -> None:
        """File a post's keys."""
        self._own.add(keys, posting)

    def flush(self) -> None:
        """Put what this process gathered into the files (before the partitions are read, in any process)."""
        self._own.flush()

    def each_partition(self) -> Iterator[dict[int, dict[str, list[bytes]]]]:
        """Each partition in turn (:meth:`partition`), so only one is ever in memory."""
        self.flush()
        for partition in range(self.partitions):
            yield self.partition(partition)

    def partition(self, partition: int) -> dict[int, dict[str, list[bytes]]]:
        """One partition: bucket → key → its sorted runs of packed posting codes (:func:`merged` puts
        them together). Its files are removed once read."""
        by_bucket: dict[int, dict[str, list[bytes]]] = {}
        for path in sorted(Path(self._folder.name).glob(f"{partition}.*.spill")):
            with path.open("rb") as spilled:  # a record at a time: the file is never whole in memory
                while head := spilled.read(8):
                    size = int.from_bytes(head, "little")
                    record = marshal.loads(spilled.read(size))  # noqa: S302 - our own 0700 temporary folder
                    _gather(by_bucket, record)
            path.unlink()
        return by_bucket

    def close(self) -> None:
        """Remove the temporary files."""
        self._folder.cleanup()


def merged(runs: list[bytes]) -> array[int]:
    """A key's sorted runs of packed codes as one sorted ``array('Q')`` (newest first).

    Runs are laid end to end in the order of their first codes; only runs whose codes interleave (a
    cluster of overlapping ones) are sorted together."""
    codes: array[int] = array("Q")
    if len(runs) == 1:
        codes.frombytes(runs[0])
        return codes
    views = sorted((memoryview(run).cast("Q") for run in runs), key=_first)
    cluster: list[memoryview] = []
    high = 0
    for view in views:
        if cluster and view[0] < high:
            cluster.append(view)
            high = max(high, view[-1])
            continue
        _extend(codes, cluster)
        cluster = [view]
        high = view[-1]
    _extend(codes, cluster)
    return codes


def _first(view: memoryview) -> int:
    first: int = view[0]
    return first


def _extend(codes: array[int], cluster: list[memoryview]) -> None:
    if len(cluster) == 1:
        codes.frombytes(cluster[0].cast("B"))
    elif cluster:
        codes.extend(sorted(chain.from_iterable(cluster)))


def _gather(by_bucket: dict[int, dict[str, list[bytes]]], record: dict[int, dict[str, bytes]]) -> None:
    """Add a flush's record to a partition's runs."""
    for bucket, keys in record.items():
        gathered = by_bucket.get(bucket)
        if gathered is None:
            gathered = by_bucket[bucket] = {}
        for key, run in keys.items():
            runs = gathered.get(key)
            if runs is None:
                gathered[key] = [run]
            else:
                runs.append(run)
