"""The site build at scale: on every core, against the write-only floor and against tg-archive.

    python -m bench.site_scale --n 20000 --work /tmp/site-scale [--tgarchive] [--new 100] [--reuse]

Fills a SQLite archive with ``build_realistic_channel`` posts (as bench/site_incremental.py does), then
runs, each in a fresh process (so its peak RSS is its own):

* full builds from an empty folder with 1 worker and with one per core, with and without post pages
  (``[site] post_pages``);
* the write-only floor: the files of the built site (same paths, same bytes) written again into an empty
  folder by as many processes, with the build's own atomic write and no rendering at all (the bytes are
  read back from the built site, from the page cache);
* with ``--tgarchive``: tg-archive 1.3.1's build of the same posts (bench/tgarchive.py), which writes one
  page per 500 posts and no page per post: the like-for-like peer of ``post_pages = false``;
* an incremental rebuild after ``--new`` posts.

``--pairs K --before SRC`` runs only full builds, each mode K times alternating between the tgvault sources
in ``SRC`` (``PYTHONPATH``) and this tree's, and prints each tree's medians (wall, user and system CPU).

``--memory`` runs only a full build on every core (for its peak RSS at a large ``--n``; ``--no-post-pages``
builds it with ``[site] post_pages = false``).

Every build and floor reports its CPU time as ``cpu_seconds`` (user + system) and apart, ``user_seconds``
and ``system_seconds`` (a build's with its imports; ``build_user_seconds`` and ``build_system_seconds``
without them): the user time is the code's own work, the system time the kernel's (mostly creating
files, which swings from build to build on this kind of disk). The summary gives build / floor by user
CPU too (``build_over_floor_user``) and by the build's user CPU plus the floor's system CPU
(``build_over_floor_same_kernel``).

Nothing is deleted while builds are timed: each build and floor writes a folder of its own
(``site-<post pages>-<workers>-<rep>``, ``floor-...``); earlier outputs are moved aside when the run starts and
removed, with the floors, when it ends. (On ext4 without a journal, this machine's disk, creating a file
within a minute or more of many deletions makes the kernel skip every inode freed since, one by one: the
system time of the same build moved from 0.8 to 13 s with the deletions of the builds before it.)

Prints one JSON line per measurement and a summary; ``--json`` keeps them in a file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    """CPU seconds (user + system) of this process and of its children that ended."""
    user, system = _cpu_parts()
    return user + system


def _cpu_parts() -> tuple[float, float]:
    """CPU seconds of this process and of its children that ended: (user, system).

    The user time is the code's own work; the system time is the kernel's (here mostly creating files,
    which swings from build to build with the disk's state), so the two are reported apart."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + children.ru_utime, own.ru_stime + children.ru_stime


def _split(before: tuple[float, float], after: tuple[float, float], prefix: str = "") -> dict[str, float]:
    """The user and system CPU seconds between two :func:`_cpu_parts`, as a measurement's keys."""
    return {
        f"{prefix}user_seconds": round(after[0] - before[0], 3),
        f"{prefix}system_seconds": round(after[1] - before[1], 3),
    }


def _archive(db: Path) -> Any:
    from tgvault.storage.database import create_archive_engine, make_session_factory
    from tgvault.storage.unit_of_work import UnitOfWork

    engine = create_archive_engine(f"sqlite:///{db}")
    factory = make_session_factory(engine)
    return engine, lambda: UnitOfWork(factory)


def fill(work: Path, n: int, seed: int) -> int:
    """A SQLite archive of ``n`` realistic posts (archived an hour ago); returns the channel id."""
    from bench.site_incremental import _store
    from tgvault.domain import Channel
    from tgvault.storage.schema import upgrade
    from tgvault.testing.content import build_realistic_channel
    from tgvault.testing.fake_telegram import FakeTelegram

    engine, uow_factory = _archive(work / "archive.db")
    upgrade(engine)
    fake = build_realistic_channel(FakeTelegram(), n, seed, with_media=False)
    observed = datetime.now(UTC) - timedelta(hours=1)
    with uow_factory() as uow:
        uow.channels.upsert(Channel(id=fake.id, username=fake.username, title=fake.title), observed)
        uow.commit()
    _store(uow_factory, fake, fake.ids, observed)
    engine.dispose()
    return fake.id


def add_posts(work: Path, n: int, new: int, seed: int) -> None:
    """``new`` posts more in the archive's channel (the same fake channel rebuilt from its seed)."""
    from bench.site_incremental import _store
    from tgvault.testing.content import build_realistic_channel
    from tgvault.testing.fake_telegram import FakeTelegram

    engine, uow_factory = _archive(work / "archive.db")
    fake = build_realistic_channel(FakeTelegram(), n, seed, with_media=False)
    known = set(fake.ids)
    build_realistic_channel(fake, new, seed + 100, with_media=False, renames=False)
    _store(uow_factory, fake, [i for i in fake.ids if i not in known], datetime.now(UTC))
    engine.dispose()


def build_once(spec: dict[str, Any]) -> dict[str, Any]:
    """One build in this process: ``workers``, ``post_pages``, ``full``."""
    from tgvault.export.site import SiteOptions, build_site
    from tgvault.storage.media_store import LocalMediaStore

    work = Path(spec["work"])
    engine, uow_factory = _archive(work / "archive.db")
    options = SiteOptions(
        out_dir=Path(spec["out"]), title="bench", workers=spec["workers"], post_pages=spec["post_pages"]
    )
    cpu_before = _cpu_parts()
    started = time.perf_counter()
    report = build_site(uow_factory, LocalMediaStore(work / "media"), options, full=spec["full"])
    seconds = time.perf_counter() - started
    cpu_after = _cpu_parts()
    engine.dispose()
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(sum(cpu_after), 3),  # this process and its workers, imports and opening included
        **_split((0.0, 0.0), cpu_after),  # the same, user and system apart
        **_split(cpu_before, cpu_after, "build_"),  # the build alone (no imports): user and system
        "written": report.written,
        "pages": report.pages,
        "incremental": report.incremental,
        "peak_rss_mb": round(_peak_mb(), 1),
        "workers_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }


def _floor_part(source: str, target: str, paths: list[str]) -> None:
    from tgvault.export.site.writer import atomic_write  # imported before the clock starts

    folders: set[str] = set()
    for path in paths:
        data = Path(source, path).read_bytes()
        atomic_write(os.path.join(target, path), data, folders, new=True)


def floor_once(spec: dict[str, Any]) -> dict[str, Any]:
    """The write-only floor: the site's files written again by ``workers`` processes, no rendering."""
    import multiprocessing

    from tgvault.export.site.writer import atomic_write  # noqa: F401 - imported before the clock starts

    source, target = Path(spec["source"]), Path(spec["out"])
    paths = sorted(str(p.relative_to(source)) for p in source.rglob("*") if p.is_file())
    workers = spec["workers"]
    cpu_before = _cpu_parts()
    started = time.perf_counter()
    if workers == 1:
        _floor_part(str(source), str(target), paths)
    else:
        context = multiprocessing.get_context("fork")
        parts = [
            context.Process(target=_floor_part, args=(str(source), str(target), paths[k::workers]))
            for k in range(workers)
        ]
        for part in parts:
            part.start()
        for part in parts:
            part.join()
    seconds = time.perf_counter() - started
    cpu_after = _cpu_parts()
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(sum(cpu_after) - sum(cpu_before), 3),
        **_split(cpu_before, cpu_after),
        "files": len(paths),
    }


