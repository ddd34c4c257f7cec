"""Map one message of a Desktop JSON export (a ``messages`` item) to a post and the files it names."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from pydantic import ValidationError

from tgvault.domain import Forward, Post, ServiceAction, SourceKind
from tgvault.errors import ImportFormatError
from tgvault.formats.desktop import DESKTOP_ACTIONS, RAW_MESSAGE_KEY, is_file_placeholder
from tgvault.sources.tdesktop.json_attachments import contact_of, location_of, media_of, poll_of, reactions_of
from tgvault.sources.tdesktop.json_fields import Fields, unstorable
from tgvault.sources.tdesktop.json_text import text_of
from tgvault.sources.tdesktop.records import ExportMessage, ExportSender
from tgvault.sources.tdesktop.refusals import refused

__all__ = ["message_of"]

_SERVICE_TYPES = {action: kind for kind, action in DESKTOP_ACTIONS.items()}


def message_of(
    data: object, where: str, channel_id: int, zone: tzinfo | None, *, checked: bool = False
) -> ExportMessage:
    """Message ``data`` (at ``where`` in the file) as a post of ``channel_id``; local times read in ``zone``.

    ``checked`` says the caller knows that ``data`` nests no deeper than :data:`MAX_RAW_DEPTH`, holds
    only finite numbers and no text with a lone surrogate (then only the fields read are checked).
    Raises :class:`ImportFormatError` naming the message and the field for anything the archive would
    not accept: a wrong type, an id out of range, a coordinate that is not finite, text with a lone
    surrogate, a message nested deeper than Desktop ever writes.
    """
    fields = Fields(data, where, text_checked=checked)
    message_id = fields.integer("id", required=True)
    assert message_id is not None
    fields.where = where = f"{where} (id {message_id})"
    try:
        message = _message(fields, where, channel_id, message_id, zone)
    except ValidationError as exc:
        raise refused(exc, where) from None
    if checked:
        return message
    for key, value in fields.data.items():  # what the fields read is checked; the rest is kept in raw
        problem = unstorable(value)
        if problem is not None:
            raise ImportFormatError(f"cannot be archived: {problem}", location=f"{where}, field {key!r}")
    return message


def _message(
    fields: Fields, where: str, channel_id: int, message_id: int, zone: tzinfo | None
) -> ExportMessage:
    kind = fields.string("type", required=True)
    if kind not in ("message", "service"):
        fields.fail("type", f'expected "message" or "service", got {kind!r}')
    service = kind == "service"
    files: list[str] = []
    values: dict[str, Any] = {
        "channel_id": channel_id,
        "message_id": message_id,
        "source": SourceKind.TDESKTOP,
        "date": fields.moment("date", zone, required=True),
        "edit_date": fields.moment("edited", zone),
    }
    values["text"], values["entities"] = text_of(fields, files)
    media, media_path = media_of(fields, service)
    if media_path is not None:
        files.append(media_path)
    values["media"] = media
    if service:
        action = fields.string("action", required=True) or ""
        values["service"] = ServiceAction(
            type=_SERVICE_TYPES.get(action, action),
            title=fields.string("title"),
            pinned_message_id=fields.integer("message_id") if action == "pin_message" else None,
        )
    else:
        values["author"] = fields.string("author")
        values["reply_to_message_id"] = fields.integer("reply_to_message_id")
        reply_peer = fields.peer("reply_to_peer_id")
        if reply_peer is not None and reply_peer[0] == "channel":
            values["reply_to_channel_id"] = reply_peer[1]
        if fields.has("forwarded_from"):
            origin = fields.peer("forwarded_from_id")
            values["forward"] = Forward(
                from_name=fields.string("forwarded_from"),
                from_channel_id=origin[1] if origin and origin[0] == "channel" else None,
                from_user_id=origin[1] if origin and origin[0] == "user" else None,
            )
        values["reactions"] = reactions_of(fields, files)
        values["poll"] = poll_of(fields)
        values["location"] = location_of(fields)
        values["contact"] = contact_of(fields, files)
        thumbnail = fields.string("thumbnail")
        if thumbnail and not is_file_placeholder(thumbnail):
            files.append(thumbnail)
    values["raw"] = {RAW_MESSAGE_KEY: _kept(fields.data)}
    post = Post(**values)
    return ExportMessage(
        post=post,
        where=where,
        media_path=media_path,
        files=tuple(dict.fromkeys(files)),
        sender=_sender(fields),
        comment_on=_comment_on(fields),
    )


def _kept(data: Mapping[str, Any]) -> dict[str, Any]:
    """The message as kept in ``raw``: all of it but the comments a tgvault export carries under
    ``"tgvault"`` (they are a discussion group's messages, imported from the group's own export)."""
    kept = dict(data)
    extras = kept.get("tgvault")
    if isinstance(extras, dict) and "comments" in extras:
        kept["tgvault"] = {key: value for key, value in extras.items() if key != "comments"}
    return kept


def _comment_on(fields: Fields) -> tuple[int, int] | None:
    """``"tgvault": {"comment_on": {"channel_id": ..., "post_id": ...}}`` of a tgvault group export."""
    extras = fields.data.get("tgvault")
    found = extras.get("comment_on") if isinstance(extras, Mapping) else None
    if not isinstance(found, Mapping):
        return None
    on = Fields(found, f"{fields.where}, field 'tgvault.comment_on'")
    channel_id, post_id = on.integer("channel_id"), on.integer("post_id")
    if channel_id is None or post_id is None or channel_id <= 0 or post_id <= 0:
        return None
    return (channel_id, post_id)


def _sender(fields: Fields) -> ExportSender | None:
    """The message's sender (``from_id`` like ``user123`` or ``channel123``, and ``from``), if named."""
    peer = fields.peer("from_id")
    if peer is None or peer[0] not in ("user", "channel") or peer[1] <= 0:
        return None
    return ExportSender(kind=peer[0], id=peer[1], name=fields.string("from") or "")
