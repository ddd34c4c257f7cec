"""Every long command shows its progress: a bar on a terminal, plain log lines when piped.

The real ``tgvault`` runs in a subprocess: on a pseudo-terminal, whose screen a VT100 emulator reads
back (tests/terminal_support.py), and with its output piped, as in CI. Telegram is the loopback MTProto
server; S3 is moto. Each command must leave a bar of its work (``N/N unit``, with its total) on the
screen, with every log line above the bar and never on a line of its own with the bar's text; piped,
it must print no bar but ``progress`` log lines with the same figures.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from desktop_exports import export_without_files
from terminal_support import BAR, TerminalRun, run_in_terminal
from tgvault.testing import FAKE_API_HASH, FAKE_API_ID, FakeTelegram, build_realistic_channel
from tgvault.testing.mtproto_server import LoopbackTelegramServer, ServerThread

pytestmark = pytest.mark.slow

ONE, TWO = "progressone", "progresstwo"
MISSING = "file not in the export; recorded as not downloaded"


@dataclass(frozen=True)
class Telegram:
    """The loopback Telegram of this module, with two channels."""

    world: FakeTelegram
    server: ServerThread
    titles: dict[str, str]


@pytest.fixture(scope="module")
def telegram() -> Iterator[Telegram]:
    world = FakeTelegram()
    with LoopbackTelegramServer.start_in_thread(world.handle, auth_key=world.auth_key) as running:
        world.port = running.port
        one = running.call(lambda: build_realistic_channel(world, 240, seed=31, username=ONE))
        two = running.call(
            lambda: build_realistic_channel(world, 60, seed=32, username=TWO, with_media=False)
        )
        yield Telegram(world, running, {ONE: one.title, TWO: two.title})


def environment(telegram: Telegram) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    env.update(
        TGVAULT_TELEGRAM__API_ID=str(FAKE_API_ID),
        TGVAULT_TELEGRAM__API_HASH=FAKE_API_HASH,
        TGVAULT_TELEGRAM__SESSION_STRING=telegram.server.session_string,
        TGVAULT_TELEGRAM__REQUEST_DELAY="0",
    )
    return env


def piped(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tgvault", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def archived(telegram: Telegram, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose data/ holds both channels, backfilled (with their media) through the real CLI."""
    folder = tmp_path_factory.mktemp("archived")
    for name in (ONE, TWO):
        result = piped(folder, environment(telegram), "backfill", f"@{name}")
        assert 0 == result.returncode, result.stderr
    return folder


@pytest.fixture
def workdir(archived: Path, tmp_path: Path) -> Path:
    """A copy of the archived folder, for one test to change."""
    shutil.copytree(archived / "data", tmp_path / "data")
    return tmp_path


# ---------------------------------------------------------------------------------------------- checks


def done_of_total(line: str, unit: str) -> int:
    """N from ``N/N unit`` on a bar line (the work finished, its total known); fails otherwise."""
    found = re.search(rf"([\d,]+)/([\d,]+) {re.escape(unit)}", line)
    assert found is not None, f"no count of a total of {unit} in {line!r}"
    assert found.group(1) == found.group(2), line
    return int(found.group(1).replace(",", ""))


def bar_of(run: TerminalRun, label: str) -> str:
    """The one bar line of ``label`` on the screen (a redraw never leaves a second copy behind)."""
    lines = [line for line in run.bar_lines() if line.lstrip().startswith(label)]
    assert 1 == len(lines), run.text
    return lines[0]


def assert_logs_above_the_bar(run: TerminalRun) -> None:
    """No log line shares a screen line with a bar, and every log line written while the bar was drawn
    stands above it."""
    for line in run.log_lines():
        assert BAR not in line, f"a log line runs through the bar:\n{run.text}"
    bars = [number for number, line in enumerate(run.lines) if BAR in line]
    assert bars, run.text
    logs = [number for number, line in enumerate(run.lines) if line in run.log_lines()]
    assert all(number < bars[0] for number in logs), run.text


def progress_events(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """The ``progress`` log lines of a piped run (JSON), after checking that it drew no bar."""
    assert BAR not in result.stderr + result.stdout
    logged = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    return [event for event in logged if event["event"] == "progress"]


def final_event(result: subprocess.CompletedProcess[str], label: str) -> dict[str, Any]:
    events = [event for event in progress_events(result) if event["label"] == label]
    assert events, result.stderr
    return events[-1]


# ------------------------------------------------------------------------------------------- commands


def test_import_shows_messages_read_of_the_total_with_its_warnings_above_the_bar(tmp_path: Path) -> None:
    export = export_without_files(tmp_path / "export", 40)
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}

    run = run_in_terminal(["import", "tdesktop", str(export)], tmp_path, env)

    assert 0 == run.returncode, run.text
    assert 40 == done_of_total(bar_of(run, "Channel without files"), "messages")
    assert 5 == len([line for line in run.log_lines() if MISSING in line])
    assert_logs_above_the_bar(run)
    summary = run.lines.index(
        f"warnings: 40 × {MISSING} — 5 shown above, … and 35 more (see --log-level debug)"
    )
    assert summary > run.lines.index(bar_of(run, "Channel without files"))

    shutil.rmtree(tmp_path / "data")
    result = piped(tmp_path, env, "import", "tdesktop", str(export))
    assert 0 == result.returncode, result.stderr
    event = final_event(result, "Channel without files")
    assert (40, 40, "messages") == (event["done"], event["total"], event["unit"])


