"""Map a Desktop JSON message's text and formatting (``text_entities`` or the older ``text``) to entities."""

from __future__ import annotations

from typing import Any

from tgvault.domain import EntityKind, TextEntity
from tgvault.formats.desktop import DESKTOP_ENTITY_TYPES, is_file_placeholder
from tgvault.sources.tdesktop.json_fields import Fields, json_type, text_problem
from tgvault.text import utf16_len

__all__ = ["text_of"]

_ENTITY_KINDS = {name: kind for kind, name in DESKTOP_ENTITY_TYPES.items()}


def text_of(fields: Fields, files: list[str]) -> tuple[str, tuple[TextEntity, ...]]:
    """Text and entities (UTF-16 offsets) from ``text_entities``, or from the older mixed ``text``."""
    key = "text_entities" if fields.has("text_entities") else "text"
    source = fields.data.get(key)
    if source is None:
        return "", ()
    if isinstance(source, str):
        source = [source]
    if not isinstance(source, list):
        fields.fail(key, f"expected a string or a list, got {json_type(source)}")
    pieces: list[str] = []
    entities: list[TextEntity] = []
    offset = 0
    for position, item in enumerate(source):
        if isinstance(item, str):
            pieces.append(item)
            offset += utf16_len(item)
            continue
        if type(item) is dict and item.get("type") == "plain":  # most parts: plain text, nothing to map
            plain = item.get("text")
            if type(plain) is str and (fields.text_checked or text_problem(plain) is None):
                pieces.append(plain)
                offset += utf16_len(plain)
                continue
        part = fields.part(item, f"{fields.where}, field '{key}[{position}]'")
        kind_name = part.string("type", required=True)
        text = part.string("text")
        if text is None:
            part.fail("text", "missing")
        length = utf16_len(text)
        if kind_name != "plain" and length > 0:
            entities.append(_entity(part, kind_name or "", offset, length, files))
        pieces.append(text)
        offset += length
    return "".join(pieces), tuple(entities)


def _entity(part: Fields, kind_name: str, offset: int, length: int, files: list[str]) -> TextEntity:
    kind = _ENTITY_KINDS.get(kind_name, EntityKind.UNKNOWN)
    extra: dict[str, Any] = {}
    if kind is EntityKind.PRE:
        extra["language"] = part.string("language") or None
    elif kind is EntityKind.TEXT_LINK:
        extra["url"] = part.string("href")
    elif kind is EntityKind.MENTION_NAME:
        user_id = part.numeric_id("user_id")
        if isinstance(user_id, str):
            part.fail("user_id", f"expected a user id, got {user_id!r}")
        extra["user_id"] = user_id
    elif kind is EntityKind.CUSTOM_EMOJI:
        document = part.numeric_id("document_id")
        if isinstance(document, int):
            extra["document_id"] = document
        elif document is not None and not is_file_placeholder(document):
            files.append(document)
    elif kind is EntityKind.BLOCKQUOTE:
        extra["collapsed"] = part.boolean("collapsed")
    return TextEntity(kind=kind, offset=offset, length=length, **extra)
