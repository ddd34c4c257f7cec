"""A first run on a machine with internet: the example config copied, `tgvault run --once`, a site to open.

The example's default channel is read through the web preview; here a local t.me (``FakeWebPreview``, a
saved page served under the example channel's name) stands in for the internet.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tgvault.config import load_settings
from tgvault.testing.webpreview import FakeWebPreview

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "tgvault.example.toml"
SAVED_PAGE = Path(__file__).parent / "fixtures" / "webpreview" / "tgvault_webtest.html"

pytestmark = pytest.mark.slow


def run_once(workdir: Path, base_url: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    env.update(TGVAULT_WEB__BASE_URL=base_url, TGVAULT_WEB__REQUEST_DELAY="0")
    return subprocess.run(
        [sys.executable, "-m", "tgvault", "--log-format", "json", "run", "--once"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_copied_example_config_archives_its_channel_and_run_once_says_where_the_site_is(
    tmp_path: Path,
) -> None:
    (channel,) = load_settings(EXAMPLE, env={}).channels
    name = channel.name.removeprefix("@")
    preview = FakeWebPreview()
    # The saved page's posts, renamed to the example's channel and dated after its `since`.
    page = (
        SAVED_PAGE.read_text().replace("tgvault_webtest", name).replace('datetime="2023-', 'datetime="2025-')
    )
    preview.add_saved_page(page)
    shutil.copy(EXAMPLE, tmp_path / "tgvault.toml")
    with preview.running() as base_url:
        first = run_once(tmp_path, base_url)
        second = run_once(tmp_path, base_url)
    assert 0 == first.returncode, first.stderr
    assert f"{channel.name}: " in first.stdout and " new, " in first.stdout
    assert "site: open data/site/index.html" == first.stdout.splitlines()[-1]
    index = (tmp_path / "data" / "site" / "index.html").read_text()
    assert f"@{name}" in index
    assert 0 == second.returncode, second.stderr
    assert "site: open data/site/index.html" == second.stdout.splitlines()[-1]


def test_run_once_says_how_to_build_a_site_that_was_never_built(tmp_path: Path) -> None:
    """Nothing changed and no site yet (the channel fails here): the last line says how to build one."""
    shutil.copy(EXAMPLE, tmp_path / "tgvault.toml")
    preview = FakeWebPreview()
    with preview.running() as base_url:
        result = run_once(tmp_path, base_url)
    assert 1 == result.returncode
    assert "site: not built yet; build it with: tgvault export site" == result.stdout.splitlines()[-1]