def _child(kind: str, spec: dict[str, Any], source: str | None = None) -> dict[str, Any]:
    env = dict(os.environ)
    if source is not None:  # another tree's tgvault sources (a src folder)
        env["PYTHONPATH"] = source + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, "-m", "bench.site_scale", f"--{kind}", json.dumps(spec)],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _emit(rows: list[dict[str, Any]], **row: Any) -> None:
    row["load"] = round(os.getloadavg()[0], 2)
    rows.append(row)
    print(json.dumps(row), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--new", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--tgarchive", action="store_true", help="also time tg-archive 1.3.1's build")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="use the archive an earlier run filled in --work (same --n and --seed)",
    )
    parser.add_argument("--json", type=Path, help="keep the measurements in this file")
    parser.add_argument(
        "--memory", action="store_true", help="only one full build on every core: its peak RSS (big --n)"
    )
    parser.add_argument(
        "--no-post-pages", action="store_true", help="with --memory: build with `[site] post_pages = false`"
    )
    parser.add_argument("--before", help="with --pairs: tgvault sources (a src folder) to time side by side")
    parser.add_argument(
        "--pairs",
        type=int,
        default=0,
        help="only full builds, alternating between --before's tree and this one, this many pairs a mode",
    )
    parser.add_argument("--build", help=argparse.SUPPRESS)
    parser.add_argument("--floor", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        print(json.dumps(build_once(json.loads(args.build))))
        return
    if args.floor:
        print(json.dumps(floor_once(json.loads(args.floor))))
        return
    if args.work is None:
        parser.error("--work is required")
    work: Path = args.work
    cores = os.cpu_count() or 1
    started = time.perf_counter()
    kept = work / "archive.db"
    # Nothing is deleted while builds are timed: on ext4 without a journal (this machine's disk) a file
    # created within a minute or more of many deletions costs the kernel a scan past every inode freed
    # since (``recently_deleted`` in ``find_inode_bit``), which made the system time of builds and
    # floors swing 10x from one to the next. Earlier outputs are moved aside and removed at the end.
    trash = work.parent / f".{work.name}-trash-{os.getpid()}"
    if args.reuse and kept.is_file() and (work / "channel").is_file():
        channel_id = int((work / "channel").read_text())
        for old in [*work.glob("site*"), *work.glob("floor*")]:
            trash.mkdir(exist_ok=True)
            old.rename(trash / old.name)
        print(f"# the archive in {work} used again", file=sys.stderr)
    else:
        if work.exists():
            work.rename(trash)
        work.mkdir(parents=True)
        channel_id = fill(work, args.n, args.seed)
        (work / "channel").write_text(str(channel_id))
        print(f"# archive of {args.n} posts filled in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    rows: list[dict[str, Any]] = []
    try:
        _measure(args, rows, work, cores, channel_id)
    finally:
        shutil.rmtree(trash, ignore_errors=True)
        for floor_out in work.glob("floor-*"):
            shutil.rmtree(floor_out, ignore_errors=True)


def _measure(
    args: argparse.Namespace, rows: list[dict[str, Any]], work: Path, cores: int, channel_id: int
) -> None:
    """The measurements the arguments ask for (each build and floor into a folder of its own)."""
    if args.pairs:
        _pairs(rows, work, args.n, cores, args.pairs, args.before)
        print(json.dumps(_pairs_summary(rows, cores), indent=1))
        return
    if args.memory:
        spec = {
            "work": str(work),
            "out": str(work / "site"),
            "workers": cores,
            "post_pages": not args.no_post_pages,
            "full": True,
        }
        _emit(
            rows,
            what="full build",
            n=args.n,
            post_pages=not args.no_post_pages,
            workers=cores,
            **_child("build", spec),
        )
        return
    for rep in range(args.reps):
        for post_pages in (True, False):
            for workers in sorted({1, cores}):
                out = work / f"site-{int(post_pages)}-{workers}-{rep}"
                spec = {"work": str(work), "out": str(out), "workers": workers, "post_pages": post_pages}
                result = _child("build", {**spec, "full": True})
                _emit(rows, what="full build", n=args.n, post_pages=post_pages, workers=workers, **result)
                floor_out = work / f"floor-{int(post_pages)}-{workers}-{rep}"
                floor = _child("floor", {"source": str(out), "out": str(floor_out), "workers": workers})
                _emit(
                    rows, what="write-only floor", n=args.n, post_pages=post_pages, workers=workers, **floor
                )
        if args.tgarchive:
            from bench import tgarchive

            bin_dir = tgarchive.ensure_venv()
            peer_dir = work / "tg-archive"
            if not (peer_dir / "tg-archive-site").exists():
                tgarchive.prepare_site(bin_dir, peer_dir, f"sqlite:///{work / 'archive.db'}", channel_id)
            peer = tgarchive.build(bin_dir, peer_dir / "tg-archive-site")
            _emit(
                rows,
                what="tg-archive build",
                n=args.n,
                seconds=round(peer["seconds"], 3),
                cpu_seconds=round(peer["cpu_seconds"], 3),  # its one process, after imports
                user_seconds=round(peer["user_seconds"], 3),
                system_seconds=round(peer["system_seconds"], 3),
                pages=peer["pages"],
            )
    if args.new:
        out = work / f"site-1-{cores}-{args.reps - 1}"
        spec = {"work": str(work), "out": str(out), "workers": None, "post_pages": True, "full": False}
        _emit(rows, what="rebuild, nothing new", n=args.n, **_child("build", spec))
        add_posts(work, args.n, args.new, args.seed)
        _emit(rows, what=f"rebuild after {args.new} new posts", n=args.n, **_child("build", spec))
    summary = _summary(rows, cores)
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "summary": summary}, indent=1))


