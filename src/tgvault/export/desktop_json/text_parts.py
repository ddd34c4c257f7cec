"""Cut a post's text into Desktop's text parts and write them as ``text`` and ``text_entities``.

Text is cut into parts exactly as Desktop does it (entities sorted by offset; an entity starting inside an
earlier one is dropped, since Desktop's format cannot nest; Desktop's trailing empty part after a final
entity in non-ASCII text is reproduced), so a channel imported from a Desktop export comes back the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tgvault.domain import EntityKind, TextEntity
from tgvault.formats.desktop import DESKTOP_ENTITY_TYPES, FILE_NOT_INCLUDED
from tgvault.text import Utf16Index

__all__ = ["Part", "desktop_parts", "desktop_text", "text_fields"]


@dataclass(frozen=True)
class Part:
    """One part of Desktop's text: a plain stretch (no entity) or one entity's text."""

    text: str
    entity: TextEntity | None


def desktop_parts(text: str, entities: Sequence[TextEntity]) -> list[Part]:
    """Cut text into Desktop's parts, following Desktop's own algorithm (see the module docstring)."""
    if not text:
        return []
    index = Utf16Index(text)
    # Desktop compares entity ends with the text's size in UTF-8 bytes, not UTF-16 units.
    size = len(text.encode("utf-8", "surrogatepass"))
    parts: list[Part] = []
    offset = 0

    def mid(start: int, length: int) -> str:
        first, last = index.span(start, length)
        return text[first:last]

    def plain_until(till: int) -> None:
        nonlocal offset
        if till > offset:
            parts.append(Part(mid(offset, till - offset), None))
            offset = till

    for entity in sorted(entities, key=lambda item: item.offset):
        start, length = entity.offset, entity.length
        if start < offset or length <= 0 or start + length > size:
            continue
        plain_until(start)
        parts.append(Part(mid(start, length), entity))
        offset = start + length
    plain_until(size)
    return parts


def _part_object(part: Part, document_id: str | None) -> dict[str, Any]:
    entity = part.entity
    if entity is None:
        return {"type": "plain", "text": part.text}
    found: dict[str, Any] = {"type": DESKTOP_ENTITY_TYPES.get(entity.kind, "unknown"), "text": part.text}
    if entity.kind is EntityKind.PRE:
        found["language"] = entity.language or ""
    elif entity.kind is EntityKind.TEXT_LINK:
        found["href"] = entity.url or ""
    elif entity.kind is EntityKind.MENTION_NAME:
        found["user_id"] = entity.user_id
    elif entity.kind is EntityKind.CUSTOM_EMOJI:
        found["document_id"] = document_id if document_id is not None else FILE_NOT_INCLUDED
    elif entity.kind is EntityKind.BLOCKQUOTE:
        found["collapsed"] = entity.collapsed
    return found


def text_fields(
    parts: Sequence[Part], document_ids: Sequence[str | None]
) -> tuple[Any, list[dict[str, Any]]]:
    """Desktop's ``text`` (a string, or a list of strings and objects) and ``text_entities``."""
    objects: list[dict[str, Any]] = []
    emoji = iter(document_ids)
    for part in parts:
        custom = part.entity is not None and part.entity.kind is EntityKind.CUSTOM_EMOJI
        objects.append(_part_object(part, next(emoji, None) if custom else None))
    if not parts:
        return "", []
    if len(parts) == 1 and parts[0].entity is None:
        return parts[0].text, objects
    mixed: list[Any] = [
        obj["text"] if part.entity is None else obj for part, obj in zip(parts, objects, strict=True)
    ]
    return mixed, objects


def desktop_text(text: str, entities: Sequence[TextEntity]) -> tuple[Any, list[dict[str, Any]]]:
    """A post's text in Desktop's two forms: ``text`` (mixed string/list) and ``text_entities`` (list).

    Custom emoji without a numeric document id get Desktop's placeholder as ``document_id``.
    """
    parts = desktop_parts(text, entities)
    ids = [
        None if part.entity.document_id is None else str(part.entity.document_id)
        for part in parts
        if part.entity is not None and part.entity.kind is EntityKind.CUSTOM_EMOJI
    ]
    return text_fields(parts, ids)
