"""Workers bench: how many channels per minute 1, 2, 3 ... `tgvault run --worker` processes archive.

    python -m bench.workers                       # 30 channels x 200 posts; 1, 2 and 3 workers
    python -m bench.workers --workers 1,3 --request-delay 0.2

The fake Telegram runs in its own process behind the loopback MTProto server (:mod:`bench.server`); each
worker is a real `tgvault run --worker` process; every round gets a fresh PostgreSQL database. The figure
is the wall time from starting the workers until every channel has a successful sync (worker start-up and
the first lease round included), as channels per minute in all and per worker.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.run import Postgres
from bench.server import BenchServer
from tgvault.testing import FAKE_API_HASH, FAKE_API_ID

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def _ok_channels(url: str) -> int:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError, ProgrammingError

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT count(DISTINCT channel_key) FROM sync_runs WHERE status = 'ok'")
            ).scalar()
            return int(found or 0)
    except (OperationalError, ProgrammingError):
        return 0
    finally:
        engine.dispose()


def one_round(
    server: BenchServer, postgres: Postgres, names: Sequence[str], workers: int, delay: float, root: Path
) -> float:
    """Seconds for ``workers`` workers to sync every channel once into a fresh database."""
    url = postgres.create()
    folder = root / f"w{workers}"
    folder.mkdir()
    entries = [f'[[channels]]\nname = "@{name}"\nschedule = "1h"\nmedia_max_size = 0\n' for name in names]
    (folder / "tgvault.toml").write_text(
        "[workers]\nlease_seconds = 6\nrenew_seconds = 1\n\n" + "\n".join(entries)
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    env.update(
        TGVAULT_TELEGRAM__API_ID=str(FAKE_API_ID),
        TGVAULT_TELEGRAM__API_HASH=FAKE_API_HASH,
        TGVAULT_TELEGRAM__SESSION_STRING=server.session,
        TGVAULT_TELEGRAM__REQUEST_DELAY=str(delay),
        TGVAULT_DATABASE__URL=url,
    )
    command = [sys.executable, "-m", "tgvault", "--log-format", "json"]
    subprocess.run([*command, "db", "upgrade"], cwd=folder, env=env, check=True, capture_output=True)
    started = time.monotonic()
    processes = [
        subprocess.Popen(
            [*command, "run", "--worker"],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(folder / f"worker{number}.err").open("wb"),
        )
        for number in range(workers)
    ]
    try:
        while _ok_channels(url) < len(names):
            if time.monotonic() - started > 1800:
                raise TimeoutError("the workers did not finish within 30 minutes")
            time.sleep(0.2)
        return time.monotonic() - started
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
        postgres.drop(url)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=30)
    parser.add_argument("--posts", type=int, default=200, help="posts per channel")
    parser.add_argument("--workers", default="1,2,3", help="worker counts to try, e.g. 1,2,3")
    parser.add_argument("--request-delay", type=float, default=0.0, help="[telegram] request_delay, seconds")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("TGVAULT_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    args = parser.parse_args(argv)
    counts = [int(part) for part in args.workers.split(",")]
    postgres = Postgres(args.postgres_url)
    print(
        f"{args.channels} channels x {args.posts} posts, request_delay {args.request_delay} s, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'workers':>7}  {'seconds':>8}  {'channels/min':>12}  {'per worker':>10}")
    try:
        with BenchServer() as server, tempfile.TemporaryDirectory(prefix="tgvault-bench-workers-") as tmp:
            names = [f"bench_worker_{number:03d}" for number in range(args.channels)]
            for name in names:
                server.build(name, args.posts, seed=7, with_media=False)
            for workers in counts:
                seconds = one_round(server, postgres, names, workers, args.request_delay, Path(tmp))
                per_minute = args.channels / seconds * 60
                print(f"{workers:>7}  {seconds:>8.1f}  {per_minute:>12.1f}  {per_minute / workers:>10.1f}")
    finally:
        postgres.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
