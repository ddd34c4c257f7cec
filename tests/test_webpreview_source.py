"""The web preview source against a local t.me stand-in: paging, deletions, files, politeness, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tgvault.domain import Channel, ChannelKind
from tgvault.errors import (
    ChannelNotFoundError,
    ChannelUnavailableError,
    FloodWaitTooLongError,
    MediaUnavailableError,
    NoWebPreviewError,
    PageLayoutError,
    SourceError,
)
from tgvault.sources.base import FetchedPost, HistoryPage
from tgvault.sources.webpreview import (
    DEFAULT_USER_AGENT,
    WebClient,
    WebOptions,
    WebPreviewSource,
    parse_web_channel_key,
)
from tgvault.testing.webpreview import FakeWebPreview

FIXTURES = Path(__file__).parent / "fixtures" / "webpreview"
NAME = "tgvault_webtest"
CHANNEL_ID = 1987654321
ALL_IDS = [i for i in range(35, 0, -1) if i not in (7, 25)]  # 7 and 25 were deleted

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


@dataclass
class FakeTime:
    """A clock that moves only when the client sleeps; every sleep is recorded."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Sink:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, chunk: bytes) -> int:
        self.data.extend(chunk)
        return len(chunk)


@pytest.fixture
def preview() -> Iterator[FakeWebPreview]:
    fake = FakeWebPreview(page_size=5)
    fake.add_saved_page((FIXTURES / "tgvault_webtest.html").read_text())
    with fake.running():
        yield fake


def source_for(
    fake: FakeWebPreview, time: FakeTime | None = None, **options: Any
) -> tuple[WebPreviewSource, FakeTime]:
    time = time or FakeTime()
    settings = {"base_url": fake.base_url, "request_delay": 0.0, "backoff": 1.0, **options}
    client = WebClient(WebOptions(**settings), sleep=time.sleep, clock=time.clock)
    return WebPreviewSource(client), time


async def collect(pages: Any) -> list[HistoryPage]:
    return [page async for page in pages]


def page_requests(fake: FakeWebPreview) -> list[str]:
    return [seen.path for seen in fake.requests if seen.path.startswith("/s/")]


# ---- channel lookup ----------------------------------------------------------------------------------


def test_resolve_reads_the_header_and_the_numeric_channel_id(preview: FakeWebPreview) -> None:
    """One request gives the channel record, keyed by Telegram's own id (from data-view)."""
    source, _ = source_for(preview)

    channel = run(source.resolve("https://t.me/tgvault_webtest"))

    assert (
        Channel(
            id=CHANNEL_ID,
            username=NAME,
            title="tgvault web test 📎",
            description="Test channel for the web source\nSecond line with a link",
            subscribers=12_300,
            kind=ChannelKind.CHANNEL,
        )
        == channel
    )
    assert [f"/s/{NAME}"] == page_requests(preview)


@pytest.mark.parametrize(
    ("key", "name"),
    [("@durov", "durov"), ("durov", "durov"), ("t.me/durov", "durov"), ("https://t.me/s/durov/12", "durov")],
)
def test_channel_keys(key: str, name: str) -> None:
    """Every spelling of a public channel names the same page."""
    assert name == parse_web_channel_key(key)


@pytest.mark.parametrize("key", ["-1001234567890", "1234567890", "../etc", "a b"])
def test_keys_that_are_not_usernames_are_refused(key: str) -> None:
    """Numeric ids have no web preview; anything else that is not a username never reaches a URL."""
    with pytest.raises(ChannelUnavailableError):
        parse_web_channel_key(key)


def test_unknown_channel(preview: FakeWebPreview) -> None:
    """Telegram redirects an unknown name to its landing page: reported as not found."""
    source, _ = source_for(preview)
    with pytest.raises(ChannelNotFoundError, match="no channel has this @username"):
        run(source.resolve("@no_such_channel_xyz"))


