"""Service messages (channel created, title changed, message pinned, ...) as ``ServiceAction``s."""

from __future__ import annotations

import re
from typing import Any

from telethon.tl import types

from tgvault.domain import ServiceAction
from tgvault.sources.telegram.media import photo_item
from tgvault.sources.telegram.reading import Unexpected, opt_int, opt_str, type_name

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def service_action_type(action: object) -> str:
    """Snake-case name of a service action: ``MessageActionChatEditTitle`` → ``"chat_edit_title"``."""
    name = type_name(action).removeprefix("MessageAction") or type_name(action)
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def service_action(message: Any) -> ServiceAction:
    """The action of a service message as a ``ServiceAction``."""
    action = getattr(message, "action", None)
    if action is None:
        raise Unexpected("service message without an action")
    pinned_message_id = None
    if isinstance(action, types.MessageActionPinMessage):
        reply_to = getattr(message, "reply_to", None)
        pinned_message_id = opt_int(getattr(reply_to, "reply_to_msg_id", None), "reply_to_msg_id")
    text = None
    if isinstance(action, types.MessageActionCustomAction):
        text = opt_str(action.message, "message")
    title = getattr(action, "title", None)
    return ServiceAction(
        type=service_action_type(action),
        title=title if isinstance(title, str) else None,
        pinned_message_id=pinned_message_id,
        text=text,
    )


def service_media(message: Any) -> dict[str, Any]:
    """Post fields for the photo a service message shows (a new channel photo)."""
    action = getattr(message, "action", None)
    if isinstance(action, types.MessageActionChatEditPhoto):
        return {"media": photo_item(action.photo, spoiler=False)}
    return {}
