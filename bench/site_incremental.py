"""Site rebuild times on a big archive: full build, a rebuild with nothing new, a rebuild after new posts.

    python -m bench.site_incremental --n 100000 --new 100 --work /tmp/site-bench

Fills a SQLite archive with ``build_realistic_channel`` posts (mapped by the real Telethon mapping,
without media), then times, in this process: a full build, a rebuild with nothing new, and a rebuild
after ``--new`` posts (``renames=False``). The archive is written as if its posts had been archived an
hour before (``--age``, the archive's ``updated_at``): a service's archive grows over days, and a build
reads again the rows written in the two minutes before the previous build (see
``tgvault.export.site.incremental``). ``--age 0`` shows the first rebuild right after a fast fill.
Only public APIs are used, so the same script times any version of tgvault on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tgvault.domain import Channel
from tgvault.export.site import SiteOptions, build_site
from tgvault.sources.telegram import message_to_post
from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.schema import upgrade
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing.content import build_realistic_channel
from tgvault.testing.fake_telegram import FakeChannel, FakeTelegram


def _store(uow_factory: Any, channel: FakeChannel, ids: list[int], observed_at: datetime) -> None:
    for start in range(0, len(ids), 1000):
        posts = [message_to_post(channel.messages[i], channel.id) for i in ids[start : start + 1000]]
        with uow_factory() as uow:
            uow.posts.upsert_many([post for post in posts if post is not None], observed_at)
            uow.commit()


def _timed(label: str, uow_factory: Any, store: LocalMediaStore, out: Path, full: bool) -> dict[str, Any]:
    started = time.perf_counter()
    report = build_site(uow_factory, store, SiteOptions(out_dir=out), full=full)
    seconds = time.perf_counter() - started
    row = {
        "build": label,
        "seconds": round(seconds, 3),
        "written": report.written,
        "rendered": report.rendered,
        "pages": report.pages,
        "incremental": getattr(report, "incremental", None),
        "changed_posts": getattr(report, "changed_posts", None),
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--new", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--age", type=float, default=60.0, help="minutes since the posts were archived")
    parser.add_argument("--reps", type=int, default=2, help="rounds of (nothing new, new posts)")
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    engine = create_archive_engine(f"sqlite:///{args.work / 'archive.db'}")
    upgrade(engine)
    factory = make_session_factory(engine)

    def uow_factory() -> UnitOfWork:
        return UnitOfWork(factory)

    store = LocalMediaStore(args.work / "media")
    world = FakeTelegram()
    fake = build_realistic_channel(world, args.n, args.seed, with_media=False)
    observed = datetime.now(UTC) - timedelta(minutes=args.age)
    with uow_factory() as uow:
        uow.channels.upsert(Channel(id=fake.id, username=fake.username, title=fake.title), observed)
        uow.commit()
    _store(uow_factory, fake, fake.ids, observed)
    out = args.work / "site"
    _timed("full", uow_factory, store, out, True)
    for rep in range(args.reps):
        _timed("nothing new", uow_factory, store, out, False)
        known = set(fake.ids)
        build_realistic_channel(fake, args.new, args.seed + 100 + rep, with_media=False, renames=False)
        _store(uow_factory, fake, [i for i in fake.ids if i not in known], datetime.now(UTC))
        _timed(f"+{args.new} posts", uow_factory, store, out, False)
    engine.dispose()


if __name__ == "__main__":
    main()
