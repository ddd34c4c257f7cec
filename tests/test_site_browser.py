"""The built site in a real headless Chromium (Debian's /usr/bin/chromium through Playwright).

The site is served by a local http.server on 127.0.0.1 (``served_site``); every request to another host
is aborted and recorded, and a test fails if the site tried to make one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from served_site import CHROMIUM, Browsing, build_archive_site, served
from test_site_archive import SEARCH_WORD, make_archive

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="browser tests need Debian's Chromium at /usr/bin/chromium"
    ),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")


@pytest.fixture(scope="module")
def browsing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browsing]:
    root = tmp_path_factory.mktemp("browser-site")
    site = build_archive_site(root, make_archive, title="Browser test", posts_per_page=25)
    with served(site, sync_api) as browsing:
        yield browsing


@pytest.fixture
def page(browsing: Browsing) -> Iterator[Any]:
    context = browsing.context()
    try:
        yield browsing.page(context)
    finally:
        context.close()
    assert [] == browsing.errors
    assert [] == browsing.blocked
    assert [] == browsing.dialogs
    browsing.errors.clear()


def in_viewport(page: Any, selector: str) -> bool:
    return bool(
        page.eval_on_selector(
            selector,
            "e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight; }",
        )
    )


def test_a_spoiler_stays_hidden_until_clicked(browsing: Browsing, page: Any) -> None:
    page.goto(browsing.base + "c/1001/posts/14.html")
    spoiler = page.locator(".spoiler").first
    assert "the answer is 42" == spoiler.text_content()
    assert "" == spoiler.inner_text()  # not painted, nor exposed to screen readers
    assert "rgba(0, 0, 0, 0)" == spoiler.evaluate("e => getComputedStyle(e).color")
    spoiler.click()
    assert "revealed" in (spoiler.get_attribute("class") or "")
    # The colour fades in over a short CSS transition: wait for it to end rather than read it mid-way.
    page.wait_for_function(
        "e => getComputedStyle(e).color !== 'rgba(0, 0, 0, 0)'", arg=spoiler.element_handle(), timeout=5000
    )
    assert "rgba(0, 0, 0, 0)" != spoiler.evaluate("e => getComputedStyle(e).color")


def test_a_spoiler_can_be_revealed_from_the_keyboard(browsing: Browsing, page: Any) -> None:
    page.goto(browsing.base + "c/1001/posts/14.html")
    page.locator(".spoiler").first.focus()
    page.keyboard.press("Enter")
    assert "revealed" in (page.locator(".spoiler").first.get_attribute("class") or "")


def test_a_spoiler_hides_its_words_from_screen_readers_until_revealed(browsing: Browsing, page: Any) -> None:
    """Hidden, the spoiler is a button named "Spoiler"; revealed, its words are read as text, focus kept."""
    page.goto(browsing.base + "c/1001/posts/14.html")
    text = page.locator("#post-14 .text")
    assert "Spoiler: activate to reveal" in text.aria_snapshot()
    assert "the answer is 42" not in text.aria_snapshot()
    page.locator(".spoiler").first.focus()
    page.keyboard.press("Enter")
    assert "the answer is 42" in text.aria_snapshot()
    assert "button" not in text.aria_snapshot()
    assert page.evaluate("() => document.activeElement.classList.contains('spoiler')")


def test_the_lightbox_opens_on_a_photo_click_and_pages_through_the_album(
    browsing: Browsing, page: Any
) -> None:
    page.goto(browsing.base + "c/1001/2024/01.html")
    photos = page.locator('a.photo[data-lightbox="post-3"]')
    assert 3 == photos.count()
    photos.nth(1).click()
    box = page.locator("dialog.lightbox")
    box.wait_for(state="visible")
    assert photos.nth(1).get_attribute("href") == box.locator("img").get_attribute("src")
    assert "2 / 3" == box.locator(".lb-count").inner_text()
    page.keyboard.press("ArrowRight")
    assert photos.nth(2).get_attribute("href") == box.locator("img").get_attribute("src")
    # the next photo loads after its src is set: wait for it rather than read it mid-way (slow under load)
    page.wait_for_function("() => document.querySelector('dialog.lightbox img').complete", timeout=10_000)
    assert 480 == box.locator("img").evaluate("img => img.naturalWidth")
    page.keyboard.press("Escape")
    box.wait_for(state="hidden")
    assert page.url.endswith("2024/01.html")  # the link's default navigation was prevented


def test_a_permalink_anchor_scrolls_to_the_post(browsing: Browsing, page: Any) -> None:
    page.goto(browsing.base + "c/1001/2024/03-page2.html#post-118")
    page.wait_for_function("() => scrollY > 0")
    assert in_viewport(page, "#post-118")
    assert "Filler post 18" in page.locator("#post-118 .text").inner_text()


def test_a_reply_quote_leads_to_the_replied_post_in_another_month(browsing: Browsing, page: Any) -> None:
    page.goto(browsing.base + "c/1001/posts/12.html")
    page.locator("a.reply").click()
    page.wait_for_url("**/c/1001/2024/01.html#post-2")
    assert in_viewport(page, "#post-2")
    # the targeted post is highlighted by :target
    targeted = page.eval_on_selector("#post-2 .bubble", "e => getComputedStyle(e).boxShadow")
    other = page.eval_on_selector(".post:not(:target) .bubble", "e => getComputedStyle(e).boxShadow")
    assert targeted != other


def test_search_finds_a_post_by_a_word_and_links_to_it(browsing: Browsing, page: Any) -> None:
    page.goto(browsing.base + "search.html")
    page.fill("#search-input", SEARCH_WORD.lower())
    page.press("#search-input", "Enter")
    result = page.locator("#search-results li").first
    result.wait_for()
    page.wait_for_function("() => /found/.test(document.getElementById('search-status').textContent)")
    assert 1 == page.locator("#search-results li").count()
    assert SEARCH_WORD == result.locator("mark").inner_text()
    result.locator("a").click()
    page.wait_for_url("**/c/1001/2024/03.html#post-18")
    assert in_viewport(page, "#post-18")


def test_search_treats_hostile_titles_and_text_as_text(browsing: Browsing, page: Any) -> None:
    page.goto(browsing.base + "search.html?q=onerror")
    page.wait_for_function("() => /found/.test(document.getElementById('search-status').textContent)")
    assert page.locator("#search-results img").count() == 0
    assert page.locator("#search-channel option", has_text='<script>alert("title")</script>').count() == 1


def test_hostile_posts_run_no_script_and_keep_the_layout(browsing: Browsing) -> None:
    for viewport in ({"width": 1100, "height": 800}, {"width": 390, "height": 800}):
        context = browsing.context()
        page = browsing.page(context)
        page.set_viewport_size(viewport)
        for path in ("c/1001/posts/13.html", "c/1001/2024/03.html", "c/2002/index.html", "index.html"):
            page.goto(browsing.base + path)
            page.wait_for_load_state("load")
            assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth + 1"), (
                path,
                viewport,
            )
            assert 0 == page.locator("img[src='x']").count()
        context.close()
    assert [] == browsing.dialogs
    assert [] == browsing.errors
    assert [] == browsing.blocked


def test_pages_load_without_console_errors_or_outside_requests(browsing: Browsing, page: Any) -> None:
    for path in (
        "index.html",
        "c/1001/index.html",
        "c/1001/2024/01.html",
        "c/1001/2024/02.html",
        "c/1001/2024/03.html",
        "c/1001/posts/7.html",
        "c/1001/tags/index.html",
        "c/1001/tags/kenya.html",
        "c/1001/stats.html",
        "c/2002/2024/03.html",
        "search.html?q=kenya",
    ):
        page.goto(browsing.base + path)
        page.wait_for_load_state("load")
    # checked by the fixture: no console errors, no blocked requests, no dialogs


def test_search_works_from_a_file_url(browsing: Browsing, page: Any) -> None:
    """The shards are script files, so search needs no server at all."""
    page.goto((browsing.site / "search.html").as_uri() + f"?q={SEARCH_WORD}")
    page.wait_for_function("() => /found/.test(document.getElementById('search-status').textContent)")
    assert 1 == page.locator("#search-results li").count()


def test_screenshots_in_light_and_dark_theme(browsing: Browsing) -> None:
    """Screenshots go to $TGVAULT_SCREENSHOTS (CI keeps them as artifacts) or next to the test site."""
    folder = Path(os.environ.get("TGVAULT_SCREENSHOTS", browsing.site.parent / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    backgrounds = {}
    for scheme in ("light", "dark"):
        context = browsing.context(color_scheme=scheme)
        page = browsing.page(context)
        page.goto(browsing.base + "c/1001/2024/02.html")
        page.wait_for_load_state("load")
        target = folder / f"timeline-{scheme}.png"
        page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 10_000
        backgrounds[scheme] = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        context.close()
    assert {"light": "rgb(231, 235, 240)", "dark": "rgb(14, 22, 33)"} == backgrounds
    assert [] == browsing.errors
