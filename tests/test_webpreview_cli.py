"""`tgvault backfill/sync --source web` in a subprocess against a local t.me, and the [web] settings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tgvault.app import resolve_source, source_kind_for
from tgvault.config import ChannelSource, Settings, TelegramSettings, load_settings
from tgvault.errors import ConfigError
from tgvault.testing.webpreview import FakeWebPreview

FIXTURES = Path(__file__).parent / "fixtures" / "webpreview"
NAME = "tgvault_webtest"
CHANNEL_ID = 1987654321


@pytest.fixture
def preview() -> Iterator[FakeWebPreview]:
    fake = FakeWebPreview()
    fake.add_saved_page((FIXTURES / "tgvault_webtest.html").read_text())
    with fake.running():
        yield fake


def cli_env(tmp_path: Path, base_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    env.update(
        TGVAULT_WEB__BASE_URL=base_url,
        TGVAULT_WEB__REQUEST_DELAY="0",
        TGVAULT_DATABASE__URL=f"sqlite:///{tmp_path / 'archive.db'}",
        TGVAULT_MEDIA__DIR=str(tmp_path / "media"),
    )
    return env


def tgvault(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tgvault", "--log-format", "json", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def archived(tmp_path: Path) -> list[tuple[int, str]]:
    engine = create_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT message_id, source FROM posts WHERE channel_id = :c ORDER BY message_id"),
                {"c": CHANNEL_ID},
            )
            return [(row[0], row[1]) for row in rows]
    finally:
        engine.dispose()


@pytest.mark.slow
def test_backfill_then_sync_from_the_web_preview(preview: FakeWebPreview, tmp_path: Path) -> None:
    """No account at all: the real command archives the channel from TGVAULT_WEB__BASE_URL."""
    env = cli_env(tmp_path, preview.base_url)

    backfill = tgvault(tmp_path, env, "backfill", f"@{NAME}", "--source", "web")

    assert 0 == backfill.returncode, backfill.stderr
    assert f"@{NAME}: 33 new, 0 edited, 8 files (8,192 bytes)" == backfill.stdout.strip()
    rows = archived(tmp_path)
    assert 33 == len(rows) and {"web"} == {source for _, source in rows}
    assert {"/s/tgvault_webtest"} <= {seen.path for seen in preview.requests}
    assert all((seen.user_agent or "").startswith("tgvault/") for seen in preview.requests)

    preview.delete(NAME, 22)
    sync = tgvault(tmp_path, env, "sync", f"@{NAME}", "--source", "web")

    assert 0 == sync.returncode, sync.stderr
    assert f"@{NAME}: 0 new, 0 edited, 1 deleted, 0 files" == sync.stdout.strip()


@pytest.mark.slow
def test_verify_checks_the_pages_kept_as_warc(preview: FakeWebPreview, tmp_path: Path) -> None:
    """`tgvault verify` finds each page the web source kept; without the WARC file it exits 1 naming posts."""
    env = cli_env(tmp_path, preview.base_url)
    assert 0 == tgvault(tmp_path, env, "backfill", f"@{NAME}", "--source", "web").returncode

    verified = tgvault(tmp_path, env, "verify")

    assert 0 == verified.returncode, verified.stderr
    assert re.search(r", \d+ WARC pages in .*: no finding", verified.stdout), verified.stdout
    (warc,) = (tmp_path / "media" / "warc" / str(CHANNEL_ID)).glob("*.warc.gz")
    warc.unlink()
    broken = tgvault(tmp_path, env, "verify", f"@{NAME}")
    assert 1 == broken.returncode
    assert re.search(
        rf"ALTERED: channel {CHANNEL_ID} post \d+ entry \d+: the WARC record <urn:uuid:[0-9a-f-]+> of the page "
        "it was read from is missing",
        broken.stderr,
    ), broken.stderr


@pytest.mark.slow
def test_auto_uses_the_web_without_credentials(preview: FakeWebPreview, tmp_path: Path) -> None:
    """--source auto picks the web preview when no API id and hash are set."""
    result = tgvault(
        tmp_path, cli_env(tmp_path, preview.base_url), "backfill", NAME, "--source", "auto", "--no-media"
    )

    assert 0 == result.returncode, result.stderr
    assert result.stdout.startswith(f"{NAME}: 33 new")


@pytest.mark.slow
def test_configured_web_channel_syncs_without_the_option(preview: FakeWebPreview, tmp_path: Path) -> None:
    """A channel with source = "web" in the config is synced from the preview by a plain `tgvault sync`."""
    (tmp_path / "tgvault.toml").write_text(
        f'[[channels]]\nname = "@{NAME}"\nsource = "web"\nmedia_kinds = []\n'
    )

    result = tgvault(tmp_path, cli_env(tmp_path, preview.base_url), "sync")

    assert 0 == result.returncode, result.stderr
    assert f"@{NAME}: 33 new, 0 edited, 0 deleted, 0 files" == result.stdout.strip()


@pytest.mark.slow
def test_unknown_channel_fails_with_a_clear_message(preview: FakeWebPreview, tmp_path: Path) -> None:
    """Exit code 1 and the reason, never "0 new"."""
    result = tgvault(
        tmp_path, cli_env(tmp_path, preview.base_url), "backfill", "@no_such_channel_xyz", "--source", "web"
    )

    assert 1 == result.returncode
    assert "tgvault: error: channel @no_such_channel_xyz: no channel has this @username" in result.stderr
    assert "" == result.stdout


@pytest.mark.slow
def test_changed_layout_fails_the_sync_of_that_channel(preview: FakeWebPreview, tmp_path: Path) -> None:
    """A page whose layout changed is reported for that channel with exit code 1."""
    preview.set_raw_page(NAME, (FIXTURES / "changed-layout.html").read_text())

    result = tgvault(tmp_path, cli_env(tmp_path, preview.base_url), "sync", f"@{NAME}", "--source", "web")

    assert 1 == result.returncode
    assert f"@{NAME}: FAILED:" in result.stderr and "layout of Telegram's web preview" in result.stderr


# ---- settings --------------------------------------------------------------------------------------


def test_web_settings_defaults_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """[web] has polite defaults; TGVAULT_WEB__* overrides them."""
    monkeypatch.chdir(tmp_path)
    defaults = Settings().web
    assert "https://t.me" == defaults.base_url
    assert 1.0 == defaults.request_delay and 30.0 == defaults.timeout
    assert defaults.user_agent.startswith("tgvault/")

    settings = load_settings(
        None,
        env={
            "TGVAULT_WEB__BASE_URL": "http://127.0.0.1:8080/",
            "TGVAULT_WEB__REQUEST_DELAY": "0",
            "TGVAULT_WEB__USER_AGENT": "my-archive/1.0",
        },
    )
    assert "http://127.0.0.1:8080" == settings.web.base_url
    assert 0.0 == settings.web.request_delay
    assert "my-archive/1.0" == settings.web.user_agent


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[web]\nbase_url = "ftp://t.me"\n', "web.base_url: 'ftp://t.me' is not an http(s) URL"),
        ("[web]\nrequest_delay = -1\n", "web.request_delay: -1 is out of range"),
        ("[web]\ntimeout = 0\n", "web.timeout: 0 is out of range"),
        ("[web]\nbase_ur = 'x'\n", "did you mean 'base_url'?"),
    ],
)
def test_bad_web_settings(tmp_path: Path, toml: str, message: str) -> None:
    """Mistakes in [web] name the key, the value and what is expected."""
    path = tmp_path / "tgvault.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(path, env={})


def test_auto_means_web_without_api_credentials() -> None:
    """auto resolves to telegram only when both the API id and hash are configured."""
    bare = Settings()
    with_credentials = Settings(telegram=TelegramSettings(api_id=1, api_hash="x" * 32))  # type: ignore[arg-type]

    assert ChannelSource.WEB == resolve_source(bare, "auto")
    assert ChannelSource.TELEGRAM == resolve_source(with_credentials, "auto")
    assert ChannelSource.TELEGRAM == source_kind_for(bare, "@durov")  # not configured: unchanged default
    assert ChannelSource.WEB == source_kind_for(with_credentials, "@durov", "web")