def _pairs(
    rows: list[dict[str, Any]], work: Path, n: int, cores: int, pairs: int, before: str | None
) -> None:
    """Full builds of each mode, alternating between ``before``'s tree and this one, each in a fresh process."""
    trees = {"before": before, "now": None} if before else {"now": None}
    for post_pages in (True, False):
        for workers in sorted({1, cores}):
            for pair in range(pairs):
                for tree, source in trees.items():
                    out = work / f"site-{tree}-{int(post_pages)}-{workers}-{pair}"
                    spec = {"work": str(work), "out": str(out), "workers": workers, "post_pages": post_pages}
                    result = _child("build", {**spec, "full": True}, source)
                    _emit(
                        rows,
                        what="full build",
                        tree=tree,
                        n=n,
                        post_pages=post_pages,
                        workers=workers,
                        **result,
                    )


def _pairs_summary(rows: list[dict[str, Any]], cores: int) -> dict[str, Any]:
    """The medians of each tree's builds, mode by mode: wall, user CPU (the build's), system CPU."""
    summary: dict[str, Any] = {"cores": cores}
    for post_pages in (True, False):
        for workers in sorted({1, cores}):
            label = f"post_pages={str(post_pages).lower()},workers={workers}"
            summary[label] = {
                tree: {
                    figure: _median(
                        rows, figure, what="full build", tree=tree, post_pages=post_pages, workers=workers
                    )
                    for figure in ("seconds", "build_user_seconds", "build_system_seconds")
                }
                for tree in ("before", "now")
                if any(r.get("tree") == tree for r in rows)
            }
    return summary


