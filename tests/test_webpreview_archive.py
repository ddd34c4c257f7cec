"""Backfill and sync through the web preview source into real SQLite and PostgreSQL archives."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.clocks import HandClock

from tgvault.domain import MediaKind, MediaStatus, RunCounts, SourceKind
from tgvault.services.archiver import Archiver
from tgvault.services.plans import ChannelPlan
from tgvault.sources.webpreview import WebClient, WebOptions, WebPreviewSource
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing.webpreview import FakeWebPreview

FIXTURES = Path(__file__).parent / "fixtures" / "webpreview"
NAME = "tgvault_webtest"
CHANNEL_ID = 1987654321
ALL_IDS = [i for i in range(1, 36) if i not in (7, 25)]
DOWNLOADABLE = {
    3: "photo3.jpg",
    4: "album4.jpg",
    5: "video5.mp4",
    6: "album6.jpg",
    11: "voice11.ogg",
    19: "sticker19.webp",
    31: "round31.mp4",
    32: "gif32.mp4",
}
PLAN = ChannelPlan(key=f"@{NAME}")

UoW = Callable[[], UnitOfWork]


def Clock() -> HandClock:
    """A hand-moved clock at this file's start time."""
    return HandClock(datetime(2023, 3, 3, tzinfo=UTC))


@pytest.fixture
def preview() -> Iterator[FakeWebPreview]:
    fake = FakeWebPreview(page_size=6)
    fake.add_saved_page((FIXTURES / "tgvault_webtest.html").read_text())
    with fake.running():
        yield fake


def archiver(fake: FakeWebPreview, unit_of_work: UoW, media: Path, clock: Clock) -> Archiver:
    client = WebClient(WebOptions(base_url=fake.base_url, request_delay=0))
    return Archiver(WebPreviewSource(client), unit_of_work, LocalMediaStore(media), clock=clock)


def sha256_of(name: str) -> str:
    return hashlib.sha256(FakeWebPreview.file_bytes(f"/cdn/file/{name}")).hexdigest()


def test_backfill_archives_every_post_and_file(
    preview: FakeWebPreview, unit_of_work: UoW, tmp_path: Path
) -> None:
    """The whole channel lands under Telegram's channel id, marked as from the web; files it offers too."""
    clock = Clock()
    counts = asyncio.run(archiver(preview, unit_of_work, tmp_path / "media", clock).backfill(PLAN))

    assert (
        RunCounts(
            posts_added=len(ALL_IDS),
            media_files=len(DOWNLOADABLE),
            media_bytes=len(DOWNLOADABLE) * 1024,
        )
        == counts
    )
    with unit_of_work() as uow:
        channel = uow.channels.get(CHANNEL_ID)
        assert channel is not None and "tgvault web test 📎" == channel.title
        assert ALL_IDS == uow.posts.ids(CHANNEL_ID)
        posts = uow.posts.get_many(CHANNEL_ID, ALL_IDS)
        state = uow.sync_state.get(CHANNEL_ID)
    assert {SourceKind.WEB} == {post.source for post in posts.values()}
    assert state.backfill_complete and 35 == state.newest_id
    for message_id, name in DOWNLOADABLE.items():
        media = posts[message_id].media
        assert media is not None and MediaStatus.DOWNLOADED == media.status, message_id
        assert sha256_of(name) == media.sha256
        assert media.path is not None and (tmp_path / "media" / media.path).is_file()
    document, thumbnail_only = posts[12].media, posts[16].media
    assert document is not None and MediaStatus.FAILED == document.status
    assert "no download" in (document.error or "")
    assert ("report.pdf", 1_258_291, None) == (document.file_name, document.size, document.thumbnail_path)
    assert thumbnail_only is not None and MediaKind.VIDEO == thumbnail_only.kind
    assert (MediaStatus.FAILED, None) == (thumbnail_only.status, thumbnail_only.path)
    assert sha256_of("thumb16.jpg") == thumbnail_only.thumbnail_sha256
    assert thumbnail_only.thumbnail_path is not None
    assert (tmp_path / "media" / thumbnail_only.thumbnail_path).is_file()
    assert 3_000_000 == posts[3].views and 1_200 == posts[2].views
    assert [4, 4, 4] == [posts[i].grouped_id for i in (4, 5, 6)]
    assert posts[14].parse_error is not None and "Please open Telegram" in posts[14].parse_error


