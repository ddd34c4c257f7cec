"""Live mode: the updates of the ``live`` channels recorded as they come; a reconnection syncs them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any

import structlog

from tgvault.config import ChannelConfig, Settings
from tgvault.daemon.channel_states import ChannelStates
from tgvault.daemon.rebuilds import RebuildQueue
from tgvault.daemon.turns import ChannelTurns
from tgvault.errors import AccountError, TgvaultError
from tgvault.services.archiver import ChannelOutcome
from tgvault.services.live import LiveWriter
from tgvault.services.plans import ChannelPlan
from tgvault.sources.base import ChannelUpdate, DiscussionSource, UpdateFeed
from tgvault.storage.unit_of_work import UnitOfWork

# The service's events keep the logger name they have always had (log filters and alerts match on it).
log = structlog.get_logger("tgvault.service")


class LiveFollowing:
    """Follows the ``live`` channels through the update feed: each update is written in the channel's
    turn; after a reconnection each followed channel is synced for what was missed (a "heal")."""

    def __init__(
        self,
        settings: Callable[[], Settings],
        updates: Callable[[], Awaitable[UpdateFeed]] | None,
        unit_of_work: Callable[[], UnitOfWork],
        *,
        plan_for: Callable[[Settings, str], ChannelPlan],
        states: ChannelStates,
        turns: ChannelTurns,
        rebuilds: RebuildQueue,
        clock: Callable[[], datetime],
        sync_channel: Callable[[str], Coroutine[Any, Any, ChannelOutcome | None]],
    ) -> None:
        self._settings = settings
        self._updates = updates
        self._uow = unit_of_work
        self._plan_for = plan_for
        self._states = states
        self._turns = turns
        self._rebuilds = rebuilds
        self._clock = clock
        self._sync_channel = sync_channel
        self._heals: set[asyncio.Task[Any]] = set()

    async def follow(self, stop: asyncio.Event) -> None:
        """Follow the updates of the ``live`` channels until the service stops; a reconnection syncs them."""
        wanted = [channel for channel in self._settings().channels if channel.live]
        if not wanted or self._updates is None:
            return
        try:
            feed = await self._updates()
        except AccountError:
            return  # said once for the account; following starts again when the account works again
        except TgvaultError as error:
            log.error("live mode is unavailable; the channels keep their schedules", error=str(error))
            return
        followed: dict[int, ChannelConfig] = {}
        groups: dict[int, tuple[ChannelConfig, int]] = {}  # discussion group id -> its channel
        records = []
        for channel in wanted:
            try:
                record = await feed.resolve(channel.name)
                with self._uow() as uow:
                    uow.channels.upsert(record, self._clock())
                    uow.commit()
            except AccountError:
                return  # said once for the account; following starts again when the account works again
            except TgvaultError as error:
                log.warning("cannot follow the channel live", channel=channel.name, error=str(error))
                continue
            followed[record.id] = channel
            records.append(record)
            group = feed.discussion_group(record) if isinstance(feed, DiscussionSource) else None
            if group is not None and channel.comments:
                groups[group.id] = (channel, record.id)
        writer = LiveWriter(self._uow, clock=self._clock)

        async def on_comments(update: ChannelUpdate) -> None:
            channel, channel_id = groups[update.channel_id]
            if self._states.channel(channel.key) is None:
                return
            try:
                async with self._turns.turn(channel.key):
                    plan = self._plan_for(self._settings(), channel.name)
                    changed = writer.apply_comments(update, plan, channel_id)
            except Exception:  # one bad update never ends live mode
                log.exception("cannot record a live comment", channel=channel.name)
                return
            if changed:
                log.info("live comments", channel=channel.name)
                self._rebuilds.queue(channel_id)

        async def on_update(update: ChannelUpdate) -> None:
            if update.channel_id in groups:
                await on_comments(update)
                return
            channel = followed.get(update.channel_id)
            if channel is None or self._states.channel(channel.key) is None:
                return
            try:
                async with self._turns.turn(channel.key):
                    counts = writer.apply(update, self._plan_for(self._settings(), channel.name))
            except Exception:  # one bad update never ends live mode
                log.exception("cannot record a live update", channel=channel.name)
                return
            log.info("live update", channel=channel.name, **counts.model_dump(exclude_defaults=True))
            if counts.changed:
                self._rebuilds.queue(update.channel_id)

        async def on_reconnect() -> None:
            log.info("reconnected to Telegram; syncing the live channels for what was missed")
            for channel in followed.values():
                heal = asyncio.create_task(
                    self._sync_channel(channel.key), name=f"tgvault-heal-{channel.key}"
                )
                self._heals.add(heal)
                heal.add_done_callback(self._heals.discard)

        stop_following = await feed.follow(records, on_update, on_reconnect)
        log.info("following live", channels=[channel.name for channel in followed.values()])
        try:
            await stop.wait()
        finally:
            stop_following()

    def cancel_heals(self) -> None:
        """Cancel the syncs that reconnections started."""
        for heal in list(self._heals):
            heal.cancel()
