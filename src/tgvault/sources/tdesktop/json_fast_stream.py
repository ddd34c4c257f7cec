"""The quick way through a single chat's ``result.json``: its messages built by ijson's C code.

A chat export (what "Export chat history" writes) is an object whose scalar values (``name``, ``type``,
``id``, ...) come before its ``messages`` list. For such a file :func:`fast_chat_head` reads the values
before ``messages`` and :func:`fast_messages` builds every message with ijson's ``items`` (in C, with the
yajl2_c backend: several times cheaper than building them from parse events in Python). The walk of
:mod:`~tgvault.sources.tdesktop.json_stream` stays the one that explains problems: when this path meets
damaged JSON, a message nested too deep or a stretch of the file that could nest deep enough to cost the
C parser much memory, it raises :class:`FastPathLeft`, and the walk takes over from the start of the
file, handing over only the messages not handed over yet, and naming any problem (file, message, field)
as it always does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import ijson

__all__ = ["FastPathLeft", "fast_chat_head", "fast_messages", "nesting"]

_HEAD_EVENTS: Final = 64
"""How many parse events may come before ``messages`` (Desktop writes three values, then the list)."""
_CONTAINERS: Final = frozenset(("start_map", "start_array"))
_CHUNK: Final = 16 * 1024
"""Bytes handed to the C parser at a time."""
_GUARD: Final = 64 * 1024 * 1024
"""Brackets times bytes read since the last message ended, past which the walk takes over (see
:class:`_GuardedReader`); a Desktop export's messages stay far below (≈300 brackets in 20 KB)."""
_CONTAINER_TYPES: Final = (dict, list)
_CHAT_KEYS: Final = ("name", "type", "id")


class FastPathLeft(Exception):
    """The quick path cannot go on (damaged JSON, a message nested too deep): walk the file instead."""


def fast_chat_head(path: Path) -> dict[str, Any] | None:
    """The scalar values before ``messages`` when ``path`` is a chat export that starts as Desktop
    writes one (an object of scalars, then ``messages`` as a list); None otherwise (the walk reads it)."""
    values: dict[str, Any] = {}
    seen: set[str] = set()
    try:
        with path.open("rb") as handle:
            events = ijson.parse(_GuardedReader(handle), use_float=True, buf_size=_CHUNK)
            if next(events, None) != ("", "start_map", None):
                return None
            key = None
            for count, (prefix, event, value) in enumerate(events):
                if count > _HEAD_EVENTS or event in _CONTAINERS or event == "end_map":
                    return None
                if event == "map_key":
                    if value == "messages":
                        following = next(events, None)
                        return values if following == ("messages", "start_array", None) else None
                    if value in seen or value in ("chats", "left_chats"):
                        return None
                    key = value
                    seen.add(value)
                elif prefix != key:
                    return None
                elif key in _CHAT_KEYS:  # what the walk keeps of a chat
                    values[key] = value
    except (ijson.JSONError, ValueError, OSError, FastPathLeft):
        return None
    return None


def nesting(value: Any, limit: int) -> int:
    """How deep ``value`` nests (a scalar 0, ``[]`` 1, ``[[]]`` 2, ...); stops counting past ``limit``."""
    level: list[Any] = [value] if isinstance(value, _CONTAINER_TYPES) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            break
        below: list[Any] = []
        for item in level:  # one level at a time: only containers are kept, scalars are passed over
            below += [
                child
                for child in (item.values() if type(item) is dict else item)
                if isinstance(child, _CONTAINER_TYPES)
            ]
        level = below
    return depth


class _GuardedReader:
    """Hands the file to ijson a chunk at a time, unless the chunk could nest deep enough to cost much
    memory: ijson keeps the path (its "prefix") of every open level, so a value nested ``d`` levels deep
    costs it about ``d`` times the bytes of that path (100,000 levels: gigabytes). Since the last
    message ended, at most as many levels can be open as brackets were read, each path no longer than
    the bytes read: past :data:`_GUARD` (their product), the walk, which keeps no paths, takes over."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self._opens = self._bytes = 0
        self._last_opens = self._last_bytes = 0

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._reader.read(size)
        opens = data.count(b"[") + data.count(b"{")
        self._opens += opens
        self._bytes += len(data)
        self._last_opens, self._last_bytes = opens, len(data)
        if self._opens * self._bytes > _GUARD:
            raise FastPathLeft("deeply nested, perhaps")
        return data

    def message_ended(self) -> None:
        """A message ended in the chunk read last: only that chunk's brackets can still be open."""
        self._opens, self._bytes = self._last_opens, self._last_bytes


def fast_messages(reader: Any, limit: int) -> Iterator[tuple[Any, int]]:
    """Each item of the top-level ``messages`` (read from ``reader``) with how deep it nests.

    Raises :class:`FastPathLeft` for damaged JSON (anywhere in the file, also after the messages), a
    message nesting deeper than ``limit``, or a stretch of the file that could nest deep enough to cost
    the C parser much memory (the walk reads those).
    """
    guarded = _GuardedReader(reader)
    try:
        for item in ijson.items(guarded, "messages.item", use_float=True, buf_size=_CHUNK):
            guarded.message_ended()
            depth = nesting(item, limit)
            if depth > limit:
                raise FastPathLeft("nested too deep")
            yield item, depth
    except (ijson.JSONError, ValueError, UnicodeDecodeError) as exc:
        raise FastPathLeft(str(exc)) from exc
