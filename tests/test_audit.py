"""Audits of the whole history, mass-deletion alerts and counters over time, against the fake Telegram."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from telethon.tl.functions.channels import GetMessagesRequest

from tgvault.domain import AlertKind
from tgvault.services.archiver import Archiver
from tgvault.services.audit import Auditor, AuditOutcome
from tgvault.services.plans import NO_MEDIA, ChannelPlan, RefreshWindow
from tgvault.sources.telegram import TelegramSource
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing import FakeChannel, FakeTelegram, add_post, fake_client

UoW = Callable[[], UnitOfWork]


def run(world: FakeTelegram, unit_of_work: UoW, media: Path, action: Callable[[Archiver], Any]) -> Any:
    async def go() -> Any:
        async with fake_client(world) as client:
            archiver = Archiver(
                TelegramSource(client, request_delay=0), unit_of_work, LocalMediaStore(media), clock=world.now
            )
            return await action(archiver)

    return asyncio.run(go())


def audit(
    world: FakeTelegram, unit_of_work: UoW, media: Path, plan: ChannelPlan, **kwargs: Any
) -> AuditOutcome:
    def action(archiver: Archiver) -> Any:
        return Auditor(archiver, unit_of_work, clock=world.now).audit(plan, pause=0, **kwargs)

    outcome: AuditOutcome = run(world, unit_of_work, media, action)
    return outcome


def long_channel(world: FakeTelegram, username: str, posts: int) -> FakeChannel:
    channel = world.add_channel(username)
    start = world.now() - timedelta(days=3 * 365)
    for number in range(posts):
        add_post(
            channel, f"post number {number}", date=start + timedelta(hours=5 * number), views=10, forwards=1
        )
    return channel


# a small refresh window, as a sync of a long channel has: the audit must find what it misses
WINDOW = RefreshWindow(newest_posts=50, days=0)


def test_an_audit_of_5000_posts_finds_old_edits_and_deletions_with_about_50_requests(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    world = FakeTelegram()
    channel = long_channel(world, "longrun", 5000)
    plan = ChannelPlan("@longrun", media=NO_MEDIA, refresh=WINDOW)
    run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))
    world.advance(86400)
    edited, deleted, viewed = [12, 1500, 3999], [7, 2222, 4100], 40
    for msg_id in edited:
        world.edit_message(channel, msg_id, f"corrected post {msg_id}")
    world.delete_messages(channel, deleted)
    channel.messages[viewed].views = 99_999
    synced = run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))
    assert (0, 0) == (synced.posts_edited, synced.posts_deleted), "all far outside the refresh window"

    world.requests.clear()
    outcome = audit(world, unit_of_work, tmp_path, plan)

    assert outcome.complete
    assert (3, 3) == (outcome.counts.posts_edited, outcome.counts.posts_deleted)
    assert 50 == world.count(GetMessagesRequest)
    # besides the 4 requests of connecting, the audit costs 2 to resolve the channel and 50 reads
    names = [type(request).__name__ for request in world.requests]
    connecting = ["GetConfigRequest", "GetUsersRequest", "GetStateRequest", "GetDifferenceRequest"]
    assert connecting == names[:4]
    assert ["ResolveUsernameRequest", "GetFullChannelRequest"] + ["GetMessagesRequest"] * 50 == names[4:]
    with unit_of_work() as uow:
        for msg_id in edited:
            post = uow.posts.get(channel.id, msg_id)
            assert post is not None and f"corrected post {msg_id}" == post.text
            assert [f"post number {msg_id - 1}"] == [r.text for r in uow.posts.revisions(channel.id, msg_id)]
        for msg_id in deleted:
            post = uow.posts.get(channel.id, msg_id)
            assert post is not None and post.deleted_at == world.now()
            assert f"post number {msg_id - 1}" == post.text
        assert [10, 99_999] == [point.views for point in uow.counters.series(channel.id, viewed)]
        assert uow.audits.get(channel.id).last_completed_at == world.now()
        assert [] == uow.alerts.open()


def test_an_audit_stopped_midway_continues_where_it_stopped(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    channel = long_channel(world, "sliced", 1000)
    plan = ChannelPlan("@sliced", media=NO_MEDIA, refresh=WINDOW)
    run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))
    world.delete_messages(channel, [950])
    world.requests.clear()
    first = audit(world, unit_of_work, tmp_path, plan, max_batches=4)
    with unit_of_work() as uow:
        assert 400 == uow.audits.get(channel.id).cursor_id
    world.delete_messages(channel, [3])  # already checked in this audit: left for the next one
    second = audit(world, unit_of_work, tmp_path, plan, max_batches=100)
    assert (False, True) == (first.complete, second.complete)
    assert (400, 600, 1) == (first.checked, second.checked, second.vanished)
    assert 10 == world.count(GetMessagesRequest)
    with unit_of_work() as uow:
        assert uow.audits.get(channel.id).cursor_id is None
        early = uow.posts.get(channel.id, 3)
    assert early is not None and early.deleted_at is None
    third = audit(world, unit_of_work, tmp_path, plan, restart=True)
    assert 1 == third.counts.posts_deleted


def test_a_wipe_of_90_percent_raises_an_alert_and_keeps_every_post(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    channel = long_channel(world, "wiped", 120)
    plan = ChannelPlan("@wiped", media=NO_MEDIA, refresh=RefreshWindow(newest_posts=200, days=0))
    run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))
    gone = channel.ids[:108]
    world.delete_messages(channel, gone)
    counts = run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))
    assert 108 == counts.posts_deleted
    with unit_of_work() as uow:
        alerts = uow.alerts.open()
        assert 120 == uow.posts.count(channel.id)
        kept = {post.message_id: post for post in uow.posts.iter_channel(channel.id)}
    assert [(AlertKind.MASS_DELETION, "sync", 120, 108)] == [
        (a.kind, a.run_kind, a.checked, a.vanished) for a in alerts
    ]
    assert "90%" in alerts[0].message
    assert all(kept[i].deleted_at is not None and kept[i].text == f"post number {i - 1}" for i in gone)


def test_a_few_deletions_raise_no_alert(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    channel = long_channel(world, "calmchannel", 40)
    plan = ChannelPlan("@calmchannel", media=NO_MEDIA)
    run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))
    world.delete_messages(channel, channel.ids[:10])
    run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))
    with unit_of_work() as uow:
        assert [] == uow.alerts.open()


def test_counters_form_a_time_series_with_one_row_per_change(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    channel = long_channel(world, "counted", 5)
    plan = ChannelPlan("@counted", media=NO_MEDIA)
    target = channel.ids[-1]
    seen = []
    for views in (10, 10, 250, 4000, 4000):
        channel.messages[target].views = views
        channel.messages[target].forwards = views // 10
        seen.append(world.now())
        run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))
        world.advance(3600)
    with unit_of_work() as uow:
        series = uow.counters.series(channel.id, target)
    assert [(seen[0], 10, 1), (seen[2], 250, 25), (seen[3], 4000, 400)] == [
        (point.observed_at, point.views, point.forwards) for point in series
    ]
