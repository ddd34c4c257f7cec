"""The Telethon client of the configured account: its options, its session, connecting and reconnecting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telethon import TelegramClient, functions
from telethon.sessions import SQLiteSession, StringSession

from tgvault.errors import NotLoggedInError
from tgvault.sources.telegram.failures import translated_errors


@dataclass(frozen=True)
class ClientOptions:
    """How to build a Telegram client: credentials, session and pacing."""

    api_id: int
    api_hash: str
    session_string: str | None = None
    session_file: Path | None = None
    flood_sleep_threshold: int = 60
    request_retries: int = 5
    receive_updates: bool = False
    """True for live mode: the connection also receives the updates of the channels the account joined."""
    connect_timeout: float = 120.0
    """Seconds to connect and check the session before giving up (Telethon alone may retry for ever)."""


def make_session(options: ClientOptions) -> StringSession | SQLiteSession:
    """The Telethon session named by the options: a session string wins over a session file."""
    if options.session_string:
        try:
            return StringSession(options.session_string)
        except Exception as exc:  # Telethon raises ValueError or binascii errors for a bad string
            raise NotLoggedInError(
                "TGVAULT_TELEGRAM__SESSION_STRING is not a valid Telethon session string; "
                "create one with `tgvault login --string`"
            ) from exc
    if options.session_file is None:
        raise NotLoggedInError("no Telegram session configured: run `tgvault login` first")
    options.session_file.parent.mkdir(parents=True, exist_ok=True)
    session = SQLiteSession(str(options.session_file))
    restrict_permissions(options.session_file)
    return session


def restrict_permissions(session_file: Path) -> None:
    """Make the session file (and Telethon's ``.session`` beside it) readable by the owner only."""
    for candidate in (session_file, Path(f"{session_file}.session")):
        if candidate.exists():
            candidate.chmod(0o600)


class ReconnectingClient(TelegramClient):  # type: ignore[misc]  # Telethon is untyped
    """A ``TelegramClient`` that says when it reconnected on its own, since updates may have been missed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_reconnect: list[Callable[[], None]] = []

    async def _handle_auto_reconnect(self) -> None:
        await super()._handle_auto_reconnect()
        for callback in list(self.on_reconnect):
            callback()


def build_client(options: ClientOptions) -> TelegramClient:
    """A Telethon client for the configured account (not yet connected)."""
    client = ReconnectingClient(
        make_session(options),
        options.api_id,
        options.api_hash,
        flood_sleep_threshold=options.flood_sleep_threshold,
        request_retries=options.request_retries,
        receive_updates=options.receive_updates,
    )
    return client


@asynccontextmanager
async def connected_client(options: ClientOptions) -> AsyncIterator[TelegramClient]:
    """Connect, make sure the session is logged in, and disconnect on leaving.

    Raises :class:`~tgvault.errors.AccountError` naming the cause when Telegram refuses the session
    (logged out, revoked, banned, ...) and :class:`~tgvault.errors.SourceConnectionError` when Telegram
    cannot be reached, closes the connection, or does not answer within ``options.connect_timeout``.
    """
    client = build_client(options)
    try:
        with translated_errors(None):
            await asyncio.wait_for(_connect_authorised(client), options.connect_timeout)
        yield client
    finally:
        await client.disconnect()
        if options.session_file is not None and not options.session_string:
            restrict_permissions(options.session_file)


async def _connect_authorised(client: TelegramClient) -> None:
    """Connect and check the session; Telegram's reason for refusing it is raised as Telethon's error."""
    await client.connect()
    if await client.is_user_authorized():
        return
    # is_user_authorized() swallows Telegram's answer; ask again to learn why (revoked, banned, ...)
    await client(functions.updates.GetStateRequest())
    raise NotLoggedInError(
        "the Telegram session is not logged in: run `tgvault login` "
        "(or set TGVAULT_TELEGRAM__SESSION_STRING from `tgvault login --string`)"
    )
