"""Turn Telethon messages into tgvault ``Post`` records, without losing anything.

Everything Telegram sent is kept: the fields tgvault understands become domain fields, and the whole TL
object is stored as JSON-safe ``raw`` so a later version can re-read what is not parsed today.

Mapping never crashes on a message's content. Each part (text, entities, media, forward, reactions, ...)
is read on its own; a part with an unexpected shape is left out, and ``Post.parse_error`` says what failed,
e.g. ``"media: unexpected MessageMediaFoo"``. Parts that are understood but not modelled by the domain
(dice, games, invoices, stories, giveaways, paid media, to-do lists, ``MessageMediaUnsupported``) are not
errors: they live in ``raw`` only.

Only two inputs are refused, with :class:`MappingError`: an object that is not a Telegram message at all,
and a message without an integer id. A ``MessageEmpty`` (a deleted or inaccessible id) is not a post:
:func:`message_to_post` returns ``None`` for it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from telethon.tl import types
from telethon.tl.custom.message import Message as CustomMessage

from tgvault.domain import Post, Reaction, TextEntity
from tgvault.sources.telegram.entities import text_entities
from tgvault.sources.telegram.headers import forward_of, reactions_of, reply_count, reply_fields
from tgvault.sources.telegram.media import media_fields
from tgvault.sources.telegram.raw import tl_to_raw
from tgvault.sources.telegram.reading import (
    MappingError,
    Reader,
    nonempty,
    opt_int,
    opt_str,
    tl_base,
    type_name,
    utc,
)
from tgvault.sources.telegram.service_actions import service_action, service_media

MISSING_DATE = datetime(1970, 1, 1, tzinfo=UTC)
"""Stands in for ``Post.date`` when a message carries no date (``parse_error`` then says so)."""


_MESSAGE = tl_base(types.Message)
_MESSAGE_SERVICE = tl_base(types.MessageService)
_MESSAGE_EMPTY = tl_base(types.MessageEmpty)


def _is_service(message: Any) -> bool:
    if isinstance(message, _MESSAGE_SERVICE):
        return True
    if isinstance(message, _MESSAGE):
        return False
    if isinstance(message, CustomMessage):  # a bare custom Message aggregates both kinds
        return getattr(message, "action", None) is not None
    raise MappingError(f"expected a Telegram Message or MessageService, got {type_name(message)}")


def _build_post(fields: dict[str, Any], reader: Reader) -> Post:
    """Build the Post, dropping (and noting) any optional field the domain still refuses."""
    required = {"channel_id", "message_id", "date"}
    while True:
        try:
            return Post(**fields, parse_error=reader.parse_error)
        except ValidationError as exc:
            bad = {str(error["loc"][0]) for error in exc.errors() if error["loc"]} - required
            bad &= fields.keys()
            if not bad:
                raise
            for key in sorted(bad):
                reader.note(key, "rejected by the domain model")
                del fields[key]


def message_to_post(message: Any, channel_id: int) -> Post | None:
    """Map a Telethon ``Message`` or ``MessageService`` of channel ``channel_id`` to a :class:`Post`.

    Returns ``None`` for ``MessageEmpty``. Raises :class:`MappingError` for anything that is not a
    message or has no integer id. Never raises because of a message's content: what cannot be read is
    left out and described in ``Post.parse_error``, and the full TL is always kept in ``Post.raw``.
    """
    if isinstance(message, _MESSAGE_EMPTY):
        return None
    service = _is_service(message)
    message_id = getattr(message, "id", None)
    if isinstance(message_id, bool) or not isinstance(message_id, int):
        raise MappingError(f"message id is {type_name(message_id)}, expected int")

    reader = Reader()

    def attr(name: str) -> Any:
        return getattr(message, name, None)

    posted_at = reader.read("date", lambda: utc(attr("date"), "date"), None)
    if posted_at is None:
        if not any(error.startswith("date:") for error in reader.errors):
            reader.note("date", "missing")
        posted_at = MISSING_DATE

    no_reactions: tuple[Reaction, ...] = ()
    no_entities: tuple[TextEntity, ...] = ()
    no_fields: dict[str, Any] = {}
    fields: dict[str, Any] = {
        "channel_id": channel_id,
        "message_id": message_id,
        "date": posted_at,
        "raw": reader.read("raw", lambda: tl_to_raw(message), None),
        "edit_date": reader.read("edit_date", lambda: utc(attr("edit_date"), "edit_date"), None),
        "pinned": bool(attr("pinned")),
        "author": reader.read("author", lambda: nonempty(attr("post_author"), "post_author"), None),
        "grouped_id": reader.read("grouped_id", lambda: opt_int(attr("grouped_id"), "grouped_id"), None),
        "views": reader.read("views", lambda: opt_int(attr("views"), "views"), None),
        "forwards": reader.read("forwards", lambda: opt_int(attr("forwards"), "forwards"), None),
        "replies": reader.read("replies", lambda: reply_count(attr("replies")), None),
        "reactions": reader.read("reactions", lambda: reactions_of(attr("reactions"), reader), no_reactions),
        "forward": reader.read("forward", lambda: forward_of(attr("fwd_from"), reader), None),
    }
    fields.update(reader.read("reply_to", lambda: reply_fields(attr("reply_to"), reader), no_fields))
    if service:
        fields["service"] = reader.read("service", lambda: service_action(message), None)
        fields.update(reader.read("media", lambda: service_media(message), no_fields))
    else:
        fields["text"] = reader.read("text", lambda: opt_str(attr("message"), "text") or "", "")
        fields["entities"] = reader.read(
            "entities", lambda: text_entities(attr("entities"), reader), no_entities
        )
        fields.update(reader.read("media", lambda: media_fields(attr("media"), reader), no_fields))
    return _build_post(fields, reader)
