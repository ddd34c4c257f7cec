"""`tgvault run --live` as a real process: the loopback server pushes updates and they are archived at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tgvault.testing import FAKE_API_HASH, FAKE_API_ID, FakeTelegram, add_post
from tgvault.testing.mtproto_server import LoopbackTelegramServer, ServerThread

pytestmark = pytest.mark.slow


@pytest.fixture
def world() -> FakeTelegram:
    return FakeTelegram()


@pytest.fixture
def server(world: FakeTelegram) -> Iterator[ServerThread]:
    with LoopbackTelegramServer.start_in_thread(world.handle, auth_key=world.auth_key) as running:
        world.port = running.port
        world.push_updates = True
        running.call(lambda: world.subscribe(running.server.push))
        yield running
        assert [] == running.server.handler_errors


def posts(tmp_path: Path, channel_id: int) -> dict[int, tuple[str, bool]]:
    engine = create_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT message_id, text, deleted_at FROM posts WHERE channel_id = :c"),
                {"c": channel_id},
            )
            return {row[0]: (row[1], row[2] is not None) for row in rows}
    except OperationalError:
        return {}
    finally:
        engine.dispose()


def wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen[Any], err: Path) -> float:
    started = time.monotonic()
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"tgvault run exited before {what}: {err.read_text()[-3000:]}")
        if time.monotonic() - started > 30:
            raise AssertionError(f"timed out waiting for {what}: {err.read_text()[-3000:]}")
        time.sleep(0.05)
    return time.monotonic() - started


def test_run_live_records_pushed_posts_edits_and_deletions(
    world: FakeTelegram, server: ServerThread, tmp_path: Path
) -> None:
    channel = server.call(lambda: world.add_channel("livecli"))
    for number in range(3):
        server.call(lambda number=number: add_post(channel, f"old {number}", views=1, forwards=0))
    (tmp_path / "tgvault.toml").write_text('[[channels]]\nname = "@livecli"\nschedule = "1h"\n')
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    env.update(
        TGVAULT_TELEGRAM__API_ID=str(FAKE_API_ID),
        TGVAULT_TELEGRAM__API_HASH=FAKE_API_HASH,
        TGVAULT_TELEGRAM__SESSION_STRING=server.session_string,
        TGVAULT_TELEGRAM__REQUEST_DELAY="0",
        TGVAULT_DATABASE__URL=f"sqlite:///{tmp_path / 'archive.db'}",
    )
    err = tmp_path / "run.err"
    with err.open("wb") as stderr, (tmp_path / "run.out").open("wb") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "tgvault", "run", "--live"],
            cwd=tmp_path,
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
        try:
            wait_for(lambda: '"following live"' in err.read_text(), "live mode", process, err)
            wait_for(lambda: len(posts(tmp_path, channel.id)) == 3, "the first sync", process, err)
            new = server.call(
                lambda: world.publish(channel, add_post(channel, "pushed", views=1, forwards=0))
            )
            seconds = [wait_for(lambda: new.id in posts(tmp_path, channel.id), "the new post", process, err)]
            server.call(lambda: world.edit_message(channel, new.id, "pushed, edited"))
            seconds.append(
                wait_for(
                    lambda: posts(tmp_path, channel.id).get(new.id) == ("pushed, edited", False),
                    "the edit",
                    process,
                    err,
                )
            )
            server.call(lambda: world.delete_messages(channel, [1]))
            seconds.append(
                wait_for(
                    lambda: posts(tmp_path, channel.id)[1] == ("old 0", True), "the deletion", process, err
                )
            )
            process.send_signal(signal.SIGTERM)
            assert 0 == process.wait(timeout=15), err.read_text()[-3000:]
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    assert all(value < 5 for value in seconds), seconds
    events = [json.loads(line).get("event") for line in err.read_text().splitlines() if line.startswith("{")]
    assert 3 == events.count("live update")
