"""`tgvault demo`: the sample channels archived offline through the real pipeline, and their site.

The command runs as a user runs it, in a subprocess in an empty folder: a stand-in for Telegram in a
child process (the loopback MTProto server), the real Telethon client, the archiver and media downloads,
then the static site. CI runs these tests, so the demo is its smoke test.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from telethon.tl import types

from tgvault.cli import main
from tgvault.errors import SourceError
from tgvault.services.demo import SampleTelegram
from tgvault.testing import FakeTelegram
from tgvault.testing.content.sample_channel import (
    DELETED_TEXT,
    SAMPLE_CHANNELS,
    SAMPLE_TITLE,
    SOURCE_TITLE,
    build_sample_channel,
    sample_facts,
)
from tgvault.testing.content.sample_files import jpeg_bytes, pdf_bytes

pytestmark = pytest.mark.slow

OPEN_LINE = "Open data/demo/site/index.html in a browser (or run: tgvault demo --serve)."
SERVER_MODULE = "tgvault.testing.demo_server"


@dataclass
class DemoRuns:
    """A folder where `tgvault demo` ran twice, and what each run printed."""

    workdir: Path
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]

    @property
    def folder(self) -> Path:
        return self.workdir / "data" / "demo"

    @property
    def site(self) -> Path:
        return self.folder / "site"


def user_env(workdir: Path) -> dict[str, str]:
    """The environment of a user whose own archive and site are elsewhere: the demo must not touch them."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    env["TGVAULT_DATABASE__URL"] = f"sqlite:///{workdir / 'real' / 'tgvault.db'}"
    env["TGVAULT_SITE__DIR"] = str(workdir / "real" / "site")
    return env


