"""Web media through the whole archiver: oversized files stop at media_max_size, unreachable hosts wait.

Real SQLite and PostgreSQL archives, a real media folder, the fake preview on 127.0.0.1, and Telegram's
CDN names resolved through :class:`FakeNetwork` (nothing leaves the machine).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs
from tests.clocks import HandClock

from tgvault.domain import MediaStatus
from tgvault.services.archiver import Archiver
from tgvault.services.plans import ChannelPlan, MediaPolicy
from tgvault.sources.webpreview import WebClient, WebOptions, WebPreviewSource
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing.webpreview import FakeNetwork, FakeWebPreview

FIXTURES = Path(__file__).parent / "fixtures" / "webpreview"
NAME = "tgvault_webtest"
CHANNEL_ID = 1987654321
CDN = "cdn4.telesco.pe"
TELEGRAM_IP = "149.154.167.99"
EXTRA_PHOTOS = list(range(101, 115))  # fourteen more photo posts
DOWNLOADABLE = [3, 4, 5, 6, 11, 19, 31, 32, *EXTRA_PHOTOS]

UoW = Callable[[], UnitOfWork]


def Clock() -> HandClock:
    """A hand-moved clock at this file's start time."""
    return HandClock(datetime(2023, 3, 3, tzinfo=UTC))


@pytest.fixture
def preview() -> Iterator[FakeWebPreview]:
    fake = FakeWebPreview(page_size=10)
    fake.add_saved_page((FIXTURES / "tgvault_webtest.html").read_text())
    for message_id in EXTRA_PHOTOS:
        block = fake.block(NAME, 3).replace(f"{NAME}/3", f"{NAME}/{message_id}")
        fake.add_block(NAME, message_id, block.replace("photo3.jpg", f"photo{message_id}.jpg"))
    with fake.running():
        yield fake


def archiver(
    fake: FakeWebPreview, unit_of_work: UoW, media: Path, clock: Clock, network: FakeNetwork | None = None
) -> Archiver:
    options = WebOptions(base_url=fake.base_url, request_delay=0, backoff=0.05)
    if network is None:
        client = WebClient(options)
    else:
        client = WebClient(options, resolve=network.resolve, network=network.backend())
    return Archiver(WebPreviewSource(client), unit_of_work, LocalMediaStore(media), clock=clock)


def stored_files(media: Path) -> list[Path]:
    return [path for path in media.rglob("*") if path.is_file()]


def test_a_300_mb_photo_is_stopped_at_media_max_size_and_nothing_is_kept(
    preview: FakeWebPreview, unit_of_work: UoW, tmp_path: Path
) -> None:
    """A page's "photo" that streams 300 MB is cut off at the channel's media_max_size while it streams:
    recorded as skipped with the reason, no file (and no partial file) left in the media folder."""
    preview.stream("/cdn/file/photo3.jpg", 300 * 1024 * 1024)
    plan = ChannelPlan(key=f"@{NAME}", media=MediaPolicy(max_size=2 * 1024 * 1024))
    media = tmp_path / "media"
    started = time.monotonic()

    counts = asyncio.run(archiver(preview, unit_of_work, media, Clock()).backfill(plan))

    assert time.monotonic() - started < 60
    with unit_of_work() as uow:
        photo = uow.posts.get(CHANNEL_ID, 3)
        backlog = uow.media_queue.backlog(CHANNEL_ID)
    assert photo is not None and photo.media is not None
    assert (MediaStatus.SKIPPED, None) == (photo.media.status, photo.media.path)
    assert "over the channel's media_max_size (2097152)" in (photo.media.error or "")
    assert 0 == backlog.files
    assert len(DOWNLOADABLE) - 1 == counts.media_files
    kept = stored_files(media)
    assert [] == [path for path in kept if ".tmp" in path.parts]
    # the downloaded files (not the WARC captures of the pages, kept in warc/) are 1 KiB each
    downloads = [path for path in kept if path.relative_to(media).parts[0] != "warc"]
    assert [] == [path for path in downloads if path.stat().st_size > 1024]
    assert preview.bytes_sent["/cdn/file/photo3.jpg"] < 100 * 1024 * 1024


def test_an_unreachable_file_host_ends_the_backfill_quickly_with_one_warning(
    preview: FakeWebPreview, unit_of_work: UoW, tmp_path: Path
) -> None:
    """The posts are stored; the files of a CDN whose name does not resolve cost one warning naming the
    host and a moment, not minutes of retries; they stay queued and the next run stores them."""
    preview.files_url = f"http://{CDN}"
    network = FakeNetwork()
    clock = Clock()
    media = tmp_path / "media"
    started = time.monotonic()

    with capture_logs() as logs:
        counts = asyncio.run(archiver(preview, unit_of_work, media, clock, network).backfill(PLAN_ALL))

    assert time.monotonic() - started < 20
    assert (0, 33 + len(EXTRA_PHOTOS)) == (counts.media_files, counts.posts_added)
    warnings = [entry for entry in logs if entry["log_level"] in ("warning", "error")]
    assert [("web host cannot be reached; its requests wait", CDN)] == [
        (entry["event"], entry.get("host")) for entry in warnings
    ]
    assert [] == [entry for entry in logs if "busy" in entry["event"]]
    assert all(len(str(value)) < 300 for entry in logs for value in entry.values())
    with unit_of_work() as uow:
        assert len(DOWNLOADABLE) == uow.media_queue.backlog(CHANNEL_ID).files

    network.add_host(CDN, TELEGRAM_IP, serve_on=preview.port)
    clock.now += timedelta(minutes=10)
    later = asyncio.run(archiver(preview, unit_of_work, media, clock, network).backfill(PLAN_ALL))

    assert len(DOWNLOADABLE) == later.media_files
    with unit_of_work() as uow:
        assert 0 == uow.media_queue.backlog(CHANNEL_ID).files
        posts = uow.posts.get_many(CHANNEL_ID, DOWNLOADABLE)
    assert {MediaStatus.DOWNLOADED} == {post.media.status for post in posts.values() if post.media}


PLAN_ALL = ChannelPlan(key=f"@{NAME}")
