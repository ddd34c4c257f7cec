"""The ledger's cost and ``verify``'s speed (issue 21): ``.venv/bin/python -m bench.ledger``.

* **write**: the storage writes of a backfill (pages of 100 new posts, one transaction each, every post
  with entities, views, reactions and its raw TL), once with the tree of this checkout and once with
  another tree without a ledger (``--base SRC``, e.g. an extracted ``git archive`` of the commit before),
  alternating, each run in a fresh process; wall and CPU time (user+sys, of the writing process) per run.
* **verify**: ``verify_archive`` over ``--posts`` posts (one in ``--file-every`` with a stored file of
  ``--file-kb`` KB), without and with ``--media``: posts/s and MB/s.

Prints one JSON object per figure and a summary; the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
PAGE = 100


def _posts(channel_id: int, first: int, count: int, file_every: int = 0, file_kb: int = 0) -> list[Any]:
    from tgvault.domain import EntityKind, MediaItem, MediaKind, Post, Reaction, TextEntity

    def media(message_id: int) -> MediaItem | None:
        if not file_every or message_id % file_every:
            return None
        return MediaItem(kind=MediaKind.DOCUMENT, telegram_id=message_id, size=file_kb * 1024)

    text = "A realistic channel post with a link and some words, about three hundred characters long. " * 3
    return [
        Post(
            channel_id=channel_id,
            message_id=message_id,
            date=T0 + timedelta(minutes=message_id),
            text=f"{message_id}: {text}",
            entities=(
                TextEntity(kind=EntityKind.BOLD, offset=0, length=5),
                TextEntity(kind=EntityKind.URL, offset=10, length=20),
            ),
            views=1000 + message_id,
            forwards=3,
            reactions=(Reaction(emoji="👍", count=12), Reaction(emoji="🔥", count=4)),
            raw={"_": "Message", "id": message_id, "message": text, "views": 1000 + message_id},
            media=media(message_id),
        )
        for message_id in range(first, first + count)
    ]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def write_child(url: str, posts: int) -> dict[str, Any]:
    """Write ``posts`` posts page by page into a fresh archive; wall and CPU seconds of the writing."""
    from tgvault.domain import Channel
    from tgvault.storage.database import create_archive_engine, make_session_factory
    from tgvault.storage.schema import upgrade
    from tgvault.storage.unit_of_work import UnitOfWork

    engine = create_archive_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with UnitOfWork(factory) as uow:
        uow.channels.upsert(Channel(id=1, username="bench", title="Bench"), T0)
        uow.commit()
    pages = [_posts(1, first, PAGE) for first in range(1, posts + 1, PAGE)]
    cpu, wall = _cpu(), time.perf_counter()
    for page in pages:
        with UnitOfWork(factory) as uow:
            uow.posts.upsert_many(page, T0)
            uow.commit()
    report = {"seconds": time.perf_counter() - wall, "cpu_seconds": _cpu() - cpu}
    engine.dispose()
    return report


def verify_child(url: str, media_root: str, posts: int, file_every: int, file_kb: int) -> dict[str, Any]:
    """Build an archive of ``posts`` posts with files, then time verify without and with the files."""
    from tgvault.domain import Channel
    from tgvault.services.verify import verify_archive
    from tgvault.storage.database import create_archive_engine, make_session_factory
    from tgvault.storage.media_store import LocalMediaStore
    from tgvault.storage.schema import upgrade
    from tgvault.storage.unit_of_work import UnitOfWork

    engine = create_archive_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    store = LocalMediaStore(Path(media_root))
    store.prepare()
    with UnitOfWork(factory) as uow:
        uow.channels.upsert(Channel(id=1, username="bench", title="Bench"), T0)
        uow.commit()
    for first in range(1, posts + 1, 1000):
        with UnitOfWork(factory) as uow:
            for start in range(first, min(first + 1000, posts + 1), PAGE):
                uow.posts.upsert_many(_posts(1, start, min(PAGE, posts + 1 - start), file_every, file_kb), T0)
            for message_id in range(first, min(first + 1000, posts + 1)):
                if message_id % file_every == 0:
                    data = message_id.to_bytes(8, "big") * (file_kb * 128)
                    stored = store.put_bytes(data, "application/octet-stream")
                    uow.media.mark_downloaded(
                        1, message_id, sha256=stored.sha256, path=stored.path, size=stored.size
                    )
            uow.commit()
    figures: dict[str, Any] = {}
    for label, media in (("records", None), ("records_and_files", store)):
        cpu, wall = _cpu(), time.perf_counter()
        report = verify_archive(lambda: UnitOfWork(factory), media_store=media)
        seconds = time.perf_counter() - wall
        assert report.ok, report.findings[:3]
        figures[label] = {
            "seconds": seconds,
            "cpu_seconds": _cpu() - cpu,
            "posts": report.posts,
            "entries": report.entries,
            "files": report.media_files,
            "megabytes": report.media_bytes / 1e6,
            "posts_per_second": report.posts / seconds,
            "megabytes_per_second": report.media_bytes / 1e6 / seconds,
        }
    engine.dispose()
    return figures


def _child(src: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.ledger", "--child", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{REPO}"},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Run the comparison and the verify figures (see the module)."""
    parser = argparse.ArgumentParser(prog="python -m bench.ledger")
    parser.add_argument(
        "--base", type=Path, help="a tgvault src/ folder without the ledger, to compare writes"
    )
    parser.add_argument("--write-posts", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--file-every", type=int, default=20)
    parser.add_argument("--file-kb", type=int, default=64)
    parser.add_argument("--postgres", help="also measure writes on this PostgreSQL server (an admin URL)")
    parser.add_argument("--skip-verify", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        kind, *rest = options.child
        if kind == "write":
            print(json.dumps(write_child(rest[0], int(rest[1]))))
        else:
            print(json.dumps(verify_child(rest[0], rest[1], *(int(value) for value in rest[2:]))))
        return
    results: dict[str, Any] = {"load_average_before": os.getloadavg()}
    here = REPO / "src"
    trees = {"ledger": here} | ({"no ledger": options.base} if options.base else {})
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as folder:
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
        for rep in range(options.reps):
            order = list(trees) if rep % 2 == 0 else list(reversed(trees))
            for name in order:
                url = f"sqlite:///{folder}/write-{rep}-{name.replace(' ', '-')}.db"
                runs[name].append(_child(trees[name], "write", url, str(options.write_posts)))
        results["write_sqlite"] = {
            name: {
                "posts": options.write_posts,
                "median_seconds": statistics.median(r["seconds"] for r in rows),
                "median_cpu_seconds": statistics.median(r["cpu_seconds"] for r in rows),
                "runs": rows,
            }
            for name, rows in runs.items()
        }
        if not options.skip_verify:
            results["verify_sqlite"] = _child(
                here,
                "verify",
                f"sqlite:///{folder}/verify.db",
                f"{folder}/media",
                str(options.posts),
                str(options.file_every),
                str(options.file_kb),
            )
    results["load_average_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
