"""Text first, media after: how soon a channel's text is archived, with and without its media.

``.venv/bin/python -m bench.text_first [--posts 2000] [--size 200000]`` backfills a channel of ``--posts``
posts, each with a ``--size``-byte file, from the fake Telegram behind the loopback MTProto server (a
background thread), once with media and once without. It prints the seconds from the run's start (the
first post read) to the last page of text committed, and to the end of the run.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from telethon import TelegramClient
from telethon.sessions import StringSession

from tgvault.services.archiver import Archiver
from tgvault.services.plans import NO_MEDIA, ChannelPlan, MediaPolicy
from tgvault.sources.telegram import TelegramSource
from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.schema import upgrade
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing import FAKE_API_HASH, FAKE_API_ID, FakeTelegram, add_post, document_media
from tgvault.testing.mtproto_server import LoopbackTelegramServer


class Clock:
    """Progress that notes when the first and the last page of text were committed."""

    def __init__(self) -> None:
        self.first_text: float | None = None
        self.last_text = 0.0
        self.files = 0

    def started(self, channel: str, total_posts: int | None) -> None:
        pass

    def advance(self, count: int, size: int = 0) -> None:
        now = time.perf_counter()
        self.first_text = self.first_text or now
        self.last_text = now

    def media(self, files: int, size: int) -> None:
        self.files += files

    def finished(self) -> None:
        pass


def measure(posts: int, size: int, media: bool) -> tuple[float, float, int]:
    """(seconds to all text, seconds to the end of the run, files stored) of one backfill."""
    world = FakeTelegram()
    channel = world.add_channel("bench")
    for number in range(posts):
        add_post(channel, f"post {number}", media=document_media(channel, "file", size=size, seed=number))
    with (
        tempfile.TemporaryDirectory() as folder,
        LoopbackTelegramServer.start_in_thread(world.handle, auth_key=world.auth_key) as server,
    ):
        world.port = server.port
        engine = create_archive_engine(f"sqlite:///{Path(folder) / 'archive.db'}")
        upgrade(engine)
        factory = make_session_factory(engine)
        clock = Clock()
        policy = MediaPolicy(max_size=10**9) if media else NO_MEDIA

        async def go() -> tuple[float, float]:
            client = TelegramClient(
                StringSession(server.session_string), FAKE_API_ID, FAKE_API_HASH, receive_updates=False
            )
            await client.connect()
            try:
                archiver = Archiver(
                    TelegramSource(client, request_delay=0),
                    lambda: UnitOfWork(factory),
                    LocalMediaStore(Path(folder) / "media"),
                    progress=clock,
                )
                start = time.perf_counter()
                await archiver.backfill(ChannelPlan(key="@bench", media=policy))
                return clock.last_text - start, time.perf_counter() - start
            finally:
                await client.disconnect()

        text, total = asyncio.run(go())
        engine.dispose()
    return text, total, clock.files


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--size", type=int, default=200_000)
    args = parser.parse_args()
    for media in (False, True):
        text, total, files = measure(args.posts, args.size, media)
        label = f"with media ({files} files of {args.size:,} B)" if media else "without media"
        print(f"{args.posts} posts {label}: text archived after {text:.2f} s, run ended after {total:.2f} s")


if __name__ == "__main__":
    main()
