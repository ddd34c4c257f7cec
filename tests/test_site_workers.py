"""The site's month pages rendered by a pool of processes (``[site] workers``): the same bytes and the same
manifest as one process, on SQLite and PostgreSQL; a post that cannot be read does not stop a worker."""

from __future__ import annotations

import errno
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
from tgvault.export.site.options import SiteError
from tgvault.export.site.search.spill import SpillPart
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


class _SeesChannelPage:
    """A progress reporter that notes, as each month is recorded, whether the channel's own page is written."""

    def __init__(self, page: Path) -> None:
        self.page = page
        self.seen: list[bool] = []
        self.writing = False

    def started(self, label: str, total: int | None, unit: str = "posts") -> None:
        self.writing = label == "writing pages"

    def advance(self, count: int, size: int = 0) -> None:
        if self.writing:
            self.seen.append(self.page.is_file())

    def finished(self) -> None:
        pass


@pytest.mark.parametrize(("workers", "first_month_sees_it"), [(1, False), (2, True)])
def test_the_other_pages_are_written_while_the_workers_write_the_months(
    uow_factory: UoW, tmp_path: Path, workers: int, first_month_sees_it: bool
) -> None:
    """On a pool, the channel's own pages (and the landing page, the ledger) are written by the parent
    once the workers have their first months, before it records any: the parent's own work overlaps
    theirs. In one process they follow the months, as they always did. (An archive in a file: the
    pool's workers open it.)"""
    store = LocalMediaStore(tmp_path / "media")
    make_archive(uow_factory, store)
    out = tmp_path / "site"
    progress = _SeesChannelPage(out / "c" / str(NEWS.id) / "index.html")
    options = SiteOptions(out_dir=out, title="Workers", posts_per_page=4, media_mode="copy", workers=workers)
    build_site(uow_factory, store, options, progress=progress)
    assert len(progress.seen) > 1
    assert progress.seen[0] is first_month_sees_it
    assert progress.seen[-1] is first_month_sees_it


def _full_disk(self: SpillPart) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_worker_that_cannot_write_its_part_of_the_search_index_stops_the_build(
    uow_factory: UoW, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pool's worker writes the search keys it filed when it ends, where an error is only printed: the
    build then stops instead of publishing an index that misses that worker's posts."""
    store = LocalMediaStore(tmp_path / "media")
    make_archive(uow_factory, store)
    monkeypatch.setattr(SpillPart, "flush", _full_disk)  # the workers, forked from here, find the disk full
    options = SiteOptions(out_dir=tmp_path / "site", title="Workers", posts_per_page=4, workers=2)
    with pytest.raises(SiteError, match="without writing their part of the search index"):
        build_site(uow_factory, store, options)
