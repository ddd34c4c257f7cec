"""Posting lists: which posts a key is found in, newest first, cut into chunks a browser loads one by one.

A posting is ``(month, slot, message_id)``: the month number, the channel's slot in the search manifest
and the post. Lists are ordered newest first: month descending, then slot ascending, then message id
descending. On disk a list is a flat list of integers, a group per channel and month::

    month, slot, count, first_id, gap, gap, ...      (gaps: previous id minus this one)

A chunk holds whole groups and at most :data:`CHUNK` postings (a group larger than that is a chunk of
its own); the first chunk (the newest postings) sits in the bucket file, the rest in files of their own.
Chunks are cut from the oldest posting on, so new posts (which join the newest groups) change only the
first chunk, or add a chunk after it: the older chunks, and their files, stay as they are.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from operator import sub

CHUNK = 384  # postings in one chunk (more only when one channel's month alone holds more)
_MONTHS = 0xFFFFF  # month numbers below 2**20 (the year 87,381)
_IDS = 0xFFFFFFFF  # message ids below 2**32

Posting = tuple[int, int, int]  # (month, slot, message_id)


@dataclass(frozen=True)
class CodeLayout:
    """How a posting is packed into one integer: ``(newest - month) << (32 + slot_bits) | slot << 32 |
    (2**32 - 1 - message_id)``, so codes ascending = postings newest first (as :func:`order` sorts them)."""

    newest: int = _MONTHS  # the month counted down from
    slot_bits: int = 24

    def code(self, posting: Posting) -> int:
        """A posting as one integer."""
        month, slot, message_id = posting
        return ((self.newest - month) << (32 + self.slot_bits)) | (slot << 32) | (_IDS - message_id)


CODES = CodeLayout()  # any posting, in up to 76 bits


def packed_layout(months: Iterable[int], slots: int) -> CodeLayout | None:
    """A layout whose codes fit in 64 bits for postings of ``months`` and of slots below ``slots``
    (an ``array('Q')`` holds them), or None when the months span too long for that many slots."""
    known = list(months) or [0]
    newest = max(known)
    month_bits = (newest - min(known)).bit_length()
    slot_bits = 32 - month_bits
    if slots > (1 << slot_bits):
        return None
    return CodeLayout(newest, slot_bits)


def posting_code(posting: Posting) -> int:
    """A posting as one integer (:data:`CODES`); codes ascending = postings newest first."""
    return CODES.code(posting)


def order(posting: Posting) -> tuple[int, int, int]:
    """The sort key putting a list newest first."""
    month, slot, message_id = posting
    return (-month, slot, -message_id)


def _groups(postings: Iterable[Posting]) -> Iterator[list[Posting]]:
    group: list[Posting] = []
    for posting in postings:
        if group and posting[:2] != group[0][:2]:
            yield group
            group = []
        group.append(posting)
    if group:
        yield group


def encode(postings: Iterable[Posting]) -> list[int]:
    """Sorted postings as the flat list of integers kept on disk."""
    flat: list[int] = []
    for group in _groups(postings):
        flat.extend((group[0][0], group[0][1], len(group), group[0][2]))
        flat.extend(group[i - 1][2] - group[i][2] for i in range(1, len(group)))
    return flat


def decode(flat: list[int]) -> list[Posting]:
    """The postings a flat list holds."""
    postings: list[Posting] = []
    at = 0
    while at < len(flat):
        month, slot, count = flat[at], flat[at + 1], flat[at + 2]
        message_id = flat[at + 3]
        postings.append((month, slot, message_id))
        for gap in flat[at + 4 : at + 3 + count]:
            message_id -= gap
            postings.append((month, slot, message_id))
        at += 3 + count
    return postings


def chunked(postings: list[Posting]) -> list[list[Posting]]:
    """Sorted postings cut into chunks of whole groups, about :data:`CHUNK` postings each, newest first.

    The cuts are made from the oldest posting on (a chunk is closed when the next newer group would
    not fit), so where they fall depends only on the postings older than them: the first chunk is
    what is left over at the newest end.
    """
    cut: list[list[list[Posting]]] = []  # chunks as lists of groups, oldest first
    current: list[list[Posting]] = []
    size = 0
    for group in reversed(list(_groups(postings))):
        if current and size + len(group) > CHUNK:
            cut.append(current)
            current, size = [], 0
        current.append(group)
        size += len(group)
    if current:
        cut.append(current)
    return [[posting for group in reversed(chunk) for posting in group] for chunk in reversed(cut)]


# Postings as single integers (:func:`posting_code`: ascending = newest first; the high bits above 32
# are the month and slot of its group, the low 32 the message id counted down). Lists of codes are
# cut and encoded with C-level operations: a full build handles every posting of the site here.


def _code_groups(codes: Sequence[int]) -> Iterator[tuple[int, int]]:
    """(start, end) of each run of sorted ``codes`` with the same month and slot."""
    start, count = 0, len(codes)
    while start < count:
        end = bisect_left(codes, ((codes[start] >> 32) + 1) << 32, start)
        yield start, end
        start = end


def chunked_codes(codes: Sequence[int]) -> list[Sequence[int]]:
    """Sorted posting codes cut into chunks of whole groups, as :func:`chunked` cuts postings (from the
    oldest on), newest chunk first."""
    return [codes[start:end] for start, end in chunk_bounds(codes)]


def chunk_bounds(codes: Sequence[int]) -> list[tuple[int, int]]:
    """Where :func:`chunked_codes` cuts: (start, end) of each chunk, newest chunk first (so a caller can
    take one chunk at a time)."""
    groups = list(_code_groups(codes))
    return [(groups[first][0], groups[last - 1][1]) for first, last in chunk_groups(groups)]


def chunk_groups(groups: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The chunks of a list whose groups (:func:`code_groups`) are ``groups``: the range of groups
    (first, last + 1) of each chunk, newest chunk first."""
    bounds: list[tuple[int, int]] = []  # oldest first
    end = groups[-1][1] if groups else 0  # the newest end of the chunk being filled (exclusive)
    last = len(groups)  # its groups end here (exclusive)
    for at in range(len(groups) - 1, -1, -1):
        start, stop = groups[at]
        if stop < end and end - start > CHUNK:
            bounds.append((at + 1, last))
            end, last = stop, at + 1
    if end > 0:
        bounds.append((0, last))
    bounds.reverse()
    return bounds


