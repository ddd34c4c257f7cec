"""A rebuild after new posts on a big archive, against tg-archive's full build of the same posts (issue 19).

    python -m bench.site_rebuild --n 100000 --new 100 --work /tmp/rebuild [--before /work/main/src]
                                 [--tgarchive [--tgarchive-reps K]] [--reps 2] [--reuse]
                                 [--profile /tmp/rebuild.prof]

Fills a SQLite archive with ``build_realistic_channel`` posts (``bench/site_scale.py``'s ``fill``) and
builds the site in full (one worker per core). Then, ``--reps`` times: a rebuild with nothing new, ``--new``
posts added (copies of the channel's newest posts' texts, with new ids, an hour after the newest), a
rebuild (the rounds). With ``--before``, the same is done side by side with the tgvault sources in that
folder (another site from the same archive, rebuilt after the same posts), and with ``--tgarchive``
tg-archive 1.3.1 builds the same archive (``bench/tgarchive.py``; it always builds everything). Each build
runs in a fresh process; ``cpu_seconds`` is user + system time of that process and its workers *during
the build* (not its imports). ``--reuse`` keeps an archive and built sites left in ``--work`` by an
earlier run.

A whole cycle of the search index's recent part (it grows by ``--new`` posts a round and is folded into
the buckets once it owns more than 2,000 posts): ``--reps 21 --tgarchive --tgarchive-reps 3`` on a fresh
site; the summary then gives the fold's round apart, the median round without it and the mean round with
it, each against tg-archive. The rounds run back to back; on ext4 a round right after another replaces
files among many inodes freed moments ago, which costs the kernel more than rounds minutes apart.
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

from bench.site_scale import REPO, _archive, _cpu_parts, _emit, _split, fill


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
    before = _cpu_parts()
    started = time.perf_counter()
    report = build_site(uow_factory, LocalMediaStore(work / "media"), options, full=spec["full"])
    seconds = time.perf_counter() - started
    cpu = _split(before, _cpu_parts())  # user: the code's own work; system: the kernel's (files written)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(spec["profile"])
    engine.dispose()
    index = [path for path in report.written_paths if path.startswith("search/")]
    listed = len(report.written_paths) == report.written  # the report lists at most 10,000 paths
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu["user_seconds"] + cpu["system_seconds"], 3),
        **cpu,
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
        # the newest ids alone, then those posts: reading every post took half a minute a round
        wanted = uow.posts.ids(channel_id, include_deleted=True)[-new:]
        newest = sorted(uow.posts.get_many(channel_id, wanted).values(), key=lambda post: post.message_id)
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
    parser.add_argument(
        "--tgarchive-reps",
        type=int,
        help="with --tgarchive: time it after the last K rounds only (a cycle: --reps 21 --tgarchive-reps 3)",
    )
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
    # the first round after which tg-archive is timed (with --tgarchive-reps, the last K rounds alone)
    first_peer_rep = args.reps - (args.reps if args.tgarchive_reps is None else args.tgarchive_reps)
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
        if args.tgarchive and rep >= first_peer_rep:
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
        summary[tree] |= _cycle(rows, new, tree, peer_cpu)
    summary["tg_archive_s"], summary["tg_archive_cpu_s"] = peer, peer_cpu
    return summary


def _cycle(rows: list[dict[str, Any]], new: int, tree: str, peer_cpu: float | None) -> dict[str, Any]:
    """Over the rounds of one tree: the fold's (a round that wrote buckets: the recent part folded into
    them; or one that wrote too many files for the report to list) apart from the others, and the mean
    round with the folds counted (what a cycle costs a round)."""
    rounds = [r for r in rows if r["what"] == f"rebuild after {new} new posts" and r.get("tree") == tree]
    folds = [r["cpu_seconds"] for r in rounds if r.get("buckets_written", 0) != 0]
    others = [r["cpu_seconds"] for r in rounds if r.get("buckets_written", 0) == 0]
    if not folds or not others:
        return {}
    figures: dict[str, Any] = {
        "rounds": len(rounds),
        "median_round_cpu_s_fold_left_out": statistics.median(others),
        "slowest_round_cpu_s_fold_left_out": max(others),
        "fold_cpu_s": folds,
        "mean_round_cpu_s": round(statistics.fmean(folds + others), 4),
    }
    if peer_cpu:
        figures["x_tg_archive_cpu_median_fold_left_out"] = round(peer_cpu / statistics.median(others), 1)
        figures["x_tg_archive_cpu_mean"] = round(peer_cpu / statistics.fmean(folds + others), 1)
    return figures


if __name__ == "__main__":
    main()