def test_name_without_public_preview(preview: FakeWebPreview) -> None:
    """A group, a user or a private channel: it exists, but there is no preview to read."""
    preview.set_landing("closed_club", (FIXTURES / "no-preview.html").read_text())
    source, _ = source_for(preview)
    with pytest.raises(NoWebPreviewError, match=r"has no public web preview.*Closed Club"):
        run(source.resolve("@closed_club"))


def test_changed_layout_is_an_error_not_zero_posts(preview: FakeWebPreview) -> None:
    """A page that no longer looks like the preview raises PageLayoutError."""
    preview.set_raw_page(NAME, (FIXTURES / "changed-layout.html").read_text())
    source, _ = source_for(preview)
    with pytest.raises(PageLayoutError, match="layout"):
        run(source.resolve(f"@{NAME}"))


def test_channel_without_posts_says_so(preview: FakeWebPreview) -> None:
    """An empty preview has no post to read the channel id from: a clear error, not an empty archive."""
    page = preview.page(NAME, before=1)  # the header and an empty history
    preview.set_raw_page(NAME, page)
    source, _ = source_for(preview)
    with pytest.raises(ChannelUnavailableError, match="shows no posts"):
        run(source.resolve(f"@{NAME}"))


def test_username_taken_over_by_another_channel(preview: FakeWebPreview) -> None:
    """If the name now shows a channel with another id, nothing is archived under the old id."""
    source, _ = source_for(preview)
    archived = Channel(id=42, username=NAME, title="old owner")
    with pytest.raises(ChannelUnavailableError, match="belongs to another channel"):
        run(collect(source.older(archived)))


# ---- walking the history -----------------------------------------------------------------------------


def test_older_walks_before_pages_down_to_the_first_post(preview: FakeWebPreview) -> None:
    """Backfill order: every post once, newest first, one request per page, none after post 1."""
    source, _ = source_for(preview)

    async def go() -> list[HistoryPage]:
        channel = await source.resolve(f"@{NAME}")
        return await collect(source.older(channel))

    pages = run(go())

    assert ALL_IDS == [item.post.message_id for page in pages for item in page.posts]
    assert [f"/s/{NAME}", f"/s/{NAME}?before=31", f"/s/{NAME}?before=26", f"/s/{NAME}?before=20"] == (
        page_requests(preview)[:4]
    )
    assert 7 == len(page_requests(preview))  # 31 blocks, 5 per page; the newest page is read once


def test_older_resumes_below_an_offset_and_skips_newer_dates(preview: FakeWebPreview) -> None:
    """offset_id resumes a stopped backfill; offset_date starts a date range."""
    source, _ = source_for(preview)

    async def go() -> tuple[list[int], list[int]]:
        channel = await source.resolve(f"@{NAME}")
        below = await collect(source.older(channel, offset_id=20))
        until = await collect(source.older(channel, offset_date=datetime(2023, 3, 2, 0, 30, tzinfo=UTC)))
        return (
            [item.post.message_id for page in below for item in page.posts],
            [item.post.message_id for page in until for item in page.posts],
        )

    below, until = run(go())

    assert [i for i in ALL_IDS if i < 20] == below
    assert [i for i in ALL_IDS if i <= 14] == until


def test_newer_walks_up_in_windows_contiguous_with_the_archive(preview: FakeWebPreview) -> None:
    """Sync order: oldest first; each yielded page starts right above what came before."""
    source, _ = source_for(preview)

    async def go() -> list[HistoryPage]:
        channel = await source.resolve(f"@{NAME}")
        return await collect(source.newer(channel, min_id=3))

    pages = run(go())

    ids = [item.post.message_id for page in pages for item in page.posts]
    assert sorted(i for i in ALL_IDS if i > 3) == ids
    for page in pages:
        page_ids = [item.post.message_id for item in page.posts]
        assert sorted(page_ids) == page_ids