def _median(rows: list[dict[str, Any]], figure: str = "seconds", **match: Any) -> float | None:
    values = [r[figure] for r in rows if figure in r and all(r.get(k) == v for k, v in match.items())]
    return statistics.median(values) if values else None


def _user_system(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    """The medians of a mode's user and system CPU (the build's without its imports, the floor's), and
    the build over the floor by user CPU alone and by the build's user CPU plus the floor's system CPU
    (the build as if creating its files had cost the kernel what it cost the floor)."""
    build_user = _median(rows, "build_user_seconds", what="full build", **match)
    build_system = _median(rows, "build_system_seconds", what="full build", **match)
    floor_user = _median(rows, "user_seconds", what="write-only floor", **match)
    floor_system = _median(rows, "system_seconds", what="write-only floor", **match)
    found: dict[str, Any] = {
        "build_user_s": build_user,
        "build_system_s": build_system,
        "floor_user_s": floor_user,
        "floor_system_s": floor_system,
    }
    if build_user and floor_user:
        found["build_over_floor_user"] = round(build_user / floor_user, 2)
    if build_user is not None and floor_user and floor_system is not None:
        found["build_over_floor_same_kernel"] = round(
            (build_user + floor_system) / (floor_user + floor_system), 2
        )
    return found


def _summary(rows: list[dict[str, Any]], cores: int) -> dict[str, Any]:
    summary: dict[str, Any] = {"cores": cores}
    for post_pages in (True, False):
        for workers in sorted({1, cores}):
            build = _median(rows, what="full build", post_pages=post_pages, workers=workers)
            floor = _median(rows, what="write-only floor", post_pages=post_pages, workers=workers)
            label = f"post_pages={str(post_pages).lower()},workers={workers}"
            summary[label] = {"build_s": build, "floor_s": floor}
            if build and floor:
                summary[label]["build_over_floor"] = round(build / floor, 2)
            build_cpu = _median(
                rows, "cpu_seconds", what="full build", post_pages=post_pages, workers=workers
            )
            floor_cpu = _median(
                rows, "cpu_seconds", what="write-only floor", post_pages=post_pages, workers=workers
            )
            if build_cpu and floor_cpu:
                summary[label]["build_over_floor_cpu"] = round(build_cpu / floor_cpu, 2)
            summary[label] |= _user_system(rows, post_pages=post_pages, workers=workers)
    peer = _median(rows, what="tg-archive build")
    peer_user = _median(rows, "user_seconds", what="tg-archive build")
    without_user = _median(rows, "build_user_seconds", what="full build", post_pages=False, workers=1)
    if peer_user and without_user:  # the code's own work: tg-archive's and the build's user CPU
        summary["tg_archive_over_post_pages_false_user"] = round(peer_user / without_user, 2)
    if peer is not None:
        summary["tg_archive_s"] = peer
        without = _median(rows, what="full build", post_pages=False, workers=cores)
        if without:
            summary["tg_archive_over_post_pages_false"] = round(peer / without, 2)
        peer_cpu = _median(rows, "cpu_seconds", what="tg-archive build")
        without_cpu = _median(rows, "cpu_seconds", what="full build", post_pages=False, workers=1)
        if peer_cpu and without_cpu:
            summary["tg_archive_over_post_pages_false_cpu"] = round(peer_cpu / without_cpu, 2)
        incremental = _median(rows, what="rebuild after 100 new posts")
        if incremental:
            summary["tg_archive_over_incremental"] = round(peer / incremental, 1)
    summary["peak_rss_mb"] = max((r.get("peak_rss_mb", 0) for r in rows), default=None)
    return summary


if __name__ == "__main__":
    main()
