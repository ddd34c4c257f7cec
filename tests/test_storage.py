"""Repositories and the unit of work on real SQLite and PostgreSQL."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tgvault.domain import (
    Channel,
    EntityKind,
    Forward,
    MediaItem,
    MediaKind,
    MediaStatus,
    Post,
    Reaction,
    RunCounts,
    RunStatus,
    SyncState,
    TextEntity,
)
from tgvault.storage.database import dump_json, load_json
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
CHANNEL = Channel(id=1001, username="news", title="News", subscribers=10)


def make_post(message_id: int, text: str = "hello", **changes: object) -> Post:
    values: dict[str, object] = {
        "channel_id": CHANNEL.id,
        "message_id": message_id,
        "date": T0 + timedelta(minutes=message_id),
        "text": text,
        "entities": (TextEntity(kind=EntityKind.BOLD, offset=0, length=2),),
        "views": 5,
        "reactions": (Reaction(emoji="👍", count=3),),
        "raw": {"_": "Message", "id": message_id, "message": text},
    }
    values.update(changes)
    return Post.model_validate(values)


def with_channel(uow_factory: UoW) -> None:
    with uow_factory() as uow:
        uow.channels.upsert(CHANNEL, T0)
        uow.commit()


def test_upserting_the_same_posts_twice_keeps_one_row_each(unit_of_work: UoW) -> None:
    with_channel(unit_of_work)
    posts = [make_post(i) for i in range(1, 6)]
    with unit_of_work() as uow:
        first = uow.posts.upsert_many(posts)
        uow.commit()
    with unit_of_work() as uow:
        second = uow.posts.upsert_many(posts)
        uow.commit()
    with unit_of_work() as uow:
        assert 5 == uow.posts.count(CHANNEL.id)
        assert [1, 2, 3, 4, 5] == uow.posts.ids(CHANNEL.id)
        assert [] == uow.posts.revisions(CHANNEL.id, 3)
    assert (5, 0) == (first.added, first.edited)
    assert (0, 0, 5) == (second.added, second.edited, second.unchanged)


def test_uncommitted_work_is_rolled_back(unit_of_work: UoW) -> None:
    with_channel(unit_of_work)
    with unit_of_work() as uow:
        uow.posts.upsert_many([make_post(1)])
        uow.sync_state.save(SyncState(channel_id=CHANNEL.id, newest_id=1))
    with unit_of_work() as uow:
        assert 0 == uow.posts.count(CHANNEL.id)
        assert 0 == uow.sync_state.get(CHANNEL.id).newest_id


def test_work_is_rolled_back_when_an_exception_leaves_the_block(unit_of_work: UoW) -> None:
    with_channel(unit_of_work)
    with pytest.raises(RuntimeError), unit_of_work() as uow:
        uow.posts.upsert_many([make_post(1)])
        raise RuntimeError("boom")
    with unit_of_work() as uow:
        assert 0 == uow.posts.count(CHANNEL.id)


def test_an_edit_keeps_the_earlier_state_as_a_revision(unit_of_work: UoW) -> None:
    with_channel(unit_of_work)
    original = make_post(7, "first words")
    edited = make_post(
        7,
        "second words",
        edit_date=T0 + timedelta(days=1),
        raw={"_": "Message", "id": 7, "message": "second words"},
    )
    with unit_of_work() as uow:
        uow.posts.upsert_many([original])
        uow.commit()
    with unit_of_work() as uow:
        outcome = uow.posts.upsert_many([edited], T0 + timedelta(days=2))
        uow.commit()
    with unit_of_work() as uow:
        current = uow.posts.get(CHANNEL.id, 7)
        revisions = uow.posts.revisions(CHANNEL.id, 7)
    assert 1 == outcome.edited
    assert current is not None
    assert "second words" == current.text
    assert ["first words"] == [revision.text for revision in revisions]
    assert {"_": "Message", "id": 7, "message": "first words"} == revisions[0].raw
    assert original.entities == revisions[0].entities


def test_counter_changes_update_the_post_without_a_revision(unit_of_work: UoW) -> None:
    with_channel(unit_of_work)
    with unit_of_work() as uow:
        uow.posts.upsert_many([make_post(3)])
        uow.commit()
    with unit_of_work() as uow:
        outcome = uow.posts.upsert_many([make_post(3, views=99, reactions=(Reaction(emoji="🔥", count=8),))])
        uow.commit()
    with unit_of_work() as uow:
        post = uow.posts.get(CHANNEL.id, 3)
        assert [] == uow.posts.revisions(CHANNEL.id, 3)
    assert post is not None
    assert (0, 1) == (outcome.edited, outcome.unchanged)
    assert 99 == post.views
    assert (Reaction(emoji="🔥", count=8),) == post.reactions


def test_a_post_survives_a_round_trip_field_for_field(unit_of_work: UoW) -> None:
    with_channel(unit_of_work)
    post = make_post(
        11,
        "🇷🇺 flag and text",
        entities=(
            TextEntity(kind=EntityKind.TEXT_LINK, offset=5, length=4, url="https://example.org"),
            TextEntity(kind=EntityKind.PRE, offset=10, length=4, language="python"),
        ),
        forward=Forward(from_channel_id=55, from_message_id=9, date=T0, post_author="Ann"),
        reply_to_message_id=10,
        grouped_id=123456789012,
        author="Editor",
        media=MediaItem(kind=MediaKind.DOCUMENT, telegram_id=5, file_name="../../etc/passwd", size=10),
    )
    with unit_of_work() as uow:
        uow.posts.upsert_many([post])
        uow.commit()
    with unit_of_work() as uow:
        stored = uow.posts.get(CHANNEL.id, 11)
    assert post == stored


def test_deletion_sets_a_tombstone_and_keeps_content(unit_of_work: UoW) -> None:
    with_channel(unit_of_work)
    with unit_of_work() as uow:
        uow.posts.upsert_many([make_post(1), make_post(2)])
        uow.commit()
    noticed = T0 + timedelta(days=3)
    with unit_of_work() as uow:
        assert 1 == uow.posts.mark_deleted(CHANNEL.id, [2], noticed)
        assert 0 == uow.posts.mark_deleted(CHANNEL.id, [2], noticed + timedelta(hours=1))
        uow.commit()
    with unit_of_work() as uow:
        deleted = uow.posts.get(CHANNEL.id, 2)
        assert [1] == uow.posts.ids(CHANNEL.id)
        assert 2 == uow.posts.count(CHANNEL.id)
    assert deleted is not None
    assert noticed == deleted.deleted_at
    assert "hello" == deleted.text


def test_downloaded_media_stays_downloaded_when_the_post_is_seen_again(unit_of_work: UoW) -> None:
    with_channel(unit_of_work)
    media = MediaItem(kind=MediaKind.PHOTO, telegram_id=77, size=1000)
    with unit_of_work() as uow:
        uow.posts.upsert_many([make_post(4, media=media)])
        uow.media.mark_downloaded(CHANNEL.id, 4, sha256="ab" * 32, path="ab/ab/x.jpg", size=1000)
        uow.commit()
    with unit_of_work() as uow:
        uow.posts.upsert_many([make_post(4, media=media, views=10)])
        uow.commit()
    with unit_of_work() as uow:
        post = uow.posts.get(CHANNEL.id, 4)
        assert set() == uow.media.needing_download(CHANNEL.id, [4], max_attempts=3)
    assert post is not None and post.media is not None
    assert MediaStatus.DOWNLOADED == post.media.status
    assert "ab" * 32 == post.media.sha256


def test_failed_media_is_retried_until_the_attempt_ceiling(unit_of_work: UoW) -> None:
    with_channel(unit_of_work)
    with unit_of_work() as uow:
        uow.posts.upsert_many([make_post(5, media=MediaItem(kind=MediaKind.VIDEO, telegram_id=1, size=5))])
        uow.media.mark_failed(CHANNEL.id, 5, "timeout")
        uow.commit()
    with unit_of_work() as uow:
        assert [5] == [item.message_id for item in uow.media.pending(CHANNEL.id, max_attempts=2)]
        uow.media.mark_failed(CHANNEL.id, 5, "timeout again")
        uow.commit()
    with unit_of_work() as uow:
        assert [] == uow.media.pending(CHANNEL.id, max_attempts=2)
        assert (1, 5) == uow.media.backlog(CHANNEL.id)


def test_channel_changes_are_kept_over_time(unit_of_work: UoW) -> None:
    with unit_of_work() as uow:
        uow.channels.upsert(CHANNEL, T0)
        uow.channels.upsert(CHANNEL, T0 + timedelta(hours=1))
        uow.channels.upsert(CHANNEL.model_copy(update={"subscribers": 20}), T0 + timedelta(hours=2))
        uow.commit()
    with unit_of_work() as uow:
        history = uow.channels.observations(CHANNEL.id)
        found = uow.channels.find("@NEWS")
    assert [(T0, 10, "News"), (T0 + timedelta(hours=2), 20, "News")] == history
    assert found is not None and 20 == found.subscribers


def test_runs_are_recorded_with_their_counts(unit_of_work: UoW) -> None:
    with_channel(unit_of_work)
    with unit_of_work() as uow:
        run_id = uow.runs.start("@news", "sync", T0)
        uow.runs.finish(
            run_id,
            status=RunStatus.OK,
            counts=RunCounts(posts_added=3, media_bytes=10),
            channel_id=CHANNEL.id,
            finished_at=T0 + timedelta(seconds=5),
        )
        uow.commit()
    with unit_of_work() as uow:
        summaries = uow.summaries.channels()
    assert 1 == len(summaries)
    last = summaries[0].last_run
    assert last is not None
    assert (RunStatus.OK, 3, 10) == (last.status, last.counts.posts_added, last.counts.media_bytes)


def test_a_lock_held_by_a_live_process_blocks_and_a_dead_ones_does_not(unit_of_work: UoW) -> None:
    with unit_of_work() as uow:
        assert uow.locks.try_acquire("channel:1", "first", timedelta(minutes=5)) is None
        uow.commit()
    with unit_of_work() as uow:
        holder = uow.locks.try_acquire("channel:1", "second", timedelta(minutes=5))
        uow.commit()
    assert holder is not None and "first" == holder.owner
    with unit_of_work() as uow:
        # a heartbeat older than the stale limit frees the lock, as after a kill -9 on another host
        assert uow.locks.try_acquire("channel:1", "third", timedelta(seconds=-1)) is None
        uow.commit()


def test_posts_stream_in_batches_in_both_orders(unit_of_work: UoW) -> None:
    with_channel(unit_of_work)
    with unit_of_work() as uow:
        uow.posts.upsert_many([make_post(i) for i in range(1, 26)])
        uow.commit()
    with unit_of_work() as uow:
        ascending = [post.message_id for post in uow.posts.iter_channel(CHANNEL.id, batch_size=7)]
        descending = [
            post.message_id for post in uow.posts.iter_channel(CHANNEL.id, order="desc", batch_size=7)
        ]
    assert list(range(1, 26)) == ascending
    assert list(range(25, 0, -1)) == descending


def test_a_lock_left_by_a_killed_process_on_this_host_is_taken_over(unit_of_work: UoW) -> None:
    import subprocess
    import sys

    from tgvault.storage.repositories import this_process
    from tgvault.storage.tables import ChannelLockRow

    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(finished.stdout)
    host, _ = this_process()
    with unit_of_work() as uow:
        session = uow.posts._session
        session.add(
            ChannelLockRow(
                channel_key="channel:9",
                owner="killed",
                host=host,
                pid=dead_pid,
                acquired_at=T0,
                heartbeat_at=T0,
            )
        )
        uow.commit()
    with unit_of_work() as uow:
        # the heartbeat is fresh enough (a day-long limit) but its process is gone
        assert uow.locks.try_acquire("channel:9", "next-run", timedelta(days=100000)) is None
        uow.commit()


def test_a_poorer_source_never_overwrites_a_richer_record_but_brings_its_counters(unit_of_work: UoW) -> None:
    """The web's differing text is kept once as a revision; the Telethon record stays current."""
    from tgvault.domain import SourceKind

    with_channel(unit_of_work)
    media = MediaItem(kind=MediaKind.PHOTO, telegram_id=77, size=1000)
    rich = make_post(8, "**rich** text", media=media)
    with unit_of_work() as uow:
        uow.posts.upsert_many([rich])
        uow.media.mark_downloaded(CHANNEL.id, 8, sha256="cd" * 32, path="cd/cd/x.jpg", size=1000)
        uow.commit()
    web = make_post(
        8,
        "rich text",
        source=SourceKind.WEB,
        views=500,
        entities=(),
        media=MediaItem(kind=MediaKind.PHOTO),
        raw={"webpreview": {"post": "chan/8"}},
    )
    with unit_of_work() as uow:
        outcome = uow.posts.upsert_many([web])
        uow.commit()
    with unit_of_work() as uow:
        stored = uow.posts.get(CHANNEL.id, 8)
        revisions = uow.posts.revisions(CHANNEL.id, 8)
    assert stored is not None and stored.media is not None
    assert (0, 1) == (outcome.edited, outcome.unchanged)
    assert ("**rich** text", SourceKind.TELEGRAM, 500) == (stored.text, stored.source, stored.views)
    assert (MediaStatus.DOWNLOADED, 77) == (stored.media.status, stored.media.telegram_id)
    assert [("rich text", "webpreview")] == [(r.text, next(iter(r.raw or {"?": 0}))) for r in revisions]
    with unit_of_work() as uow:
        uow.posts.upsert_many([web.model_copy(update={"raw": {"webpreview": {}}})])
        uow.commit()
    with unit_of_work() as uow:
        assert 1 == len(uow.posts.revisions(CHANNEL.id, 8))
    telegram_again = make_post(8, "edited on telegram")
    with unit_of_work() as uow:
        assert 1 == uow.posts.upsert_many([telegram_again]).edited
        uow.commit()


