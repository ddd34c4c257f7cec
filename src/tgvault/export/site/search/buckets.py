"""Bucket files: every key of a bucket with its posting count and first chunk; later chunks beside it.

``search/i/<bucket>.js`` calls ``tgvaultSearch.bucket(bucket, {key: [count, chunks, first, id]})``;
chunk ``n`` (1 and up) of a key is ``search/i/<bucket>/<id>-<n>.js`` calling
``tgvaultSearch.chunk("<bucket>/<id>-<n>", flat)``. Chunks are numbered from the oldest (1 holds the
oldest postings, ``chunks - 1`` the ones just older than the first chunk): a reader loads them from
``chunks - 1`` down, and new posts add chunks without renumbering the others. ``id`` names the chunks
of a key that has more than
one chunk (0 for the others): a checksum of the key, unique in its bucket.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from tgvault.export.site.search.postings import (
    CODES,
    CodeLayout,
    chunk_groups,
    code_groups,
    decode_codes,
    encode_groups,
)
from tgvault.export.site.search.scripts import js_call, read_script
from tgvault.export.site.writer import BatchWriter, SiteWriter

Entry = list[Any]  # [count, chunks, first chunk (flat), id]


def bucket_path(bucket: int) -> str:
    """Where a bucket file is."""
    return f"search/i/{bucket}.js"


def chunk_path(bucket: int, key_id: int, number: int) -> str:
    """Where chunk ``number`` (1 and up) of a key is."""
    return f"search/i/{bucket}/{key_id}-{number}.js"


class BucketFile:
    """One bucket being written: its keys' entries, writing later chunks as keys are set."""

    def __init__(
        self, writer: SiteWriter | BatchWriter, bucket: int, entries: dict[str, Entry] | None = None
    ) -> None:
        """A bucket to write through ``writer`` (a :class:`BatchWriter` only for a new bucket: a bucket
        read from an earlier build may drop chunk files, which only the site's writer does)."""
        self.writer = writer
        self.bucket = bucket
        self.entries: dict[str, Entry] = entries if entries is not None else {}
        self._ids = {int(entry[3]) for entry in self.entries.values()}

    @classmethod
    def read(cls, writer: SiteWriter, bucket: int) -> BucketFile:
        """The bucket as an earlier build wrote it (empty when missing)."""
        arguments = read_script(writer.out_dir / bucket_path(bucket), "bucket")
        entries = arguments[1] if arguments and len(arguments) == 2 and isinstance(arguments[1], dict) else {}
        return cls(writer, bucket, entries)

    def codes(self, key: str) -> list[int]:
        """Every posting of a key as codes (:func:`~tgvault.export.site.search.postings.posting_code`),
        newest first: the first chunk and the chunk files."""
        entry = self.entries.get(key)
        if entry is None:
            return []
        codes = decode_codes(entry[2])
        for number in range(1, int(entry[1])):
            arguments = read_script(self.writer.out_dir / chunk_path(self.bucket, entry[3], number), "chunk")
            if arguments and len(arguments) == 2 and isinstance(arguments[1], list):
                codes.extend(decode_codes(arguments[1]))
        return codes

    def set_codes(
        self,
        key: str,
        codes: Sequence[int],
        *,
        kept: int = 0,
        count: int | None = None,
        layout: CodeLayout = CODES,
    ) -> None:
        """A key's postings as sorted codes of ``layout`` (:class:`~tgvault.export.site.search.postings.CodeLayout`;
        a list or a packed ``array('Q')``, cut one chunk at a time), written as the first chunk and chunk
        files.

        With ``kept``, ``codes`` are only the newest part of the list: the key's chunks 1 to ``kept``
        (the oldest) stay as they are, and ``count`` is the number of postings of the whole list.
        """
        old = self.entries.get(key)
        old_chunks = int(old[1]) if old else 0
        groups = code_groups(codes)  # found once, for the cuts and the encoding
        chunks = chunk_groups(groups)
        if not chunks:
            self.entries.pop(key, None)
            self._drop_chunks(old, 1, old_chunks)
            return
        total = kept + len(chunks)
        key_id = int(old[3]) if old and old[3] else 0
        if total > 1 and not key_id:
            key_id = zlib.crc32(key.encode("utf-8")) or 1  # the same for the same key, in any build
            while key_id in self._ids:
                key_id += 1
            self._ids.add(key_id)
        for at in range(1, len(chunks)):
            number = total - at
            name = f"{self.bucket}/{key_id}-{number}"
            first, last = chunks[at]
            self.writer.write(
                chunk_path(self.bucket, key_id, number),
                js_call("chunk", name, encode_groups(codes, groups[first:last], layout)),
            )
        self._drop_chunks(old, total, old_chunks)
        size = len(codes) if count is None else count
        first, last = chunks[0]
        self.entries[key] = [size, total, encode_groups(codes, groups[first:last], layout), key_id]

    def patch_first_chunk(self, key: str, added: AbstractSet[int], removed: AbstractSet[int]) -> bool:
        """Apply a key's changes (posting codes added and removed) to its first chunk alone, when they
        cannot reach its older chunks.

        True when done: every changed posting is in the first chunk's oldest group or newer, and no
        posting leaves that group (a smaller group could join the chunk before it). New posts, which
        join the newest month, take this path: the key's older chunks are neither read nor written.
        """
        if not (added or removed):
            return True
        entry = self.entries.get(key)
        if entry is None or not entry[2]:
            return False
        first = decode_codes(entry[2])
        oldest = first[-1] >> 32  # the oldest group's month and slot (codes ascending: newest first)
        if max(added | removed) >> 32 > oldest:  # a posting in an older group than that
            return False
        chunks = int(entry[1])
        if chunks > 1 and any(code >> 32 == oldest for code in removed):
            return False
        postings = set(first)
        postings -= removed
        postings |= added
        if not postings:
            return False
        count = int(entry[0]) - len(first) + len(postings)
        self.set_codes(key, sorted(postings), kept=chunks - 1, count=count)
        return True

    def _drop_chunks(self, old: Entry | None, start: int, end: int) -> None:
        if old is None:
            return
        if not isinstance(self.writer, SiteWriter):
            raise TypeError("chunks of an earlier build are dropped through the site's writer")
        for number in range(max(start, 1), end):
            self.writer.drop(chunk_path(self.bucket, old[3], number))

    def save(self) -> None:
        """Write the bucket file."""
        entries = dict(sorted(self.entries.items()))
        self.writer.write(bucket_path(self.bucket), js_call("bucket", self.bucket, entries))
