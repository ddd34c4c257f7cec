"""Client factories: a real, connected ``TelegramClient`` whose sender is a :class:`FakeSender`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from telethon import TelegramClient
from telethon.sessions import StringSession

from tgvault.testing.fake_telegram.defaults import FAKE_API_HASH, FAKE_API_ID
from tgvault.testing.fake_telegram.sender import FakeSender
from tgvault.testing.fake_telegram.telegram import FakeTelegram

__all__ = ["connect_fake_client", "fake_client"]


async def connect_fake_client(
    world: FakeTelegram, *, flood_sleep_threshold: int = 60, **client_kwargs: Any
) -> TelegramClient:
    """A real ``TelegramClient`` on a ``StringSession`` (DC 2 at 127.0.0.1, pre-shared key), with its sender
    replaced by a :class:`FakeSender` on ``world``, connected and logged in. Await ``client.disconnect()``
    when done, or use :func:`fake_client`. Extra keyword arguments go to ``TelegramClient``."""
    client = TelegramClient(
        StringSession(world.session_string()),
        FAKE_API_ID,
        FAKE_API_HASH,
        flood_sleep_threshold=flood_sleep_threshold,
        **client_kwargs,
    )
    client._sender = FakeSender(world, auth_key=client.session.auth_key, updates_queue=client._updates_queue)
    await client.connect()
    return client


@contextlib.asynccontextmanager
async def fake_client(
    world: FakeTelegram, *, flood_sleep_threshold: int = 60, **client_kwargs: Any
) -> AsyncIterator[TelegramClient]:
    """``async with fake_client(world) as client:`` — :func:`connect_fake_client`, disconnected on exit."""
    client = await connect_fake_client(world, flood_sleep_threshold=flood_sleep_threshold, **client_kwargs)
    try:
        yield client
    finally:
        await client.disconnect()
