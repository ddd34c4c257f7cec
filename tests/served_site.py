"""A built site served on 127.0.0.1 and a headless Chromium to browse it (imported by the browser tests).

The site is served by a local http.server; every request to another host is aborted and recorded, and
the tests fail if a page tried to make one. Chromium is Debian's /usr/bin/chromium, driven by Playwright
for Python (never ``playwright install``).
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tgvault.export.site import SiteOptions, build_site
from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.schema import upgrade
from tgvault.storage.unit_of_work import UnitOfWork

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

ArchiveFiller = Callable[[Callable[[], UnitOfWork], LocalMediaStore], None]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Browsing:
    """A served site, a browser, and what went wrong while browsing."""

    site: Path
    base: str
    browser: Any
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    # extra same-origin files served to the browser only (path below base -> body), such as axe-core
    injected: dict[str, str] = field(default_factory=dict)

    def context(self, **options: Any) -> Any:
        """A browser context whose requests to anywhere but the served site are aborted and recorded."""
        options.setdefault("viewport", {"width": 1100, "height": 800})
        context = self.browser.new_context(**options)

        def route(route: Any) -> None:
            url = route.request.url
            injected = self.injected.get(url.removeprefix(self.base)) if url.startswith(self.base) else None
            if injected is not None:
                route.fulfill(body=injected, content_type="text/javascript")
            elif url.startswith(self.base) or url.startswith("file://"):
                route.continue_()
            else:
                self.blocked.append(url)
                route.abort()

        context.route("**/*", route)
        return context

    def page(self, context: Any) -> Any:
        """A page that records console errors, script errors and dialogs."""
        page = context.new_page()
        page.on(
            "console",
            lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)
        return page


def build_archive_site(root: Path, fill: ArchiveFiller, **options: Any) -> Path:
    """An archive in a fresh SQLite file under ``root``, filled by ``fill``, built into ``root/site``."""
    engine = create_archive_engine(f"sqlite:///{root / 'archive.db'}")
    upgrade(engine)
    factory = make_session_factory(engine)
    store = LocalMediaStore(root / "media")

    def uow() -> UnitOfWork:
        return UnitOfWork(factory)

    try:
        fill(uow, store)
        build_site(uow, store, SiteOptions(out_dir=root / "site", **options))
    finally:
        engine.dispose()
    return root / "site"


@contextmanager
def served(site: Path, sync_api: Any) -> Iterator[Browsing]:
    """``site`` served on a free port of 127.0.0.1, with a launched Chromium; both stop on exit."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                yield Browsing(
                    site=site, base=f"http://127.0.0.1:{server.server_address[1]}/", browser=browser
                )
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