def tgvault(workdir: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tgvault", *args],
        cwd=workdir,
        env=user_env(workdir),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def stand_ins_running_in(workdir: Path) -> list[int]:
    """Pids of demo stand-ins for Telegram started from ``workdir`` that are still running."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = (entry / "cwd").resolve()
        except OSError:
            continue
        if SERVER_MODULE in command and cwd == workdir.resolve():
            found.append(int(entry.name))
    return found


def stand_ins_started_by_this_process() -> list[int]:
    """Pids of demo stand-ins for Telegram whose parent is the test process (commands run in-process)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            status = (entry / "status").read_text()
        except OSError:
            continue
        parent = re.search(r"^PPid:\s+(\d+)", status, re.M)
        if SERVER_MODULE in command and parent is not None and int(parent.group(1)) == os.getpid():
            found.append(int(entry.name))
    return found


def wait_for(predicate: object, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRuns:
    workdir = tmp_path_factory.mktemp("demo")
    (workdir / "tgvault.toml").write_text("this is [not a valid config\n")  # the demo never reads it
    first = tgvault(workdir, "demo")
    second = tgvault(workdir, "demo")
    return DemoRuns(workdir, first, second)


def month_pages(site: Path) -> str:
    return "\n".join(path.read_text() for path in sorted(site.glob("c/*/20*/*.html")))


def post_page(site: Path, message_id: int) -> str:
    """The permalink page of the sample channel's post ``message_id``."""
    for channel_index in site.glob("c/*/index.html"):
        if SAMPLE_TITLE in channel_index.read_text():
            return (channel_index.parent / "posts" / f"{message_id}.html").read_text()
    raise AssertionError("the sample channel has no page")


def sample_pictures() -> set[str]:
    """sha256 of every photo the sample channel posts."""
    world = FakeTelegram()
    channel = build_sample_channel(world)
    return {
        hashlib.sha256(world.file_bytes(message)).hexdigest()
        for message in channel.messages.values()
        if isinstance(message.media, types.MessageMediaPhoto)
    }


def test_the_first_run_archives_the_sample_and_ends_with_the_page_to_open(demo: DemoRuns) -> None:
    assert 0 == demo.first.returncode, demo.first.stderr
    lines = demo.first.stdout.splitlines()
    assert OPEN_LINE == lines[-1]
    facts = sample_facts()
    assert f"archived {facts.posts + 3} posts and 6 files" in demo.first.stdout
    assert "then the channel changed: 1 post edited, 1 deleted" in demo.first.stdout
    assert (demo.site / "index.html").is_file()
    assert "Traceback" not in demo.first.stderr
    assert "channel run started" not in demo.first.stderr  # the newcomer's screen is the summary


def test_the_demo_logs_each_channel_run_when_asked(tmp_path: Path) -> None:
    shown = tgvault(tmp_path, "--log-level", "info", "demo")
    assert 0 == shown.returncode, shown.stderr
    assert "channel run started" in shown.stderr


def test_the_site_shows_the_sample_posts_and_photos(demo: DemoRuns) -> None:
    index = (demo.site / "index.html").read_text()
    assert SAMPLE_TITLE in index and SOURCE_TITLE in index
    months = month_pages(demo.site)
    for expected in ("Our partner stations this winter", "How we photograph the aurora", "Kp 5–6"):
        assert expected in months
    assert "Which night should we open the dome for visitors next week?" in months
    assert "winter-observing-guide.pdf" in months
    assert 'class="forwarded"' in months and SOURCE_TITLE in months
    published = {
        hashlib.sha256(path.read_bytes()).hexdigest() for path in (demo.site / "media").rglob("*.jpg")
    }
    assert sample_pictures() == published
    assert 5 == sample_facts().photos == len(published)


def test_the_site_marks_the_edit_and_the_deletion(demo: DemoRuns) -> None:
    facts = sample_facts()
    edited = post_page(demo.site, facts.edited_id)
    assert 'class="edited"' in edited
    assert "1 earlier version" in edited
    assert "Open night moved to Sunday 28 December" in edited
    assert "Saturday 27 December" in edited, "the earlier revision is kept and shown"
    deleted = post_page(demo.site, facts.deleted_id)
    assert "Deleted from Telegram on" in deleted
    assert DELETED_TEXT in deleted, "a deleted post keeps its content"


def test_a_second_run_refreshes_the_same_archive_without_duplicates(demo: DemoRuns) -> None:
    assert 0 == demo.second.returncode, demo.second.stderr
    assert "refreshed the demo archive (data/demo): 0 new posts, 0 edited, 0 deleted" in demo.second.stdout
    assert "0 pages written" in demo.second.stdout
    assert OPEN_LINE == demo.second.stdout.splitlines()[-1]
    with sqlite3.connect(demo.folder / "demo.db") as connection:
        posts = connection.execute(
            "SELECT COUNT(*), COUNT(DISTINCT channel_id || '/' || message_id) FROM posts"
        )
        revisions = connection.execute("SELECT COUNT(*) FROM post_revisions")
        assert (sample_facts().posts + 3, sample_facts().posts + 3) == posts.fetchone()
        assert (1,) == revisions.fetchone()


def test_the_demo_keeps_away_from_the_users_config_and_archive(demo: DemoRuns) -> None:
    assert not (demo.workdir / "real").exists()
    assert ["data"] == sorted(path.name for path in demo.workdir.iterdir() if path.is_dir())
    assert (demo.folder / ".tgvault-demo").is_file()


def test_the_stand_in_for_telegram_is_stopped_after_each_run(demo: DemoRuns) -> None:
    assert [] == stand_ins_running_in(demo.workdir)
    assert (demo.folder / "stand-in-telegram.log").is_file()


def test_ctrl_c_stops_the_stand_in_and_exits_130_without_a_traceback(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tgvault", "demo"],
        cwd=tmp_path,
        env=user_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: stand_ins_running_in(tmp_path)), "the stand-in started"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert 130 == process.returncode
    assert "interrupted" in err and "Traceback" not in err
    assert wait_for(lambda: not stand_ins_running_in(tmp_path), timeout=10), "the stand-in stopped"


def test_a_folder_the_demo_did_not_make_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "tgvault.db").write_bytes(b"someone's archive")
    result = CliRunner().invoke(main, ["demo", "--out", str(real)])
    assert 2 == result.exit_code
    assert "not made by `tgvault demo`" in result.output
    assert ["tgvault.db"] == [path.name for path in real.iterdir()]
    assert b"someone's archive" == (real / "tgvault.db").read_bytes()


def test_a_demo_archive_of_another_version_is_reported_with_the_fix(tmp_path: Path) -> None:
    """An older demo archive is not migrated, nor is the user told to upgrade their real one."""
    from tgvault.storage.database import create_archive_engine
    from tgvault.storage.schema import upgrade

    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / ".tgvault-demo").write_text("made by tgvault demo\n")
    engine = create_archive_engine(f"sqlite:///{folder / 'demo.db'}")
    upgrade(engine, "0001")
    engine.dispose()
    result = CliRunner().invoke(main, ["demo", "--out", str(folder)])
    assert 1 == result.exit_code
    assert (
        f"made by another version of tgvault; delete {folder} and run `tgvault demo` again" in result.output
    )
    assert "db upgrade" not in result.output
    assert [] == stand_ins_started_by_this_process()


