"""A rebuild after new posts on a big archive, against tg-archive's full build of the same posts (issue 19).

    python -m bench.site_rebuild --n 100000 --new 100 --work /tmp/rebuild [--before /work/main/src]
                                 [--tgarchive] [--reps 2] [--reuse] [--profile /tmp/rebuild.prof]

Fills a SQLite archive with ``build_realistic_channel`` posts (``bench/site_scale.py``'s ``fill``) and
builds the site in full (one worker per core). Then, ``--reps`` times: a rebuild with nothing new, ``--new``
posts added (copies of the channel's newest posts' texts, with new ids, an hour after the newest), a
rebuild. With ``--before``, the same is done side by side with the tgvault sources in that folder (another
site from the same archive, rebuilt after the same posts), and with ``--tgarchive`` tg-archive 1.3.1
builds the same archive (``bench/tgarchive.py``; it always builds everything). Each build runs in a fresh
process; ``cpu_seconds`` is user + system time of that process and its workers *during the build* (not
its imports). ``--reuse`` keeps an archive and built sites left in ``--work`` by an earlier run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.site_scale import REPO, _archive, _cpu, _emit, fill


def rebuild_once(spec: dict[str, Any]) -> dict[str, Any]:
    """One build in this process, timed from the call (``full``, optionally under cProfile)."""
    from tgvault.export.site import SiteOptions, build_site
    from tgvault.storage.media_store import LocalMediaStore

    work = Path(spec["work"])
    engine, uow_factory = _archive(work / "archive.db")
    options = SiteOptions(out_dir=Path(spec["out"]), title="bench", workers=spec.get("workers"))
    search_cpu = _time_search_index()
    profiler = None
    if spec.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    cpu = _cpu()
    started = time.perf_counter()
    report = build_site(uow_factory, LocalMediaStore(work / "media"), options, full=spec["full"])
    seconds = time.perf_counter() - started
    cpu = _cpu() - cpu
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(spec["profile"])
    engine.dispose()
    index = [path for path in report.written_paths if path.startswith("search/")]
    listed = len(report.written_paths) == report.written  # the report lists at most 10,000 paths
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "written": report.written,
        "search_files_written": len(index) if listed else None,
        "buckets_written": sum(1 for path in index if path.startswith("search/i/")) if listed else None,
        "incremental": report.incremental,
        "search_cpu_s": round(search_cpu[0], 4),  # SearchIndex.month + finish, in this process
    }


def _time_search_index() -> list[float]:
    """Wrap ``SearchIndex.month`` and ``finish`` (this process only) to add their CPU seconds up in the
    list returned (its one item): the search index's own share of a rebuild."""
    from tgvault.export.site.search.builder import SearchIndex

    spent = [0.0]

    def timed(method: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return method(*args, **kwargs)
            finally:
                spent[0] += time.process_time() - started

        return wrapper

    SearchIndex.month = timed(SearchIndex.month)  # type: ignore[method-assign]
    SearchIndex.finish = timed(SearchIndex.finish)  # type: ignore[method-assign]
    return spent


def add_posts(work: Path, channel_id: int, new: int) -> None:
    """``new`` posts more: the texts of the channel's newest posts again, with new ids, an hour later."""
    engine, uow_factory = _archive(work / "archive.db")
    with uow_factory() as uow:
        newest = sorted(uow.posts.iter_channel(channel_id), key=lambda post: post.message_id)[-new:]
        top = newest[-1]
        copies = [
            post.model_copy(
                update={
                    "message_id": top.message_id + 1 + k,
                    "date": top.date + timedelta(hours=1, minutes=k),
                    "edit_date": None,
                }
            )
            for k, post in enumerate(newest)
        ]
        uow.posts.upsert_many(copies, datetime.now(UTC))
        uow.commit()
    engine.dispose()


def _child(spec: dict[str, Any], source: str | None) -> dict[str, Any]:
    env = dict(os.environ)
    if source:
        env["PYTHONPATH"] = source + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, "-m", "bench.site_rebuild", "--rebuild", json.dumps(spec)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--before", help="tgvault sources (a src folder) to time side by side")
    parser.add_argument("--tgarchive", action="store_true", help="also time tg-archive 1.3.1's build")
    parser.add_argument("--reuse", action="store_true", help="keep the archive and sites in --work")
    parser.add_argument(
        "--profile", help="cProfile the first rebuild after new posts (this tree) into a file"
    )
    parser.add_argument("--json", type=Path, help="keep the measurements in this file")
    parser.add_argument("--rebuild", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rebuild:
        print(json.dumps(rebuild_once(json.loads(args.rebuild))))
        return
    if args.work is None:
        parser.error("--work is required")
    work: Path = args.work
    if not (args.reuse and (work / "meta.json").exists()):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        started = time.perf_counter()
        channel_id = fill(work, args.n, args.seed)
        (work / "meta.json").write_text(json.dumps({"id": channel_id, "n": args.n}))
        print(f"# {args.n} posts filled in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    channel_id = json.loads((work / "meta.json").read_text())["id"]
    trees = {"now": None} | ({"before": args.before} if args.before else {})
    rows: list[dict[str, Any]] = []
    for tree, source in trees.items():
        out = work / f"site-{tree}"
        if args.reuse and (out / "index.html").exists():
            continue
        shutil.rmtree(out, ignore_errors=True)
        spec = {"work": str(work), "out": str(out), "full": True, "workers": os.cpu_count()}
        _emit(rows, what="full build", tree=tree, n=args.n, **_child(spec, source))
    for rep in range(args.reps):
        for tree, source in trees.items():
            spec = {"work": str(work), "out": str(work / f"site-{tree}"), "full": False}
            _emit(rows, what="rebuild, nothing new", tree=tree, n=args.n, **_child(spec, source))
        add_posts(work, channel_id, args.new)
        for tree, source in trees.items():
            spec = {"work": str(work), "out": str(work / f"site-{tree}"), "full": False}
            if args.profile and tree == "now" and rep == 0:
                spec["profile"] = args.profile
            _emit(
                rows, what=f"rebuild after {args.new} new posts", tree=tree, n=args.n, **_child(spec, source)
            )
        if args.tgarchive:
            from bench import tgarchive

            bin_dir = tgarchive.ensure_venv()
            peer_dir = work / "tg-archive"
            shutil.rmtree(peer_dir, ignore_errors=True)
            tgarchive.prepare_site(bin_dir, peer_dir, f"sqlite:///{work / 'archive.db'}", channel_id)
            peer = tgarchive.build(bin_dir, peer_dir / "tg-archive-site")
            _emit(
                rows,
                what="tg-archive build",
                n=args.n,
                seconds=round(peer["seconds"], 3),
                cpu_seconds=round(peer["cpu_seconds"], 3),  # its one process, after imports
                pages=peer["pages"],
            )
    summary = _summary(rows, args.new)
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "summary": summary}, indent=1))


def _summary(rows: list[dict[str, Any]], new: int) -> dict[str, Any]:
    def median(figure: str, **match: Any) -> float | None:
        values = [r[figure] for r in rows if figure in r and all(r.get(k) == v for k, v in match.items())]
        return statistics.median(values) if values else None

    summary: dict[str, Any] = {}
    peer, peer_cpu = (
        median("seconds", what="tg-archive build"),
        median("cpu_seconds", what="tg-archive build"),
    )
    for tree in ("now", "before"):
        wall = median("seconds", what=f"rebuild after {new} new posts", tree=tree)
        cpu = median("cpu_seconds", what=f"rebuild after {new} new posts", tree=tree)
        if wall is None or cpu is None:
            continue
        summary[tree] = {"rebuild_s": wall, "rebuild_cpu_s": cpu}
        if peer and peer_cpu:
            summary[tree]["x_tg_archive_wall"] = round(peer / wall, 1)
            summary[tree]["x_tg_archive_cpu"] = round(peer_cpu / cpu, 1)
    summary["tg_archive_s"], summary["tg_archive_cpu_s"] = peer, peer_cpu
    return summary


if __name__ == "__main__":
    main()
