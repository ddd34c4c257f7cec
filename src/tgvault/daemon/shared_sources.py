"""The sources the service's jobs share: one of each kind (one Telegram connection) for the whole service."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Protocol

import structlog

from tgvault.config import ChannelConfig, ChannelSource, Settings
from tgvault.daemon.account import TelegramAccount
from tgvault.errors import AccountError, SourceError, TgvaultError
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
    of the start (a reload cannot change them), except after the account failed: the retry a reload
    asks for connects with the reloaded settings and the session read afresh.

    While ``account`` has failed, no Telegram request is made: the connection is closed (which also
    lets ``tgvault login`` write the session file) and a Telegram channel's archiver raises the account's
    failure at once. With ``once`` (``tgvault run --once``) a failure to reach Telegram is
    remembered too, so each of its channels reports it without trying again.
    """

    def __init__(
        self,
        archive: Archive,
        settings: Settings,
        *,
        close_timeout: float = 3.0,
        owner: str | None = None,
        account: TelegramAccount | None = None,
        once: bool = False,
    ) -> None:
        self._archive = archive
        self._settings = settings
        self._owner = owner
        self._close_timeout = close_timeout
        self._once = once
        self.account = account or TelegramAccount()
        self._archivers: dict[ChannelSource, Archiver] = {}
        self._telegram: TelegramSource | None = None
        self._unreachable: SourceError | None = None
        self._telegram_stack = AsyncExitStack()
        self._connecting = asyncio.Lock()
        self._closing: set[asyncio.Task[None]] = set()
        self.account.subscribe(self._account_changed)

    async def open_for(self, settings: Settings) -> None:
        """Connect the sources the configured channels need now, so a bad session shows at the start.

        Nothing is raised for a source that cannot be used (the other channels still run): an account
        failure is kept in :attr:`account`, a connection failure is logged and the channels try again.
        A configuration error is raised.
        """
        from tgvault.app import source_kind_for

        kinds = {source_kind_for(settings, channel.name) for channel in settings.channels}
        if ChannelSource.TELEGRAM not in kinds:
            return
        try:
            await self._telegram_source(settings)
        except AccountError:
            return  # kept in the account; the service shows it
        except SourceError as error:
            if not self._once:  # with --once the channels report it
                log.warning("cannot connect to Telegram; its channels will try again", error=str(error))

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
        telegram = await self._telegram_source(settings)
        try:
            await telegram.ensure_connected()
        except TgvaultError as error:  # the sync then fails, and is recorded, with the real error
            log.warning("cannot reconnect to Telegram", error=str(error))
        return self._archivers[ChannelSource.TELEGRAM]

    async def reconnect_telegram(self, settings: Settings) -> None:
        """Connect Telegram afresh with ``settings`` when the account's retry was asked for (a reload after
        ``tgvault login``); raises the account's failure, or why Telegram cannot be reached."""
        await self._telegram_source(settings)

    async def _telegram_source(self, settings: Settings | None = None) -> TelegramSource:
        from tgvault.app import make_archiver, telegram_source

        async with self._connecting:
            self.account.check()  # no request while the account has failed, unless a retry was asked
            if self.account.retrying:
                await self._close_telegram()
            if self._telegram is None:
                if self._unreachable is not None:
                    raise self._unreachable
                chosen = settings if settings is not None and self.account.retrying else self._settings
                live = any(channel.live for channel in self._settings.channels)
                try:
                    source = await self._telegram_stack.enter_async_context(
                        telegram_source(chosen, receive_updates=live)
                    )
                except AccountError as error:
                    self.account.fail(error)
                    raise
                except SourceError as error:
                    if self._once:
                        self._unreachable = error
                    raise
                self._archivers[ChannelSource.TELEGRAM] = make_archiver(
                    self._archive, source, owner=self._owner
                )
                self._telegram = source
                self.account.connected()
            return self._telegram

    async def update_feed(self) -> UpdateFeed:
        """The Telegram source, whose connection receives updates when a channel is ``live`` at the start."""
        return await self._telegram_source()

    def _account_changed(self, failure: AccountError | None) -> None:
        """The account failed: close the connection Telegram no longer accepts (in the background)."""
        if failure is None or self._telegram is None:
            return
        task = asyncio.get_running_loop().create_task(self._close_refused(), name="tgvault-close-telegram")
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close_refused(self) -> None:
        async with self._connecting:
            if self.account.failure is not None and not self.account.retrying and self._telegram is not None:
                log.info("closing the Telegram connection the account can no longer use")
                await self._close_telegram()

    async def _close_telegram(self) -> None:
        """Close the Telegram connection (bounded in time), so that the next use connects afresh."""
        stack, self._telegram_stack = self._telegram_stack, AsyncExitStack()
        self._telegram = None
        self._archivers.pop(ChannelSource.TELEGRAM, None)
        await self._close(stack)

    async def aclose(self) -> None:
        """Close the Telegram connection (bounded in time)."""
        for task in list(self._closing):
            task.cancel()
        await asyncio.gather(*self._closing, return_exceptions=True)
        if self._telegram is not None:
            log.info("closing the Telegram connection")
        await self._close(self._telegram_stack)

    async def _close(self, stack: AsyncExitStack) -> None:
        try:
            await asyncio.wait_for(stack.aclose(), self._close_timeout)
        except (TimeoutError, TgvaultError, OSError) as error:
            log.warning(
                "the Telegram connection did not close cleanly", error=str(error) or type(error).__name__
            )
