"""``[site] post_pages = false``: posts linked as anchors on their month pages, no page per post, and
switching the mode either way leaves no dangling file or link."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from test_site_archive import NEWS, UoW, html_pages, local_target, make_archive, scan
from test_site_incremental import assert_same_site
from tgvault.domain import Post
from tgvault.export.site import SiteBuildReport, SiteOptions, build_site
from tgvault.storage.media_store import LocalMediaStore


@dataclass
class Site:
    uow: UoW
    store: LocalMediaStore
    root: Path

    def build(self, out: str = "site", *, full: bool = False, **changes: Any) -> SiteBuildReport:
        options = SiteOptions(
            out_dir=self.root / out,
            title="Test archive",
            posts_per_page=4,
            media_mode=changes.pop("media_mode", "copy"),
            workers=changes.pop("workers", 1),
            **changes,
        )
        return build_site(self.uow, self.store, options, full=full)

    @property
    def out(self) -> Path:
        return self.root / "site"


@pytest.fixture
def site(unit_of_work: UoW, tmp_path: Path) -> Site:
    store = LocalMediaStore(tmp_path / "media")
    make_archive(unit_of_work, store)
    return Site(unit_of_work, store, tmp_path)


def broken_links(out: Path) -> list[str]:
    """Every relative href/src of the site whose file, or whose fragment on an HTML page, is missing."""
    ids_cache: dict[Path, set[str]] = {}
    broken = []
    for page in html_pages(out):
        for tag, attrs in scan(page).tags:
            for name in ("href", "src"):
                url = attrs.get(name)
                if not url or tag == "form":
                    continue
                target = local_target(out, page, url)
                if target is None:
                    continue
                path, fragment = target
                if not path.is_file():
                    broken.append(f"{page.relative_to(out)}: {url}")
                    continue
                if fragment and path.suffix == ".html":
                    if path not in ids_cache:
                        ids_cache[path] = scan(path).ids
                    if fragment not in ids_cache[path]:
                        broken.append(f"{page.relative_to(out)}: {url} (no #{fragment})")
    return broken


def permalink_files(out: Path) -> list[Path]:
    return sorted(out.glob("c/*/posts/*.html"))


def test_without_post_pages_no_permalink_is_written_and_every_link_resolves(site: Site) -> None:
    site.build(post_pages=False, base_url="https://archive.example.org")
    assert [] == permalink_files(site.out)
    assert [] == broken_links(site.out)
    january = (site.out / "c/1001/2024/01.html").read_text("utf-8")
    # the date of a card links to the post's own anchor on its month page
    assert 'class="date" href="../2024/01.html#post-2"' in january
    assert "posts/" not in january
    for page in html_pages(site.out):
        assert "/posts/" not in page.read_text("utf-8"), page
    feed = (site.out / "c/1001/feed.atom").read_text("utf-8")
    assert "https://archive.example.org/c/1001/2024/" in feed
    assert "#post-" in feed
    assert "/posts/" not in feed


def test_switching_post_pages_off_and_on_again_leaves_no_dangling_file_or_link(site: Site) -> None:
    site.build()
    assert permalink_files(site.out)
    report = site.build(post_pages=False)
    assert [] == permalink_files(site.out)
    assert not (site.out / "c/1001/posts").exists()
    assert any(path.startswith("c/1001/posts/") for path in report.removed_paths)
    assert [] == broken_links(site.out)
    off = site.build("off", post_pages=False)
    assert off.written > 0
    assert_same_site(site.out, site.root / "off", "post_pages off after on")
    site.build()
    assert permalink_files(site.out)
    assert [] == broken_links(site.out)
    shutil.rmtree(site.root / "on", ignore_errors=True)
    site.build("on")
    assert_same_site(site.out, site.root / "on", "post_pages on after off")


def test_an_incremental_build_without_post_pages_stays_minimal(site: Site) -> None:
    site.build(post_pages=False)
    again = site.build(post_pages=False)
    assert again.incremental
    assert 0 == again.written
    with site.uow() as uow:
        uow.posts.upsert_many(
            [
                Post(
                    channel_id=NEWS.id,
                    message_id=500,
                    date=datetime(2024, 3, 30, 12, tzinfo=UTC),
                    text="A new post at the end of March",
                )
            ],
            datetime(2024, 4, 1, tzinfo=UTC),
        )
        uow.commit()
    report = site.build(post_pages=False)
    assert report.incremental
    assert [] == [path for path in report.written_paths if "/posts/" in path]
    # only March (whose days and parts changed) and the channel's own pages: no other month, no other channel
    assert [] == [
        path for path in report.written_paths if "2024/01" in path or "2024/02" in path or "c/2002" in path
    ]
    assert report.unchanged > 0
    assert [] == permalink_files(site.out)
    assert [] == broken_links(site.out)
    shutil.rmtree(site.root / "fresh", ignore_errors=True)
    site.build("fresh", post_pages=False)
    assert_same_site(site.out, site.root / "fresh", "incremental without post pages")
