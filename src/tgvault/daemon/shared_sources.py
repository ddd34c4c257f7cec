"""The sources the service's jobs share: one of each kind (one Telegram connection) for the whole service."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Protocol

import structlog

from tgvault.config import ChannelConfig, ChannelSource, Settings
from tgvault.errors import TgvaultError
from tgvault.services.archiver import Archiver
from tgvault.sources.base import UpdateFeed

if TYPE_CHECKING:
    from tgvault.app import Archive
    from tgvault.sources.telegram import TelegramSource

# The service's events keep the logger name they have always had (log filters and alerts match on it).
log = structlog.get_logger("tgvault.service")


class ChannelArchivers(Protocol):
    """Gives the archiver for a channel's configured source; its sources are shared by every job."""

    async def archiver_for(self, settings: Settings, channel: ChannelConfig) -> Archiver:
        """The archiver to sync ``channel`` with (raises a TgvaultError when its source is unusable)."""
        ...


class SharedSources:
    """One source of each kind for the whole service, shared by every job (so Telegram's flood waits are
    shared too): Telegram connects once — at start, or when a reloaded config first needs it — and
    reconnects after a long outage; the web preview needs no connection. Connection settings are those
    of the start (a reload cannot change them)."""

    def __init__(
        self, archive: Archive, settings: Settings, *, close_timeout: float = 3.0, owner: str | None = None
    ) -> None:
        self._archive = archive
        self._settings = settings
        self._owner = owner
        self._close_timeout = close_timeout
        self._archivers: dict[ChannelSource, Archiver] = {}
        self._telegram: TelegramSource | None = None
        self._stack = AsyncExitStack()
        self._connecting = asyncio.Lock()

    async def open_for(self, settings: Settings) -> None:
        """Connect the sources the configured channels need now, so a bad session fails at start."""
        for channel in settings.channels:
            await self.archiver_for(settings, channel)

    async def archiver_for(self, settings: Settings, channel: ChannelConfig) -> Archiver:
        """The shared archiver for the channel's source (``auto`` resolved against ``settings``)."""
        from tgvault.app import make_archiver, source_kind_for, web_source

        kind = source_kind_for(settings, channel.name)
        if kind is ChannelSource.WEB:
            if kind not in self._archivers:
                self._archivers[kind] = make_archiver(
                    self._archive, web_source(self._settings), owner=self._owner
                )
            return self._archivers[kind]
        telegram = await self._telegram_source()
        try:
            await telegram.ensure_connected()
        except TgvaultError as error:  # the sync then fails, and is recorded, with the real error
            log.warning("cannot reconnect to Telegram", error=str(error))
        return self._archivers[ChannelSource.TELEGRAM]

    async def _telegram_source(self) -> TelegramSource:
        from tgvault.app import make_archiver, telegram_source

        async with self._connecting:
            if self._telegram is None:
                live = any(channel.live for channel in self._settings.channels)
                source = await self._stack.enter_async_context(
                    telegram_source(self._settings, receive_updates=live)
                )
                self._archivers[ChannelSource.TELEGRAM] = make_archiver(
                    self._archive, source, owner=self._owner
                )
                self._telegram = source
            return self._telegram

    async def update_feed(self) -> UpdateFeed:
        """The Telegram source, whose connection receives updates when a channel is ``live`` at the start."""
        return await self._telegram_source()

    async def aclose(self) -> None:
        """Close the Telegram connection (bounded in time)."""
        if self._telegram is not None:
            log.info("closing the Telegram connection")
        try:
            await asyncio.wait_for(self._stack.aclose(), self._close_timeout)
        except (TimeoutError, TgvaultError, OSError) as error:
            log.warning(
                "the Telegram connection did not close cleanly", error=str(error) or type(error).__name__
            )
