"""`tgvault audit` and the mass-deletion alert in `tgvault status`, in a subprocess, over a loopback server."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tgvault.testing import FAKE_API_HASH, FAKE_API_ID, FakeChannel, FakeTelegram, add_post
from tgvault.testing.mtproto_server import ServerThread

pytestmark = pytest.mark.slow


def tgvault(
    tmp_path: Path, server: ServerThread, database_url: str, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    env.update(
        TGVAULT_TELEGRAM__API_ID=str(FAKE_API_ID),
        TGVAULT_TELEGRAM__API_HASH=FAKE_API_HASH,
        TGVAULT_TELEGRAM__SESSION_STRING=server.session_string,
        TGVAULT_TELEGRAM__REQUEST_DELAY="0",
        TGVAULT_SYNC__AUDIT_PAUSE="0",
        TGVAULT_SYNC__REFRESH_POSTS="20",
        TGVAULT_SYNC__REFRESH_DAYS="0",
        TGVAULT_DATABASE__URL=database_url,
    )
    return subprocess.run(
        [sys.executable, "-m", "tgvault", "--log-format", "json", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def old_channel(world: FakeTelegram, posts: int) -> FakeChannel:
    channel = world.add_channel("auditcli")
    start = world.now() - timedelta(days=400)
    for number in range(posts):
        add_post(channel, f"old post {number}", date=start + timedelta(hours=number), views=5, forwards=0)
    return channel


def test_audit_finds_old_changes_and_status_shows_a_mass_deletion_until_cleared(
    world: FakeTelegram, server: ServerThread, tmp_path: Path, database_url: str
) -> None:
    channel = server.call(lambda: old_channel(world, 300))
    first = tgvault(tmp_path, server, database_url, "sync", "@auditcli")
    assert 0 == first.returncode, first.stderr
    server.call(lambda: world.edit_message(channel, 5, "rewritten years later"))
    server.call(lambda: world.delete_messages(channel, [9, 10]))

    audited = tgvault(tmp_path, server, database_url, "audit", "@auditcli")
    assert 0 == audited.returncode, audited.stderr
    assert "@auditcli: audited 300 posts: 1 edited, 2 deleted" in audited.stdout
    quiet = tgvault(tmp_path, server, database_url, "status")
    assert "ALERT" not in quiet.stdout

    server.call(lambda: world.delete_messages(channel, channel.ids[-19:]))  # 19 of the 20 re-read
    wiped = tgvault(tmp_path, server, database_url, "sync", "@auditcli")
    assert 0 == wiped.returncode, wiped.stderr
    assert "19 deleted" in wiped.stdout
    assert '"event": "mass deletion"' in wiped.stdout + wiped.stderr
    shown = tgvault(tmp_path, server, database_url, "status", "--clear-alerts")
    assert "ALERT" in shown.stdout and "19 of 20 posts" in shown.stdout, shown.stdout
    assert "300" in shown.stdout  # every post is still archived
    cleared = tgvault(tmp_path, server, database_url, "status")
    assert "ALERT" not in cleared.stdout


def test_audit_refuses_full_and_since_together(
    world: FakeTelegram, server: ServerThread, tmp_path: Path, database_url: str
) -> None:
    result = tgvault(tmp_path, server, database_url, "audit", "@auditcli", "--full", "--since", "2024-01-01")
    assert 2 == result.returncode
    assert "either --full or --since" in result.stderr


def test_run_refuses_live_with_once(
    world: FakeTelegram, server: ServerThread, tmp_path: Path, database_url: str
) -> None:
    result = tgvault(tmp_path, server, database_url, "run", "--live", "--once")
    assert 2 == result.returncode
    assert "cannot be combined with --once" in result.stderr
