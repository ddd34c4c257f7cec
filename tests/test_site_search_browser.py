"""Search in a real Chromium, over HTTP and from file://: ranked, paged, highlighted results in Latin,
Cyrillic, Arabic and Japanese; the files a query loads; filters; hostile text; axe-core on the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from search_archive import CHANNELS, build, fill, sqlite_archive
from served_site import CHROMIUM, Browsing, served
from test_site_axe import AXE_DIR, AXE_URL, _violations
from tgvault.export.site.search.lookup import IndexReader
from tgvault.export.site.search.postings import CHUNK

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="browser tests need Debian's Chromium at /usr/bin/chromium"
    ),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")

PAGER = 45  # posts holding "pagerword": three pages of 20
DONE = "() => /found|more can be loaded/.test(document.getElementById('search-status').textContent)"


@pytest.fixture(scope="module")
def browsing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browsing]:
    root = tmp_path_factory.mktemp("search-browser")
    with sqlite_archive(root) as uow:
        fill(uow, 600, pager=PAGER)
        build(uow, root / "site")
    with served(root / "site", sync_api) as browsing:
        browsing.injected[AXE_URL] = (AXE_DIR / "axe.min.js").read_text(encoding="utf-8")
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
    browsing.errors.clear()


def start(browsing: Browsing, page: Any, query: str, *, file: bool = False) -> list[str]:
    """Open the search page for ``query``; returns the paths of the files it requested."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    base = (browsing.site / "search.html").as_uri() if file else browsing.base + "search.html"
    page.goto(f"{base}?{query}")
    page.wait_for_function(DONE)
    root = browsing.site.as_uri() + "/" if file else browsing.base
    return [url.removeprefix(root) for url in requested]


def results(page: Any) -> list[dict[str, Any]]:
    return page.eval_on_selector_all(
        "#search-results li",
        """items => items.map(li => ({
            href: li.querySelector('a').getAttribute('href'),
            text: li.querySelector('.result-text').textContent,
            marks: Array.from(li.querySelectorAll('mark')).map(m => m.textContent),
        }))""",
    )


@pytest.mark.parametrize("file", [False, True], ids=["http", "file"])
@pytest.mark.parametrize(
    ("query", "post", "marked"),
    [
        ("q=zanzibar+github", "posts/90001", ["GitHub", "Zanzibar"]),
        ("q=Занзибар", "posts/90002", ["Занзибар"]),
        ("q=زنجبار", "posts/90003", ["زنجبار"]),
        ("q=東京都", "posts/90004", ["東京", "京都"]),
    ],
    ids=["latin", "cyrillic", "arabic", "japanese"],
)
def test_a_query_in_any_script_finds_and_highlights_its_post(
    browsing: Browsing, page: Any, query: str, post: str, marked: list[str], file: bool
) -> None:
    requested = start(browsing, page, query, file=file)
    found = results(page)
    assert found, query
    hit = next(item for item in found if post.split("/")[1] in item["href"])
    assert all(any(term.lower() in mark.lower() for mark in hit["marks"]) for term in marked), hit
    assert "found" in page.text_content("#search-status")
    # a query loads the manifest, one bucket per term, and the text blocks of the results shown
    buckets = [path for path in requested if path.startswith("search/i/")]
    texts = [path for path in requested if path.startswith("search/t/")]
    assert 1 <= len(buckets) <= 3, buckets
    assert len(texts) <= len(found)
    assert not any(
        path.startswith("search/") and path.count("/") == 2 and "/i/" not in path and "/t/" not in path
        for path in requested
        if path != "search/index.js"
    )


def test_every_term_must_be_present_and_prefixes_of_words_match(browsing: Browsing, page: Any) -> None:
    start(browsing, page, "q=zanz+githu")
    hrefs = [item["href"] for item in results(page)]
    assert any("post-90001" in href for href in hrefs)
    assert not any("post-90003" in href for href in hrefs)  # Zanzibar in Arabic letters only, no GitHub


