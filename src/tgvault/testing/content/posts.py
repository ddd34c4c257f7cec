"""Single channel posts: a ``Message`` with the next id, or a service message."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from telethon.tl import types

from tgvault.testing.content.text import TL
from tgvault.testing.fake_telegram import FakeChannel

__all__ = ["add_post", "add_service"]


def add_post(
    channel: FakeChannel,
    text: str = "",
    entities: Iterable[TL] | None = None,
    *,
    media: TL = None,
    date: datetime | None = None,
    msg_id: int | None = None,
    **fields: Any,
) -> TL:
    """Add one channel post (``types.Message``) with the next id (or ``msg_id``) and return it.

    ``date`` defaults to one minute after the newest post. Other ``Message`` fields (``views``,
    ``reply_to``, ``fwd_from``, ``grouped_id``, ``edit_date``, ``reactions``, ...) pass through.
    """
    message = types.Message(
        id=msg_id if msg_id is not None else channel.next_id(),
        peer_id=channel.peer,
        date=date or channel.last_date + timedelta(minutes=1),
        message=text,
        post=True,
        media=media,
        entities=list(entities) if entities else None,
        **fields,
    )
    return channel.add_message(message)


def add_service(channel: FakeChannel, msg_id: int, date: datetime, action: TL, reply_to: TL = None) -> TL:
    """Add a service message (``action``, e.g. a pin or a new title) at ``msg_id`` and return it."""
    message = types.MessageService(
        id=msg_id, peer_id=channel.peer, date=date, action=action, post=True, reply_to=reply_to
    )
    return channel.add_message(message)
