"""The ledger's timestamps around real runs: `tgvault run --once` (the service's hook) stamps the heads its
syncs moved; a TSA out of reach makes a sync warn, not fail (its posts are committed; the next run stamps)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from tests.test_webpreview_cli import CHANNEL_ID, FIXTURES, NAME, cli_env, tgvault
from tests.tsa_support import local_tsa

from tgvault.testing.webpreview import FakeWebPreview

pytestmark = pytest.mark.slow


@pytest.fixture
def preview() -> Iterator[FakeWebPreview]:
    fake = FakeWebPreview()
    fake.add_saved_page((FIXTURES / "tgvault_webtest.html").read_text())
    with fake.running():
        yield fake


def stamped_seqs(tmp_path: Path) -> list[int]:
    engine = create_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT seq FROM ledger_timestamps WHERE channel_id = :c ORDER BY seq"),
                {"c": CHANNEL_ID},
            )
            return [row[0] for row in rows]
    finally:
        engine.dispose()


def test_the_service_stamps_the_heads_its_runs_moved(preview: FakeWebPreview, tmp_path: Path) -> None:
    (tmp_path / "tgvault.toml").write_text(
        f'[site]\ndir = "{tmp_path / "site"}"\n\n[[channels]]\nname = "@{NAME}"\nsource = "web"\n'
    )
    with local_tsa(tmp_path / "tsa") as tsa:
        env = cli_env(tmp_path, preview.base_url) | {
            "TGVAULT_LEDGER__TSA_URL": tsa.url,
            "TGVAULT_LEDGER__TSA_CA_FILE": str(tsa.ca_file),
        }
        first = tgvault(tmp_path, env, "run", "--once")
        assert 0 == first.returncode, first.stderr
        assert len(stamped_seqs(tmp_path)) == 1
        again = tgvault(tmp_path, env, "run", "--once")  # nothing new: no new token
        assert 0 == again.returncode, again.stderr
        assert len(stamped_seqs(tmp_path)) == 1
        preview.delete(NAME, 22)
        assert 0 == tgvault(tmp_path, env, "run", "--once").returncode
        assert len(stamped_seqs(tmp_path)) == 2
    verified = tgvault(tmp_path, cli_env(tmp_path, preview.base_url), "verify", "--media")
    assert 0 == verified.returncode, verified.stderr
    assert "2 timestamps" in verified.stdout
    published = tgvault(
        tmp_path, cli_env(tmp_path, preview.base_url), "verify", "--site", str(tmp_path / "site")
    )
    assert 0 == published.returncode, published.stderr  # the site's own copy of the ledger and its tokens
    assert "verified site: 2 timestamps, " in published.stdout and published.stdout.rstrip().endswith(
        "no finding"
    )
    token = sorted((tmp_path / "site").rglob("ledger/timestamps/*.tsr"))[-1]
    token.write_bytes(token.read_bytes()[:-40] + bytes(40))
    broken = tgvault(
        tmp_path, cli_env(tmp_path, preview.base_url), "verify", "--site", str(tmp_path / "site")
    )
    assert 1 == broken.returncode and f"{token.name}: the RFC 3161 token does not check" in broken.stderr


def test_a_tsa_out_of_reach_is_a_warning_and_the_next_run_stamps(
    preview: FakeWebPreview, tmp_path: Path
) -> None:
    with local_tsa(tmp_path / "tsa") as tsa:
        ca = str(tsa.ca_file)
        working = tsa.url
    env = cli_env(tmp_path, preview.base_url) | {
        "TGVAULT_LEDGER__TSA_URL": working,  # the TSA has stopped: nothing listens there any more
        "TGVAULT_LEDGER__TSA_CA_FILE": ca,
        "TGVAULT_LEDGER__TIMEOUT": "2",
    }
    synced = tgvault(tmp_path, env, "backfill", f"@{NAME}", "--source", "web", "--no-media")
    assert 0 == synced.returncode, synced.stderr
    assert "tgvault: warning: the ledger was not timestamped: the time-stamping authority" in synced.stderr
    assert stamped_seqs(tmp_path) == []
    with local_tsa(tmp_path / "tsa2") as tsa:
        env |= {"TGVAULT_LEDGER__TSA_URL": tsa.url, "TGVAULT_LEDGER__TSA_CA_FILE": str(tsa.ca_file)}
        later = tgvault(tmp_path, env, "sync", f"@{NAME}", "--source", "web", "--no-media")
        assert 0 == later.returncode, later.stderr
        assert "ledger: 1 chain head timestamped" in later.stdout
    assert len(stamped_seqs(tmp_path)) == 1
