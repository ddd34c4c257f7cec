"""The real `tgvault` command, in a subprocess, against a loopback MTProto server playing Telegram."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tgvault.testing import FAKE_API_HASH, FAKE_API_ID, FakeTelegram, add_post, build_realistic_channel
from tgvault.testing.mtproto_server import ServerThread

pytestmark = pytest.mark.slow


def cli_env(tmp_path: Path, server: ServerThread, database_url: str | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    env.update(
        TGVAULT_TELEGRAM__API_ID=str(FAKE_API_ID),
        TGVAULT_TELEGRAM__API_HASH=FAKE_API_HASH,
        TGVAULT_TELEGRAM__SESSION_STRING=server.session_string,
        TGVAULT_TELEGRAM__REQUEST_DELAY="0",
        TGVAULT_DATABASE__URL=database_url or f"sqlite:///{tmp_path / 'archive.db'}",
    )
    return env


def tgvault(
    tmp_path: Path, env: dict[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tgvault", "--log-format", "json", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def archived_ids(database_url: str, channel_id: int) -> list[int]:
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT message_id FROM posts WHERE channel_id = :c ORDER BY message_id"),
                {"c": channel_id},
            )
            return [row[0] for row in rows]
    finally:
        engine.dispose()


def archived_so_far(database_url: str, channel_id: int) -> int:
    """Posts committed so far (0 while the archive is still being created)."""
    try:
        return len(archived_ids(database_url, channel_id))
    except OperationalError:
        return 0


def test_backfill_then_sync_from_the_command_line(
    world: FakeTelegram, server: ServerThread, tmp_path: Path, database_url: str
) -> None:
    channel = server.call(lambda: build_realistic_channel(world, 180, seed=21, username="endtoend"))
    env = cli_env(tmp_path, server, database_url)
    result = tgvault(tmp_path, env, "backfill", "@endtoend")
    assert 0 == result.returncode, result.stderr
    assert "180 new" in result.stdout
    assert sorted(channel.messages) == archived_ids(database_url, channel.id)
    media_files = [path for path in (tmp_path / "data" / "media").rglob("*.*") if ".tmp" not in path.parts]
    assert media_files, "media was downloaded over the socket"
    assert "api_hash" not in result.stderr or FAKE_API_HASH not in result.stderr
    assert server.session_string not in result.stderr + result.stdout

    exported = tgvault(tmp_path, env, "export", "json", "@endtoend", "--out", "export/result.json")
    assert 0 == exported.returncode, exported.stderr
    document = json.loads((tmp_path / "export" / "result.json").read_text())
    assert sorted(channel.messages) == [message["id"] for message in document["messages"]]
    with_files = [m for m in document["messages"] if m.get("tgvault", {}).get("media_sha256")]
    assert with_files
    for message in with_files:
        relative = message.get("photo") or message.get("file")
        content = (tmp_path / "export" / relative).read_bytes()
        assert message["tgvault"]["media_sha256"] == hashlib.sha256(content).hexdigest()

    edited_id = max(channel.messages)
    server.call(lambda: world.edit_message(channel, edited_id, "edited over the wire"))
    server.call(lambda: world.delete_messages(channel, [min(channel.messages)]))
    server.call(lambda: add_post(channel, "one more"))
    synced = tgvault(tmp_path, env, "sync", "@endtoend")
    assert 0 == synced.returncode, synced.stderr
    assert "@endtoend: 1 new, 1 edited, 1 deleted" in synced.stdout

    status = tgvault(tmp_path, env, "status")
    assert 0 == status.returncode
    assert "181" in status.stdout and "ok" in status.stdout


def test_a_killed_backfill_resumes_with_every_post_exactly_once(
    world: FakeTelegram, server: ServerThread, tmp_path: Path
) -> None:
    channel = server.call(
        lambda: build_realistic_channel(world, 2500, seed=5, with_media=False, username="killme")
    )
    world.latency = 0.01
    env = cli_env(tmp_path, server)
    database_url = env["TGVAULT_DATABASE__URL"]
    for attempt in range(3):
        before = archived_so_far(database_url, channel.id)
        process = subprocess.Popen(
            [sys.executable, "-m", "tgvault", "--log-format", "json", "backfill", "@killme", "--no-media"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if archived_so_far(database_url, channel.id) > before + 150:
                break
        process.send_signal(signal.SIGKILL)
        process.wait()
        server.call(lambda attempt=attempt: add_post(channel, f"new while down {attempt}"))
    world.latency = 0.0
    result = tgvault(tmp_path, env, "backfill", "@killme", "--no-media")
    assert 0 == result.returncode, result.stderr
    ids = archived_ids(database_url, channel.id)
    assert sorted(channel.messages) == ids
    assert 2503 == len(ids)
    resumed = int(result.stdout.split("@killme: ")[1].split(" new")[0])
    assert 0 < resumed < 2503 - 3 * 150, "the last run only fetched what the killed runs had not committed"


def test_an_unknown_channel_is_reported_and_the_others_are_synced(
    world: FakeTelegram, server: ServerThread, tmp_path: Path
) -> None:
    server.call(lambda: build_realistic_channel(world, 20, seed=2, with_media=False, username="present"))
    env = cli_env(tmp_path, server)
    result = tgvault(tmp_path, env, "sync", "@nosuchchannel", "@present")
    assert 1 == result.returncode
    assert "@nosuchchannel: FAILED" in result.stderr and "no channel has this username" in result.stderr
    assert "@present: 20 new" in result.stdout


def test_a_session_that_is_not_logged_in_says_to_log_in(
    world: FakeTelegram, server: ServerThread, tmp_path: Path
) -> None:
    env = cli_env(tmp_path, server)
    env["TGVAULT_TELEGRAM__SESSION_STRING"] = "not-a-session"
    result = tgvault(tmp_path, env, "sync", "@present")
    assert 1 == result.returncode
    assert "tgvault login --string" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_backfill_on_a_terminal_shows_a_progress_bar(
    world: FakeTelegram, server: ServerThread, tmp_path: Path
) -> None:
    import pty

    server.call(lambda: build_realistic_channel(world, 250, seed=9, username="barchannel"))
    main_fd, child_fd = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "tgvault", "backfill", "@barchannel"],
        cwd=tmp_path,
        env=cli_env(tmp_path, server) | {"COLUMNS": "160", "TERM": "xterm"},
        stdin=child_fd,
        stdout=child_fd,
        stderr=child_fd,
    )
    os.close(child_fd)
    output = b""
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.close(main_fd)
    assert 0 == process.wait(timeout=120)
    screen = output.decode(errors="replace")
    assert "@barchannel" in screen
    assert "250/250 posts" in screen
    assert "files ·" in screen
