"""Backfill and sync through real Telethon code against the fake Telegram, into real databases."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from telethon.extensions import BinaryReader
from telethon.tl.functions.channels import GetMessagesRequest
from telethon.tl.functions.messages import GetHistoryRequest
from telethon.tl.functions.upload import GetFileRequest

from tgvault.domain import MediaKind, MediaStatus, Post, RunStatus
from tgvault.errors import ChannelBusyError, ChannelUnavailableError
from tgvault.services.archiver import Archiver
from tgvault.services.plans import NO_MEDIA, ChannelPlan, MediaPolicy, RefreshWindow
from tgvault.sources.telegram import TelegramSource, message_to_post
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing import (
    FakeChannel,
    FakeTelegram,
    add_post,
    build_realistic_channel,
    document_media,
    fake_client,
    photo_media,
)

UoW = Callable[[], UnitOfWork]


class CrashAfter:
    """Progress that raises after ``pages`` committed pages, like a process dying mid-run."""

    def __init__(self, pages: int) -> None:
        self.left = pages

    def started(self, channel: str, total_posts: int | None) -> None:
        pass

    def advance(self, count: int, size: int = 0) -> None:
        self.left -= 1
        if self.left <= 0:
            raise SystemExit("simulated crash")

    def media(self, files: int, size: int) -> None:
        pass

    def finished(self) -> None:
        pass


def run_archiver(
    world: FakeTelegram,
    unit_of_work: UoW,
    media_dir: Path,
    action: Callable[[Archiver], Coroutine[Any, Any, Any]],
    *,
    flood_sleep_threshold: int = 60,
    progress: Any = None,
    owner: str | None = None,
) -> Any:
    async def go() -> Any:
        async with fake_client(world, flood_sleep_threshold=flood_sleep_threshold) as client:
            source = TelegramSource(client, request_delay=0)
            archiver = Archiver(
                source,
                unit_of_work,
                LocalMediaStore(media_dir),
                clock=world.now,
                progress=progress,
                owner=owner,
            )
            return await action(archiver)

    return asyncio.run(go())


def full_plan(key: str, **changes: Any) -> ChannelPlan:
    return ChannelPlan(key=key, media=MediaPolicy(max_size=10**9), **changes)


def archived_posts(unit_of_work: UoW, channel_id: int) -> list[Post]:
    with unit_of_work() as uow:
        return list(uow.posts.iter_channel(channel_id))


def over_the_wire(message: Any) -> Any:
    """The message as a client decodes it from Telegram's bytes (unset flags read back as False)."""
    return BinaryReader(bytes(message)).tgread_object()


def without_download_state(post: Post) -> Post:
    if post.media is None:
        return post
    media = post.media.model_copy(update={"status": MediaStatus.PENDING, "sha256": None, "path": None})
    return post.model_copy(update={"media": media})