def test_backfill_again_adds_nothing(preview: FakeWebPreview, unit_of_work: UoW, tmp_path: Path) -> None:
    """Idempotent: a second backfill of a complete channel changes nothing."""
    clock = Clock()
    asyncio.run(archiver(preview, unit_of_work, tmp_path / "media", clock).backfill(PLAN))
    again = asyncio.run(archiver(preview, unit_of_work, tmp_path / "media", clock).backfill(PLAN))

    assert 0 == again.posts_added and 0 == again.posts_edited and 0 == again.media_files


def test_sync_records_new_posts_edits_deletions_and_counters(
    preview: FakeWebPreview, unit_of_work: UoW, tmp_path: Path
) -> None:
    """The refresh window works through get_posts: edits become revisions, proven deletions tombstones."""
    clock = Clock()
    asyncio.run(archiver(preview, unit_of_work, tmp_path / "media", clock).backfill(PLAN))

    preview.edit(NAME, 13, "Corrected text", "Corrected twice")
    preview.edit(NAME, 21, '"tgme_widget_message_views">51<', '"tgme_widget_message_views">1.5K<')
    preview.delete(NAME, 22)  # between 21 and 23: provably deleted
    preview.delete(NAME, 35)  # the newest post: nothing above it proves the deletion yet
    clock.now += timedelta(hours=1)
    first = asyncio.run(archiver(preview, unit_of_work, tmp_path / "media", clock).sync(PLAN))

    assert (0, 1, 1) == (first.posts_added, first.posts_edited, first.posts_deleted)
    with unit_of_work() as uow:
        posts = uow.posts.get_many(CHANNEL_ID, [13, 21, 22, 35])
        revisions = uow.posts.revisions(CHANNEL_ID, 13)
    assert "Corrected twice" == posts[13].text
    assert ["Corrected text"] == [revision.text for revision in revisions]
    assert 1_500 == posts[21].views
    assert posts[22].deleted_at == clock.now and "Post 22" == posts[22].text  # content kept
    assert posts[35].deleted_at is None

    preview.add_block(NAME, 36, preview.block(NAME, 34).replace(f"{NAME}/34", f"{NAME}/36"))
    clock.now += timedelta(hours=1)
    second = asyncio.run(archiver(preview, unit_of_work, tmp_path / "media", clock).sync(PLAN))

    assert (1, 0, 1) == (second.posts_added, second.posts_edited, second.posts_deleted)
    with unit_of_work() as uow:
        assert uow.posts.get(CHANNEL_ID, 35).deleted_at == clock.now  # type: ignore[union-attr]
        assert 36 == uow.sync_state.get(CHANNEL_ID).newest_id


def test_sync_after_a_gap_walks_up_from_the_archive(
    preview: FakeWebPreview, unit_of_work: UoW, tmp_path: Path
) -> None:
    """A backfill stopped early is continued by sync: newer posts upward, the rest of the history down."""
    clock = Clock()
    since = datetime(2023, 3, 2, 12, 0, tzinfo=UTC)  # posts 26 and newer
    asyncio.run(
        archiver(preview, unit_of_work, tmp_path / "media", clock).backfill(
            ChannelPlan(key=PLAN.key, since=since)
        )
    )
    with unit_of_work() as uow:
        assert [i for i in ALL_IDS if i >= 26] == uow.posts.ids(CHANNEL_ID)

    for message_id in (37, 38):
        preview.add_block(
            NAME, message_id, preview.block(NAME, 34).replace(f"{NAME}/34", f"{NAME}/{message_id}")
        )
    asyncio.run(archiver(preview, unit_of_work, tmp_path / "media", clock).sync(PLAN))

    with unit_of_work() as uow:
        assert [*ALL_IDS, 37, 38] == uow.posts.ids(CHANNEL_ID)
