"""`tgvault run` as a real process against the loopback MTProto server: schedules, signals, one instance
per archive, backoff, config reload, health file and status. Every wait is bounded."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tgvault.daemon.health import check_health
from tgvault.errors import HealthCheckError
from tgvault.testing import FAKE_API_HASH, FAKE_API_ID, FakeTelegram, add_post, build_realistic_channel
from tgvault.testing.mtproto_server import ServerThread
from tgvault.testing.webpreview import FakeWebPreview

pytestmark = pytest.mark.slow

WEB_FIXTURES = Path(__file__).parent / "fixtures" / "webpreview"
WEB_CHANNEL_ID = 1987654321  # the saved t.me/s/tgvault_webtest page


def environment(tmp_path: Path, server: ServerThread, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    env.update(
        TGVAULT_TELEGRAM__API_ID=str(FAKE_API_ID),
        TGVAULT_TELEGRAM__API_HASH=FAKE_API_HASH,
        TGVAULT_TELEGRAM__SESSION_STRING=server.session_string,
        TGVAULT_TELEGRAM__REQUEST_DELAY="0",
        TGVAULT_DATABASE__URL=f"sqlite:///{tmp_path / 'archive.db'}",
        COLUMNS="200",
    )
    env.update(extra)
    return env


def write_config(tmp_path: Path, *channels: tuple[str, str], extra: str = "") -> None:
    lines = [f'[[channels]]\nname = "{name}"\nschedule = "{schedule}"\n' for name, schedule in channels]
    (tmp_path / "tgvault.toml").write_text("\n".join(lines) + extra)


class Service:
    """A `tgvault run` subprocess with its output in files (no pipe can fill up and block it)."""

    def __init__(self, tmp_path: Path, env: dict[str, str], *args: str, name: str = "service") -> None:
        self.stdout_path = tmp_path / f"{name}.out"
        self.stderr_path = tmp_path / f"{name}.err"
        self._out: IO[bytes] = self.stdout_path.open("wb")
        self._err: IO[bytes] = self.stderr_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tgvault", "run", *args],
            cwd=tmp_path,
            env=env,
            stdout=self._out,
            stderr=self._err,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def logs(self) -> list[dict[str, Any]]:
        events = []
        for line in self.stderr_path.read_text().splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
        return events

    def logged(self, event: str) -> list[dict[str, Any]]:
        return [entry for entry in self.logs() if entry.get("event", "").startswith(event)]

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10) -> tuple[int, float]:
        """Send ``signum``; returns (exit code, seconds until exit)."""
        started = time.monotonic()
        self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            self.close()
        return code, time.monotonic() - started

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._out.close()
        self._err.close()


@pytest.fixture
def services() -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in started:
        service.close()


def wait_for(
    condition: Callable[[], bool], what: str, timeout: float = 30, service: Service | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if service is not None and service.process.poll() is not None:
            raise AssertionError(
                f"the service exited ({service.process.returncode}) before {what}: "
                f"{service.stderr_path.read_text()[-3000:]}"
            )
        if time.monotonic() > deadline:
            log = service.stderr_path.read_text()[-3000:] if service is not None else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{log}")
        time.sleep(0.1)


def query(tmp_path: Path, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    except OperationalError:
        return []  # the archive is still being created
    finally:
        engine.dispose()


def archived(tmp_path: Path, channel_id: int) -> list[int]:
    rows = query(
        tmp_path, "SELECT message_id FROM posts WHERE channel_id = :c ORDER BY message_id", c=channel_id
    )
    return [row[0] for row in rows]


def runs(tmp_path: Path, key: str) -> list[str]:
    return [
        row[0]
        for row in query(tmp_path, "SELECT status FROM sync_runs WHERE channel_key = :k ORDER BY id", k=key)
    ]


def tgvault(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tgvault", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_service_archives_posts_added_while_it_runs_reports_health_and_stops_on_sigterm(
    world: FakeTelegram, server: ServerThread, tmp_path: Path, services: list[Service]
) -> None:
    channel = server.call(
        lambda: build_realistic_channel(world, 20, seed=31, with_media=False, username="svclive")
    )
    write_config(tmp_path, ("@svclive", "1s"))
    env = environment(tmp_path, server)
    service = Service(tmp_path, env, "--health-file", "state/health.json")
    services.append(service)
    wait_for(lambda: len(archived(tmp_path, channel.id)) == 20, "the first sync", service=service)
    server.call(lambda: add_post(channel, "posted while the service runs"))
    wait_for(lambda: len(archived(tmp_path, channel.id)) == 21, "the new post", service=service)

    health = tgvault(tmp_path, env, "health", "--file", "state/health.json")
    assert 0 == health.returncode, health.stderr
    assert f"healthy: pid {service.pid}" in health.stdout
    document = json.loads((tmp_path / "state" / "health.json").read_text())
    assert "ok" == document["channels"]["@svclive"]["last_outcome"]

    status = tgvault(tmp_path, env, "status")
    assert 0 == status.returncode, status.stderr
    assert f"service: running, pid {service.pid}" in status.stdout
    assert "@svclive" in status.stdout and "service not running" not in status.stdout

    code, seconds = service.stop(signal.SIGTERM)
    assert 0 == code, service.stderr_path.read_text()[-3000:]
    assert seconds < 10
    assert service.logged("service stopped")
    assert all(json.loads(line) for line in service.stderr_path.read_text().splitlines()), "logs are JSON"
    assert sorted(channel.messages) == archived(tmp_path, channel.id)
    with pytest.raises(HealthCheckError, match="has stopped"):
        check_health(tmp_path / "state" / "health.json", timedelta(seconds=120), datetime.now(UTC))
    after = tgvault(tmp_path, env, "status")
    assert "service: not running" in after.stdout


def test_a_second_instance_refuses_naming_the_first_and_a_killed_one_does_not_block(
    world: FakeTelegram, server: ServerThread, tmp_path: Path, services: list[Service]
) -> None:
    channel = server.call(
        lambda: build_realistic_channel(world, 5, seed=32, with_media=False, username="svcsolo")
    )
    write_config(tmp_path, ("@svcsolo", "1h"))
    env = environment(tmp_path, server)
    first = Service(tmp_path, env, name="first")
    services.append(first)
    wait_for(lambda: len(archived(tmp_path, channel.id)) == 5, "the first instance's sync", service=first)

    second = tgvault(tmp_path, env, "run")
    assert 1 == second.returncode
    assert f"pid {first.pid} on " in second.stderr
    assert "Traceback" not in second.stderr
    once = tgvault(tmp_path, env, "run", "--once")
    assert 1 == once.returncode and f"pid {first.pid}" in once.stderr, "one `tgvault run` per archive"

    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=10)
    third = Service(tmp_path, {**env, "TGVAULT_HEALTH_FILE": "health.json"}, name="third")
    services.append(third)
    wait_for(lambda: (tmp_path / "health.json").exists(), "the next instance to start", service=third)
    code, _ = third.stop()
    assert 0 == code, third.stderr_path.read_text()[-3000:]


def test_sigterm_mid_batch_exits_cleanly_and_the_next_start_completes_without_duplicates(
    world: FakeTelegram, server: ServerThread, tmp_path: Path, services: list[Service]
) -> None:
    channel = server.call(
        lambda: build_realistic_channel(world, 1200, seed=33, with_media=False, username="svcbulk")
    )
    write_config(tmp_path, ("@svcbulk", "1h"))
    env = environment(tmp_path, server, TGVAULT_TELEGRAM__REQUEST_DELAY="0.3")
    service = Service(tmp_path, env)
    services.append(service)
    wait_for(lambda: len(archived(tmp_path, channel.id)) >= 300, "a few pages", service=service)
    code, seconds = service.stop(signal.SIGTERM)
    assert 0 == code, service.stderr_path.read_text()[-3000:]
    assert seconds < 10
    partial = archived(tmp_path, channel.id)
    assert 300 <= len(partial) < 1200
    assert ["interrupted"] == runs(tmp_path, "@svcbulk"), "nothing half-done is recorded as done"

    server.call(lambda: add_post(channel, "posted while the service was down"))
    env["TGVAULT_TELEGRAM__REQUEST_DELAY"] = "0"
    result = tgvault(tmp_path, env, "run", "--once")
    assert 0 == result.returncode, result.stderr
    assert sorted(channel.messages) == archived(tmp_path, channel.id)
    assert 1201 == len(archived(tmp_path, channel.id))
    assert ["interrupted", "ok"] == runs(tmp_path, "@svcbulk")


def test_a_second_signal_exits_at_once(
    world: FakeTelegram, server: ServerThread, tmp_path: Path, services: list[Service]
) -> None:
    channel = server.call(
        lambda: build_realistic_channel(world, 800, seed=34, with_media=False, username="svcimpatient")
    )
    write_config(tmp_path, ("@svcimpatient", "1h"))
    service = Service(tmp_path, environment(tmp_path, server, TGVAULT_TELEGRAM__REQUEST_DELAY="0.3"))
    services.append(service)
    wait_for(lambda: len(archived(tmp_path, channel.id)) >= 100, "a page", service=service)
    # Hold the database so the service gets stuck (at its next commit, or recording the interrupted
    # run); both signals arrive while it is stuck, so the clean shutdown cannot finish first.
    database = sqlite3.connect(tmp_path / "archive.db", isolation_level=None, timeout=30)
    try:
        database.execute("BEGIN EXCLUSIVE")
        time.sleep(0.5)
        service.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        service.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
    finally:
        database.rollback()
        database.close()
    started = time.monotonic()
    code = service.process.wait(timeout=10)
    service.close()
    assert code in (130, -signal.SIGTERM), service.stderr_path.read_text()[-3000:]
    assert time.monotonic() - started < 3


def test_a_failing_channel_backs_off_while_another_keeps_syncing_and_status_shows_it(
    world: FakeTelegram, server: ServerThread, tmp_path: Path, services: list[Service]
) -> None:
    server.call(lambda: build_realistic_channel(world, 3, seed=35, with_media=False, username="svcsteady"))
    doomed = server.call(
        lambda: build_realistic_channel(world, 3, seed=36, with_media=False, username="svcdoomed")
    )
    write_config(tmp_path, ("@svcsteady", "1s"), ("@svcdoomed", "1s"))
    env = environment(tmp_path, server)
    service = Service(tmp_path, env)
    services.append(service)
    wait_for(lambda: "ok" in runs(tmp_path, "@svcdoomed"), "the doomed channel's first sync", service=service)
    server.call(lambda: world.vanish_channel(doomed))

    def failures() -> int:
        rows = query(
            tmp_path, "SELECT consecutive_failures FROM service_state WHERE channel_key = 'svcdoomed'"
        )
        return int(rows[0][0]) if rows else 0

    wait_for(lambda: failures() >= 2, "two failures in a row", service=service)
    attempts = len(runs(tmp_path, "@svcdoomed"))
    steady = runs(tmp_path, "@svcsteady").count("ok")
    time.sleep(2.5)
    assert attempts == len(runs(tmp_path, "@svcdoomed")), "the failing channel waits (4 s after 2 failures)"
    assert runs(tmp_path, "@svcsteady").count("ok") >= steady + 1, "the other channel keeps its schedule"

    status = tgvault(tmp_path, env, "status")
    assert 0 == status.returncode, status.stderr
    assert re.search(r"backing off after \d+ failures", status.stdout), status.stdout
    assert "no channel has this username" in status.stdout
    warnings = service.logged("channel sync failed; backing off")
    assert warnings and all(entry["channel"] == "@svcdoomed" for entry in warnings)
    code, _ = service.stop()
    assert 0 == code


def test_sighup_adds_a_channel_and_an_invalid_config_is_rejected(
    world: FakeTelegram, server: ServerThread, tmp_path: Path, services: list[Service]
) -> None:
    first = server.call(
        lambda: build_realistic_channel(world, 4, seed=37, with_media=False, username="svcfirst")
    )
    added = server.call(
        lambda: build_realistic_channel(world, 6, seed=38, with_media=False, username="svcadded")
    )
    write_config(tmp_path, ("@svcfirst", "1s"))
    service = Service(tmp_path, environment(tmp_path, server))
    services.append(service)
    wait_for(lambda: len(archived(tmp_path, first.id)) == 4, "the configured channel", service=service)

    write_config(tmp_path, ("@svcfirst", "1s"), ("@svcadded", "1s"))
    service.process.send_signal(signal.SIGHUP)
    wait_for(lambda: len(archived(tmp_path, added.id)) == 6, "the channel added by SIGHUP", service=service)
    reloaded = service.logged("config reloaded")
    assert [["@svcadded"]] == [entry.get("added") for entry in reloaded]

    (tmp_path / "tgvault.toml").write_text('[[channels]]\nname = "@svcfirst"\nschedule = "whenever"\n')
    service.process.send_signal(signal.SIGHUP)
    wait_for(lambda: bool(service.logged("config reload rejected")), "the rejection", service=service)
    rejected = service.logged("config reload rejected")[0]
    assert "channels[0].schedule" in rejected["error"]
    ok_before = runs(tmp_path, "@svcadded").count("ok")
    wait_for(
        lambda: runs(tmp_path, "@svcadded").count("ok") > ok_before,
        "the old config still served",
        service=service,
    )
    code, _ = service.stop()
    assert 0 == code


def test_telegram_and_web_preview_channels_are_served_together(
    world: FakeTelegram, server: ServerThread, tmp_path: Path, services: list[Service]
) -> None:
    channel = server.call(
        lambda: build_realistic_channel(world, 7, seed=39, with_media=False, username="svcmixed")
    )
    preview = FakeWebPreview()
    preview.add_saved_page((WEB_FIXTURES / "tgvault_webtest.html").read_text())
    with preview.running():
        write_config(
            tmp_path,
            ("@svcmixed", "1h"),
            extra='\n[[channels]]\nname = "@tgvault_webtest"\nsource = "web"\nschedule = "1h"\n',
        )
        env = environment(
            tmp_path, server, TGVAULT_WEB__BASE_URL=preview.base_url, TGVAULT_WEB__REQUEST_DELAY="0"
        )
        service = Service(tmp_path, env)
        services.append(service)
        wait_for(lambda: len(archived(tmp_path, channel.id)) == 7, "the Telegram channel", service=service)
        wait_for(lambda: len(archived(tmp_path, WEB_CHANNEL_ID)) == 33, "the web channel", service=service)
        code, _ = service.stop()
    assert 0 == code, service.stderr_path.read_text()[-3000:]
    sources = query(tmp_path, "SELECT DISTINCT source FROM posts WHERE channel_id = :c", c=WEB_CHANNEL_ID)
    assert [("web",)] == sources
