"""Posting lists: which posts a key is found in, newest first, cut into chunks a browser loads one by one.

A posting is ``(month, slot, message_id)``: the month number, the channel's slot in the search manifest
and the post. Lists are ordered newest first: month descending, then slot ascending, then message id
descending. On disk a list is a flat list of integers, a group per channel and month::

    month, slot, count, first_id, gap, gap, ...      (gaps: previous id minus this one)

A chunk holds whole groups and at most :data:`CHUNK` postings (a group larger than that is a chunk of
its own); the first chunk sits in the bucket file, the rest in files of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

CHUNK = 384  # postings in one chunk (more only when one channel's month alone holds more)

Posting = tuple[int, int, int]  # (month, slot, message_id)


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
    """Sorted postings cut into chunks of whole groups, about :data:`CHUNK` postings each."""
    chunks: list[list[Posting]] = []
    current: list[Posting] = []
    for group in _groups(postings):
        if current and len(current) + len(group) > CHUNK:
            chunks.append(current)
            current = []
        current.extend(group)
    if current:
        chunks.append(current)
    return chunks
