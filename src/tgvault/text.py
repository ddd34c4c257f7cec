"""UTF-16 helpers for Telegram text.

Telegram counts entity offsets and lengths in UTF-16 code units, Python indexes strings by code point.
A character outside the Basic Multilingual Plane (most emoji, 𝔸, 🇷 of a flag) is one Python character
but two UTF-16 units, so 🇷🇺 is 2 Python characters and 4 units.

Everything here clamps instead of raising: an offset beyond the text ends at the text's end, a negative
offset starts at 0, and an offset that falls inside a surrogate pair (the middle of an astral character)
is widened to the whole character — rounded down where a span starts, up where it ends — so no span ever
cuts a character in half.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from itertools import pairwise
from typing import Protocol, TypeVar

__all__ = [
    "Span",
    "Utf16Index",
    "index_to_utf16",
    "split_by_entities",
    "utf16_len",
    "utf16_slice",
    "utf16_to_index",
]

_BMP_MAX = 0xFFFF


class Span(Protocol):
    """Anything with a UTF-16 ``offset`` and ``length`` (such as :class:`tgvault.domain.TextEntity`)."""

    @property
    def offset(self) -> int: ...

    @property
    def length(self) -> int: ...


SpanT = TypeVar("SpanT", bound=Span)


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _units(ch: str) -> int:
    return 2 if ord(ch) > _BMP_MAX else 1


def utf16_len(s: str) -> int:
    """Length of ``s`` in UTF-16 code units (what Telegram counts). A lone surrogate counts as one unit."""
    if s.isascii():
        return len(s)
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


class Utf16Index:
    """A precomputed map between UTF-16 offsets and Python indexes of one text.

    Build it once when converting many offsets of the same text (O(log n) per lookup).
    """

    __slots__ = ("_astral", "_astral_utf16", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        # Python indexes of the characters outside the BMP (two UTF-16 units each), and the UTF-16
        # offsets at which they begin; found by a regular expression scan, not a loop in Python.
        self._astral = [match.start() for match in _ASTRAL.finditer(text)] if not text.isascii() else []
        self._astral_utf16 = [index + before for before, index in enumerate(self._astral)]

    @property
    def utf16_length(self) -> int:
        """Total length of the text in UTF-16 units."""
        return len(self.text) + len(self._astral)

    def to_index(self, offset: int, *, round_up: bool = False) -> int:
        """Python index for a UTF-16 ``offset``, clamped into ``[0, len(text)]``.

        An offset inside a surrogate pair maps to the start of that character, or to its end when
        ``round_up`` is true.
        """
        if offset <= 0:
            return 0
        if offset >= len(self.text) + len(self._astral):
            return len(self.text)
        starts = self._astral_utf16
        if not starts:
            return offset
        before = bisect_left(starts, offset)  # astral characters beginning before the offset
        index = offset - before
        if round_up and before and starts[before - 1] + 1 == offset:  # inside that character's pair
            index += 1
        return index

    def to_utf16(self, index: int) -> int:
        """UTF-16 offset of Python ``index``, clamped into ``[0, len(text)]`` (negative means 0)."""
        clamped = max(0, min(index, len(self.text)))
        return clamped + bisect_left(self._astral, clamped)

    def span(self, offset: int, length: int) -> tuple[int, int]:
        """Python ``(start, end)`` covered by a UTF-16 span; half-covered characters are included whole."""
        start = self.to_index(offset)
        if length <= 0:
            return start, start
        end = self.to_index(offset + length, round_up=True)
        return start, max(start, end)


def utf16_to_index(text: str, offset: int) -> int:
    """Python string index for a UTF-16 ``offset`` into ``text``.

    Clamped into ``[0, len(text)]``; an offset inside a surrogate pair maps to the start of its character.
    """
    return Utf16Index(text).to_index(offset)


def index_to_utf16(text: str, index: int) -> int:
    """UTF-16 offset of Python string ``index`` in ``text`` (index clamped into ``[0, len(text)]``)."""
    clamped = max(0, min(index, len(text)))
    return utf16_len(text[:clamped])


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The part of ``text`` covered by a UTF-16 ``offset``/``length`` span, such as an entity's text."""
    start, end = Utf16Index(text).span(offset, length)
    return text[start:end]


def split_by_entities(text: str, entities: Sequence[SpanT]) -> list[tuple[str, tuple[SpanT, ...]]]:
    """Cut ``text`` into consecutive runs, each with the entities active over the whole run.

    Joining the runs gives back ``text`` exactly. Within a run the entities are ordered outermost first
    (earlier start, then longer span, then input order), so a renderer can open them in that order and
    nest correctly, e.g. bold inside a text link. Empty and out-of-range entities cover nothing; runs
    without any entity carry an empty tuple. Empty text gives an empty list.
    """
    if not text:
        return []
    return split_spans(text, entity_spans(text, entities))


def split_spans(text: str, spans: list[tuple[int, int, int, SpanT]]) -> list[tuple[str, tuple[SpanT, ...]]]:
    """:func:`split_by_entities` of the spans :func:`entity_spans` found in ``text``."""
    if side_by_side(spans):
        return _side_by_side(text, spans)  # no entity inside another: the common case, in one pass
    return _nested(text, spans)


def entity_spans(text: str, entities: Sequence[SpanT]) -> list[tuple[int, int, int, SpanT]]:
    """``(start, end, position, entity)`` of each entity that covers some of ``text`` (Python indexes;
    ``position`` in ``entities``), outermost first: earlier start, then longer span, then input order."""
    index = Utf16Index(text)
    spans: list[tuple[int, int, int, SpanT]] = []
    for position, entity in enumerate(entities):
        start, end = index.span(entity.offset, entity.length)
        if end > start:
            spans.append((start, end, position, entity))
    spans.sort(key=lambda item: (item[0], -item[1], item[2]))
    return spans


def side_by_side(spans: Sequence[tuple[int, int, int, object]]) -> bool:
    """Whether no span of :func:`entity_spans` begins before the one ahead of it ends (none nests)."""
    return all(spans[k][0] >= spans[k - 1][1] for k in range(1, len(spans)))


def _side_by_side(text: str, spans: list[tuple[int, int, int, SpanT]]) -> list[tuple[str, tuple[SpanT, ...]]]:
    """The runs of entities none of which overlaps another (``spans`` in order): what :func:`_nested`
    gives for them, each entity's text and the text between them."""
    runs: list[tuple[str, tuple[SpanT, ...]]] = []
    position = 0
    for start, end, _, entity in spans:
        if start > position:
            runs.append((text[position:start], ()))
        runs.append((text[start:end], (entity,)))
        position = end
    if position < len(text):
        runs.append((text[position:], ()))
    return runs


def _nested(text: str, spans: list[tuple[int, int, int, SpanT]]) -> list[tuple[str, tuple[SpanT, ...]]]:
    """The runs of entities in any arrangement (``spans`` in order): cut at every start and end."""
    cuts = sorted({0, len(text), *(s for s, _, _, _ in spans), *(e for _, e, _, _ in spans)})
    runs: list[tuple[str, tuple[SpanT, ...]]] = []
    for run_start, run_end in pairwise(cuts):
        active = tuple(entity for start, end, _, entity in spans if start <= run_start and run_end <= end)
        piece = text[run_start:run_end]
        if runs and runs[-1][1] == active:
            runs[-1] = (runs[-1][0] + piece, active)
        else:
            runs.append((piece, active))
    return runs