def test_results_come_a_page_at_a_time(browsing: Browsing, page: Any) -> None:
    start(browsing, page, "q=pagerword")
    first = results(page)
    assert 20 == len(first)
    assert "more can be loaded" in page.text_content("#search-status")
    assert "pagerword number 44" == first[0]["text"]  # newest first
    page.click("#search-more")
    page.wait_for_function("() => document.querySelectorAll('#search-results li').length === 40")
    page.click("#search-more")
    page.wait_for_function("() => document.querySelectorAll('#search-results li').length === 45")
    page.wait_for_function(
        "() => /45 posts found/.test(document.getElementById('search-status').textContent)"
    )
    assert page.is_hidden("#search-more")
    texts = [item["text"] for item in results(page)]
    assert len(set(texts)) == PAGER


def test_filters_by_channel_and_month(browsing: Browsing, page: Any) -> None:
    start(browsing, page, f"q=zanzibar&channel={CHANNELS[1].id}")
    hrefs = [item["href"] for item in results(page)]
    assert hrefs and all(f"c/{CHANNELS[1].id}/" in href for href in hrefs)
    page.goto(browsing.base + "search.html?q=zanzibar&from=2099-01")
    page.wait_for_function(
        "() => /No posts found/.test(document.getElementById('search-status').textContent)"
    )


def test_post_text_is_shown_as_text(browsing: Browsing, page: Any) -> None:
    start(browsing, page, "q=onerror")
    found = results(page)
    assert any("<img src=x onerror=alert(1)>" in item["text"] for item in found)
    assert 0 == page.locator("#search-results img").count()
    assert 0 == page.locator("#search-results b").count()
    assert [] == browsing.dialogs


def test_the_search_page_passes_axe_and_works_from_the_keyboard(browsing: Browsing, page: Any) -> None:
    page.goto(browsing.base + "search.html")
    page.keyboard.type("pagerword")  # the field has the focus
    page.keyboard.press("Enter")
    page.wait_for_function(DONE)
    assert 20 == len(results(page))
    assert "polite" == page.get_attribute("#search-status", "aria-live")
    assert [] == _violations(browsing, page)


def test_the_index_files_are_small(browsing: Browsing) -> None:
    site: Path = browsing.site
    buckets = list((site / "search/i").glob("*.js"))
    assert max(path.stat().st_size for path in buckets) < 100_000


@pytest.mark.parametrize("query", ["e", "a", "ka", "ка на", "the archive", "東京"])
def test_paging_through_long_posting_lists_gives_every_result_in_order(
    browsing: Browsing, page: Any, query: str
) -> None:
    """Frequent terms have posting lists of several chunks: the first page is final (the newest posts,
    in order) after loading only some chunks, and loading on gives exactly what the index holds."""
    reader = IndexReader(browsing.site)
    slots = {channel_id: slot for slot, channel_id in reader.channels.items()}
    expected = [[slots[channel_id], message_id] for channel_id, message_id in reader.search(query)]
    page.goto(browsing.base + "search.html")
    page.wait_for_function("() => document.getElementById('search-channel').options.length > 1")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    run = "([q, n]) => new Promise(done => tgvaultSearch.results(q, n, (r, c) => done([r, c])))"
    first, _ = page.evaluate(run, [query, 20])
    chunks_for_first = sum(1 for url in requested if "/search/i/" in url and url.count("/") > 5)
    assert expected[:20] == [[slot, message_id] for _month, slot, message_id in first]
    every, complete = page.evaluate(run, [query, 1_000_000])
    assert complete
    assert expected == [[slot, message_id] for _month, slot, message_id in every]
    chunks_for_all = sum(1 for url in requested if "/search/i/" in url and url.count("/") > 5)
    if query in ("e", "a"):
        assert len(expected) > CHUNK  # a list of more than one chunk
        assert chunks_for_first < chunks_for_all  # the first page did not need every chunk