def test_a_full_backfill_equals_the_source_post_for_post_and_field_for_field(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    world = FakeTelegram()
    channel = build_realistic_channel(world, 240, seed=7, username="realistic")
    counts = run_archiver(
        world, unit_of_work, tmp_path / "media", lambda a: a.backfill(full_plan("@realistic"))
    )
    stored = {post.message_id: post for post in archived_posts(unit_of_work, channel.id)}
    expected = {
        message_id: message_to_post(over_the_wire(message), channel.id)
        for message_id, message in channel.messages.items()
    }
    assert sorted(expected) == sorted(stored)
    assert 240 == counts.posts_added
    for message_id, post in expected.items():
        assert post is not None
        assert without_download_state(stored[message_id]) == post, message_id
    store = LocalMediaStore(tmp_path / "media")
    downloaded = [
        post for post in stored.values() if post.media and post.media.status is MediaStatus.DOWNLOADED
    ]
    assert downloaded, "the realistic channel has media"
    for post in downloaded:
        assert post.media is not None and post.media.path is not None
        content = store.path_of(post.media.path).read_bytes()
        assert world.file_bytes(channel.messages[post.message_id]) == content
        assert hashlib.sha256(content).hexdigest() == post.media.sha256
    kinds = {post.media.kind for post in stored.values() if post.media}
    assert {MediaKind.PHOTO, MediaKind.VIDEO, MediaKind.DOCUMENT, MediaKind.VOICE} <= kinds
    assert any(post.grouped_id for post in stored.values())
    assert any(post.forward for post in stored.values())
    assert any(post.reactions for post in stored.values())
    assert any(post.poll for post in stored.values())


def test_a_backfill_asks_for_about_one_history_page_per_hundred_posts(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    world = FakeTelegram()
    build_realistic_channel(world, 1000, seed=3, with_media=False, username="bigchannel")
    run_archiver(
        world, unit_of_work, tmp_path / "m", lambda a: a.backfill(ChannelPlan("@bigchannel", media=NO_MEDIA))
    )
    assert world.count(GetHistoryRequest) <= 11


def test_a_sync_with_nothing_new_costs_one_history_request(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    build_realistic_channel(world, 300, seed=3, with_media=False, username="quiet")
    plan = ChannelPlan("@quiet", media=NO_MEDIA, refresh=RefreshWindow(newest_posts=200, days=0))
    run_archiver(world, unit_of_work, tmp_path / "m", lambda a: a.backfill(plan))
    before_history, before_get = world.count(GetHistoryRequest), world.count(GetMessagesRequest)
    counts = run_archiver(world, unit_of_work, tmp_path / "m", lambda a: a.sync(plan))
    assert 0 == counts.posts_added
    assert 1 == world.count(GetHistoryRequest) - before_history
    assert 2 == world.count(GetMessagesRequest) - before_get  # the refresh window: 200 posts, pages of 100


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_backfill_resumes_after_crashes_with_every_post_exactly_once(
    unit_of_work: UoW, tmp_path: Path, seed: int
) -> None:
    world = FakeTelegram()
    channel = build_realistic_channel(world, 650, seed=seed, with_media=False, username="crashy")
    plan = ChannelPlan("@crashy", media=NO_MEDIA)
    rng = random.Random(seed)
    for crashes in range(1, 4):
        with pytest.raises(SystemExit):
            run_archiver(
                world,
                unit_of_work,
                tmp_path / "m",
                lambda a: a.backfill(plan),
                progress=CrashAfter(rng.randint(1, 2)),
            )
        add_post(channel, f"posted while we were down #{crashes}")
    run_archiver(world, unit_of_work, tmp_path / "m", lambda a: a.backfill(plan))
    with unit_of_work() as uow:
        ids = uow.posts.ids(channel.id)
        state = uow.sync_state.get(channel.id)
        runs = uow.runs.recent()
    assert sorted(channel.messages) == ids
    assert len(ids) == len(set(ids)) == 653
    assert state.backfill_complete
    assert max(ids) == state.newest_id
    assert [RunStatus.OK, RunStatus.FAILED, RunStatus.FAILED, RunStatus.FAILED] == [
        run.status for run in runs
    ]


def test_sync_records_new_posts_edits_deletions_and_counters(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    channel = build_realistic_channel(world, 50, seed=11, with_media=False, username="lively")
    plan = ChannelPlan("@lively", media=NO_MEDIA)
    run_archiver(world, unit_of_work, tmp_path / "m", lambda a: a.sync(plan))
    edited_id = max(i for i, m in channel.messages.items() if getattr(m, "message", None))
    with unit_of_work() as uow:
        original = uow.posts.get(channel.id, edited_id)
    assert original is not None
    world.advance(3600)
    world.edit_message(channel, edited_id, "the corrected text 🇺🇦")
    deleted_id = min(i for i in channel.messages if i > 10)
    world.delete_messages(channel, [deleted_id])
    views_id = max(channel.messages) - 1
    channel.messages[views_id].views = 123456
    add_post(channel, "a brand new post")
    world.advance(60)
    counts = run_archiver(world, unit_of_work, tmp_path / "m", lambda a: a.sync(plan))
    with unit_of_work() as uow:
        edited = uow.posts.get(channel.id, edited_id)
        revisions = uow.posts.revisions(channel.id, edited_id)
        deleted = uow.posts.get(channel.id, deleted_id)
        counted = uow.posts.get(channel.id, views_id)
    assert (1, 1, 1) == (counts.posts_added, counts.posts_edited, counts.posts_deleted)
    assert edited is not None and "the corrected text 🇺🇦" == edited.text
    assert [original.text] == [revision.text for revision in revisions]
    assert deleted is not None and world.now() == deleted.deleted_at
    assert counted is not None and 123456 == counted.views


def test_a_deleted_post_keeps_its_content(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    channel = world.add_channel("keeper")
    add_post(channel, "first")
    add_post(channel, "second, soon deleted")
    plan = ChannelPlan("@keeper", media=NO_MEDIA)
    run_archiver(world, unit_of_work, tmp_path / "m", lambda a: a.sync(plan))
    gone_id = max(channel.messages)
    world.delete_messages(channel, [gone_id])
    run_archiver(world, unit_of_work, tmp_path / "m", lambda a: a.sync(plan))
    with unit_of_work() as uow:
        post = uow.posts.get(channel.id, gone_id)
    assert post is not None
    assert ("second, soon deleted", True) == (post.text, post.deleted_at is not None)


def test_a_short_flood_wait_is_slept_through(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    build_realistic_channel(world, 150, seed=5, with_media=False, username="floody")
    world.flood_wait(GetHistoryRequest, 1)
    counts = run_archiver(
        world, unit_of_work, tmp_path / "m", lambda a: a.backfill(ChannelPlan("@floody", media=NO_MEDIA))
    )
    assert 150 == counts.posts_added


def test_a_long_flood_wait_ends_the_run_and_keeps_the_checkpoint(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    slow = build_realistic_channel(world, 1000, seed=5, with_media=False, username="slowchannel")
    build_realistic_channel(world, 30, seed=6, with_media=False, username="finechannel")

    class FloodOnSecondPage:
        def __init__(self) -> None:
            self.pages = 0

        def started(self, channel: str, total_posts: int | None) -> None:
            pass

        def advance(self, count: int, size: int = 0) -> None:
            self.pages += 1
            if self.pages == 1:
                world.flood_wait(GetHistoryRequest, 3600)

        def media(self, files: int, size: int) -> None:
            pass

        def finished(self) -> None:
            pass

    plans = [ChannelPlan("@slowchannel", media=NO_MEDIA), ChannelPlan("@finechannel", media=NO_MEDIA)]
    outcomes = run_archiver(
        world,
        unit_of_work,
        tmp_path / "m",
        lambda a: a.sync_many(plans),
        flood_sleep_threshold=10,
        progress=FloodOnSecondPage(),
    )
    # Telethon (like Telegram) applies a flood wait to the whole account, so the next channel is
    # still attempted and recorded, and fails fast with the same wait instead of hanging.
    assert ["@slowchannel", "@finechannel"] == [outcome.key for outcome in outcomes]
    assert "3600" in (outcomes[0].error or "")
    with unit_of_work() as uow:
        kept = uow.posts.count(slow.id)
        state = uow.sync_state.get(slow.id)
        last = uow.runs.last(channel_id=slow.id)
    # The source reads ahead while a page is stored, so the wait hits a later page's request: whole pages
    # are committed before it, and the checkpoint covers exactly those.
    assert 0 < kept < 1000 and 0 == kept % 100
    assert state.backfill_offset_id == min(slow.messages) + 1000 - kept
    assert last is not None and RunStatus.FAILED == last.status and "3600" in (last.error or "")
    resumed = run_archiver(world, unit_of_work, tmp_path / "m", lambda a: a.sync(plans[0]))
    assert 1000 - kept == resumed.posts_added


def test_a_vanished_channel_is_reported_and_the_others_carry_on(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    build_realistic_channel(world, 20, seed=1, with_media=False, username="gonechannel")
    build_realistic_channel(world, 20, seed=2, with_media=False, username="herechannel")
    world.vanish_channel("gonechannel")
    plans = [ChannelPlan("@gonechannel", media=NO_MEDIA), ChannelPlan("@herechannel", media=NO_MEDIA)]
    outcomes = run_archiver(world, unit_of_work, tmp_path / "m", lambda a: a.sync_many(plans))
    assert [False, True] == [outcome.ok for outcome in outcomes]
    assert "no channel has this username" in (outcomes[0].error or "")
    with unit_of_work() as uow:
        failed = uow.runs.last(channel_key="@gonechannel")
    assert failed is not None and RunStatus.FAILED == failed.status


def test_a_channel_that_goes_private_after_resolving_is_reported(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    build_realistic_channel(world, 20, seed=1, with_media=False, username="closing")

    async def go(archiver: Archiver) -> None:
        world.fail_next(GetHistoryRequest, "CHANNEL_PRIVATE", 400)
        await archiver.backfill(ChannelPlan("@closing", media=NO_MEDIA))

    with pytest.raises(ChannelUnavailableError, match="private"):
        run_archiver(world, unit_of_work, tmp_path / "m", go)


def test_an_expired_file_reference_is_refreshed_not_given_up(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    channel = world.add_channel("pictures")
    message = add_post(channel, "a photo", media=photo_media(channel, size=70_000, seed=9))
    world.expire_file_reference(channel, message.id)
    world.strict_file_references = True
    run_archiver(world, unit_of_work, tmp_path / "m", lambda a: a.backfill(full_plan("@pictures")))
    with unit_of_work() as uow:
        post = uow.posts.get(channel.id, message.id)
    assert post is not None and post.media is not None
    assert MediaStatus.DOWNLOADED == post.media.status
    path = LocalMediaStore(tmp_path / "m").path_of(post.media.path or "")
    assert world.file_bytes(message) == path.read_bytes()


def test_a_hostile_file_name_is_display_text_never_a_path(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    channel = world.add_channel("hostile")
    message = add_post(channel, "", media=document_media(channel, "passwd", size=1234, seed=4))
    media_dir = tmp_path / "deep" / "media"
    run_archiver(world, unit_of_work, media_dir, lambda a: a.backfill(full_plan("@hostile")))
    with unit_of_work() as uow:
        post = uow.posts.get(channel.id, message.id)
    assert post is not None and post.media is not None
    assert "../../etc/passwd" == post.media.file_name
    assert post.media.path is not None and ".." not in post.media.path
    stored = [path for path in (tmp_path / "deep").rglob("*") if path.is_file()]
    assert [media_dir / post.media.path] == [path for path in stored if ".tmp" not in path.parts]


def test_media_outside_the_policy_is_skipped_with_the_reason(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    channel = world.add_channel("picky")
    big = add_post(channel, "big video", media=document_media(channel, "video", size=300_000, seed=1))
    small = add_post(channel, "small photo", media=photo_media(channel, size=10_000, seed=2))
    plan = ChannelPlan("@picky", media=MediaPolicy(max_size=100_000))
    counts = run_archiver(world, unit_of_work, tmp_path / "m", lambda a: a.backfill(plan))
    with unit_of_work() as uow:
        skipped = uow.posts.get(channel.id, big.id)
        fetched = uow.posts.get(channel.id, small.id)
    assert 1 == counts.media_files
    assert skipped is not None and skipped.media is not None
    assert MediaStatus.SKIPPED == skipped.media.status and "media_max_size" in (skipped.media.error or "")
    assert (
        fetched is not None and fetched.media is not None and MediaStatus.DOWNLOADED == fetched.media.status
    )
    assert MediaStatus.PENDING not in {skipped.media.status, fetched.media.status}


def test_failed_downloads_are_retried_on_the_next_run(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    channel = world.add_channel("flaky")
    message = add_post(channel, "doc", media=document_media(channel, "file", size=5000, seed=3))
    world.fail_next(GetFileRequest, "FILE_PARTS_INVALID", 400)
    run_archiver(world, unit_of_work, tmp_path / "m", lambda a: a.sync(full_plan("@flaky")))
    with unit_of_work() as uow:
        first = uow.posts.get(channel.id, message.id)
    assert first is not None and first.media is not None and MediaStatus.FAILED == first.media.status
    world.advance(60)  # a failed download waits (10 s, doubling) before its next attempt
    counts = run_archiver(world, unit_of_work, tmp_path / "m", lambda a: a.sync(full_plan("@flaky")))
    with unit_of_work() as uow:
        second = uow.posts.get(channel.id, message.id)
    assert 1 == counts.media_files
    assert second is not None and second.media is not None and MediaStatus.DOWNLOADED == second.media.status


def test_two_runs_of_one_channel_at_once_are_refused(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    build_realistic_channel(world, 10, seed=1, with_media=False, username="busychannel")
    with unit_of_work() as uow:
        channel = world.channel("busychannel")
        uow.locks.try_acquire(f"channel:{channel.id}", "someone-else", timedelta(minutes=10))
        uow.commit()
    with pytest.raises(ChannelBusyError, match="another process"):
        run_archiver(
            world, unit_of_work, tmp_path / "m", lambda a: a.sync(ChannelPlan("@busychannel", media=NO_MEDIA))
        )


def test_a_backfill_with_since_stops_at_that_date(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    channel: FakeChannel = build_realistic_channel(world, 300, seed=8, with_media=False, username="dated")
    dates = sorted(message.date for message in channel.messages.values())
    since = dates[200]
    plan = ChannelPlan("@dated", since=since, media=NO_MEDIA)
    run_archiver(world, unit_of_work, tmp_path / "m", lambda a: a.backfill(plan))
    with unit_of_work() as uow:
        stored = list(uow.posts.iter_channel(channel.id))
    assert stored and all(post.date >= since for post in stored)
    assert sum(1 for d in dates if d >= since) == len(stored)
