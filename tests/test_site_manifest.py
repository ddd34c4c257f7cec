"""The site's on-disk manifest and column-wise plan: what keeps a site build's memory flat."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from test_site_archive import UoW, make_archive
from test_site_build import Site
from tgvault.export.site import SiteError
from tgvault.export.site.manifest import LEGACY_MANIFEST, SiteManifest, manifest_path, read_manifest
from tgvault.export.site.options import SiteBuildReport
from tgvault.export.site.planned_posts import PlannedPost, PlannedPosts
from tgvault.export.site.writer import SiteWriter
from tgvault.storage.media_store import LocalMediaStore


@pytest.fixture
def site(unit_of_work: UoW, tmp_path: Path) -> Site:
    store = LocalMediaStore(tmp_path / "media")
    make_archive(unit_of_work, store)
    return Site(unit_of_work, store, tmp_path / "site")


def test_a_build_cut_short_leaves_the_previous_manifest(tmp_path: Path) -> None:
    """Nothing a build records is seen by the next build until the build finishes."""
    first = SiteWriter(tmp_path, SiteBuildReport())
    first.write("a.html", "<p>a</p>", "key-a")
    first.finish()
    first.close()
    cut = SiteWriter(tmp_path, SiteBuildReport())
    cut.write("a.html", "<p>changed</p>", "key-a2")
    cut.write("b.html", "<p>b</p>", "key-b")
    cut.close()  # killed before finish: no commit
    pages, _ = read_manifest(tmp_path) or ({}, {})
    assert ["a.html"] == sorted(pages)
    report = SiteBuildReport()
    again = SiteWriter(tmp_path, report)
    assert not again.skip_if_current("a.html", "key-a2")  # the cut build's key was never recorded
    assert again.skip_if_current("b.html", "key-b") is False
    again.close()


def test_two_pages_on_one_path_are_refused_and_stale_pages_removed(tmp_path: Path) -> None:
    writer = SiteWriter(tmp_path, SiteBuildReport())
    writer.write("x/one.html", "1", "k1")
    writer.write("x/two.html", "2", "k2")
    with pytest.raises(SiteError, match="same path"):
        writer.write("x/one.html", "again", "k1")
    writer.finish()
    writer.close()
    report = SiteBuildReport()
    second = SiteWriter(tmp_path, report)
    assert second.skip_if_current("x/one.html", "k1")
    second.finish()
    second.close()
    assert (1, ["x/two.html"]) == (report.removed, report.removed_paths)
    assert not (tmp_path / "x" / "two.html").exists()
    assert (tmp_path / "x" / "one.html").read_text() == "1"


def test_an_older_json_manifest_is_taken_over(site: Site) -> None:
    """A site built by an older tgvault (JSON manifest) is not rewritten wholesale, and its pages that
    are no longer planned are still removed."""
    site.build()
    pages, media = read_manifest(site.out) or ({}, {})
    legacy = {"version": 1, "pages": {p: ["stale-key", h] for p, h in pages.items()}, "media": media}
    legacy["pages"]["c/9999/old.html"] = ["k", "0" * 24]
    (site.out / "c/9999").mkdir(parents=True)
    (site.out / "c/9999/old.html").write_text("old")
    manifest_path(site.out).unlink()
    (site.out / LEGACY_MANIFEST).write_text(json.dumps(legacy))
    report = site.build()
    assert 0 == report.written  # same content: nothing rewritten (keys differ, so pages render)
    assert ["c/9999/old.html"] == report.removed_paths
    assert not (site.out / LEGACY_MANIFEST).exists()
    settled = site.build()
    assert (0, 0) == (settled.written, settled.removed)
    assert settled.rendered < report.rendered  # keys recorded now: most pages are not even rendered


def test_an_unreadable_manifest_means_everything_is_written_again(site: Site) -> None:
    first = site.build()
    manifest_path(site.out).write_bytes(b"this is not a database" * 100)
    again = site.build()
    assert first.pages == again.rendered
    assert 0 == site.build().written


def test_the_manifest_counts_builds_and_keeps_media_sizes(tmp_path: Path) -> None:
    manifest = SiteManifest(tmp_path)
    manifest.record_media("media/ab/abc.jpg", 1234)
    (tmp_path / "index.html").write_text("the page")  # a manifest describes files that are there
    manifest.record_page("index.html", "k", "h" * 24)
    manifest.commit()
    manifest.close()
    later = SiteManifest(tmp_path)
    assert 2 == later.build
    assert 1234 == later.media_size("media/ab/abc.jpg")
    assert ("k", "h" * 24, 1) == later.page("index.html")
    assert ["index.html"] == list(later.stale_pages())
    later.close()


def test_the_plan_of_100000_posts_takes_a_few_megabytes_and_reads_back_exactly() -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    posts = PlannedPosts()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for message_id in range(1, 100_001):
            posts.append(
                PlannedPost(
                    message_id=message_id,
                    date=start + timedelta(seconds=97 * message_id, microseconds=message_id),
                    month=24240 + message_id // 5000,
                    day=737425 + message_id // 300,
                    group=message_id // 3 if message_id % 7 == 0 else None,
                    reply_to=(1001, message_id - 1) if message_id % 5 == 0 else None,
                    stamp=hash((message_id, "stamp")),
                    views=message_id * 3 if message_id % 2 else None,
                    deleted=message_id % 11 == 0,
                    service=message_id % 13 == 0,
                )
            )
        posts.seal()
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert used < 10 * 1024 * 1024, f"{used:,} bytes for 100,000 planned posts"
    sample = posts[35]
    assert sample.date == start + timedelta(seconds=97 * 35, microseconds=35)
    assert (sample.group, sample.reply_to, sample.views) == (11, (1001, 34), 105)
    assert (sample.deleted, sample.service) == (False, False)
    assert posts[143].deleted and posts[143].service  # 143 = 11 * 13
    assert 100_000 == len(posts) and 100_001 not in posts and posts.get(0) is None
    posts.set_page(35, 7)
    assert 7 == posts[35].page


@pytest.mark.parametrize("room", [0, 2, 3, 5])
def test_room_reserved_for_the_posts_gives_the_same_columns(room: int) -> None:
    """``reserve`` is a hint: as many, fewer or more posts than it made room for give the same plan."""
    moment = datetime(2024, 5, 1, 12, tzinfo=UTC)
    planned = [
        PlannedPost(i, moment, 1, 2, i // 2 or None, (7, i) if i % 2 else None, i, i, i == 2, False)
        for i in (1, 2, 4)
    ]
    grown, reserved = PlannedPosts(), PlannedPosts()
    reserved.reserve(room)
    for post in planned:
        grown.append(post)
        reserved.append(post)
    grown.seal()
    reserved.seal()
    assert {k: bytes(v) for k, v in reserved.to_columns().items()} == {
        k: bytes(v) for k, v in grown.to_columns().items()
    }
    assert list(reserved.values()) == planned
    reserved.append(PlannedPost(9, moment, 1, 2, None, None, 9, None, False, True))  # after seal: grows
    assert [1, 2, 4, 9] == list(reserved)


def test_columns_are_sized_to_the_data_and_widen_for_a_value_that_does_not_fit() -> None:
    """Ids, months, pages and views start narrow (4, 2, 2, 4 bytes) and a value too large for one widens
    its column: every post still reads back exactly, through put, set_page and a round trip by bytes."""
    moment = datetime(2024, 5, 1, 12, tzinfo=UTC)
    posts = PlannedPosts()
    posts.reserve(3)
    small = PlannedPost(5, moment, 24292, 739000, None, (1001, 4), 1, 10, False, False)
    posts.append(small)
    assert {"ids": "I", "months": "H", "pages": "h", "views": "i", "flags": "B"}.items() <= (
        posts.typecodes().items()
    )
    huge = PlannedPost(
        1 << 40, moment, 70_000, 739001, -(1 << 62), (-(1 << 50), 1 << 35), -7, 1 << 40, True, True
    )
    posts.append(huge)
    posts.seal()
    posts.set_page(5, 40_000)
    posts.put(PlannedPost(7, moment, 3, 4, 9, None, 2, None, False, True))
    assert {
        "ids": "q",
        "months": "i",
        "pages": "i",
        "views": "q",
        "group_ids": "q",
        "reply_targets": "q",
    }.items() <= (posts.typecodes().items())
    small.page = 40_000
    expected = [small, PlannedPost(7, moment, 3, 4, 9, None, 2, None, False, True), huge]
    assert expected == list(posts.values())
    again = PlannedPosts.from_columns({k: bytes(v) for k, v in posts.to_columns().items()}, posts.typecodes())
    assert expected == list(again.values())
    with pytest.raises(ValueError, match="typecode"):
        PlannedPosts.from_columns(posts.to_columns(), {**posts.typecodes(), "ids": "d"})


def test_albums_and_replies_are_kept_only_for_the_posts_that_have_them() -> None:
    moment = datetime(2024, 5, 1, 12, tzinfo=UTC)
    posts = PlannedPosts()
    for message_id in (40, 10, 30, 20):
        group = 77 if message_id in (20, 30) else None
        reply = (1001, message_id - 5) if message_id == 40 else None
        posts.append(PlannedPost(message_id, moment, 1, 2, group, reply, message_id, None, False, False))
    posts.seal()
    columns = {name: len(data) for name, data in posts.to_columns().items()}  # bytes (views released)
    assert (2, 2, 1) == (
        columns["group_ids"] // 4,
        columns["group_values"] // 8,
        columns["reply_ids"] // 4,
    )
    assert [None, 77, 77, None] == [posts.group_of(i) for i in (10, 20, 30, 40)]
    assert 1 == posts.run_start(posts.position(30))
    assert [40] == posts.replying_to({1001: {35}})
    posts.put(PlannedPost(30, moment, 1, 2, None, (1001, 35), 3, None, False, False))  # leaves the album
    posts.put(PlannedPost(40, moment, 1, 2, 78, None, 4, None, False, False))  # stops replying
    assert [None, 77, None, 78] == [posts.group_of(i) for i in (10, 20, 30, 40)]
    assert [30] == posts.replying_to({1001: {35}})
    # what a timeline page's key holds of its posts, read from the columns, is what their rows say
    ids = [40, 10, 30, 20]
    assert [(10, 10, None), (20, 20, None), (30, 3, (1001, 35)), (40, 4, None)] == sorted(
        posts.keyed_replies(ids)
    )
    assert posts.keyed_replies(ids) == [(posts[i].message_id, posts[i].stamp, posts[i].reply_to) for i in ids]
    with pytest.raises(KeyError):
        posts.keyed_replies([41])


def test_posts_planned_out_of_order_are_sorted_by_message_id() -> None:
    posts = PlannedPosts()
    moment = datetime(2024, 5, 1, 12, tzinfo=UTC)
    for message_id in (30, 10, 20):
        posts.append(PlannedPost(message_id, moment, 1, 2, None, None, message_id, message_id, False, False))
    posts.seal()
    assert [10, 20, 30] == list(posts)
    assert [10, 20, 30] == [post.views for post in posts.values()]
    assert 20 == posts[20].stamp


def test_post_stamps_are_the_same_in_every_process(tmp_path: Path) -> None:
    """Page keys are compared across builds, i.e. across processes with different hash seeds."""
    script = (
        "from datetime import datetime, UTC\n"
        "from tgvault.export.site.plan import stamp_of\n"
        "from tgvault.storage.repositories import PostOutline\n"
        "outline = PostOutline(7, datetime(2024, 1, 1, tzinfo=UTC), '2024-01-02 03:04:05.678|None', None,"
        " None, None, None, 5, False, False, '', ())\n"
        "print(stamp_of(outline))\n"
    )
    stamps = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert 1 == len(stamps), stamps


def _older_tgvault_build(out_dir: Path, rewritten: list[str], added: list[str]) -> None:
    """A build by a tgvault that keeps no page count: its own build number, pages replaced and added
    without recursive triggers (so the count the triggers keep goes wrong)."""
    import sqlite3

    db = sqlite3.connect(manifest_path(out_dir), isolation_level=None)
    db.execute("BEGIN")
    build = int(db.execute("SELECT value FROM meta WHERE name = 'build'").fetchone()[0]) + 1
    db.execute("INSERT OR REPLACE INTO meta VALUES ('build', ?)", (build,))
    db.executemany(
        "INSERT OR REPLACE INTO pages VALUES (?, 'k', 'h', ?)", [(path, build) for path in rewritten + added]
    )
    db.execute("COMMIT")
    db.close()
    for path in added:
        (out_dir / path).write_text("older")


@pytest.mark.parametrize("seed", range(6))
def test_pages_left_untouched_are_counted_exactly_after_any_builds(tmp_path: Path, seed: int) -> None:
    """What an incremental build counts as unchanged (the pages it did not produce) is the count of
    the manifest's older rows, through writes, rewrites, kept pages, bulk records, removed pages, builds
    cut short and a build by an older tgvault."""
    import random

    rng = random.Random(seed)
    names = [f"p/{n}.html" for n in range(60)]
    (tmp_path / "index.html").parent.mkdir(parents=True, exist_ok=True)
    for round_number in range(12):
        if round_number and rng.random() < 0.15:
            known = [n for n in names if (tmp_path / n).is_file()]
            _older_tgvault_build(tmp_path, rng.sample(known, min(3, len(known))), rng.sample(names, 2))
            continue
        writer = SiteWriter(tmp_path, SiteBuildReport())
        writer.incremental = round_number > 0
        if round_number == 0:
            writer.write("index.html", "front", "front")
        chosen = rng.sample(names, 20)
        for name in chosen[:8]:
            writer.write(name, f"{name} {rng.random()}", "k")
        for name in chosen[8:12]:
            writer.skip_if_current(name, "k")
        bulk = [(name, "k", f"h{rng.random()}") for name in chosen[12:16]]
        for name, _, _ in bulk:
            (tmp_path / name).write_text("bulk")
        writer.manifest.record_pages(bulk, [(name, "k") for name in chosen[16:18]])
        for name in chosen[18:]:
            writer.drop(name)
        manifest = writer.manifest
        expected = manifest._db.execute(
            "SELECT count(*) FROM pages WHERE build < ?", (manifest.build,)
        ).fetchone()[0]
        assert manifest.untouched_pages() == expected
        if rng.random() < 0.2:
            writer.close()  # cut short: nothing of it is kept, the count neither
            continue
        writer.finish()
        writer.close()
