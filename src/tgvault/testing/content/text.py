"""Text with entities measured like Telegram's: UTF-16 lengths and :class:`TextBuilder`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["TL", "EntityFactory", "TextBuilder", "utf16_len"]

TL = Any
"""A Telethon TL object (Telethon ships no type hints)."""
EntityFactory = Callable[[int, int], TL]
"""Anything called as ``factory(offset, length)`` giving a ``MessageEntity`` (e.g. ``MessageEntityBold``)."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram's entity offsets (🇷🇺 is 4)."""
    return len(text.encode("utf-16-le")) // 2


class TextBuilder:
    """Builds message text and its entities, measuring offsets in UTF-16 code units.

    >>> tb = TextBuilder().add("Привет, ").add("🇷🇺 мир", types.MessageEntityBold)
    >>> text, entities = tb.build()     # entities == [MessageEntityBold(offset=8, length=8)]

    ``spans`` keeps ``(entity, substring)`` pairs, so tests can check offsets against intent.
    """

    def __init__(self) -> None:
        """An empty text."""
        self._parts: list[str] = []
        self._offset = 0
        self.spans: list[tuple[TL, str]] = []

    @property
    def offset(self) -> int:
        """Current length in UTF-16 code units."""
        return self._offset

    def add(self, text: str, *entities: EntityFactory) -> TextBuilder:
        """Append ``text``, covered by one entity per factory."""
        length = utf16_len(text)
        for factory in entities:
            self.spans.append((factory(self._offset, length), text))
        self._parts.append(text)
        self._offset += length
        return self

    def cover(self, start: int, factory: EntityFactory, start_index: int) -> TextBuilder:
        """Add an entity over everything appended since ``start`` (an earlier :attr:`offset`) and part
        index ``start_index`` (an earlier ``len(builder)``) — for entities that contain others."""
        self.spans.append((factory(start, self._offset - start), "".join(self._parts[start_index:])))
        return self

    def __len__(self) -> int:
        """Number of parts appended so far."""
        return len(self._parts)

    def build(self) -> tuple[str, list[TL]]:
        """The text and its entities sorted like Telegram's (by offset, outer entity first)."""
        entities = sorted((entity for entity, _ in self.spans), key=lambda e: (e.offset, -e.length))
        return "".join(self._parts), entities
