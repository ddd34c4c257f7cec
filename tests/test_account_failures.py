"""A Telegram account that cannot be used is one failure, and a connection Telegram closes is a failed run.

Everything here runs the real `tgvault` process and the real Telethon client against the loopback MTProto
server (or, for a connection closed during the key exchange, a server that hangs up), with web-source
channels served by the fake web preview: a revoked session stops the Telegram channels at once with one
message naming the cause and the fix, never the web ones; the service turns unhealthy, shows an alert,
asks Telegram nothing more, and archives again after `tgvault login` and a reload (SIGHUP).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession, StringSession
from telethon.tl import functions

from tgvault.daemon.health import check_health
from tgvault.errors import HealthCheckError
from tgvault.testing import FAKE_API_HASH, FAKE_API_ID, FakeTelegram, add_post, build_realistic_channel
from tgvault.testing.mtproto_server import ServerThread
from tgvault.testing.webpreview import FakeWebPreview

pytestmark = pytest.mark.slow

WEB_FIXTURES = Path(__file__).parent / "fixtures" / "webpreview"
WEB_CHANNEL = "@tgvault_webtest"
WEB_CHANNEL_ID = 1987654321  # the saved t.me/s/tgvault_webtest page: 33 posts
WEB_POSTS = 33
PHONE = "+1 555 000 1111"  # the fake account's phone
CODE = "12345"  # the fake's default login code
TELETHON_WORDING = "The key is not registered in the system"


@pytest.fixture
def preview() -> Iterator[FakeWebPreview]:
    fake = FakeWebPreview()
    fake.add_saved_page((WEB_FIXTURES / "tgvault_webtest.html").read_text())
    with fake.running():
        yield fake


def environment(tmp_path: Path, preview: FakeWebPreview, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    env.update(
        TGVAULT_TELEGRAM__API_ID=str(FAKE_API_ID),
        TGVAULT_TELEGRAM__API_HASH=FAKE_API_HASH,
        TGVAULT_TELEGRAM__SESSION_FILE=str(tmp_path / "data" / "tgvault.session"),
        TGVAULT_TELEGRAM__REQUEST_DELAY="0",
        TGVAULT_WEB__BASE_URL=preview.base_url,
        TGVAULT_WEB__REQUEST_DELAY="0",
        TGVAULT_DATABASE__URL=f"sqlite:///{tmp_path / 'archive.db'}",
        COLUMNS="250",
    )
    env.update(extra)
    return env


def write_config(tmp_path: Path, telegram: list[str], *, schedule: str = "1h") -> None:
    """The Telegram channels first, then the web-source one (so a Telegram failure comes first)."""
    blocks = [f'[[channels]]\nname = "{name}"\nschedule = "{schedule}"\n' for name in telegram]
    blocks.append(f'[[channels]]\nname = "{WEB_CHANNEL}"\nsource = "web"\nschedule = "{schedule}"\n')
    (tmp_path / "tgvault.toml").write_text("\n".join(blocks))


def seed_session_file(path: Path, session_string: str) -> None:
    """A session file as a login leaves it: the loopback server's address and auth key."""
    source = StringSession(session_string)
    path.parent.mkdir(parents=True, exist_ok=True)
    session = SQLiteSession(str(path))
    try:
        session.set_dc(source.dc_id, source.server_address, source.port)
        session.auth_key = AuthKey(source.auth_key.key)
        session.save()
    finally:
        session.close()


