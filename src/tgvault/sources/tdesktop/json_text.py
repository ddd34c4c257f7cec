"""Map a Desktop JSON message's text and formatting (``text_entities`` or the older ``text``) to entities."""

from __future__ import annotations

from typing import Any

from tgvault.domain import EntityKind, TextEntity
from tgvault.formats.desktop import DESKTOP_ENTITY_TYPES, is_file_placeholder
from tgvault.sources.tdesktop.json_fields import Fields, json_type, text_problem
from tgvault.text import utf16_len

__all__ = ["text_of"]

_ENTITY_KINDS = {name: kind for kind, name in DESKTOP_ENTITY_TYPES.items()}
_WITH_VALUES = frozenset(
    (
        EntityKind.PRE,
        EntityKind.TEXT_LINK,
        EntityKind.MENTION_NAME,
        EntityKind.CUSTOM_EMOJI,
        EntityKind.BLOCKQUOTE,
    )
)
_UTF16, _LONE = "utf-16-le", "surrogatepass"


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
    checked = fields.text_checked
    for position, item in enumerate(source):
        if type(item) is str:
            pieces.append(item)
            offset += len(item) if item.isascii() else len(item.encode(_UTF16, _LONE)) >> 1
            continue
        if type(item) is dict:  # most parts: read here, without a Fields of their own
            kind_name, plain = item.get("type"), item.get("text")
            if type(plain) is str and type(kind_name) is str:
                values: dict[str, Any] | None = None
                if kind_name == "plain":
                    quick = checked or text_problem(plain) is None
                else:
                    values = _quick_values(item, kind_name) if checked else None
                    quick = values is not None
                if quick:
                    length = len(plain) if plain.isascii() else len(plain.encode(_UTF16, _LONE)) >> 1
                    if values is not None and length > 0:
                        entities.append(TextEntity(offset=offset, length=length, **values))
                    pieces.append(plain)
                    offset += length
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


def _quick_values(item: dict[str, Any], kind_name: str) -> dict[str, Any] | None:
    """The values of an entity of a kind Desktop writes often, when the part is plainly well formed
    (text already checked by the caller); None sends the part the long way, which names any problem."""
    kind = _ENTITY_KINDS.get(kind_name)
    if kind is None:
        return None
    if kind not in _WITH_VALUES:
        return {"kind": kind}
    if kind is EntityKind.TEXT_LINK:
        href = item.get("href")
        return {"kind": kind, "url": href} if href is None or type(href) is str else None
    if kind is EntityKind.BLOCKQUOTE:
        collapsed = item.get("collapsed", False)
        return {"kind": kind, "collapsed": collapsed} if type(collapsed) is bool else None
    return None


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
