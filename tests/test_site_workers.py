"""The site's month pages rendered by a pool of processes (``[site] workers``): the same bytes and the same
manifest as one process, on SQLite and PostgreSQL; a post that cannot be read does not stop a worker."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text as sql_text

from test_site_archive import NEWS, UoW, make_archive
from test_site_incremental import assert_same_site
from test_site_post_pages import broken_links
from tgvault.domain import Post
from tgvault.export.site import SiteBuildReport, SiteOptions, build_site
from tgvault.export.site.manifest import manifest_path
from tgvault.storage.media_store import LocalMediaStore


def build(uow: UoW, store: LocalMediaStore, out: Path, **changes: Any) -> SiteBuildReport:
    options = SiteOptions(out_dir=out, title="Workers", posts_per_page=4, media_mode="copy", **changes)
    return build_site(uow, store, options)


def manifest_pages(out: Path) -> list[tuple[str, str | None, str, int]]:
    with sqlite3.connect(manifest_path(out)) as db:
        return sorted(db.execute("SELECT path, key, hash, build FROM pages"))


@pytest.fixture
def store(unit_of_work: UoW, tmp_path: Path) -> LocalMediaStore:
    media = LocalMediaStore(tmp_path / "media")
    make_archive(unit_of_work, media)
    return media


@pytest.mark.parametrize("post_pages", [True, False])
def test_a_build_on_two_workers_writes_what_one_worker_writes(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path, post_pages: bool
) -> None:
    one = build(unit_of_work, store, tmp_path / "one", workers=1, post_pages=post_pages)
    two = build(unit_of_work, store, tmp_path / "two", workers=2, post_pages=post_pages)
    assert_same_site(tmp_path / "one", tmp_path / "two", "two workers")
    assert manifest_pages(tmp_path / "one") == manifest_pages(tmp_path / "two")
    assert (one.written, one.rendered, one.unchanged) == (two.written, two.rendered, two.unchanged)
    assert one.written_paths == two.written_paths
    # and again, incrementally, after a change: still the same
    with unit_of_work() as uow:
        uow.posts.upsert_many(
            [Post(channel_id=NEWS.id, message_id=400, date=datetime(2024, 2, 10, tzinfo=UTC), text="late")],
            datetime(2024, 4, 2, tzinfo=UTC),
        )
        uow.commit()
    one = build(unit_of_work, store, tmp_path / "one", workers=1, post_pages=post_pages)
    two = build(unit_of_work, store, tmp_path / "two", workers=2, post_pages=post_pages)
    assert one.incremental and two.incremental
    assert one.written_paths == two.written_paths
    assert_same_site(tmp_path / "one", tmp_path / "two", "two workers, incremental")
    assert manifest_pages(tmp_path / "one") == manifest_pages(tmp_path / "two")
    assert [] == broken_links(tmp_path / "two")


def test_a_post_stored_broken_is_shown_flagged_and_the_rest_of_the_site_built(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    with unit_of_work() as uow:
        session = uow._session
        assert session is not None
        session.execute(
            sql_text(
                "UPDATE posts SET entities = :broken, text = 'unreadable words'"
                " WHERE channel_id = :c AND message_id = 3"
            ),
            {"broken": '[{"kind": "no such kind", "offset": -5}]', "c": NEWS.id},
        )
        uow.commit()
    report = build(unit_of_work, store, tmp_path / "site", workers=2)
    out = tmp_path / "site"
    assert report.written > 0
    january = (out / "c/1001/2024/01.html").read_text("utf-8")
    assert 'id="post-2"' in january  # its neighbours are there
    # the post itself is shown with what could be read, flagged (its bad entities left out)
    assert "unreadable words" in january and "Not fully understood" in january
    assert (out / "c/1001/2024/03.html").is_file()
    assert (out / "c/1001/posts/3.html").is_file()  # the page of a post the site cannot show
    assert [] == [link for link in broken_links(out) if "post-3" not in link]