def keyless_session_file(path: Path, port: int) -> None:
    """A session file that never logged in: an address (127.0.0.1:``port``) and no auth key yet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    session = SQLiteSession(str(path))
    try:
        session.set_dc(2, "127.0.0.1", port)
        session.save()
    finally:
        session.close()


def tgvault(
    tmp_path: Path, env: dict[str, str], *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tgvault", *args],
        cwd=tmp_path,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,  # no terminal: `tgvault login` reads its answers from stdin
    )


def query(tmp_path: Path, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    except OperationalError:
        return []  # the archive is still being created
    finally:
        engine.dispose()


def archived(tmp_path: Path, channel_id: int) -> int:
    rows = query(tmp_path, "SELECT count(*) FROM posts WHERE channel_id = :c", c=channel_id)
    return int(rows[0][0]) if rows else 0


def runs(tmp_path: Path, key: str) -> list[tuple[str, str | None]]:
    return [
        (row[0], row[1])
        for row in query(
            tmp_path, "SELECT status, error FROM sync_runs WHERE channel_key = :k ORDER BY id", k=key
        )
    ]


def telegram_requests(server: ServerThread, world: FakeTelegram) -> int:
    return server.call(lambda: len(world.requests))


def lines_with(output: str, needle: str) -> list[str]:
    return [line for line in output.splitlines() if needle in line]


# -- tgvault run --once, tgvault sync ------------------------------------------------------------------


def revoke_at_connect(world: FakeTelegram) -> None:
    """Logged out before the run: Telegram refuses the session as soon as tgvault checks it."""
    world.require_login()


def revoke_mid_run(world: FakeTelegram, times: int = 1) -> None:
    """Logged out while running: the connection was accepted, the first channel's request is refused (a
    second Telegram channel, if it were tried, would be answered)."""
    world.fail_next(functions.contacts.ResolveUsernameRequest, "SESSION_REVOKED", 401, times=times)


@pytest.mark.parametrize(
    ("revoke", "cause"),
    [(revoke_at_connect, "AUTH_KEY_UNREGISTERED"), (revoke_mid_run, "SESSION_REVOKED")],
    ids=["at-connect", "mid-run"],
)
def test_run_once_with_a_revoked_session_says_so_once_archives_the_web_channel_and_exits_1(
    world: FakeTelegram,
    server: ServerThread,
    preview: FakeWebPreview,
    tmp_path: Path,
    revoke: Callable[[FakeTelegram], None],
    cause: str,
) -> None:
    server.call(lambda: build_realistic_channel(world, 4, seed=81, with_media=False, username="acctone"))
    server.call(lambda: build_realistic_channel(world, 4, seed=82, with_media=False, username="accttwo"))
    seed_session_file(tmp_path / "data" / "tgvault.session", server.session_string)
    write_config(tmp_path, ["@acctone", "@accttwo"])
    env = environment(tmp_path, preview)
    server.call(lambda: revoke(world))

    result = tgvault(tmp_path, env, "run", "--once")

    output = result.stdout + result.stderr
    assert 1 == result.returncode, output
    assert WEB_POSTS == archived(tmp_path, WEB_CHANNEL_ID), "the web-source channel is archived"
    assert f"{WEB_CHANNEL}: {WEB_POSTS} new" in result.stdout
    said = lines_with(output, cause)
    assert 1 == len(said), f"one message for the account, not one per channel:\n{output}"
    assert said[0].startswith("tgvault: error: Telegram account")
    assert "tgvault login" in said[0] and "@acctone, @accttwo" in said[0]
    assert [] == lines_with(output, "FAILED"), output
    assert TELETHON_WORDING not in output and "Traceback" not in output
    resolves = server.call(lambda: world.count(functions.contacts.ResolveUsernameRequest))
    assert (1 if revoke is revoke_mid_run else 0) == resolves, "no other Telegram channel is tried"

    status = tgvault(tmp_path, env, "status")
    assert 0 == status.returncode, status.stderr
    alerts = lines_with(status.stdout, "ALERT")
    assert 1 == len(alerts), status.stdout
    assert "Telegram account" in alerts[0] and cause in alerts[0] and "tgvault login" in alerts[0]

    server.call(lambda: setattr(world, "authorized", True))  # logged in again
    again = tgvault(tmp_path, env, "run", "--once")
    assert 0 == again.returncode, again.stderr
    assert "@acctone: 4 new" in again.stdout and "@accttwo: 4 new" in again.stdout
    cleared = tgvault(tmp_path, env, "status")
    assert [] == lines_with(cleared.stdout, "ALERT"), "the alert goes once the account works again"


def test_sync_with_a_revoked_session_says_so_once_and_still_syncs_the_web_channel(
    world: FakeTelegram, server: ServerThread, preview: FakeWebPreview, tmp_path: Path
) -> None:
    server.call(lambda: build_realistic_channel(world, 4, seed=83, with_media=False, username="acctone"))
    server.call(lambda: build_realistic_channel(world, 4, seed=84, with_media=False, username="accttwo"))
    seed_session_file(tmp_path / "data" / "tgvault.session", server.session_string)
    write_config(tmp_path, ["@acctone", "@accttwo"])
    env = environment(tmp_path, preview)
    server.call(lambda: revoke_mid_run(world, times=2))

    result = tgvault(tmp_path, env, "sync")

    output = result.stdout + result.stderr
    assert 1 == result.returncode, output
    assert f"{WEB_CHANNEL}: {WEB_POSTS} new" in result.stdout
    assert 1 == len(lines_with(output, "SESSION_REVOKED")), output
    assert [] == lines_with(output, "FAILED"), output
    assert 1 == server.call(lambda: world.count(functions.contacts.ResolveUsernameRequest))

    backfill = tgvault(tmp_path, env, "backfill", "@acctone")  # refused again: one line, exit 1
    assert 1 == backfill.returncode
    error_lines = [line for line in backfill.stderr.splitlines() if line.startswith("tgvault: error:")]
    assert 1 == len(error_lines) and "SESSION_REVOKED" in error_lines[0] and "tgvault login" in error_lines[0]
    assert "Traceback" not in backfill.stderr


# -- a server that closes the connection -----------------------------------------------------------------


class HangingUpServer:
    """A TCP server on 127.0.0.1 that reads the client's first bytes and closes the connection (FIN)."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self.port = 0
        self.connections = 0
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _hang_up(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await reader.read(64)
        writer.close()

    def __enter__(self) -> HangingUpServer:
        async def start() -> asyncio.Server:
            return await asyncio.start_server(self._hang_up, "127.0.0.1", 0)

        self._server = self._loop.run_until_complete(start())
        self.port = self._server.sockets[0].getsockname()[1]
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        server = self._server
        assert server is not None

        async def stop() -> None:
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def test_a_connection_the_server_closes_is_a_failed_run_with_a_reason_and_the_web_channel_still_runs(
    preview: FakeWebPreview, tmp_path: Path
) -> None:
    """A session not logged in yet makes Telethon exchange a key; the server hangs up during it (EOF)."""
    with HangingUpServer() as hanging_up:
        keyless_session_file(tmp_path / "data" / "tgvault.session", hanging_up.port)
        write_config(tmp_path, ["@acctclosed"])
        env = environment(tmp_path, preview)

        result = tgvault(tmp_path, env, "run", "--once")
        sync = tgvault(tmp_path, env, "sync", "@acctclosed")
        assert hanging_up.connections >= 2

    output = result.stdout + result.stderr
    assert 1 == result.returncode, output
    assert "Aborted!" not in output and "Traceback" not in output
    said = lines_with(output, "the server closed the connection")
    assert 1 == len(said) and said[0].startswith("tgvault: error: cannot reach Telegram"), output
    assert WEB_POSTS == archived(tmp_path, WEB_CHANNEL_ID), "the web-source channel is still tried"
    [(status, error)] = runs(tmp_path, "@acctclosed")
    assert "failed" == status
    assert error is not None and "cannot reach Telegram: the server closed the connection" in error

    assert 1 == sync.returncode
    assert "Aborted!" not in sync.stderr and "the server closed the connection" in sync.stderr


# -- the service -----------------------------------------------------------------------------------------


class Service:
    """A `tgvault run` subprocess with its output in files (no pipe can fill up and block it)."""

    def __init__(self, tmp_path: Path, env: dict[str, str], *args: str) -> None:
        self.stderr_path = tmp_path / "service.err"
        self._out: IO[bytes] = (tmp_path / "service.out").open("wb")
        self._err: IO[bytes] = self.stderr_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tgvault", "--log-format", "json", "run", *args],
            cwd=tmp_path,
            env=env,
            stdout=self._out,
            stderr=self._err,
        )

    def logged(self, event: str) -> list[dict[str, Any]]:
        entries = []
        for line in self.stderr_path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if str(entry.get("event", "")).startswith(event):
                entries.append(entry)
        return entries

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 40) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the service exited before {what}: {self.stderr_path.read_text()[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}\n{self.stderr_path.read_text()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        finally:
            self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._out.close()
        self._err.close()


def unhealthy(health: Path) -> bool:
    try:
        check_health(health, timedelta(seconds=120), datetime.now(UTC))
    except HealthCheckError as error:
        return "unhealthy" in str(error)
    return False


def healthy(health: Path) -> bool:
    try:
        check_health(health, timedelta(seconds=120), datetime.now(UTC))
    except HealthCheckError:
        return False
    return True


def test_the_service_with_a_revoked_session_turns_unhealthy_stops_asking_and_resumes_after_login_and_reload(
    world: FakeTelegram, server: ServerThread, preview: FakeWebPreview, tmp_path: Path
) -> None:
    channel = server.call(
        lambda: build_realistic_channel(world, 5, seed=85, with_media=False, username="acctlive")
    )
    seed_session_file(tmp_path / "data" / "tgvault.session", server.session_string)
    write_config(tmp_path, ["@acctlive"], schedule="1s")
    env = environment(tmp_path, preview)
    health = tmp_path / "health.json"
    service = Service(tmp_path, env, "--health-file", str(health))
    try:
        service.wait_for(lambda: archived(tmp_path, channel.id) == 5, "the Telegram channel")
        service.wait_for(lambda: archived(tmp_path, WEB_CHANNEL_ID) == WEB_POSTS, "the web channel")
        assert healthy(health)

        server.call(world.require_login)  # logged out from another device
        service.wait_for(lambda: unhealthy(health), "the health file to say unhealthy")

        checked = tgvault(tmp_path, env, "health", "--file", str(health))
        assert 1 == checked.returncode
        assert "unhealthy" in checked.stderr and "AUTH_KEY_UNREGISTERED" in checked.stderr
        assert "tgvault login" in checked.stderr and f"kill -HUP {service.process.pid}" in checked.stderr
        status = tgvault(tmp_path, env, "status")
        alerts = lines_with(status.stdout, "ALERT")
        assert 1 == len(alerts) and "AUTH_KEY_UNREGISTERED" in alerts[0] and "tgvault login" in alerts[0]

        # no retry storm: Telegram hears nothing more, while the web channel keeps its schedule
        asked = telegram_requests(server, world)
        web_runs = len(runs(tmp_path, WEB_CHANNEL))
        time.sleep(4)
        assert asked == telegram_requests(server, world), "nothing is asked of Telegram until a reload"
        assert len(runs(tmp_path, WEB_CHANNEL)) > web_runs, "the web-source channel carries on"
        assert 1 == len(service.logged("the Telegram account cannot be used")), "said once"
        assert [] == service.logged("channel sync failed; backing off")
        assert healthy(health) is False

        server.call(lambda: add_post(channel, "posted while the session was revoked"))
        login = tgvault(tmp_path, env, "login", stdin=f"{PHONE}\n{CODE}\n")
        assert 0 == login.returncode, login.stderr
        time.sleep(2.5)
        assert 5 == archived(tmp_path, channel.id), "the new session is picked up at the reload"

        service.process.send_signal(signal.SIGHUP)
        service.wait_for(lambda: archived(tmp_path, channel.id) == 6, "the post archived after the reload")
        service.wait_for(lambda: healthy(health), "the service to be healthy again")
        assert 0 == tgvault(tmp_path, env, "health", "--file", str(health)).returncode
        after = tgvault(tmp_path, env, "status")
        assert [] == lines_with(after.stdout, "ALERT"), after.stdout
        assert service.logged("the Telegram account works again")
        assert 0 == service.stop()
    finally:
        service.close()


def test_the_service_started_with_a_revoked_session_runs_the_web_channel_unhealthy_until_login_and_reload(
    world: FakeTelegram, server: ServerThread, preview: FakeWebPreview, tmp_path: Path
) -> None:
    channel = server.call(
        lambda: build_realistic_channel(world, 3, seed=86, with_media=False, username="acctlate")
    )
    seed_session_file(tmp_path / "data" / "tgvault.session", server.session_string)
    write_config(tmp_path, ["@acctlate"], schedule="1s")
    env = environment(tmp_path, preview)
    health = tmp_path / "health.json"
    server.call(world.require_login)  # logged out while the service was down
    service = Service(tmp_path, env, "--health-file", str(health))
    try:
        service.wait_for(lambda: archived(tmp_path, WEB_CHANNEL_ID) == WEB_POSTS, "the web channel")
        service.wait_for(lambda: unhealthy(health), "the health file to say unhealthy")
        problem = json.loads(health.read_text())["problem"]
        assert "AUTH_KEY_UNREGISTERED" in problem and "tgvault login" in problem
        asked = telegram_requests(server, world)
        time.sleep(3)
        assert asked == telegram_requests(server, world), "nothing is asked of Telegram until a reload"
        assert 0 == archived(tmp_path, channel.id)

        assert 0 == tgvault(tmp_path, env, "login", stdin=f"{PHONE}\n{CODE}\n").returncode
        service.process.send_signal(signal.SIGHUP)
        service.wait_for(lambda: archived(tmp_path, channel.id) == 3, "the Telegram channel after the reload")
        service.wait_for(lambda: healthy(health), "the service to be healthy again")
        assert 0 == service.stop()
    finally:
        service.close()
