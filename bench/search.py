"""``python -m bench.search``: the search index measured, side by side with Pagefind (docs/benchmarks.md).

1. An archive of ``--posts`` generated multilingual posts (``tgvault.testing.content.search_corpus``) in
   four channels, built into a site; the time the search index took inside the build, its size.
2. Each query of :data:`QUERIES` opened cold in Chromium over HTTP (a local ``http.server``): the bytes of
   every response until the first results show, and the time to them (from navigation start).
3. Recall: the posts the index finds (every chunk read, :class:`IndexReader`) against a brute-force scan.
4. Pagefind (``bench/pagefind.py``) on the same site's permalink pages: index time and size, bytes and time
   per query, recall of the same queries.
5. ``--synthetic N``: an index of N generated posts built directly (no archive, no pages: the posts are
   handed to :class:`SearchIndex` month by month, as a site build does), then the same queries in Chromium.

Results are printed and saved as JSON to ``bench/results/search-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench import pagefind

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
CHROMIUM = "/usr/bin/chromium"
CHANNELS = 4
# one common word, rare words, two and three terms, substrings, other scripts, a site name
QUERIES = [
    "archive",
    "github",
    "GitHub.com",
    "hackathon",
    "edit deletion",
    "the archive keeps",
    "reunión",
    "teilnehmer",
    "каждую",
    "архив",
    "القناة",
    "الدرس القادم",
    "档案",
    "今日の更新",
    "ภาษาไทย",
    "chista",
    "verka",
    "kaarchi",
    "durov",
    "новости",
]


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _texts(count: int, seed: int) -> Iterator[tuple[int, int, datetime, str]]:
    from tgvault.testing.content.search_corpus import search_texts

    for number, (date, text) in enumerate(search_texts(count, seed)):
        yield 1000 + number % CHANNELS, number // CHANNELS + 1, date, text


def build_archive_site(root: Path, count: int, seed: int) -> dict[str, Any]:
    """An archive of ``count`` posts built into ``root/site``; times of the build and of its index."""
    from tgvault.domain import Channel, Post
    from tgvault.export.site import SiteOptions, build_site
    from tgvault.export.site.search import builder
    from tgvault.storage.database import create_archive_engine, make_session_factory
    from tgvault.storage.media_store import LocalMediaStore
    from tgvault.storage.schema import upgrade
    from tgvault.storage.unit_of_work import UnitOfWork

    engine = create_archive_engine(f"sqlite:///{root / 'archive.db'}")
    upgrade(engine)
    factory = make_session_factory(engine)
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    with UnitOfWork(factory) as uow:
        for number in range(CHANNELS):
            uow.channels.upsert(Channel(id=1000 + number, username=None, title=f"Channel {number}"), stamp)
        batch: dict[int, list[Post]] = {}
        for channel_id, message_id, date, text in _texts(count, seed):
            batch.setdefault(channel_id, []).append(
                Post(channel_id=channel_id, message_id=message_id, date=date, text=text)
            )
            if len(batch[channel_id]) >= 2000:
                uow.posts.upsert_many(batch.pop(channel_id), stamp)
        for posts in batch.values():
            uow.posts.upsert_many(posts, stamp)
        uow.commit()
    spent = [0.0]

    def timed(method: Any) -> Any:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - started

        return wrapper

    builder.SearchIndex.month = timed(builder.SearchIndex.month)  # type: ignore[method-assign]
    builder.SearchIndex.finish = timed(builder.SearchIndex.finish)  # type: ignore[method-assign]
    started = time.perf_counter()
    options = SiteOptions(out_dir=root / "site", title="Search bench", media_mode="copy")
    build_site(lambda: UnitOfWork(factory), LocalMediaStore(root / "media"), options, full=True)
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"site_build_s": seconds, "index_s": spent[0]}


def only_query_buckets(count: int) -> None:
    """File posts under the keys of the buckets the :data:`QUERIES` read, and no others: those buckets
    (and the text blocks) come out exactly as in the whole index, in a fraction of the time."""
    from tgvault.export.site.search import builder, tokens

    buckets = builder.bucket_count(count)
    needed = {tokens.bucket_of(tokens.lookup_key(t), buckets) for q in QUERIES for t in tokens.query_terms(q)}
    known: dict[str, bool] = {}
    every_key = builder.index_keys

    def wanted(key: str) -> bool:
        prefix = key[: tokens.BUCKET_PREFIX]
        if prefix not in known:
            known[prefix] = tokens.bucket_of(prefix, buckets) in needed
        return known[prefix]

    builder.index_keys = lambda text: {key for key in every_key(text) if wanted(key)}  # type: ignore[assignment]


def synthetic_index(root: Path, count: int, seed: int, template: Path | None) -> dict[str, Any]:
    """An index of ``count`` generated posts written straight into ``root/site`` (no archive, no pages)."""
    from tgvault.export.site.formatting import month_key
    from tgvault.export.site.options import SiteBuildReport
    from tgvault.export.site.search import SearchEntry, SearchIndex
    from tgvault.export.site.writer import SiteWriter

    site = root / "site"
    writer = SiteWriter(site, SiteBuildReport(), full=True)
    # The months the posts can fall in (the generator's dates are at most two hours apart from 2019 on):
    # the index packs postings relative to the newest month a build plans, so it must know them all.
    first = 2019 * 12
    planned = dict.fromkeys(range(first, first + count * 2 // (24 * 28) + 2))
    plans = [
        SimpleNamespace(
            channel=SimpleNamespace(id=1000 + n, title=f"Channel {n}"),
            posts=range(count // CHANNELS),
            months=planned,
        )
        for n in range(CHANNELS)
    ]
    ctx = SimpleNamespace(
        writer=writer,
        site=SimpleNamespace(channels={p.channel.id: p for p in plans}),
        options=SimpleNamespace(worker_count=lambda: os.cpu_count() or 1),
    )
    index = SearchIndex(ctx)  # type: ignore[arg-type]
    started = time.perf_counter()
    months: dict[tuple[int, int], list[SearchEntry]] = {}
    current = None
    for channel_id, message_id, date, text in _texts(count, seed):
        month = date.year * 12 + date.month - 1
        if current is not None and month != current:
            for (cid, m), entries in months.items():
                index.month(plans[cid - 1000], m, entries)  # type: ignore[arg-type]
            months = {}
        current = month
        url = f"c/{channel_id}/{month_key(month)}.html#post-{message_id}"
        months.setdefault((channel_id, month), []).append(
            SearchEntry(message_id=message_id, url=url, date=f"{date:%Y-%m-%d %H:%M}", text=text)
        )
    for (cid, m), entries in months.items():
        index.month(plans[cid - 1000], m, entries)  # type: ignore[arg-type]
    planned.clear()  # every month was handed over: none is left for the index to read from an archive
    index.finish(plans)  # type: ignore[arg-type]
    writer.finish()
    seconds = time.perf_counter() - started
    if template is not None:  # the search page and its script, from a built site
        shutil.copy(template / "search.html", site / "search.html")
        shutil.copytree(template / "static", site / "static", dirs_exist_ok=True)
    return {"index_s": seconds, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def folder_size(folder: Path) -> dict[str, int]:
    files = [path for path in folder.rglob("*") if path.is_file()]
    return {"bytes": sum(path.stat().st_size for path in files), "files": len(files)}


@contextmanager
def serving(site: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


# Records when the first result is put on the page (milliseconds from navigation start).
FIRST_RESULT = """
new MutationObserver((changes, observer) => {
  const list = document.getElementById("search-results") || document.getElementById("results");
  if (list && list.children.length && window.firstResultAt === undefined) {
    window.firstResultAt = performance.now();
    observer.disconnect();
  }
}).observe(document, {childList: true, subtree: true});
"""


def measure_queries(base: str, peer: bool) -> list[dict[str, Any]]:
    """Each query in a fresh browser context: the page opened, then the query submitted. Bytes: every
    response from opening the page until the first results show (the page, its scripts, the index
    files, the text of the results). Milliseconds: from submitting the query to the first result shown."""
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for query in QUERIES:
            context = browser.new_context()
            context.add_init_script(FIRST_RESULT)
            page = context.new_page()
            sizes: list[int] = []

            def finished(request: Any, sizes: list[int] = sizes) -> None:
                response = request.response()
                sizes.append(len(response.body()) if response is not None else 0)

            page.on("requestfinished", finished)
            if peer:
                page.goto(f"{base}pagefind-query.html")
                page.wait_for_function("() => window.pagefindReady === true")
                page.evaluate("q => { window.t0 = performance.now(); window.runQuery(q, 20); }", query)
                page.wait_for_function(PAGEFIND_READY, timeout=120_000)
            else:
                page.goto(f"{base}search.html")
                page.wait_for_function("() => document.getElementById('search-channel').options.length > 1")
                page.fill("#search-input", query)
                page.evaluate(
                    "() => { window.t0 = performance.now(); document.getElementById('search-form').requestSubmit(); }"
                )
                page.wait_for_function(OURS_READY, timeout=120_000)
            page.wait_for_function(
                "() => window.firstResultAt !== undefined || /No posts/.test(document.body.textContent)"
            )
            shown = page.evaluate("() => (window.firstResultAt || performance.now()) - window.t0")
            page.wait_for_timeout(300)  # responses still arriving for the results shown
            rows.append({"query": query, "bytes": sum(sizes), "requests": len(sizes), "ms": shown})
            context.close()
        browser.close()
    return rows


OURS_READY = "() => /found|more can be loaded/.test(document.getElementById('search-status').textContent)"
PAGEFIND_READY = "() => /found/.test(document.getElementById('status').textContent)"


def recall_ours(site: Path, texts: dict[tuple[int, int], str]) -> dict[str, Any]:
    from tgvault.export.site.search.lookup import IndexReader
    from tgvault.export.site.search.tokens import query_terms

    reader = IndexReader(site)
    expected_total = found_total = 0
    for query in QUERIES:
        terms = query_terms(query)
        expected = {key for key, text in texts.items() if all(term in text for term in terms)}
        found = set(reader.search(query))
        expected_total += len(expected)
        found_total += len(expected & found)
    return {"expected": expected_total, "found": found_total, "recall": found_total / max(1, expected_total)}


def recall_pagefind(base: str, texts: dict[tuple[int, int], str]) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from tgvault.export.site.search.tokens import query_terms

    expected_total = found_total = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        for query in QUERIES:
            page.goto(f"{base}pagefind-query.html")
            page.wait_for_function("() => window.pagefindReady === true")
            page.evaluate("q => window.runQuery(q, 0)", query)
            page.wait_for_function(PAGEFIND_READY, timeout=120_000)
            urls = page.evaluate("() => window.pagefindAll()")
            found = set()
            for url in urls:
                parts = url.strip("/").split("/")  # c/<channel>/posts/<id>.html
                found.add((int(parts[-3]), int(parts[-1].removesuffix(".html"))))
            terms = query_terms(query)
            expected = {key for key, text in texts.items() if all(term in text for term in terms)}
            expected_total += len(expected)
            found_total += len(expected & found)
        browser.close()
    return {"expected": expected_total, "found": found_total, "recall": found_total / max(1, expected_total)}


def archive_texts(root: Path) -> dict[tuple[int, int], str]:
    from tgvault.export.site.search.entries import searchable_text
    from tgvault.export.site.search.tokens import normalise
    from tgvault.storage.database import create_archive_engine, make_session_factory
    from tgvault.storage.unit_of_work import UnitOfWork

    engine = create_archive_engine(f"sqlite:///{root / 'archive.db'}")
    texts = {}
    with UnitOfWork(make_session_factory(engine)) as uow:
        for number in range(CHANNELS):
            for post in uow.posts.iter_channel(1000 + number):
                texts[(post.channel_id, post.message_id)] = normalise(searchable_text(post))
    engine.dispose()
    return texts


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "bytes_median": statistics.median(r["bytes"] for r in rows),
        "bytes_max": max(r["bytes"] for r in rows),
        "ms_median": statistics.median(r["ms"] for r in rows),
        "ms_max": max(r["ms"] for r in rows),
        "queries": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search")
    parser.add_argument("--posts", type=int, default=18_480)
    parser.add_argument("--synthetic", type=int, default=0, help="also an index of N posts built directly")
    parser.add_argument("--no-pagefind", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    parser.add_argument("--queries-only", type=Path, help="only run the queries against this built site")
    parser.add_argument(
        "--only-query-buckets", action="store_true", help="synthetic: only the buckets the queries read"
    )
    args = parser.parse_args(argv)
    if args.queries_only:
        with serving(args.queries_only) as base:
            rows = summary(measure_queries(base, peer=False))
        rows["index"] = folder_size(args.queries_only / "search")
        log(f"queries: {json.dumps({k: v for k, v in rows.items() if k != 'queries'})}")
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"search-queries-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
        out.write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
        return 0
    work = args.keep or Path(tempfile.mkdtemp(prefix="tgvault-search-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"posts": args.posts, "queries": QUERIES}
    try:
        if args.posts:
            log(f"archive of {args.posts} posts")
            ours = build_archive_site(work, args.posts, args.seed)
            site = work / "site"
            ours["index"] = folder_size(site / "search")
            texts = archive_texts(work)
            ours["recall"] = recall_ours(site, texts)
            with serving(site) as base:
                ours.update(summary(measure_queries(base, peer=False)))
            results["tgvault"] = ours
            log(f"tgvault: {json.dumps({k: v for k, v in ours.items() if k != 'queries'})}")
            if not args.no_pagefind:
                peer = pagefind.index(site)
                with serving(site) as base:
                    peer["recall"] = recall_pagefind(base, texts)
                    peer.update(summary(measure_queries(base, peer=True)))
                results["pagefind"] = peer
                log(f"pagefind: {json.dumps({k: v for k, v in peer.items() if k != 'queries'})}")
        if args.synthetic:
            log(f"synthetic index of {args.synthetic} posts")
            folder = work / "synthetic"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            template = work / "site" if (work / "site" / "search.html").is_file() else None
            if args.only_query_buckets:
                only_query_buckets(args.synthetic)
            synthetic = synthetic_index(folder, args.synthetic, args.seed, template)
            log(f"synthetic index built: {synthetic}")
            synthetic["index"] = folder_size(folder / "site" / "search")
            with serving(folder / "site") as base:
                synthetic.update(summary(measure_queries(base, peer=False)))
            results["synthetic"] = {"posts": args.synthetic, **synthetic}
            log(f"synthetic: {json.dumps({k: v for k, v in synthetic.items() if k != 'queries'})}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"search-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    log(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
