"""Telethon ``Channel`` objects (with their full info) as domain ``Channel`` records."""

from __future__ import annotations

from typing import Any

from telethon import utils as tl_utils
from telethon.tl import types

from tgvault.domain import Channel, ChannelKind
from tgvault.sources.telegram.reading import MappingError, nonempty, opt_int, opt_str, type_name


def channel_to_record(chat: Any, full: Any = None) -> Channel:
    """Map a Telethon ``Channel`` (or ``ChannelForbidden``) to a :class:`Channel`.

    ``full`` is the optional ``messages.ChatFull`` (or its ``ChannelFull``) from ``GetFullChannelRequest``,
    which adds the description and the subscriber count. ``created_at`` is left unset: ``Channel.date`` is
    the date *you joined* when you are a member, so it is not a reliable creation date.
    """
    if not isinstance(chat, types.Channel | types.ChannelForbidden):
        raise MappingError(f"expected a Telegram Channel, got {type_name(chat)}")
    channel_id = chat.id
    if isinstance(channel_id, bool) or not isinstance(channel_id, int):
        raise MappingError(f"channel id is {type_name(channel_id)}, expected int")
    if channel_id < 0:  # a marked id such as -1001234567890
        channel_id = int(tl_utils.resolve_id(channel_id)[0])

    username = nonempty(getattr(chat, "username", None), "username")
    if username is None:
        for handle in getattr(chat, "usernames", None) or ():
            if getattr(handle, "active", False) and isinstance(handle.username, str):
                username = handle.username
                break

    full_chat = getattr(full, "full_chat", full)
    description = None
    subscribers = opt_int(getattr(chat, "participants_count", None), "participants_count")
    if full_chat is not None:
        if not isinstance(full_chat, types.ChannelFull):
            raise MappingError(f"expected ChannelFull, got {type_name(full_chat)}")
        if full_chat.id != channel_id:
            raise MappingError(f"full info is for channel {full_chat.id}, not {channel_id}")
        description = nonempty(full_chat.about, "about")
        full_count = opt_int(full_chat.participants_count, "participants_count")
        if full_count is not None:
            subscribers = full_count

    supergroup = bool(getattr(chat, "megagroup", False) or getattr(chat, "gigagroup", False))
    return Channel(
        id=channel_id,
        username=username,
        title=opt_str(chat.title, "title") or "",
        description=description,
        subscribers=subscribers,
        kind=ChannelKind.SUPERGROUP if supergroup else ChannelKind.CHANNEL,
    )
