"""tgvault's benchmark suite: ``.venv/bin/python -m bench [--quick]`` (see docs/benchmarks.md).

Prints a table and saves every figure, with each run's raw numbers, to ``bench/results/<timestamp>.json``.

Layout of a run:

* the fake Telegram (``tgvault.testing``) runs in its own process behind the loopback MTProto server
  (:mod:`bench.server`), so client and server never share a GIL or an event loop;
* every measured workload (plain Telethon, tgvault backfill/sync, site build) runs in a fresh process
  (:mod:`bench.client`), which reports its own wall time, CPU time and peak RSS;
* comparisons are made side by side in one run, alternating the order (A B, B A, ...), and each figure is
  the median of the repetitions with the min-max spread.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import tdesktop_import, tgarchive
from bench.server import BenchServer

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
MIB = 1024 * 1024
PAGE = 100  # Telegram's messages.getHistory limit


@dataclass(frozen=True)
class Config:
    """What one run measures and how many times."""

    sync_sizes: tuple[int, ...]
    sync_reps: dict[int, int]
    memory_sizes: tuple[int, ...]
    media_files: int
    media_size: int
    media_reps: int
    export_reps: int
    incremental_posts: int
    paced_posts: int  # the paced comparison: a history read at one request per `paced_delay` seconds
    paced_delay: float
    databases: tuple[str, ...] = ("sqlite", "postgres")
    seed: int = 1
    memory_own_server: bool = True  # a fresh fake per size, so its memory is its own
    export_memory_max: int | None = None  # largest N whose full site build is measured (None: all)
    export_n: int | None = None  # which sync size's SQLite archive the export section uses (None: largest)
    import_sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)  # Desktop exports imported (messages)
    notes: list[str] = field(default_factory=list)


FULL = Config(
    sync_sizes=(10_000, 100_000),
    sync_reps={10_000: 5, 100_000: 3},
    memory_sizes=(100_000, 1_000_000),
    media_files=200,
    media_size=1 * MIB,
    media_reps=3,
    export_reps=3,
    incremental_posts=100,
    paced_posts=3_000,
    paced_delay=1.0,
)
QUICK = Config(
    sync_sizes=(400,),
    sync_reps={400: 1},
    memory_sizes=(400, 800),
    media_files=6,
    media_size=256 * 1024,
    media_reps=1,
    export_reps=1,
    incremental_posts=20,
    paced_posts=300,
    paced_delay=0.2,
    memory_own_server=False,
    import_sizes=(300,),
)

TARGETS = {
    "sync_ratio": 1.5,
    "backfill_history_per_1000": 10.0,
    "memory_mb": 300.0,
    "export_vs_tg_archive": 5.0,
    "incremental_vs_tg_archive": 50.0,
}


# -- small helpers ---------------------------------------------------------------------------------------


def stats(values: Sequence[float]) -> dict[str, Any]:
    """Median with the spread of the runs (min, max, and max-min relative to the median)."""
    values = [float(v) for v in values]
    median = statistics.median(values)
    low, high = min(values), max(values)
    return {
        "median": median,
        "min": low,
        "max": high,
        "spread_pct": 0.0 if median == 0 else 100.0 * (high - low) / median,
        "runs": values,
    }


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_client(spec: dict[str, Any], timeout: float = 3600) -> dict[str, Any]:
    """Run one workload in a fresh process (:mod:`bench.client`); returns its JSON report."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.client"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench client {spec['kind']} failed:\n{done.stderr[-4000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["process_seconds"] = time.perf_counter() - started
    return report


def machine() -> dict[str, Any]:
    """The machine the numbers came from."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": load,
    }


class Postgres:
    """Fresh PostgreSQL databases for tgvault runs (one per run, dropped afterwards)."""

    def __init__(self, admin_url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self._url = make_url(admin_url).set(drivername="postgresql+psycopg")
        self._admin = create_engine(self._url, isolation_level="AUTOCOMMIT")
        with self._admin.connect():
            pass

    def create(self) -> str:
        from sqlalchemy import text

        name = f"tgvault_bench_{uuid.uuid4().hex[:10]}"
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return self._url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        from sqlalchemy import text
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        with self._admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        self._admin.dispose()


class Workspace:
    """Scratch folders and databases of one run."""

    def __init__(self, root: Path, postgres: Postgres | None) -> None:
        self.root = root
        self.postgres = postgres
        self._count = 0

    def folder(self, label: str) -> Path:
        self._count += 1
        path = self.root / f"{self._count:03d}-{label}"
        path.mkdir(parents=True)
        return path

    @contextmanager
    def database(self, kind: str, label: str, *, keep: bool = False) -> Iterator[tuple[str, Path]]:
        """A new empty database URL (and a folder for its media); dropped on leaving unless ``keep``."""
        folder = self.folder(label)
        if kind == "sqlite":
            url = f"sqlite:///{folder / 'archive.db'}"
            try:
                yield url, folder
            finally:
                if not keep:
                    shutil.rmtree(folder, ignore_errors=True)
            return
        assert self.postgres is not None
        url = self.postgres.create()
        try:
            yield url, folder
        finally:
            if not keep:
                self.postgres.drop(url)
                shutil.rmtree(folder, ignore_errors=True)


# -- the sections ----------------------------------------------------------------------------------------


@dataclass
class KeptArchive:
    """A SQLite archive kept from the sync section for the export section."""

    url: str
    folder: Path
    channel: str
    channel_id: int
    posts: int


def sync_section(
    config: Config, server: BenchServer, work: Workspace, databases: Sequence[str]
) -> tuple[list[dict[str, Any]], dict[str, Any], KeptArchive | None]:
    """(1) floor vs tgvault backfill, (2) request counts, and a SQLite archive of the largest N kept."""
    rows: list[dict[str, Any]] = []
    requests: dict[str, Any] = {}
    kept: KeptArchive | None = None
    for n in config.sync_sizes:
        channel = f"bench_{n}"
        built = server.build(channel, n, seed=config.seed, with_media=False)
        log(f"channel {channel}: {built['posts']} posts")
        for database in databases:
            reps = config.sync_reps[n]
            floors: list[dict[str, Any]] = []
            tgvaults: list[dict[str, Any]] = []
            history: list[int] = []
            for rep in range(reps):
                order = ("floor", "tgvault") if rep % 2 == 0 else ("tgvault", "floor")
                for who in order:
                    server.reset()
                    if who == "floor":
                        result = run_client({"kind": "floor", "session": server.session, "channel": channel})
                        floors.append(result)
                        continue
                    export_n = config.export_n or max(config.sync_sizes)
                    last = rep == reps - 1 and database == "sqlite" and n == export_n
                    with work.database(database, f"backfill-{n}-{database}", keep=last) as (url, folder):
                        result = run_client(
                            {
                                "kind": "backfill",
                                "session": server.session,
                                "channel": channel,
                                "database_url": url,
                                "media_dir": str(folder / "media"),
                            }
                        )
                        history.append(server.counts()["history"])
                        if result["counts"]["posts_added"] != built["posts"]:
                            raise RuntimeError(
                                f"backfill stored {result['counts']} of {built['posts']} posts"
                            )
                        if last:
                            server.reset()
                            synced = run_client(
                                {
                                    "kind": "sync",
                                    "session": server.session,
                                    "channel": channel,
                                    "database_url": url,
                                    "media_dir": str(folder / "media"),
                                }
                            )
                            counts = server.counts()
                            window = 200  # SyncSettings.refresh_posts (the refresh window's newest posts)
                            requests["sync_nothing_new"] = {
                                "n": n,
                                "history_requests": counts["history"],
                                "refresh_requests": counts["channel_messages"],
                                "refresh_window_posts": window,
                                "target_total": 1 + math.ceil(window / PAGE),
                                "total": counts["history"] + counts["channel_messages"],
                                "seconds": synced["seconds"],
                                "posts_added": synced["counts"]["posts_added"],
                            }
                            kept = KeptArchive(url, folder, channel, built["channel_id"], built["posts"])
                    tgvaults.append(result)
                log(
                    f"N={n} {database} rep {rep + 1}/{reps}: floor {floors[-1]['seconds']:.2f}s, "
                    f"tgvault {tgvaults[-1]['seconds']:.2f}s"
                )
            floor_rate = [r["posts"] / r["seconds"] for r in floors]
            tgvault_rate = [built["posts"] / r["seconds"] for r in tgvaults]
            ratios = [t["seconds"] / f["seconds"] for f, t in zip(floors, tgvaults, strict=True)]
            rows.append(
                {
                    "n": n,
                    "database": database,
                    "reps": reps,
                    "floor_posts_per_s": stats(floor_rate),
                    "tgvault_posts_per_s": stats(tgvault_rate),
                    "ratio": stats(ratios),
                    "floor_cpu_s": stats([r["cpu_seconds"] for r in floors]),
                    "tgvault_cpu_s": stats([r["cpu_seconds"] for r in tgvaults]),
                    "tgvault_peak_rss_mb": stats([r["peak_rss_mb"] for r in tgvaults]),
                    "history_requests": history,
                }
            )
            if database == "sqlite" and n == max(config.sync_sizes):
                requests["backfill"] = {
                    "n": built["posts"],
                    "history_requests": history[-1],
                    "per_1000_posts": 1000 * history[-1] / built["posts"],
                }
    return rows, requests, kept


def paced_section(
    config: Config, server: BenchServer, work: Workspace, databases: Sequence[str]
) -> list[dict[str, Any]]:
    """(1b) the same comparison at Telegram's pace: one history request per ``paced_delay`` seconds.

    Telethon's own ``iter_messages`` waits 1 s between requests for histories of over 3,000 messages,
    and tgvault's ``[telegram] request_delay`` defaults to 1 s: this is how fast a real account reads.
    """
    channel = f"bench_paced_{config.paced_posts}"
    built = server.build(channel, config.paced_posts, seed=config.seed, with_media=False)
    rows = []
    for database in databases:
        server.reset()
        floor = run_client(
            {"kind": "floor", "session": server.session, "channel": channel, "wait_time": config.paced_delay}
        )
        server.reset()
        with work.database(database, f"paced-{database}") as (url, folder):
            paced = run_client(
                {
                    "kind": "backfill",
                    "session": server.session,
                    "channel": channel,
                    "database_url": url,
                    "media_dir": str(folder / "media"),
                    "request_delay": config.paced_delay,
                }
            )
        log(
            f"paced N={built['posts']} {database}: floor {floor['seconds']:.2f}s, tgvault {paced['seconds']:.2f}s"
        )
        rows.append(
            {
                "n": built["posts"],
                "database": database,
                "delay_s": config.paced_delay,
                "floor_s": floor["seconds"],
                "tgvault_s": paced["seconds"],
                "ratio": paced["seconds"] / floor["seconds"],
                "tgvault_cpu_s": paced["cpu_seconds"],
            }
        )
    return rows


def media_section(config: Config, server: BenchServer, work: Workspace) -> dict[str, Any]:
    """(5) tgvault's media download (its configured concurrency) vs Telethon one file at a time."""
    channel = "bench_media"
    server.build_media(channel, config.media_files, config.media_size)
    concurrency = 3  # MediaSettings.concurrency's default
    total_mb = config.media_files * config.media_size / MIB
    floors, tgvaults = [], []
    for rep in range(config.media_reps):
        order = ("floor", "tgvault") if rep % 2 == 0 else ("tgvault", "floor")
        for who in order:
            if who == "floor":
                folder = work.folder("media-floor")
                floors.append(
                    run_client(
                        {
                            "kind": "media_floor",
                            "session": server.session,
                            "channel": channel,
                            "out_dir": str(folder),
                        }
                    )
                )
                shutil.rmtree(folder, ignore_errors=True)
                continue
            with work.database("sqlite", "media-tgvault") as (url, folder):
                result = run_client(
                    {
                        "kind": "backfill",
                        "session": server.session,
                        "channel": channel,
                        "database_url": url,
                        "media_dir": str(folder / "media"),
                        "media": True,
                        "concurrency": concurrency,
                    }
                )
                if result["counts"]["media_files"] != config.media_files:
                    raise RuntimeError(f"tgvault downloaded {result['counts']} of {config.media_files} files")
                tgvaults.append(result)
        log(
            f"media rep {rep + 1}: floor {floors[-1]['seconds']:.2f}s, tgvault {tgvaults[-1]['seconds']:.2f}s"
        )
    return {
        "files": config.media_files,
        "file_size": config.media_size,
        "concurrency": concurrency,
        "floor_mb_per_s": stats([total_mb / r["seconds"] for r in floors]),
        "tgvault_mb_per_s": stats([total_mb / r["seconds"] for r in tgvaults]),
        "speedup": stats([f["seconds"] / t["seconds"] for f, t in zip(floors, tgvaults, strict=True)]),
    }


def export_available() -> bool:
    """True once the static site exporter exists (it is being written alongside this suite)."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", "from tgvault.export.site import SiteOptions, build_site"],
            capture_output=True,
            cwd=REPO,
        )
    except OSError:
        return False
    return done.returncode == 0


def export_section(config: Config, server: BenchServer, work: Workspace, kept: KeptArchive) -> dict[str, Any]:
    """(4) tgvault's site build vs tg-archive's, full and incremental, from the same posts."""
    bin_dir = tgarchive.ensure_venv()
    peer = tgarchive.prepare_site(bin_dir, work.folder("tg-archive"), kept.url, kept.channel_id)
    site = Path(peer["site"])
    log(f"tg-archive fed with {peer['posts']} posts")
    base = {"kind": "export", "database_url": kept.url, "media_dir": str(kept.folder / "media")}
    fulls, peers = [], []
    out_dir = work.root / "tgvault-site"
    for rep in range(config.export_reps):
        order = ("tgvault", "tg-archive") if rep % 2 == 0 else ("tg-archive", "tgvault")
        for who in order:
            if who == "tg-archive":
                peers.append(tgarchive.build(bin_dir, site))
                continue
            if out_dir.exists():
                shutil.rmtree(out_dir)
            fulls.append(run_client({**base, "out_dir": str(out_dir), "full": True}))
        log(
            f"export rep {rep + 1}: tgvault full {fulls[-1]['seconds']:.2f}s, "
            f"tg-archive {peers[-1]['seconds']:.2f}s"
        )
    incrementals = []
    for rep in range(config.export_reps):
        server.add_posts(kept.channel, config.incremental_posts, seed=config.seed + 100 + rep)
        synced = run_client(
            {
                "kind": "sync",
                "session": server.session,
                "channel": kept.channel,
                "database_url": kept.url,
                "media_dir": str(kept.folder / "media"),
            }
        )
        if synced["counts"]["posts_added"] != config.incremental_posts:
            raise RuntimeError(f"sync added {synced['counts']} instead of {config.incremental_posts} posts")
        incrementals.append(run_client({**base, "out_dir": str(out_dir), "full": False}))
        log(
            f"incremental rep {rep + 1}: {incrementals[-1]['seconds']:.2f}s, {incrementals[-1]['written']} written"
        )
    peer_median = statistics.median(p["seconds"] for p in peers)
    peer_process_median = statistics.median(p["process_seconds"] for p in peers)
    pairs = list(zip(fulls, peers, strict=True))
    return {
        "n": kept.posts,
        "timing": "seconds: the build inside its process, after imports; process_seconds: the whole process",
        "tgvault_full_s": stats([r["seconds"] for r in fulls]),
        "tgvault_full_process_s": stats([r["process_seconds"] for r in fulls]),
        "tgvault_pages": fulls[-1]["pages"],
        "tgvault_full_peak_rss_mb": stats([r["peak_rss_mb"] for r in fulls]),
        "tg_archive_build_s": stats([p["seconds"] for p in peers]),
        "tg_archive_build_process_s": stats([p["process_seconds"] for p in peers]),
        "tg_archive_pages": peers[-1]["pages"],
        "ratio_full": stats([p["seconds"] / f["seconds"] for f, p in pairs]),
        "ratio_full_process": stats([p["process_seconds"] / f["process_seconds"] for f, p in pairs]),
        "incremental_posts": config.incremental_posts,
        "tgvault_incremental_s": stats([r["seconds"] for r in incrementals]),
        "tgvault_incremental_process_s": stats([r["process_seconds"] for r in incrementals]),
        "tgvault_incremental_written": [r["written"] for r in incrementals],
        "ratio_incremental": stats([peer_median / r["seconds"] for r in incrementals]),
        "ratio_incremental_process": stats(
            [peer_process_median / r["process_seconds"] for r in incrementals]
        ),
    }


def memory_section(
    config: Config,
    work: Workspace,
    sync_rows: list[dict[str, Any]],
    with_export: bool,
    shared_server: BenchServer | None = None,
) -> dict[str, Any]:
    """(3) peak RSS of a backfill (and of a full site build) as N grows; the fake's own memory apart."""
    rows = []
    for n in config.memory_sizes:
        reused = next((r for r in sync_rows if r["n"] == n and r["database"] == "sqlite"), None)
        with contextlib.ExitStack() as stack:
            server = shared_server or stack.enter_context(BenchServer())
            channel = f"bench_mem_{n}"
            started = time.perf_counter()
            server.build(channel, n, seed=config.seed, with_media=False)
            log(f"memory: fake channel of {n} posts built in {time.perf_counter() - started:.0f}s")
            with work.database("sqlite", f"memory-{n}") as (url, folder):
                backfill = run_client(
                    {
                        "kind": "backfill",
                        "session": server.session,
                        "channel": channel,
                        "database_url": url,
                        "media_dir": str(folder / "media"),
                    },
                    timeout=4 * 3600,
                )
                row: dict[str, Any] = {
                    "n": n,
                    "backfill_peak_rss_mb": backfill["peak_rss_mb"],
                    "backfill_seconds": backfill["seconds"],
                    "backfill_posts_per_s": n / backfill["seconds"],
                    "fake_server_peak_rss_mb": server.memory()["peak_rss_mb"],
                    "database_mb": (folder / "archive.db").stat().st_size / MIB,
                }
                if reused is not None:
                    row["backfill_peak_rss_mb_in_sync_runs"] = reused["tgvault_peak_rss_mb"]["median"]
                log(
                    f"memory: backfill of {n}: {backfill['peak_rss_mb']:.0f} MB peak in {backfill['seconds']:.0f}s"
                )
                if with_export and (config.export_memory_max is None or n <= config.export_memory_max):
                    built = run_client(
                        {
                            "kind": "export",
                            "database_url": url,
                            "media_dir": str(folder / "media"),
                            "out_dir": str(folder / "site"),
                            "full": True,
                        },
                        timeout=6 * 3600,
                    )
                    row["export_peak_rss_mb"] = built["peak_rss_mb"]
                    row["export_seconds"] = built["seconds"]
                    row["export_pages"] = built["pages"]
                    log(
                        f"memory: site build of {n}: {built['peak_rss_mb']:.0f} MB peak in {built['seconds']:.0f}s"
                    )
                elif with_export:
                    row["export_not_measured"] = f"over --export-memory-max {config.export_memory_max}"
            rows.append(row)
    return {"rows": rows}


# -- output ----------------------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _spread(figure: dict[str, Any], digits: int = 0) -> str:
    return f"{_fmt(figure['min'], digits)}–{_fmt(figure['max'], digits)}"


def table(results: dict[str, Any]) -> str:
    """The figures as a Markdown table (also what docs/benchmarks.md shows)."""
    lines = ["| figure | N | median | spread (min–max) | target | met |", "|---|---|---|---|---|---|"]

    def add(name: str, n: Any, median: str, spread: str, target: str, met: bool | None) -> None:
        mark = "—" if met is None else ("yes" if met else "**no**")
        lines.append(f"| {name} | {n} | {median} | {spread} | {target} | {mark} |")

    for row in results.get("sync", []):
        n, db, reps = row["n"], row["database"], row["reps"]
        add(
            f"floor: Telethon iter_messages, posts/s ({db})",
            f"{n:,} ×{reps}",
            _fmt(row["floor_posts_per_s"]["median"]),
            _spread(row["floor_posts_per_s"]),
            "",
            None,
        )
        add(
            f"tgvault backfill, posts/s ({db})",
            f"{n:,} ×{reps}",
            _fmt(row["tgvault_posts_per_s"]["median"]),
            _spread(row["tgvault_posts_per_s"]),
            "",
            None,
        )
        ratio = row["ratio"]
        add(
            f"backfill time / floor time ({db})",
            f"{n:,} ×{reps}",
            f"{ratio['median']:.2f}x",
            _spread(ratio, 2),
            f"≤ {TARGETS['sync_ratio']}x",
            ratio["median"] <= TARGETS["sync_ratio"],
        )
    for row in results.get("paced", []):
        add(
            f"at Telegram's pace ({row['delay_s']:g} s a request): backfill / floor ({row['database']})",
            f"{row['n']:,}",
            f"{row['ratio']:.2f}x",
            f"{row['tgvault_s']:.1f} s / {row['floor_s']:.1f} s",
            f"≤ {TARGETS['sync_ratio']}x",
            row["ratio"] <= TARGETS["sync_ratio"],
        )
    for database, reason in results.get("skipped_databases", {}).items():
        add(f"sync figures ({database})", "", "not measured", reason, "", None)
    requests = results.get("requests", {})
    if "backfill" in requests:
        backfill = requests["backfill"]
        add(
            "history requests per 1,000 posts, backfill",
            f"{backfill['n']:,}",
            f"{backfill['per_1000_posts']:.1f}",
            "",
            "10",
            backfill["per_1000_posts"] <= 10.0 + 1e-9,
        )
    if "sync_nothing_new" in requests:
        idle = requests["sync_nothing_new"]
        add(
            "requests of a sync with nothing new (history + refresh)",
            f"{idle['n']:,}",
            f"{idle['history_requests']} + {idle['refresh_requests']}",
            "",
            f"1 + {idle['target_total'] - 1} (window {idle['refresh_window_posts']})",
            idle["total"] <= idle["target_total"],
        )
    for row in results.get("memory", {}).get("rows", []):
        add(
            "peak RSS, backfill (MB)",
            f"{row['n']:,}",
            _fmt(row["backfill_peak_rss_mb"]),
            "1 run",
            f"< {TARGETS['memory_mb']:.0f}",
            row["backfill_peak_rss_mb"] < TARGETS["memory_mb"],
        )
        add(
            "peak RSS, fake Telegram process (MB, not tgvault)",
            f"{row['n']:,}",
            _fmt(row["fake_server_peak_rss_mb"]),
            "1 run",
            "",
            None,
        )
        if "export_peak_rss_mb" in row:
            add(
                "peak RSS, full site build (MB)",
                f"{row['n']:,}",
                _fmt(row["export_peak_rss_mb"]),
                "1 run",
                f"< {TARGETS['memory_mb']:.0f}",
                row["export_peak_rss_mb"] < TARGETS["memory_mb"],
            )
    tdesktop_import.table_rows(results.get("tdesktop_import", {}), add)
    export = results.get("export")
    if isinstance(export, dict) and "ratio_full" in export:
        n = f"{export['n']:,} ×{len(export['ratio_full']['runs'])}"
        add(
            f"tg-archive {tgarchive.VERSION} --build, s ({export['tg_archive_pages']:,} pages)",
            n,
            _fmt(export["tg_archive_build_s"]["median"], 2),
            _spread(export["tg_archive_build_s"], 2),
            "",
            None,
        )
        add(
            f"tgvault full site build, s ({export['tgvault_pages']:,} pages)",
            n,
            _fmt(export["tgvault_full_s"]["median"], 2),
            _spread(export["tgvault_full_s"], 2),
            "",
            None,
        )
        add(
            "tg-archive build time / tgvault full build time",
            n,
            f"{export['ratio_full']['median']:.2f}x",
            _spread(export["ratio_full"], 2),
            f"≥ {TARGETS['export_vs_tg_archive']:.0f}x",
            export["ratio_full"]["median"] >= TARGETS["export_vs_tg_archive"],
        )
        add(
            f"tgvault rebuild after {export['incremental_posts']} new posts, s",
            n,
            _fmt(export["tgvault_incremental_s"]["median"], 2),
            _spread(export["tgvault_incremental_s"], 2),
            "",
            None,
        )
        add(
            "tg-archive build time / tgvault incremental time",
            n,
            f"{export['ratio_incremental']['median']:.1f}x",
            _spread(export["ratio_incremental"], 1),
            f"≥ {TARGETS['incremental_vs_tg_archive']:.0f}x",
            export["ratio_incremental"]["median"] >= TARGETS["incremental_vs_tg_archive"],
        )
        add(
            "peak RSS, full site build (MB)",
            n,
            _fmt(export["tgvault_full_peak_rss_mb"]["median"]),
            _spread(export["tgvault_full_peak_rss_mb"]),
            f"< {TARGETS['memory_mb']:.0f}",
            export["tgvault_full_peak_rss_mb"]["median"] < TARGETS["memory_mb"],
        )
        add(
            "the same two ratios, whole processes (imports included)",
            n,
            f"{export['ratio_full_process']['median']:.2f}x / {export['ratio_incremental_process']['median']:.1f}x",
            "",
            "",
            None,
        )
    elif isinstance(export, dict) and "blocked" in export:
        add("site export figures", "", "blocked", export["blocked"], "", None)
    media = results.get("media")
    if media:
        n = f"{media['files']} × {media['file_size'] / MIB:g} MB ×{len(media['speedup']['runs'])}"
        add(
            "media: Telethon download_media one by one (MB/s)",
            n,
            _fmt(media["floor_mb_per_s"]["median"], 1),
            _spread(media["floor_mb_per_s"], 1),
            "",
            None,
        )
        add(
            f"media: tgvault, concurrency {media['concurrency']} (MB/s)",
            n,
            _fmt(media["tgvault_mb_per_s"]["median"], 1),
            _spread(media["tgvault_mb_per_s"], 1),
            "",
            None,
        )
        add(
            "media: tgvault speed / one by one",
            n,
            f"{media['speedup']['median']:.2f}x",
            _spread(media["speedup"], 2),
            "",
            None,
        )
    return "\n".join(lines)


# -- main ------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repetition (under a minute)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TGVAULT_BENCH_POSTGRES_URL")
        or os.environ.get("TGVAULT_TEST_POSTGRES_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server where databases may be created ('' to skip PostgreSQL)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON results")
    parser.add_argument(
        "--only",
        action="append",
        choices=["sync", "media", "export", "memory", "tdesktop"],
        help="run only these sections (repeatable; the sync section always runs when export does)",
    )
    parser.add_argument(
        "--export-memory-max",
        type=int,
        default=None,
        help="measure the full site build's memory only up to this N (the 1M build takes long)",
    )
    parser.add_argument(
        "--export-n",
        type=int,
        default=None,
        help="compare site builds on the archive of this sync size (default: the largest)",
    )
    parser.add_argument("--sync-reps", default="", help="repetitions per size, e.g. 10000=5,100000=3")
    parser.add_argument(
        "--import-sizes", default="", help="Desktop export sizes to import, e.g. 10000,100000 (messages)"
    )
    parser.add_argument("--table", type=Path, help="print the table of a saved results file and stop")
    args = parser.parse_args(argv)
    if args.table is not None:
        print(table(json.loads(args.table.read_text())))
        return 0
    config = QUICK if args.quick else FULL
    if args.export_memory_max is not None:
        config = replace(config, export_memory_max=args.export_memory_max)
    if args.export_n is not None:
        if args.export_n not in config.sync_sizes:
            parser.error(f"--export-n must be one of the sync sizes {config.sync_sizes}")
        config = replace(config, export_n=args.export_n)
    if args.sync_reps:
        reps = dict(config.sync_reps)
        for item in args.sync_reps.split(","):
            size, count = item.split("=")
            reps[int(size)] = int(count)
        config = replace(config, sync_reps=reps)
    if args.import_sizes:
        config = replace(config, import_sizes=tuple(int(n) for n in args.import_sizes.split(",")))
    sections = set(args.only or ["sync", "media", "export", "memory", "tdesktop"])
    if "export" in sections:
        sections.add("sync")

    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "started": started.isoformat(),
        "mode": "quick" if args.quick else "full",
        "machine": machine(),
        "config": {key: value for key, value in asdict(config).items() if key != "notes"},
        "targets": TARGETS,
        "layout": {
            "fake_telegram": "separate process (loopback MTProto server, its own event loop and GIL)",
            "workloads": "each in a fresh process; timed after imports, schema and connection",
            "order": "floor and tgvault alternate (A B, B A, ...) in one run",
        },
    }
    postgres: Postgres | None = None
    databases: list[str] = ["sqlite"]
    skipped: dict[str, str] = {}
    if args.postgres_url:
        try:
            postgres = Postgres(args.postgres_url)
            databases.append("postgres")
        except Exception as exc:  # an unreachable server is reported, not fatal
            skipped["postgres"] = f"PostgreSQL unavailable: {type(exc).__name__}"
    else:
        skipped["postgres"] = "skipped (--postgres-url '')"
    results["skipped_databases"] = skipped

    root = Path(tempfile.mkdtemp(prefix="tgvault-bench-"))
    work = Workspace(root, postgres)
    has_export = export_available()
    try:
        if sections & {"sync", "media"} or ("memory" in sections and not config.memory_own_server):
            with BenchServer() as server:
                kept = None
                if "sync" in sections:
                    rows, requests, kept = sync_section(config, server, work, databases)
                    results["sync"], results["requests"] = rows, requests
                    results["paced"] = paced_section(config, server, work, databases)
                if "export" in sections:
                    if not has_export:
                        results["export"] = {"blocked": "tgvault.export.site.build_site is not available yet"}
                    elif kept is not None:
                        results["export"] = export_section(config, server, work, kept)
                if "media" in sections:
                    results["media"] = media_section(config, server, work)
                if "memory" in sections and not config.memory_own_server:
                    results["memory"] = memory_section(
                        config, work, results.get("sync", []), has_export, server
                    )
                results["fake_server_errors"] = server.handler_errors()
        if "memory" in sections and config.memory_own_server:
            results["memory"] = memory_section(config, work, results.get("sync", []), has_export)
        if "tdesktop" in sections:
            results["tdesktop_import"] = tdesktop_import.import_section(
                config.import_sizes, root, run_client, log
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if postgres is not None:
            postgres.close()
    results["finished"] = datetime.now(UTC).isoformat()
    results["table"] = table(results)

    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / f"{started.strftime('%Y%m%dT%H%M%SZ')}{'-quick' if args.quick else ''}.json"
    target.write_text(json.dumps(results, indent=2) + "\n")
    print(results["table"])
    print(
        f"\nmachine: {results['machine']['cpu']}, {results['machine']['cores']} cores, "
        f"{results['machine']['memory_gb']} GB; results saved to {target}"
    )
    return 0
