"""`tgvault verify` end to end: a channel synced from the fake Telegram (loopback MTProto) verifies, with its
files; a post text changed by SQL and a stored file altered make it exit 1 naming channel, post and entry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from tests.tsa_support import LocalTsa, local_tsa

from tgvault.testing import FAKE_API_HASH, FAKE_API_ID, FakeChannel, FakeTelegram, add_post, document_media
from tgvault.testing.mtproto_server import ServerThread

pytestmark = pytest.mark.slow


def tgvault(
    tmp_path: Path, server: ServerThread, database_url: str, *args: str, tsa: LocalTsa | None = None
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    if tsa is not None:
        env.update(TGVAULT_LEDGER__TSA_URL=tsa.url, TGVAULT_LEDGER__TSA_CA_FILE=str(tsa.ca_file))
    env.update(
        TGVAULT_TELEGRAM__API_ID=str(FAKE_API_ID),
        TGVAULT_TELEGRAM__API_HASH=FAKE_API_HASH,
        TGVAULT_TELEGRAM__SESSION_STRING=server.session_string,
        TGVAULT_TELEGRAM__REQUEST_DELAY="0",
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


def channel_with_files(world: FakeTelegram) -> FakeChannel:
    channel = world.add_channel("verifycli")
    for number in range(30):
        media = document_media(channel, "file", size=3000, seed=number) if number % 10 == 0 else None
        add_post(channel, f"post {number}", media=media, views=5, forwards=0)
    return channel


def test_verify_passes_on_a_synced_archive_and_names_what_was_altered(
    world: FakeTelegram, server: ServerThread, tmp_path: Path, database_url: str
) -> None:
    channel = server.call(lambda: channel_with_files(world))
    with local_tsa(tmp_path / "tsa") as tsa:
        first = tgvault(tmp_path, server, database_url, "sync", "@verifycli", tsa=tsa)
        assert 0 == first.returncode, first.stderr
        assert "ledger: 1 chain head timestamped by http://127.0.0.1:" in first.stdout
        server.call(lambda: world.edit_message(channel, 5, "edited later"))
        assert 0 == tgvault(tmp_path, server, database_url, "sync", "@verifycli", tsa=tsa).returncode
        assert tsa.answered == 2

    clean = tgvault(tmp_path, server, database_url, "verify", "@verifycli", "--media")  # offline: no TSA
    assert 0 == clean.returncode, clean.stderr
    assert "verified 1 channel, 30 posts" in clean.stdout
    assert "2 timestamps" in clean.stdout
    exported = tgvault(
        tmp_path, server, database_url, "export", "evidence", "@verifycli", "5", "--out", "ev5"
    )
    assert 0 == exported.returncode, exported.stderr
    assert "timestamped head" in exported.stdout
    bundle = tgvault(tmp_path, server, database_url, "verify", "--bundle", "ev5")
    assert 0 == bundle.returncode, bundle.stderr
    assert "verified ev5: " in bundle.stdout and "timestamp checked: no finding" in bundle.stdout
    assert "3 files" in clean.stdout
    assert clean.stdout.rstrip().endswith("no finding")

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE posts SET text = 'never said' WHERE message_id = 5"))
            path = connection.execute(text("SELECT path FROM media_items WHERE message_id = 11")).scalar_one()
    finally:
        engine.dispose()
    stored = next((tmp_path / "data").rglob(Path(path).name))
    stored.chmod(0o644)
    stored.write_bytes(b"x" + stored.read_bytes()[1:])

    altered = tgvault(tmp_path, server, database_url, "verify", "--media")
    assert 1 == altered.returncode, altered.stderr
    lines = [line for line in altered.stderr.splitlines() if line.startswith("ALTERED:")]
    assert len(lines) == 2, altered.stderr
    assert lines[0].startswith(f"ALTERED: channel {channel.id} post 5 entry ")
    assert "text, formatting, edit date, poll or link preview differ" in lines[0]
    assert lines[1].startswith(f"ALTERED: channel {channel.id} post 11 entry ")
    assert lines[1].endswith("is corrupt: its sha256 is not the one recorded")
    assert altered.stdout.rstrip().endswith("2 findings")
    assert (
        0 == tgvault(tmp_path, server, database_url, "verify").returncode - 1
    )  # without --media: the text only
