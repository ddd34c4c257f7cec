"""The text entities of a message (bold, links, mentions, custom emoji, ...) as domain ``TextEntity``s."""

from __future__ import annotations

from typing import Any

from tgvault.domain import EntityKind, TextEntity
from tgvault.sources.telegram.reading import Reader, nonempty, opt_int, opt_str, req_int, type_name

_ENTITY_KINDS: dict[str, EntityKind] = {
    "MessageEntityBold": EntityKind.BOLD,
    "MessageEntityItalic": EntityKind.ITALIC,
    "MessageEntityUnderline": EntityKind.UNDERLINE,
    "MessageEntityStrike": EntityKind.STRIKETHROUGH,
    "MessageEntitySpoiler": EntityKind.SPOILER,
    "MessageEntityCode": EntityKind.CODE,
    "MessageEntityPre": EntityKind.PRE,
    "MessageEntityBlockquote": EntityKind.BLOCKQUOTE,
    "MessageEntityUrl": EntityKind.URL,
    "MessageEntityTextUrl": EntityKind.TEXT_LINK,
    "MessageEntityMention": EntityKind.MENTION,
    "MessageEntityMentionName": EntityKind.MENTION_NAME,
    "InputMessageEntityMentionName": EntityKind.MENTION_NAME,
    "MessageEntityHashtag": EntityKind.HASHTAG,
    "MessageEntityCashtag": EntityKind.CASHTAG,
    "MessageEntityEmail": EntityKind.EMAIL,
    "MessageEntityPhone": EntityKind.PHONE,
    "MessageEntityBotCommand": EntityKind.BOT_COMMAND,
    "MessageEntityBankCard": EntityKind.BANK_CARD,
    "MessageEntityCustomEmoji": EntityKind.CUSTOM_EMOJI,
    "MessageEntityUnknown": EntityKind.UNKNOWN,
    # Known to this layer but not modelled by the domain; their details stay in ``raw``.
    "MessageEntityFormattedDate": EntityKind.UNKNOWN,
    "MessageEntityDiffInsert": EntityKind.UNKNOWN,
    "MessageEntityDiffReplace": EntityKind.UNKNOWN,
    "MessageEntityDiffDelete": EntityKind.UNKNOWN,
}


def _input_user_id(user: object) -> int | None:
    if isinstance(user, int) and not isinstance(user, bool):
        return user
    return opt_int(getattr(user, "user_id", None), "user_id")


# Entity kinds with nothing but a kind, an offset and a length.
_PLAIN_ENTITY_KINDS = frozenset(EntityKind) - {
    EntityKind.TEXT_LINK,
    EntityKind.PRE,
    EntityKind.BLOCKQUOTE,
    EntityKind.MENTION_NAME,
    EntityKind.CUSTOM_EMOJI,
}


def _entity(entity: Any, reader: Reader) -> TextEntity:
    name = type_name(entity)
    kind = _ENTITY_KINDS.get(name)
    if kind is None:
        reader.note("entities", f"unexpected {name} kept as unknown")
        kind = EntityKind.UNKNOWN
    offset = getattr(entity, "offset", None)
    length = getattr(entity, "length", None)
    if type(offset) is not int or type(length) is not int:
        # Checked (and the message of a failure written) only off the common path: this runs for
        # every entity of every post.
        offset = req_int(offset, f"{name}.offset")
        length = req_int(length, f"{name}.length")
    if kind in _PLAIN_ENTITY_KINDS:
        return TextEntity(kind=kind, offset=offset, length=length)
    extra: dict[str, Any] = {}
    if kind is EntityKind.TEXT_LINK:
        extra["url"] = opt_str(entity.url, "url")
    elif kind is EntityKind.PRE:
        extra["language"] = nonempty(entity.language, "language")
    elif kind is EntityKind.BLOCKQUOTE:
        extra["collapsed"] = bool(getattr(entity, "collapsed", False))
    elif kind is EntityKind.MENTION_NAME:
        extra["user_id"] = _input_user_id(entity.user_id)
    elif kind is EntityKind.CUSTOM_EMOJI:
        extra["document_id"] = opt_int(entity.document_id, "document_id")
    return TextEntity(kind=kind, offset=offset, length=length, **extra)


def text_entities(entities: object, reader: Reader) -> tuple[TextEntity, ...]:
    """The entities of a message; one that cannot be read is left out and noted."""
    return reader.each("entities", entities, lambda entity: _entity(entity, reader))
