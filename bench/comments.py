"""Comments bench: what archiving a channel's discussion comments costs, in requests and in time.

    python -m bench.comments                         # 1,000 posts, 5,000 comments on 300 of them
    python -m bench.comments --posts 2000 --comments 20000 --commented 600

A real Telethon client talks to the in-process fake Telegram (no latency), into a fresh SQLite file.
Six runs, side by side: the first sync (posts and every comment), a sync where nothing changed, a sync
after 50 new comments on 10 old posts (outside the refresh window: none asked for), the audit that
finds them, the sync after ``comments_authors`` was switched to "pseudonymous" (every comment archived
with its author rewritten) and the sync after it (nothing left to rewrite). Each line gives the requests by kind, wall time, CPU time
(user + sys of this process: the fake runs in it too) and the load average at the start.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from tgvault.services.archiver import Archiver
from tgvault.services.audit import Auditor
from tgvault.services.plans import NO_MEDIA, ChannelPlan, CommentsPlan, RefreshWindow
from tgvault.sources.telegram import TelegramSource
from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.schema import upgrade
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing import FakeTelegram, add_post, fake_client
from tgvault.testing.content.comments import add_comments, commenters


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: Sequence[str] | None = None) -> int:
    """Run the three syncs and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--comments", type=int, default=5000)
    parser.add_argument("--commented", type=int, default=300)
    args = parser.parse_args(argv)

    world = FakeTelegram()
    channel = world.add_channel("bench_comments")
    start = world.now() - timedelta(days=3 * 365)
    for number in range(args.posts):
        add_post(channel, f"post {number}", date=start + timedelta(hours=5 * number), views=10, forwards=1)
    discussion = world.add_discussion_group(channel)
    step = max(1, args.posts // args.commented)
    commented = list(range(1, args.posts + 1, step))[: args.commented]
    people = commenters(world, 200)
    add_comments(world, discussion, commented, args.comments, users=people)
    plan = ChannelPlan(
        "@bench_comments",
        media=NO_MEDIA,
        refresh=RefreshWindow(newest_posts=200, days=7),
        comments=CommentsPlan(media=NO_MEDIA),
    )
    with tempfile.TemporaryDirectory() as folder:
        engine = create_archive_engine(f"sqlite:///{Path(folder) / 'archive.db'}")
        upgrade(engine)
        factory = make_session_factory(engine)

        def uow() -> UnitOfWork:
            return UnitOfWork(factory)

        async def sync(audit: bool, pseudonymous: bool = False) -> None:
            wanted = plan
            if pseudonymous:
                wanted = replace(plan, comments=CommentsPlan(media=NO_MEDIA, pseudonymous=True))
            async with fake_client(world) as client:
                archiver = Archiver(
                    TelegramSource(client, request_delay=0),
                    uow,
                    LocalMediaStore(Path(folder) / "media"),
                    clock=world.now,
                )
                if audit:
                    await Auditor(archiver, uow, clock=world.now).audit(wanted, pause=0)
                else:
                    await archiver.sync(wanted)

        def measured(label: str, audit: bool = False, pseudonymous: bool = False) -> None:
            load = os.getloadavg()[0]
            world.requests.clear()
            wall, cpu = time.perf_counter(), _cpu()
            asyncio.run(sync(audit, pseudonymous))
            wall, cpu = time.perf_counter() - wall, _cpu() - cpu
            kinds = Counter(type(request).__name__.removesuffix("Request") for request in world.requests)
            replies = kinds.get("GetReplies", 0)
            print(
                f"{label:<34} getReplies {replies:>4}  all requests {sum(kinds.values()):>4}  "
                f"wall {wall:6.2f} s  cpu {cpu:6.2f} s  load {load:.2f}  {dict(sorted(kinds.items()))}"
            )

        print(f"{args.posts} posts, {args.comments} comments on {len(commented)} posts")
        measured("first sync")
        measured("sync, nothing changed")
        world.advance(3600)
        for post_id in commented[:10]:
            for number in range(5):
                discussion.add_comment(post_id, people[number], f"late comment {number}", date=world.now())
        measured("sync after 50 comments, 10 old posts")
        measured("audit after them", audit=True)
        measured("sync, switched to pseudonymous", pseudonymous=True)
        measured("sync, pseudonymous, all rewritten", pseudonymous=True)
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