def code_groups(codes: Sequence[int]) -> list[tuple[int, int]]:
    """(start, end) of each run of sorted ``codes`` with the same month and slot, found once for both
    :func:`chunk_groups` and :func:`encode_groups`."""
    return list(_code_groups(codes))


def encode_codes(codes: Sequence[int], layout: CodeLayout = CODES) -> list[int]:
    """Sorted posting codes (of ``layout``) as the flat list of integers kept on disk (as :func:`encode`
    writes it)."""
    return encode_groups(codes, list(_code_groups(codes)), layout)


def encode_groups(
    codes: Sequence[int], groups: Sequence[tuple[int, int]], layout: CodeLayout = CODES
) -> list[int]:
    """The flat list of the postings of ``groups`` (consecutive groups of sorted ``codes``, as
    :func:`code_groups` finds them; a chunk's): :func:`encode_codes` of their codes alone."""
    flat: list[int] = []
    if not groups:
        return flat
    newest, shift, slots = layout.newest, layout.slot_bits, (1 << layout.slot_bits) - 1
    first, last = groups[0][0], groups[-1][1]
    # Every difference of neighbours at once (by C): a group's gaps are those inside it.
    gaps = list(map(sub, codes[first + 1 : last], codes[first : last - 1]))
    for start, end in groups:
        high = codes[start] >> 32
        flat.extend((newest - (high >> shift), high & slots, end - start, _IDS - (codes[start] & _IDS)))
        flat.extend(gaps[start - first : end - first - 1])
    return flat


def decode_codes(flat: list[int]) -> list[int]:
    """The posting codes (:data:`CODES`) a flat list holds (as :func:`decode` reads postings), newest
    first."""
    codes: list[int] = []
    at = 0
    shift = 32 + CODES.slot_bits
    while at < len(flat):
        month, slot, count, first = flat[at], flat[at + 1], flat[at + 2], flat[at + 3]
        high = ((CODES.newest - month) << shift) | (slot << 32)
        codes.extend(
            [high | (_IDS - i) for i in accumulate(flat[at + 4 : at + 3 + count], sub, initial=first)]
        )
        at += 3 + count
    return codes


def code_posting(code: int) -> Posting:
    """The posting of a code (the inverse of :func:`posting_code`)."""
    shift = 32 + CODES.slot_bits
    return (CODES.newest - (code >> shift), (code >> 32) & ((1 << CODES.slot_bits) - 1), _IDS - (code & _IDS))
