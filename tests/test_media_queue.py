"""Text first, media after: the download queue, resumable downloads and retry schedule.

Telegram is the fake world served by the loopback MTProto server, so Telethon's real network code
(history pages, offset file downloads) runs; the archive is a real SQLite file or PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from telethon import TelegramClient
from telethon.sessions import StringSession
from telethon.tl import functions

from tgvault.domain import MediaStatus, RunStatus
from tgvault.services.archiver import Archiver
from tgvault.services.plans import ChannelPlan, MediaPolicy
from tgvault.sources.telegram import TelegramSource
from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing import (
    FAKE_API_HASH,
    FAKE_API_ID,
    FakeTelegram,
    add_post,
    document_media,
    fake_client,
)
from tgvault.testing.mtproto_server import LoopbackTelegramServer, ServerThread, innermost_request

UoW = Callable[[], UnitOfWork]
MIB = 1024 * 1024


class Telegram(FakeTelegram):
    """The fake world with a gate on file parts, long flood waits at chosen offsets, and bytes served."""

    def __init__(self) -> None:
        super().__init__()
        self.file_bytes_served = 0
        self.files_open = True
        self.flood_at: set[int] = set()  # file offsets answered once with a long FLOOD_WAIT
        self.part_delay = 0.0  # seconds before each file part is answered

    async def handle(self, request: Any) -> Any:
        inner = innermost_request(request)
        if isinstance(inner, functions.upload.GetFileRequest):
            while not self.files_open:
                await asyncio.sleep(0.01)
            if self.part_delay:
                await asyncio.sleep(self.part_delay)
            if inner.offset in self.flood_at:
                self.flood_at.discard(inner.offset)
                self.flood_wait(functions.upload.GetFileRequest, 120)
        answer = await super().handle(request)
        if isinstance(inner, functions.upload.GetFileRequest):
            self.file_bytes_served += len(getattr(answer, "bytes", b""))
        return answer


@pytest.fixture
def telegram() -> Iterator[tuple[Telegram, ServerThread]]:
    fake = Telegram()
    with LoopbackTelegramServer.start_in_thread(fake.handle, auth_key=fake.auth_key) as running:
        fake.port = running.port
        yield fake, running
        assert [] == running.server.handler_errors


def over_loopback(
    server: ServerThread,
    unit_of_work: UoW,
    media_dir: Path,
    fake: Telegram,
    action: Callable[[Archiver, UoW], Coroutine[Any, Any, Any]],
) -> Any:
    async def go() -> Any:
        client = TelegramClient(
            StringSession(server.session_string), FAKE_API_ID, FAKE_API_HASH, receive_updates=False
        )
        await client.connect()
        try:
            source = TelegramSource(client, request_delay=0)
            archiver = Archiver(source, unit_of_work, LocalMediaStore(media_dir), clock=fake.now)
            return await action(archiver, unit_of_work)
        finally:
            await client.disconnect()

    return asyncio.run(go())


def in_process(
    unit_of_work: UoW,
    media_dir: Path,
    fake: Telegram,
    action: Callable[[Archiver, UoW], Coroutine[Any, Any, Any]],
) -> Any:
    """Like :func:`over_loopback` through Telethon's sender seam; its requests are answered concurrently,
    as Telegram does (the loopback server answers one request at a time per connection)."""

    async def go() -> Any:
        async with fake_client(fake) as client:
            source = TelegramSource(client, request_delay=0)
            archiver = Archiver(source, unit_of_work, LocalMediaStore(media_dir), clock=fake.now)
            return await action(archiver, unit_of_work)

    return asyncio.run(go())


def plan(key: str, **changes: Any) -> ChannelPlan:
    return ChannelPlan(key=key, media=MediaPolicy(max_size=10**9, **changes))


def stored_media(unit_of_work: UoW, channel_id: int) -> dict[int, MediaStatus]:
    with unit_of_work() as uow:
        return {
            post.message_id: post.media.status
            for post in uow.posts.iter_channel(channel_id)
            if post.media is not None
        }


def test_the_text_of_2000_posts_is_committed_while_their_media_is_still_queued(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    """With file parts held back, all 2,000 posts are archived and their files queued; then they download."""
    fake = Telegram()
    channel = fake.add_channel("textfirst")
    for number in range(2000):
        add_post(channel, f"post {number}", media=document_media(channel, "file", size=3000, seed=number))
    fake.files_open = False
    seen: dict[str, Any] = {}

    async def action(archiver: Archiver, uow_factory: UoW) -> Any:
        run = asyncio.ensure_future(archiver.backfill(plan("@textfirst")))
        while True:
            await asyncio.sleep(0.05)
            with uow_factory() as uow:
                posts = uow.posts.count(channel.id)
                backlog = uow.media_queue.backlog(channel.id)
            if posts == 2000 or run.done():
                break
        seen["backlog"] = backlog
        seen["media"] = stored_media(uow_factory, channel.id)
        fake.files_open = True
        return await run

    counts = in_process(unit_of_work, tmp_path / "media", fake, action)
    assert 2000 == len(seen["media"])
    assert {MediaStatus.PENDING} == set(seen["media"].values())
    assert (2000, 2000 * 3000) == (seen["backlog"].files, seen["backlog"].bytes)
    assert (2000, 2000) == (counts.posts_added, counts.media_files)
    assert {MediaStatus.DOWNLOADED} == set(stored_media(unit_of_work, channel.id).values())
    with unit_of_work() as uow:
        assert 0 == uow.media_queue.backlog(channel.id).files


def test_a_50_mb_file_cut_three_times_resumes_and_fetches_about_50_mb(
    telegram: tuple[Telegram, ServerThread], unit_of_work: UoW, tmp_path: Path
) -> None:
    """Three long flood waits mid-file end three runs; each next run continues from the bytes on disk."""
    fake, server = telegram
    channel = fake.add_channel("bigfile")
    size = 50 * MIB + 12345
    message = add_post(channel, "a big video", media=document_media(channel, "video", size=size, seed=5))
    fake.flood_at = {12 * MIB, 25 * MIB, 37 * MIB + 512 * 1024}
    runs = 0
    while True:
        runs += 1
        over_loopback(server, unit_of_work, tmp_path / "media", fake, lambda a, _: a.sync(plan("@bigfile")))
        if stored_media(unit_of_work, channel.id)[message.id] is MediaStatus.DOWNLOADED or runs > 6:
            break
        fake.advance(600)  # past the flood wait and the retry delay
    with unit_of_work() as uow:
        post = uow.posts.get(channel.id, message.id)
    assert post is not None and post.media is not None and post.media.path is not None
    content = LocalMediaStore(tmp_path / "media").path_of(post.media.path).read_bytes()
    expected = fake.file_bytes(message)
    assert 4 == runs
    assert hashlib.sha256(expected).hexdigest() == hashlib.sha256(content).hexdigest() == post.media.sha256
    print(f"\n50 MB file cut three times: {fake.file_bytes_served:,} bytes fetched for {size:,} bytes")
    assert size <= fake.file_bytes_served < size + 2 * MIB
    assert [] == list((tmp_path / "media" / ".tmp").glob("*.part"))


def test_a_file_that_keeps_failing_gives_up_after_the_ceiling_and_waits_for_a_later_round(
    telegram: tuple[Telegram, ServerThread], unit_of_work: UoW, tmp_path: Path
) -> None:
    """Attempts retry without delay up to max_attempts; then the file is failed with its reason until later."""
    fake, server = telegram
    channel = fake.add_channel("broken")
    message = add_post(channel, "doc", media=document_media(channel, "file", size=5000, seed=1))
    fake.fail_next(functions.upload.GetFileRequest, "FILE_PARTS_INVALID", 400, times=3)
    quick = {"max_attempts": 3, "retry_delay": timedelta(0), "failed_retry_after": timedelta(hours=6)}
    over_loopback(server, unit_of_work, tmp_path / "m", fake, lambda a, _: a.sync(plan("@broken", **quick)))
    requests_after_first = fake.file_bytes_served
    with unit_of_work() as uow:
        backlog = uow.media_queue.backlog(channel.id)
        post = uow.posts.get(channel.id, message.id)
    assert (1, 1) == (backlog.files, backlog.failed)
    assert post is not None and post.media is not None
    assert MediaStatus.FAILED == post.media.status
    assert "FILE_PARTS_INVALID" in (post.media.error or "") or "file parts" in (post.media.error or "")
    fake.advance(3600)  # an hour later: still waiting, no new attempt
    over_loopback(server, unit_of_work, tmp_path / "m", fake, lambda a, _: a.sync(plan("@broken", **quick)))
    assert requests_after_first == fake.file_bytes_served
    assert MediaStatus.FAILED == stored_media(unit_of_work, channel.id)[message.id]
    fake.advance(6 * 3600)  # the later round
    over_loopback(server, unit_of_work, tmp_path / "m", fake, lambda a, _: a.sync(plan("@broken", **quick)))
    assert MediaStatus.DOWNLOADED == stored_media(unit_of_work, channel.id)[message.id]
    with unit_of_work() as uow:
        assert 0 == uow.media_queue.backlog(channel.id).files


def test_a_backfill_killed_mid_file_resumes_the_file_from_disk(
    telegram: tuple[Telegram, ServerThread], tmp_path: Path
) -> None:
    """`kill -9` of the real command while a 20 MB file downloads: the next run continues that file."""
    fake, server = telegram
    channel = fake.add_channel("killed")
    size = 20 * MIB
    message = add_post(channel, "big", media=document_media(channel, "video", size=size, seed=2))
    fake.part_delay = 0.05
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    env.update(
        TGVAULT_TELEGRAM__API_ID=str(FAKE_API_ID),
        TGVAULT_TELEGRAM__API_HASH=FAKE_API_HASH,
        TGVAULT_TELEGRAM__SESSION_STRING=server.session_string,
        TGVAULT_TELEGRAM__REQUEST_DELAY="0",
    )
    command = [sys.executable, "-m", "tgvault", "--log-format", "json", "backfill", "@killed"]
    first = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    parts = tmp_path / "data" / "media" / ".tmp"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:
        if sum(p.stat().st_size for p in parts.glob("*.part")) >= 5 * MIB:
            break
        time.sleep(0.05)
    first.kill()
    first.wait(timeout=30)
    kept = sum(p.stat().st_size for p in parts.glob("*.part"))
    assert 5 * MIB <= kept < size
    fake.part_delay = 0
    second = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert 0 == second.returncode, second.stderr
    database = f"sqlite:///{tmp_path / 'data' / 'tgvault.db'}"
    engine = create_archive_engine(database)
    try:
        with UnitOfWork(make_session_factory(engine)) as uow:
            post = uow.posts.get(channel.id, message.id)
            runs = [run.status for run in reversed(uow.runs.recent())]
    finally:
        engine.dispose()
    assert post is not None and post.media is not None and post.media.path is not None
    stored = (tmp_path / "data" / "media" / post.media.path).read_bytes()
    assert hashlib.sha256(fake.file_bytes(message)).hexdigest() == hashlib.sha256(stored).hexdigest()
    assert [RunStatus.INTERRUPTED, RunStatus.OK] == runs
    print(f"\n20 MB file, killed after {kept:,} bytes on disk: {fake.file_bytes_served:,} bytes fetched")
    assert fake.file_bytes_served < size + kept // 2 + MIB