def test_json_columns_take_the_standard_library_for_what_orjson_refuses() -> None:
    """JSON columns are written and read by orjson; an integer beyond 64 bits and a NaN literal (which
    it refuses) still round-trip through the standard library."""
    assert {"a": [1, "é", None]} == load_json(dump_json({"a": [1, "é", None]}))
    assert {"big": 2**70} == load_json(dump_json({"big": 2**70}))
    assert math.isnan(load_json("NaN"))


def test_posts_for_display_are_the_stored_posts_without_their_raw_tl(unit_of_work: UoW) -> None:
    with_channel(unit_of_work)
    posts = [
        make_post(1),
        make_post(2, "with a file", media=MediaItem(kind=MediaKind.PHOTO, telegram_id=7, size=10)),
        make_post(3, "", forward=Forward(from_channel_id=55, from_message_id=9, date=T0)),
    ]
    with unit_of_work() as uow:
        uow.posts.upsert_many(posts)
        uow.commit()
    with unit_of_work() as uow:
        stored = uow.posts.get_many(CHANNEL.id, [1, 2, 3, 4])
        shown = uow.posts.for_display(CHANNEL.id, [3, 2, 1, 4])
        texts = uow.posts.texts(CHANNEL.id, [2, 4])
    assert sorted(shown) == [1, 2, 3]
    assert all(post.raw is None for post in shown.values())
    assert {i: post.model_copy(update={"raw": None}) for i, post in stored.items()} == shown
    assert shown[2].media is not None and shown[2].media.kind is MediaKind.PHOTO
    assert texts == {2: ("with a file", False)}