def test_backfill_keeps_its_log_lines_above_the_bar(telegram: Telegram, tmp_path: Path) -> None:
    """The log lines of a run ("channel run started", "... finished") are written above the live bar."""
    run = run_in_terminal(["backfill", f"@{ONE}"], tmp_path, environment(telegram))

    assert 0 == run.returncode, run.text
    assert done_of_total(bar_of(run, f"@{ONE}"), "posts") > 0
    started = [line for line in run.log_lines() if "channel run started" in line]
    finished = [line for line in run.log_lines() if "channel run finished" in line]
    assert (1, 1) == (len(started), len(finished)), run.text
    assert_logs_above_the_bar(run)


def test_sync_shows_channels_of_the_total_and_each_channel(telegram: Telegram, workdir: Path) -> None:
    env = environment(telegram)
    args = ["sync", f"@{ONE}", f"@{TWO}"]

    run = run_in_terminal(args, workdir, env)

    assert 0 == run.returncode, run.text
    assert 2 == done_of_total(bar_of(run, "all"), "channels")
    assert f"@{TWO}" in run.text
    assert_logs_above_the_bar(run)

    result = piped(workdir, env, *args)
    assert 0 == result.returncode, result.stderr
    event = final_event(result, f"@{TWO}")
    assert (2, 2) == (event["channels_done"], event["channels_total"])


def test_audit_shows_posts_re_read_of_the_total(telegram: Telegram, workdir: Path) -> None:
    env = environment(telegram)

    run = run_in_terminal(["audit", f"@{ONE}", "--pause", "0"], workdir, env)

    assert 0 == run.returncode, run.text
    audited = int(re.findall(r"audited (\d+) posts", run.text)[0])
    assert audited == done_of_total(bar_of(run, f"@{ONE}"), "posts re-read")
    assert_logs_above_the_bar(run)

    result = piped(workdir, env, "audit", f"@{ONE}", "--pause", "0", "--full")
    assert 0 == result.returncode, result.stderr
    event = final_event(result, f"@{ONE}")
    assert (audited, audited, "posts re-read") == (event["done"], event["total"], event["unit"])


def test_reparse_shows_posts_read_again_of_the_total(workdir: Path) -> None:
    with sqlite3.connect(workdir / "data" / "tgvault.db") as connection:
        marked = connection.execute(
            "UPDATE posts SET parse_error = 'not understood: a test' "
            "WHERE message_id % 7 = 0 AND raw IS NOT NULL AND source = 'telegram'"
        ).rowcount
    assert marked > 5
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}

    run = run_in_terminal(["reparse"], workdir, env)

    assert 0 == run.returncode, run.text
    assert marked == done_of_total(bar_of(run, "reparse"), "posts")
    assert f"{marked} posts with a parse error read again" in run.text
    assert_logs_above_the_bar(run)

    result = piped(workdir, env, "reparse")
    assert 0 == result.returncode, result.stderr
    event = final_event(result, "reparse")
    assert (0, 0) == (event["done"], event["total"]), "the first run upgraded them all"


def test_export_site_shows_posts_planned_and_pages_written(telegram: Telegram, workdir: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}

    run = run_in_terminal(["export", "site", "--out", "public"], workdir, env)

    assert 0 == run.returncode, run.text
    posts = int(re.findall(r"2 channels, ([\d,]+) posts", run.text)[0].replace(",", ""))
    assert posts == done_of_total(bar_of(run, "writing pages"), "posts")
    assert_logs_above_the_bar(run)

    result = piped(workdir, env, "export", "site", "--out", "public", "--full")
    assert 0 == result.returncode, result.stderr
    planned = final_event(result, "planning")
    assert (posts, posts, "posts") == (planned["done"], planned["total"], planned["unit"])
    written = final_event(result, "writing pages")
    assert (posts, posts) == (written["done"], written["total"])


def test_export_json_shows_messages_written_of_the_total(telegram: Telegram, workdir: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    title = telegram.titles[ONE]

    run = run_in_terminal(["export", "json", f"@{ONE}", "--out", "one.json"], workdir, env)

    assert 0 == run.returncode, run.text
    messages = len(json.loads((workdir / "one.json").read_text())["messages"])
    assert messages == done_of_total(bar_of(run, title), "messages")
    assert_logs_above_the_bar(run)

    result = piped(workdir, env, "export", "json", f"@{ONE}", "--out", "two.json")
    assert 0 == result.returncode, result.stderr
    event = final_event(result, title)
    assert (messages, messages) == (event["done"], event["total"])


def test_media_migrate_shows_files_and_bytes_of_the_total(
    workdir: Path, s3_endpoint: str, s3_bucket: str
) -> None:
    media = [path for path in (workdir / "data" / "media").glob("??/??/*") if path.is_file()]
    size = sum(path.stat().st_size for path in media)
    assert media
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    target = f"s3://{s3_bucket}/media"
    args = ["media", "migrate", "--to", target, "--endpoint-url", s3_endpoint]

    run = run_in_terminal(args, workdir, env)

    assert 0 == run.returncode, run.text
    bar = bar_of(run, target)
    assert len(media) == done_of_total(bar, "files")
    assert f"{len(media)} files copied ({size:,} bytes)" in run.text
    assert_logs_above_the_bar(run)

    result = piped(workdir, env, *args)
    assert 0 == result.returncode, result.stderr
    event = final_event(result, target)
    assert (len(media), len(media), size, size) == (
        event["done"],
        event["total"],
        event["bytes"],
        event["total_bytes"],
    )
