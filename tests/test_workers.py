"""`tgvault run --worker`: three real worker processes share one real PostgreSQL archive through channel
leases, against the loopback MTProto server playing Telegram with twenty channels. Every wait is bounded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from tgvault.testing import FAKE_API_HASH, FAKE_API_ID, FakeChannel, FakeTelegram, add_post
from tgvault.testing.mtproto_server import ServerThread

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CHANNELS = 20
WORKERS = 3


class Worker:
    """A `tgvault run --worker` subprocess with its output in files (no pipe can fill up and block it)."""

    def __init__(self, tmp_path: Path, env: dict[str, str], name: str) -> None:
        self.name = name
        self.stderr_path = tmp_path / f"{name}.err"
        self._out: IO[bytes] = (tmp_path / f"{name}.out").open("wb")
        self._err: IO[bytes] = self.stderr_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tgvault", "--log-format", "json", "run", "--worker"],
            cwd=tmp_path,
            env=env,
            stdout=self._out,
            stderr=self._err,
        )

    def synced(self) -> list[str]:
        """Channels this worker finished a sync of, from its JSON log."""
        found = []
        for line in self.stderr_path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == "channel run finished":
                found.append(entry["channel"])
        return found

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._out.close()
        self._err.close()


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.close()


def make_channels(world: FakeTelegram, posts: int) -> list[FakeChannel]:
    channels = []
    for number in range(CHANNELS):
        channel = world.add_channel(f"work{number:02d}", f"Worker channel {number}")
        for index in range(posts):
            add_post(channel, f"post {index} of channel {number}")
        channels.append(channel)
    return channels


def configure(tmp_path: Path, channels: list[FakeChannel]) -> None:
    entries = [f'[[channels]]\nname = "@{channel.username}"\nschedule = "1h"\n' for channel in channels]
    workers = "[workers]\nlease_seconds = 5\nrenew_seconds = 0.5\n"
    (tmp_path / "tgvault.toml").write_text(workers + "\n" + "\n".join(entries))


def worker_env(server: ServerThread, database_url: str, request_delay: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    env.update(
        TGVAULT_TELEGRAM__API_ID=str(FAKE_API_ID),
        TGVAULT_TELEGRAM__API_HASH=FAKE_API_HASH,
        TGVAULT_TELEGRAM__SESSION_STRING=server.session_string,
        TGVAULT_TELEGRAM__REQUEST_DELAY=request_delay,
        TGVAULT_DATABASE__URL=database_url,
    )
    return env


def query(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    except (OperationalError, ProgrammingError):
        return []  # the archive is still being created
    finally:
        engine.dispose()


def ok_runs(database_url: str) -> Counter[str]:
    rows = query(database_url, "SELECT channel_key FROM sync_runs WHERE status = 'ok'")
    return Counter(row[0] for row in rows)


def lease_holders(database_url: str) -> dict[str, int]:
    """Channel key -> pid of the worker holding its lease."""
    rows = query(database_url, "SELECT channel_key, pid FROM channel_leases WHERE owner IS NOT NULL")
    return {row[0]: row[1] for row in rows}


def wait_for(condition: Callable[[], bool], what: str, workers: list[Worker], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for worker in workers:
            if worker.process.poll() is not None and worker.process.returncode != -signal.SIGKILL:
                raise AssertionError(
                    f"{worker.name} exited ({worker.process.returncode}) before {what}: "
                    f"{worker.stderr_path.read_text()[-3000:]}"
                )
        if time.monotonic() > deadline:
            logs = "\n".join(worker.stderr_path.read_text()[-1500:] for worker in workers)
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{logs}")
        time.sleep(0.2)


def assert_archived_exactly(database_url: str, channels: list[FakeChannel]) -> None:
    rows = query(database_url, "SELECT channel_id, message_id FROM posts")
    stored = Counter(row[0] for row in rows)
    assert len(rows) == len(set(rows)), "no post is stored twice"
    for channel in channels:
        assert len(channel.messages) == stored[channel.id], channel.username
    ids = {(row[0], row[1]) for row in rows}
    for channel in channels:
        assert {(channel.id, message_id) for message_id in channel.messages} <= ids, "no gaps"


def start_workers(tmp_path: Path, env: dict[str, str], workers: list[Worker]) -> None:
    subprocess.run(
        [sys.executable, "-m", "tgvault", "db", "upgrade"], cwd=tmp_path, env=env, check=True, timeout=120
    )
    for number in range(WORKERS):
        workers.append(Worker(tmp_path, env, f"worker{number}"))


def test_three_workers_archive_twenty_channels_each_exactly_once_with_balanced_leases(
    world: FakeTelegram, server: ServerThread, tmp_path: Path, postgres_url: str, workers: list[Worker]
) -> None:
    channels = server.call(lambda: make_channels(world, 30))
    configure(tmp_path, channels)
    env = worker_env(server, postgres_url, "0")
    start_workers(tmp_path, env, workers)
    names = {f"@{channel.username}" for channel in channels}

    wait_for(lambda: set(ok_runs(postgres_url)) == names, "every channel synced", workers)
    wait_for(
        lambda: sorted(Counter(lease_holders(postgres_url).values()).values()) == [6, 7, 7],
        "leases balanced 7/7/6 among the three workers",
        workers,
        timeout=30,
    )
    time.sleep(2)  # a few more lease rounds: nothing runs twice

    assert {name: 1 for name in names} == dict(ok_runs(postgres_url))
    holders = lease_holders(postgres_url)
    assert {channel.username for channel in channels} == set(holders)
    assert {worker.process.pid for worker in workers} == set(holders.values())
    assert_archived_exactly(postgres_url, channels)
    synced = [name for worker in workers for name in worker.synced()]
    assert sorted(names) == sorted(synced), "each channel synced by one worker, once"

    status = subprocess.run(
        [sys.executable, "-m", "tgvault", "status"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert 0 == status.returncode, status.stderr
    assert "service: 3 workers" in status.stdout
    for worker in workers:
        assert f"pid {worker.process.pid} on" in status.stdout


def test_a_killed_workers_channels_are_finished_by_the_others_without_duplicates_or_gaps(
    world: FakeTelegram, server: ServerThread, tmp_path: Path, postgres_url: str, workers: list[Worker]
) -> None:
    channels = server.call(lambda: make_channels(world, 250))
    configure(tmp_path, channels)
    start_workers(tmp_path, worker_env(server, postgres_url, "0.05"), workers)
    names = {f"@{channel.username}" for channel in channels}

    chosen: dict[str, Any] = {}

    def mid_batch() -> bool:
        """All three hold leases and one of them is syncing a channel it holds: remember that one."""
        rows = query(postgres_url, "SELECT channel_key FROM sync_runs WHERE status = 'running'")
        running = {row[0].lstrip("@") for row in rows}
        holders = lease_holders(postgres_url)
        busy = [pid for key, pid in sorted(holders.items()) if key in running]
        if len(set(holders.values())) < WORKERS or not busy or len(ok_runs(postgres_url)) >= CHANNELS:
            return False
        chosen.update(pid=busy[0], holders=holders)
        return True

    wait_for(mid_batch, "all three workers holding leases while syncs run", workers)
    holders = chosen["holders"]
    victim_pid = chosen["pid"]
    victim = next(worker for worker in workers if worker.process.pid == victim_pid)
    os.kill(victim_pid, signal.SIGKILL)
    victim.process.wait(timeout=10)
    orphaned = {key for key, pid in holders.items() if pid == victim_pid}

    wait_for(lambda: set(ok_runs(postgres_url)) == names, "every channel synced after the kill", workers)
    survivors = {worker.process.pid for worker in workers if worker is not victim}
    wait_for(
        lambda: (
            set(lease_holders(postgres_url).values()) == survivors
            and sorted(Counter(lease_holders(postgres_url).values()).values()) == [10, 10]
        ),
        "the survivors hold every lease, 10 each",
        workers,
        timeout=30,
    )

    assert orphaned, "the killed worker held channels"
    assert {name: 1 for name in names} == dict(ok_runs(postgres_url)), "one successful run per channel"
    assert_archived_exactly(postgres_url, channels)
