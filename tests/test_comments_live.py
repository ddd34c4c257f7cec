"""Live mode follows a channel's discussion group: new, edited and deleted comments within seconds."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from service_support import UoW, eventually
from test_live import live_settings, start_service, synced_once
from tgvault.sources.telegram import TelegramSource
from tgvault.testing import FakeTelegram, add_post, fake_client


def comment(
    uow: UoW, channel_id: int, group_id: int, message_id: int
) -> tuple[int, str, bool, int | None] | None:
    with uow() as unit:
        links = unit.discussions.group_links(group_id, [message_id])
        post = unit.posts.get(group_id, message_id)
    link = links.get(message_id)
    if link is None or post is None or link.channel_id != channel_id:
        return None
    return link.post_id, post.text, post.deleted_at is not None, link.reply_to_comment_id


def test_live_mode_records_new_edited_and_deleted_comments(uow_factory: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    world.push_updates = True
    channel = world.add_channel("livetalk")
    for number in range(5):
        add_post(channel, f"post {number}", views=1, forwards=0)
    discussion = world.add_discussion_group(channel)
    ana, bo = world.add_user("Ana", "Lima"), world.add_user("Bo", "")
    at = world.now() - timedelta(minutes=5)
    first = discussion.add_comment(5, ana, "first", date=at)
    settings = live_settings(tmp_path, "@livetalk")
    group_id = discussion.group.id

    async def go() -> None:
        async with fake_client(world) as client:
            service, running = start_service(settings, uow_factory, TelegramSource(client, request_delay=0))
            try:
                await eventually(synced_once(uow_factory, "@livetalk"), what="the first sync")
                await eventually(lambda: bool(client.list_event_handlers()), what="live mode")
                assert (5, "first", False, None) == comment(uow_factory, channel.id, group_id, first.id)
                direct = world.publish(group_id, discussion.add_comment(5, bo, "me too", date=world.now()))
                await eventually(
                    lambda: (
                        comment(uow_factory, channel.id, group_id, direct.id) == (5, "me too", False, None)
                    )
                )
                reply = discussion.add_comment(5, ana, "thanks", date=world.now(), reply_to=direct.id)
                world.publish(group_id, reply)
                await eventually(
                    lambda: (
                        comment(uow_factory, channel.id, group_id, reply.id)
                        == (5, "thanks", False, direct.id)
                    )
                )
                world.edit_message(discussion.group, first.id, "first, edited")
                await eventually(
                    lambda: (
                        comment(uow_factory, channel.id, group_id, first.id)
                        == (5, "first, edited", False, None)
                    )
                )
                world.delete_messages(discussion.group, [direct.id])
                await eventually(
                    lambda: comment(uow_factory, channel.id, group_id, direct.id) == (5, "me too", True, None)
                )
                lone = world.publish(group_id, discussion.add_comment(3, bo, "first on 3", date=world.now()))
                chatter = add_post(discussion.group, "just chatting in the group", views=None)
                world.publish(group_id, chatter)
                await asyncio.sleep(0.5)
                assert comment(uow_factory, channel.id, group_id, lone.id) is None, (
                    "its post's copy is unknown"
                )
                with uow_factory() as uow:
                    assert uow.posts.get(group_id, chatter.id) is None, "no comment: not kept"
                    assert ["first"] == [r.text for r in uow.posts.revisions(group_id, first.id)]
                    authors = uow.discussions.authors([ana.id, bo.id])
                assert "Ana Lima" == authors[ana.id].name, "a pushed update without names keeps the name"
            finally:
                service.stop()
                await asyncio.wait_for(running, 10)

    asyncio.run(go())
