"""The fixed cost of a rebuild: a rebuild with nothing new renders nothing, and pages it skips by their
keys stay exactly what a build from scratch writes."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine

from test_site_archive import NEWS, UoW, make_archive
from test_site_incremental import Sites, assert_same_site
from tgvault.domain import Post
from tgvault.export.site import SiteOptions, render
from tgvault.export.site import plan as site_plan
from tgvault.export.site.incremental import merge_changes
from tgvault.export.site.render import static_files
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.repositories import PostOutline


def test_a_rebuild_with_nothing_new_renders_no_page(unit_of_work: UoW, tmp_path: Path) -> None:
    """The channels' home, statistics, feeds and hashtag index, the landing and search pages: skipped by
    their keys when nothing they show changed (a page rendered again only to find its bytes equal is
    the cost every rebuild paid)."""
    store = LocalMediaStore(tmp_path / "media")
    make_archive(unit_of_work, store)
    sites = Sites(unit_of_work, store, tmp_path)
    sites.build("site")
    sites.build("site")  # the first incremental build keys the pages a full build wrote
    again = sites.build("site")
    # produced again and compared: only the theme's static files and the search index's manifest
    assert (True, 0) == (again.incremental, again.written)
    assert again.rendered <= len(static_files()) + 1
    sites.fresh()
    assert_same_site(tmp_path / "site", tmp_path / "fresh")


def test_the_statistics_page_follows_the_channels_observations(unit_of_work: UoW, tmp_path: Path) -> None:
    """Subscribers up and back down between two builds: the channel reads as before, but the
    statistics page charts the observations, and the rebuild writes it as a fresh build does."""
    store = LocalMediaStore(tmp_path / "media")
    make_archive(unit_of_work, store)
    sites = Sites(unit_of_work, store, tmp_path)
    sites.build("site")
    sites.build("site")
    later = datetime.now(UTC)
    with unit_of_work() as uow:
        uow.channels.upsert(NEWS.model_copy(update={"subscribers": 60_000}), later)
        uow.channels.upsert(NEWS, later + timedelta(hours=1))  # as the channel was
        uow.commit()
    report = sites.build("site")
    assert report.incremental
    assert f"c/{NEWS.id}/stats.html" in report.written_paths
    sites.fresh()
    assert_same_site(tmp_path / "site", tmp_path / "fresh")


def _outline(message_id: int, **changes: object) -> PostOutline:
    values: dict[str, object] = {
        "message_id": message_id,
        "date": datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=message_id),
        "version": f"v{message_id}",
        "media_path": None,
        "grouped_id": 10 if message_id in (5, 6) else None,
        "reply_to_message_id": 2 if message_id == 7 else None,
        "reply_to_channel_id": None,
        "views": message_id * 10,
        "is_service": False,
        "deleted": False,
        "text": "",
        "hashtags": (),
    }
    values.update(changes)
    return PostOutline(**values)  # type: ignore[arg-type]


def test_posts_read_again_as_the_plan_holds_them_change_nothing() -> None:
    """Posts written just before the last build are read again by the next one (the watermark lags
    behind by CHANGE_LAG): as the plan already holds them, the merge finds no page to look at; a post
    that did change among them is merged as before."""
    outlines = [_outline(message_id) for message_id in range(1, 31)]
    options = SiteOptions(out_dir=Path("unused"), title="t", posts_per_page=4)
    plan = site_plan.plan_channel(NEWS, outlines, options)
    zone = options.zone()
    changes = merge_changes(plan, outlines[-10:], zone, 4, lambda ids: [])
    assert (set(), set(), set(), set(), {}) == (
        changes.dirty,
        changes.timeline,
        changes.permalinks,
        changes.shard_months,
        changes.media,
    )
    edited = dataclasses.replace(outlines[-1], version="v30-edited")
    changes = merge_changes(plan, [*outlines[-10:-1], edited], zone, 4, lambda ids: [])
    assert changes.dirty == {30}
    assert plan.posts[30].stamp == site_plan.stamp_of(edited)
    viewed = dataclasses.replace(outlines[3], views=5)
    assert merge_changes(plan, [viewed], zone, 4, lambda ids: []).dirty == {4}


def test_a_rebuild_right_after_posts_were_written_reads_them_again_and_writes_nothing(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    """Posts written now are read again by the next build (within CHANGE_LAG): it renders nothing."""
    store = LocalMediaStore(tmp_path / "media")
    make_archive(unit_of_work, store)
    sites = Sites(unit_of_work, store, tmp_path)
    sites.build("site")
    with unit_of_work() as uow:
        uow.posts.upsert_many(
            [
                Post(channel_id=NEWS.id, message_id=900 + i, date=datetime(2024, 3, 30, i, tzinfo=UTC))
                for i in range(3)
            ],
            datetime.now(UTC),
        )
        uow.commit()
    first = sites.build("site")
    outlines_read: list[str] = []

    def note(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "hashtag_text" in statement:  # the outline statement
            outlines_read.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        again = sites.build("site")
    finally:
        event.remove(Engine, "before_cursor_execute", note)
    assert [] == outlines_read  # their light versions tell they are planned as they are
    assert (True, 3) == (first.incremental, first.changed_posts)
    assert (True, 3, 0) == (again.incremental, again.changed_posts, again.written)
    assert again.rendered <= len(static_files()) + 1
    sites.fresh()
    assert_same_site(tmp_path / "site", tmp_path / "fresh")


def test_the_theme_fingerprint_hashes_every_file_by_path_as_before(tmp_path: Path) -> None:
    """Every build fingerprints the theme's package (and the user's templates): the same bytes in the
    same order as hashing each file of ``Path.rglob`` in sorted path order, ``__pycache__`` left out."""
    files = {
        "a/b.html": b"1",
        "a-c.html": b"2",  # sorts before "a/b.html" as a string, after it as a path
        "a/__pycache__/x.pyc": b"never",
        "z/y/x.css": b"3",
        "top.py": b"4",
    }
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    expected = hashlib.blake2b(digest_size=12)
    for path in sorted(p for p in tmp_path.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        expected.update(str(path.relative_to(tmp_path)).encode("utf-8", "surrogateescape"))
        expected.update(path.read_bytes())
    found = hashlib.blake2b(digest_size=12)
    render._fingerprint_tree(found, tmp_path)
    assert expected.hexdigest() == found.hexdigest()
