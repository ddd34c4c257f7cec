"""Search in a real Chromium after incremental rebuilds: new and edited posts live in the index's recent
part (a few shard files), and queries over HTTP and from file:// merge it with the buckets — the new posts
ranked newest first and paged, edited posts without their old words, the same answers as the index read
whole (and so as a full build, see test_site_search.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from search_archive import CHANNELS, MARKED, STAMP, build, fill, sqlite_archive
from served_site import CHROMIUM, Browsing, served
from tgvault.domain import Post
from tgvault.export.site.search.lookup import IndexReader

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="browser tests need Debian's Chromium at /usr/bin/chromium"
    ),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")

NEW = 30  # new posts holding "freshword", added after the first build
EDITED = (3003, 90001)  # was about Zanzibar and GitHub
DONE = "() => /found|more can be loaded/.test(document.getElementById('search-status').textContent)"


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Browsing, list[str]]]:
    root = tmp_path_factory.mktemp("search-recent")
    with sqlite_archive(root) as uow:
        fill(uow, 600)
        build(uow, root / "site")
        later = STAMP + timedelta(days=4000)
        with uow() as unit:
            posts = [
                Post(
                    channel_id=CHANNELS[0].id,
                    message_id=200_000 + k,
                    date=later + timedelta(hours=k),
                    text=f"freshword {k} arrives with the zanzibar news",
                )
                for k in range(NEW)
            ]
            unit.posts.upsert_many(posts, STAMP + timedelta(days=1))
            edited = unit.posts.get(*EDITED)
            assert edited is not None
            unit.posts.upsert_many(
                [edited.model_copy(update={"text": "Now about wombats only"})], STAMP + timedelta(days=2)
            )
            unit.commit()
        report = build(uow, root / "site")
        assert report.incremental
        written = list(report.written_paths)
    assert MARKED[EDITED]
    with served(root / "site", sync_api) as browsing:
        yield browsing, written


@pytest.fixture
def page(rebuilt: tuple[Browsing, list[str]]) -> Iterator[Any]:
    browsing = rebuilt[0]
    context = browsing.context()
    try:
        yield browsing.page(context)
    finally:
        context.close()
    assert [] == browsing.errors
    assert [] == browsing.blocked


def test_a_rebuild_writes_few_index_files(rebuilt: tuple[Browsing, list[str]]) -> None:
    """No bucket: the recent shards, the manifest, the new and edited posts' text blocks and months."""
    browsing, written = rebuilt
    index = [path for path in written if path.startswith("search/")]
    assert not [path for path in index if path.startswith("search/i/")]
    shards = [path for path in index if path.startswith("search/r/")]
    reader = IndexReader(browsing.site)
    assert 1 <= len(shards) <= reader.recent_shards + 1  # and the keys the buckets hold for the edited post
    assert "search/index.js" in index
    # besides the shards: the manifest, and the new and edited posts' text blocks and months
    assert len(index) - len(shards) <= 6


@pytest.mark.parametrize("file", [False, True], ids=["http", "file"])
def test_new_posts_are_found_newest_first_and_paged(
    rebuilt: tuple[Browsing, list[str]], page: Any, file: bool
) -> None:
    browsing = rebuilt[0]
    base = (browsing.site / "search.html").as_uri() if file else browsing.base + "search.html"
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{base}?q=freshword")
    page.wait_for_function(DONE)
    texts = page.eval_on_selector_all("#search-results li .result-text", "ps => ps.map(p => p.textContent)")
    assert [f"freshword {k} arrives with the zanzibar news" for k in range(NEW - 1, NEW - 21, -1)] == texts
    assert any("/search/r/" in url for url in requested)  # the recent shard of the term
    page.click("#search-more")
    page.wait_for_function(f"() => document.querySelectorAll('#search-results li').length === {NEW}")
    page.wait_for_function(
        f"() => /{NEW} posts found/.test(document.getElementById('search-status').textContent)"
    )
    # the edited post no longer holds its old words, and holds its new ones
    page.goto(f"{base}?q=zanzibar+github")
    page.wait_for_function("() => /found/.test(document.getElementById('search-status').textContent)")
    hrefs = page.eval_on_selector_all("#search-results li a", "as => as.map(a => a.getAttribute('href'))")
    assert not any(f"post-{EDITED[1]}" in href for href in hrefs)
    page.goto(f"{base}?q=wombats")
    page.wait_for_function(DONE)
    hrefs = page.eval_on_selector_all("#search-results li a", "as => as.map(a => a.getAttribute('href'))")
    assert any(f"post-{EDITED[1]}" in href for href in hrefs)


@pytest.mark.parametrize("query", ["zanzibar", "e", "freshword 2", "news", "wombat", "東京"])
def test_the_browser_merges_the_recent_part_as_the_index_reads(
    rebuilt: tuple[Browsing, list[str]], page: Any, query: str
) -> None:
    browsing = rebuilt[0]
    reader = IndexReader(browsing.site)
    assert reader.owned
    slots = {channel_id: slot for slot, channel_id in reader.channels.items()}
    expected = [[slots[channel_id], message_id] for channel_id, message_id in reader.search(query)]
    page.goto(browsing.base + "search.html")
    page.wait_for_function("() => document.getElementById('search-channel').options.length > 1")
    run = "([q, n]) => new Promise(done => tgvaultSearch.results(q, n, (r, c) => done([r, c])))"
    first, _ = page.evaluate(run, [query, 20])
    assert expected[:20] == [[slot, message_id] for _month, slot, message_id in first]
    every, complete = page.evaluate(run, [query, 1_000_000])
    assert complete
    assert expected == [[slot, message_id] for _month, slot, message_id in every]
