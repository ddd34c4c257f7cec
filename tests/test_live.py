"""Live mode: the service records pushed updates within seconds and heals a disconnection on reconnect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telethon.sessions import StringSession

from service_support import FAST, OneArchiver, UoW, eventually
from tgvault.app import plan_for
from tgvault.config import ChannelConfig, Settings
from tgvault.daemon.orchestrator import Service
from tgvault.services.archiver import Archiver
from tgvault.sources.base import UpdateFeed
from tgvault.sources.telegram import ReconnectingClient, TelegramSource
from tgvault.storage.media_store import LocalMediaStore
from tgvault.testing import FAKE_API_HASH, FAKE_API_ID, FakeTelegram, add_post, fake_client
from tgvault.testing.mtproto_server import LoopbackTelegramServer


def live_settings(tmp_path: Path, name: str) -> Settings:
    return Settings(
        database={"url": f"sqlite:///{tmp_path / 'archive.db'}"},
        media={"dir": tmp_path / "media"},
        channels=[ChannelConfig(name=name, schedule="1h", live=True)],
    )


def post_text(uow: UoW, channel_id: int, message_id: int) -> tuple[str, bool] | None:
    with uow() as unit:
        post = unit.posts.get(channel_id, message_id)
    return None if post is None else (post.text, post.deleted_at is not None)


def start_service(settings: Settings, uow: UoW, source: TelegramSource) -> tuple[Service, asyncio.Task[None]]:
    archiver = Archiver(source, uow, LocalMediaStore(settings.media.dir))

    async def feed() -> UpdateFeed:
        return source

    service = Service(settings, uow, OneArchiver(archiver), plan_for=plan_for, options=FAST, updates=feed)
    return service, asyncio.create_task(service.run_forever())


def synced_once(uow: UoW, key: str) -> Callable[[], bool]:
    def check() -> bool:
        with uow() as unit:
            run = unit.runs.last(channel_key=key)
        return run is not None and run.finished_at is not None

    return check


def test_the_live_service_records_a_new_post_an_edit_and_a_deletion_within_seconds(
    uow_factory: UoW, tmp_path: Path
) -> None:
    world = FakeTelegram()
    world.push_updates = True
    channel = world.add_channel("livefeed")
    for number in range(5):
        add_post(channel, f"before {number}", views=1, forwards=0)
    settings = live_settings(tmp_path, "@livefeed")

    async def go() -> dict[str, float]:
        async with fake_client(world) as client:
            service, running = start_service(settings, uow_factory, TelegramSource(client, request_delay=0))
            try:
                await eventually(synced_once(uow_factory, "@livefeed"), what="the first sync")
                await eventually(lambda: bool(client.list_event_handlers()), what="live mode")
                timings = {}
                new = world.publish(channel, add_post(channel, "breaking news", views=1, forwards=0))
                timings["new"] = await eventually(
                    lambda: post_text(uow_factory, channel.id, new.id) == ("breaking news", False)
                )
                world.edit_message(channel, new.id, "breaking news, corrected")
                timings["edit"] = await eventually(
                    lambda: post_text(uow_factory, channel.id, new.id) == ("breaking news, corrected", False)
                )
                world.delete_messages(channel, [2])
                timings["delete"] = await eventually(
                    lambda: post_text(uow_factory, channel.id, 2) == ("before 1", True)
                )
                return timings
            finally:
                service.stop()
                await asyncio.wait_for(running, 10)

    timings = asyncio.run(go())
    assert all(seconds < 3 for seconds in timings.values()), timings
    with uow_factory() as uow:
        revisions = uow.posts.revisions(channel.id, 6)
        runs = [run for run in uow.runs.recent(50) if run.channel_key == "@livefeed"]
    assert ["breaking news"] == [revision.text for revision in revisions]
    assert 1 == len(runs), "live updates need no sync"


def test_a_disconnection_during_which_posts_come_and_go_is_healed_on_reconnect(
    uow_factory: UoW, tmp_path: Path
) -> None:
    world = FakeTelegram()
    world.push_updates = True
    channel = world.add_channel("healme")
    for number in range(5):
        add_post(channel, f"before {number}", views=1, forwards=0)
    settings = live_settings(tmp_path, "@healme")

    async def go() -> Any:
        async with LoopbackTelegramServer(world.handle, auth_key=world.auth_key) as server:
            world.port = server.port
            world.subscribe(server.push)
            client = ReconnectingClient(
                StringSession(server.session_string()), FAKE_API_ID, FAKE_API_HASH, receive_updates=True
            )
            await client.connect()
            service, running = start_service(settings, uow_factory, TelegramSource(client, request_delay=0))
            try:
                await eventually(synced_once(uow_factory, "@healme"), what="the first sync")
                await eventually(lambda: bool(client.list_event_handlers()), what="live mode")
                pushed = world.publish(channel, add_post(channel, "over the socket", views=1, forwards=0))
                await eventually(lambda: post_text(uow_factory, channel.id, pushed.id) is not None)

                server.stop_listening()
                assert await server.drop_connections() >= 1
                missed = [add_post(channel, f"while away {n}", views=1, forwards=0).id for n in range(3)]
                world.publish(channel, channel.messages[missed[-1]])  # pushed to nobody
                world.delete_messages(channel, [3])
                await asyncio.sleep(0.3)
                await server.start_listening()

                def healed() -> bool:
                    return all(post_text(uow_factory, channel.id, i) is not None for i in missed) and (
                        post_text(uow_factory, channel.id, 3) == ("before 2", True)
                    )

                return await eventually(healed, timeout=20, what="the missed posts and the deletion")
            finally:
                service.stop()
                await asyncio.wait_for(running, 10)
                await client.disconnect()

    asyncio.run(go())
    with uow_factory() as uow:
        runs = [run for run in uow.runs.recent(50) if run.channel_key == "@healme"]
    assert 2 <= len(runs), "the reconnection ran a sync"