def test_a_port_in_use_is_reported_before_anything_is_archived(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = tmp_path / "demo"
        result = CliRunner().invoke(main, ["demo", "--out", str(out), "--serve", "--port", str(port)])
    assert 1 == result.exit_code
    assert f"port {port} on 127.0.0.1 is in use" in result.output
    assert not out.exists()


def test_a_stand_in_that_cannot_start_is_one_clear_error(tmp_path: Path) -> None:
    async def start() -> None:
        async with SampleTelegram(tmp_path / "stand-in.log", python="/bin/false"):
            pass

    with pytest.raises(SourceError, match=r"failed to start: it exited; its messages are in .*stand-in\.log"):
        asyncio.run(start())


def test_the_sample_pictures_are_baseline_jpegs_of_their_size() -> None:
    data = jpeg_bytes(64, 40, lambda x, y: (255 * x, 128, 255 * y))
    assert data.startswith(b"\xff\xd8\xff\xe0") and data.endswith(b"\xff\xd9")
    frame = data.index(b"\xff\xc0")
    assert (40, 64, 3) == (
        int.from_bytes(data[frame + 5 : frame + 7], "big"),
        int.from_bytes(data[frame + 7 : frame + 9], "big"),
        data[frame + 9],
    )
    with pytest.raises(ValueError, match="multiples of 8"):
        jpeg_bytes(30, 40, lambda x, y: (0, 0, 0))


def test_the_sample_document_is_a_pdf_whose_cross_reference_points_at_its_objects() -> None:
    data = pdf_bytes("Guide (winter)", ["one", "two"])
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    start = int(data.rsplit(b"startxref", 1)[1].split()[0])
    assert data[start:].startswith(b"xref")
    offsets = [int(line.split()[0]) for line in data[start:].split(b"\n")[3:8]]
    for number, offset in enumerate(offsets, start=1):
        assert data[offset:].startswith(b"%d 0 obj" % number)
    assert b"(Guide \\(winter\\))" in data


def test_the_stand_in_serves_both_sample_channels() -> None:
    assert ("@tgvault_sample", "@tgvault_sample_spaceweather") == SAMPLE_CHANNELS


# -- in a browser ----------------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def served(demo: DemoRuns) -> Iterator[str]:
    """`tgvault demo --serve --port 0` over the demo's folder: its URL while it serves."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tgvault", "demo", "--serve", "--port", "0"],
        cwd=demo.workdir,
        env=user_env(demo.workdir),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = None
        for line in process.stdout:
            found = re.search(
                r"Open (http://127\.0\.0\.1:\d+/) in a browser; Ctrl-C stops the server\.", line
            )
            if found:
                url = found.group(1)
                break
        assert url is not None, "the demo printed the address it serves"
        assert [] == stand_ins_running_in(demo.workdir), "the stand-in is stopped before serving"
        yield url
        process.send_signal(signal.SIGINT)
        assert 0 == process.wait(timeout=30), "Ctrl-C stops the server cleanly"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="browser tests need Debian's Chromium at /usr/bin/chromium")
def test_the_served_demo_site_shows_its_photos_edit_and_deletion_in_chromium(served: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")
    outside: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route(
                "**/*",
                lambda route: (
                    route.continue_()
                    if route.request.url.startswith(served)
                    else (outside.append(route.request.url), route.abort())
                ),
            )
            page.goto(served)
            page.get_by_role("link", name=SAMPLE_TITLE).first.click()
            page.wait_for_load_state("load")
            album = page.locator("article", has_text="Last night from the ridge camera").first
            album.scroll_into_view_if_needed()
            photos = album.locator("img")
            assert 3 == photos.count()
            page.wait_for_function(
                "els => els.every(i => i.complete && i.naturalWidth > 0)", arg=photos.element_handles()
            )
            assert [640, 640, 640] == [photo.evaluate("i => i.naturalWidth") for photo in photos.all()]
            page.locator("a[href$='2025/12.html']").first.click()
            page.wait_for_load_state("load")
            deleted = page.locator("article.is-deleted", has_text=DELETED_TEXT)
            assert 1 == deleted.count()
            assert deleted.locator(".flag-deleted").is_visible()
            edited = page.locator("article", has_text="Open night moved to Sunday").first
            assert "edited" in edited.inner_text()
            assert [] == outside
        finally:
            browser.close()
