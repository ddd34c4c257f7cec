"""Every kind of page of the site, checked by axe-core in a real Chromium, in both themes, at two widths.

axe-core (the version in ``tests/fixtures/axe-core/README.md``, vendored there: nothing is downloaded) is
served from the test site's own origin, so the site's Content-Security-Policy (``script-src 'self'``)
stays in force, and run with the WCAG 2.0, 2.1 and 2.2 A/AA rules plus axe's best practices. A page
fails on any violation of impact serious or critical (contrast, names of links and controls, label in
name, links told apart from text...) and on landmarks that share a name.

The pages are those of the fixture archive of :mod:`test_site_archive` (every kind of post, hostile
text), once with its files and once with none of them downloaded (placeholders instead of photos), in
the light and the dark theme (``prefers-color-scheme``; the site has no other theme switch), at a
phone's 390 px and a desktop's 1280 px.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from served_site import CHROMIUM, Browsing, build_archive_site, served
from test_site_archive import NEWS, make_archive
from tgvault.domain import MediaStatus
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="browser tests need Debian's Chromium at /usr/bin/chromium"
    ),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")

AXE_DIR = Path(__file__).parent / "fixtures" / "axe-core"
AXE_URL = "__axe__/axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
FAILING_IMPACTS = {"serious", "critical"}
FAILING_RULES = {"landmark-unique"}  # moderate in axe, but two "Pages" navigations are one too many

# what each page shows -> its path in the site
PAGES = {
    "landing": "index.html",
    "channel index": "c/1001/index.html",
    "month with an album and reactions": "c/1001/2024/01.html",
    "month with a poll, a file, a deletion and a warning": "c/1001/2024/02.html",
    "month with a spoiler, a sticker and hostile text": "c/1001/2024/03.html",
    "permalink with an edit history and a link preview": "c/1001/posts/9.html",
    "permalink of a reply": "c/1001/posts/12.html",
    "hashtag page": "c/1001/tags/kenya.html",
    "hashtags": "c/1001/tags/index.html",
    "statistics": "c/1001/stats.html",
    "search with results": "search.html?q=kenya",
    "private channel": "c/2002/index.html",
}
THEMES = ("light", "dark")
WIDTHS = (390, 1280)


def _without_files(uow_factory: Callable[[], UnitOfWork], store: LocalMediaStore) -> None:
    """The fixture archive as a ``--no-media`` backfill leaves it: every downloaded file skipped."""
    make_archive(uow_factory, store)
    with uow_factory() as uow:
        for post in uow.posts.for_display(NEWS.id, list(range(1, 200))).values():
            if post.media is not None and post.media.status is MediaStatus.DOWNLOADED:
                uow.media.mark_skipped(NEWS.id, post.message_id, "media disabled")
        uow.commit()


def _axe_version() -> tuple[str, str]:
    """The version and sha256 of the vendored axe-core, as its README states them."""
    readme = (AXE_DIR / "README.md").read_text(encoding="utf-8")
    version = re.search(r"axe-core \*\*([0-9.]+)\*\*", readme)
    digest = re.search(r"sha256 of `axe.min.js`: `([0-9a-f]{64})`", readme)
    assert version and digest, "tests/fixtures/axe-core/README.md must name the version and the sha256"
    return version.group(1), digest.group(1)


@pytest.fixture(scope="module")
def browsing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browsing]:
    """The fixture site with its files (``with/site/``) and without (``without/site/``), served, with axe."""
    root = tmp_path_factory.mktemp("axe")
    for name, fill in (("with", make_archive), ("without", _without_files)):
        (root / name).mkdir()
        build_archive_site(root / name, fill, title="Accessibility check", posts_per_page=25)
    with served(root, sync_api) as browsing:
        browsing.injected[AXE_URL] = (AXE_DIR / "axe.min.js").read_text(encoding="utf-8")
        yield browsing


def test_the_vendored_axe_core_is_the_one_its_readme_names() -> None:
    """The file is unchanged from the npm package: its header and checksum match the README."""
    version, digest = _axe_version()
    script = (AXE_DIR / "axe.min.js").read_bytes()
    assert f"/*! axe v{version}".encode() == script[: len(version) + 9]
    assert digest == hashlib.sha256(script).hexdigest()
    assert (AXE_DIR / "LICENSE").read_text(encoding="utf-8").startswith("Mozilla Public License")


def _violations(browsing: Browsing, page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(url=browsing.base + AXE_URL)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    return [v for v in result["violations"] if v["impact"] in FAILING_IMPACTS or v["id"] in FAILING_RULES]


def _describe(where: str, violation: dict[str, Any]) -> str:
    nodes = violation["nodes"]
    first = nodes[0]
    summary = (first.get("failureSummary") or "").replace("\n", " ").strip()
    return (
        f"{where}: {violation['id']} ({violation['impact']}) {violation['help']}; {len(nodes)} element(s),"
        f" e.g. {' '.join(first['target'])}: {summary[:240]}"
    )


@pytest.mark.parametrize("width", WIDTHS, ids=[f"{w}px" for w in WIDTHS])
@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("files", ["with", "without"], ids=["media-present", "media-absent"])
def test_every_kind_of_page_passes_axe(browsing: Browsing, files: str, theme: str, width: int) -> None:
    """No page has a serious or critical axe violation, nor two landmarks of the same name."""
    context = browsing.context(viewport={"width": width, "height": 900}, color_scheme=theme)
    page = browsing.page(context)
    found: list[str] = []
    counted = 0
    try:
        for kind, path in PAGES.items():
            page.goto(f"{browsing.base}{files}/site/{path}")
            page.wait_for_load_state("load")
            if path.startswith("search.html"):
                page.wait_for_function(
                    "() => /found/.test(document.getElementById('search-status').textContent)"
                )
            if "/posts/" in path:  # the archive record checked open too, and it must not widen the page
                opened = page.evaluate(
                    "() => { const d = document.querySelector('details.post-record');"
                    " if (d) d.open = true; return !!d; }"
                )
                assert opened, f"{path}: no archive record"
                assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth + 1"), path
            for violation in _violations(browsing, page):
                counted += len(violation["nodes"])
                found.append(_describe(f"{kind} ({path}, {theme}, {width}px)", violation))
    finally:
        context.close()
    assert [] == found, f"{counted} failing element(s):\n" + "\n".join(found)
    assert [] == browsing.errors
    assert [] == browsing.blocked
