"""Opening a published media file directly runs no script, even on a host that sends no headers.

The hostile channel (HTML, SVG, XHTML, XML, JavaScript files; see ``hostile_media``) is archived from
FakeTelegram and its site is served by a plain ``http.server`` — like GitHub Pages or S3, it picks the
Content-Type from the extension and adds no security header. Each file's URL is opened in a real
headless Chromium; a payload that ran would leave ``localStorage.pwned`` in the site's origin. A
control file under an active name proves the check would see it.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hostile_media import HOSTILE_FILES, archive_channel, build_hostile_channel, hostile_settings
from tgvault.app import SiteExport, open_archive, site_options
from tgvault.testing import FakeTelegram

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="browser tests need Debian's Chromium at /usr/bin/chromium"
    ),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Served:
    site: Path
    base: str
    browser: Any


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("hostile-browser")
    world = FakeTelegram()
    build_hostile_channel(world)
    settings = hostile_settings(root)
    archive_channel(world, settings)
    archive = open_archive(settings)
    try:
        SiteExport(archive, site_options(settings)).build()
    finally:
        archive.close()
    site = root / "site"
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield Served(site, f"http://127.0.0.1:{server.server_address[1]}/", browser)
        finally:
            browser.close()
            server.shutdown()
            server.server_close()


def open_directly(page: Any, url: str) -> str:
    """Navigate to ``url`` as a visitor following a link would; what the browser did with it."""
    try:
        page.goto(url, wait_until="load", timeout=15_000)
    except sync_api.Error as exc:
        if "Download is starting" in str(exc) or "net::ERR_ABORTED" in str(exc):
            return "downloaded"
        raise
    page.wait_for_timeout(300)  # an onload handler or a script would have run by now
    return f"shown: {page.title()}"


def mark_left(page: Any, base: str) -> Any:
    """What a payload left in the site's origin (None when nothing ran)."""
    page.goto(base + "index.html")
    return page.evaluate("() => localStorage.getItem('pwned')")


def test_the_check_sees_a_payload_that_runs(served: Served) -> None:
    """Control: the same payload under an active name in the site's origin is caught."""
    control = served.site / "control.html"
    control.write_bytes(HOSTILE_FILES[0].data)
    context = served.browser.new_context()
    try:
        page = context.new_page()
        assert "shown: pwned" == open_directly(page, served.base + "control.html")
        assert "html" == mark_left(page, served.base)
    finally:
        context.close()
        control.unlink()


def test_opening_a_published_hostile_file_runs_no_script(served: Served) -> None:
    context = served.browser.new_context(accept_downloads=True)
    try:
        page = context.new_page()
        outcomes = {}
        for hostile in HOSTILE_FILES:
            digest = hashlib.sha256(hostile.data).hexdigest()
            published = list((served.site / "media").rglob(f"{digest}.*"))  # whatever name it was given
            assert 1 == len(published), hostile.file_name
            url = served.base + published[0].relative_to(served.site).as_posix()
            outcomes[hostile.file_name] = open_directly(page, url)
        assert None is mark_left(page, served.base), outcomes
        assert "pwned" not in " ".join(outcomes.values()), outcomes
    finally:
        context.close()