def test_newer_with_nothing_new_costs_no_extra_request(preview: FakeWebPreview) -> None:
    """A sync of a quiet channel reads only the newest page (already read by resolve)."""
    source, _ = source_for(preview)

    async def go() -> list[HistoryPage]:
        channel = await source.resolve(f"@{NAME}")
        return await collect(source.newer(channel, min_id=35))

    assert [] == run(go())
    assert [f"/s/{NAME}"] == page_requests(preview)


# ---- re-reading and deletions ----------------------------------------------------------------------------


def test_get_posts_proves_deletions_only_between_shown_posts(preview: FakeWebPreview) -> None:
    """Gaps inside a page are deletions (None); ids beyond what a page can show are left out (unknown)."""
    source, _ = source_for(preview)
    channel = Channel(id=CHANNEL_ID, username=NAME, title="t")

    found = run(source.get_posts(channel, list(range(1, 37))))

    assert found[7] is None and found[25] is None
    assert set(ALL_IDS) == {key for key, value in found.items() if value is not None}
    assert 36 not in found  # above the newest post: nothing proves it ever existed or was deleted


def test_a_deleted_newest_post_is_not_claimed_until_a_newer_one_shows(preview: FakeWebPreview) -> None:
    """Without a post above it, the newest post's absence proves nothing."""
    source, _ = source_for(preview)
    channel = Channel(id=CHANNEL_ID, username=NAME, title="t")
    preview.delete(NAME, 35)
    preview.delete(NAME, 22)

    found = run(source.get_posts(channel, [35, 22, 21]))

    assert {22: None} == {key: value for key, value in found.items() if value is None}
    assert 35 not in found and found[21] is not None
    preview.add_block(NAME, 36, preview.block(NAME, 34).replace(f"{NAME}/34", f"{NAME}/36"))
    assert run(source.get_posts(channel, [35]))[35] is None


# ---- files ---------------------------------------------------------------------------------------


def test_download_writes_the_file_the_page_links(preview: FakeWebPreview) -> None:
    """A photo's bytes come from its URL (served locally) into the sink."""
    source, _ = source_for(preview)
    channel = Channel(id=CHANNEL_ID, username=NAME, title="t")
    sink = Sink()

    async def go() -> None:
        fetched = (await source.get_posts(channel, [3]))[3]
        assert fetched is not None
        await source.download_media(channel, fetched, sink)

    run(go())
    assert FakeWebPreview.file_bytes("/cdn/file/photo3.jpg") == bytes(sink.data)


def test_a_stale_file_url_is_read_again_once(preview: FakeWebPreview) -> None:
    """A 404 for the file re-reads the post for a fresh URL, like a refreshed file reference."""
    source, _ = source_for(preview)
    channel = Channel(id=CHANNEL_ID, username=NAME, title="t")
    preview.fail("/cdn/file/voice11.ogg", 404)
    sink = Sink()

    async def go() -> None:
        fetched = (await source.get_posts(channel, [11]))[11]
        assert fetched is not None
        await source.download_media(channel, fetched, sink)

    run(go())
    assert FakeWebPreview.file_bytes("/cdn/file/voice11.ogg") == bytes(sink.data)


def test_files_the_page_does_not_offer(preview: FakeWebPreview) -> None:
    """Documents and thumbnail-only videos raise MediaUnavailableError saying why."""
    source, _ = source_for(preview)
    channel = Channel(id=CHANNEL_ID, username=NAME, title="t")

    async def go(message_id: int) -> None:
        fetched = (await source.get_posts(channel, [message_id]))[message_id]
        assert fetched is not None
        await source.download_media(channel, fetched, Sink())

    with pytest.raises(MediaUnavailableError, match="no download"):
        run(go(12))
    with pytest.raises(MediaUnavailableError, match="thumbnail"):
        run(go(16))


def test_a_post_without_its_handle_is_read_again(preview: FakeWebPreview) -> None:
    """A FetchedPost without a handle (from an earlier run) gets its file URL by re-reading the post."""
    source, _ = source_for(preview)
    channel = Channel(id=CHANNEL_ID, username=NAME, title="t")
    post = run(source.get_posts(channel, [19]))[19]
    assert post is not None
    sink = Sink()
    run(source.download_media(channel, FetchedPost(post.post), sink))
    assert FakeWebPreview.file_bytes("/cdn/file/sticker19.webp") == bytes(sink.data)


def test_channel_photo(preview: FakeWebPreview) -> None:
    """The header's channel photo can be downloaded too."""
    source, _ = source_for(preview)
    sink = Sink()

    async def go() -> bool:
        channel = await source.resolve(f"@{NAME}")
        return await source.channel_photo(channel, sink)

    assert run(go()) is True
    assert FakeWebPreview.file_bytes("/cdn/file/channelphoto.jpg") == bytes(sink.data)


# ---- politeness ----------------------------------------------------------------------------------


def test_429_then_success_honours_retry_after(preview: FakeWebPreview) -> None:
    """Too Many Requests is retried after the pause Telegram asks for."""
    preview.fail(f"/s/{NAME}", 429, headers={"Retry-After": "7"})
    source, time = source_for(preview)

    channel = run(source.resolve(f"@{NAME}"))

    assert CHANNEL_ID == channel.id
    assert [7.0] == time.sleeps
    assert [429, 200] == [seen.status for seen in preview.requests]


def test_5xx_retried_with_exponential_backoff(preview: FakeWebPreview) -> None:
    """Server errors are retried after 1, 2, 4 ... seconds (backoff doubles)."""
    preview.fail(f"/s/{NAME}", 503, times=2)
    preview.fail(f"/s/{NAME}", 502, times=1)
    source, time = source_for(preview, backoff=1.0)

    run(source.resolve(f"@{NAME}"))

    assert [1.0, 2.0, 4.0] == time.sleeps


def test_retries_are_bounded(preview: FakeWebPreview) -> None:
    """A host that keeps failing ends the run with an error after the configured retries."""
    preview.fail(f"/s/{NAME}", 500, times=100)
    source, time = source_for(preview, retries=2)

    with pytest.raises(SourceError, match="HTTP 500 after 3 tries"):
        run(source.resolve(f"@{NAME}"))
    assert 2 == len(time.sleeps)


def test_a_long_retry_after_ends_the_run(preview: FakeWebPreview) -> None:
    """A pause longer than max_wait is not slept through: the channel is retried on a later run."""
    preview.fail(f"/s/{NAME}", 429, headers={"Retry-After": "3600"})
    source, time = source_for(preview, max_wait=300.0)

    with pytest.raises(FloodWaitTooLongError) as raised:
        run(source.resolve(f"@{NAME}"))
    assert 3600 == raised.value.seconds
    assert [] == time.sleeps


def test_one_request_at_a_time_paced_and_with_a_user_agent(preview: FakeWebPreview) -> None:
    """Concurrent callers are serialised per host, spaced by request_delay, and say who they are."""
    source, time = source_for(preview, request_delay=1.5, user_agent=DEFAULT_USER_AGENT)
    channel = Channel(id=CHANNEL_ID, username=NAME, title="t")

    async def go() -> None:
        fetched = await source.get_posts(channel, [3, 4, 5, 6])
        items = [item for item in fetched.values() if item is not None]
        await asyncio.gather(*(source.download_media(channel, item, Sink()) for item in items))

    run(go())

    assert 1 == preview.max_in_flight
    assert 5 == len(preview.requests)  # one page, four files
    assert [1.5] * 4 == time.sleeps
    assert {DEFAULT_USER_AGENT} == {seen.user_agent for seen in preview.requests}
    assert DEFAULT_USER_AGENT.startswith("tgvault/")


def test_only_http_urls_are_fetched() -> None:
    """A URL from a page is fetched only over http(s); nothing else is ever opened."""
    client = WebClient(WebOptions(request_delay=0))
    with pytest.raises(SourceError, match="not an http"):
        run(client.get("file:///etc/passwd"))
