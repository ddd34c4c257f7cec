"""The static site built from a real archive (SQLite and PostgreSQL): plan, safety, timezone, incremental writes, feeds."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from test_site_archive import (
    NEWS,
    SEARCH_WORD,
    SECRET,
    UoW,
    at,
    html_pages,
    local_target,
    make_archive,
    png,
    scan,
)
from tgvault.domain import Post
from tgvault.export.site import MediaMode, Order, SiteBuildReport, SiteError, SiteOptions, build_site
from tgvault.export.site.plan import plan_channel
from tgvault.export.site.writer import MANIFEST, SiteWriter
from tgvault.storage.media_store import LocalMediaStore

ALLOWED_SCHEMES = {"http", "https", "tg", "mailto"}


@dataclass
class Site:
    uow: UoW
    store: LocalMediaStore
    out: Path

    def build(self, *, full: bool = False, **changes: Any) -> SiteBuildReport:
        options = SiteOptions(out_dir=self.out, title="Test <archive>", posts_per_page=25, **changes)
        return build_site(self.uow, self.store, options, full=full)

    def page(self, path: str) -> str:
        return (self.out / path).read_text("utf-8")


@pytest.fixture
def site(unit_of_work: UoW, tmp_path: Path) -> Site:
    store = LocalMediaStore(tmp_path / "media")
    make_archive(unit_of_work, store)
    return Site(unit_of_work, store, tmp_path / "site")


def test_the_plan_places_a_reply_link_on_the_replied_posts_page_across_months(site: Site) -> None:
    """Post 12 (March) replies to post 2 (January): the link goes to January's page and the post's anchor."""
    site.build()
    with site.uow() as uow:
        plan = plan_channel(
            NEWS, uow.posts.outline(NEWS.id), SiteOptions(out_dir=site.out, posts_per_page=25)
        )
    assert ("c/1001/2024/01.html", "post-2") == plan.location(2)
    assert ("c/1001/2024/03.html", "post-12") == plan.location(12)
    assert 'class="reply" href="../2024/01.html#post-2"' in site.page("c/1001/2024/03.html")
    assert 'class="reply" href="../2024/01.html#post-2"' in site.page("c/1001/posts/12.html")
    # the private channel's reply to the public channel crosses channels
    assert 'class="reply" href="../../1001/2024/01.html#post-2"' in site.page("c/2002/2024/03.html")


def test_every_post_is_on_exactly_one_timeline_page_and_has_a_permalink(site: Site) -> None:
    site.build()
    with site.uow() as uow:
        ids = uow.posts.ids(NEWS.id, include_deleted=True)
    seen: dict[int, list[str]] = {}
    timeline = list((site.out / "c/1001/2024").glob("*.html"))
    for page in timeline:
        for tag, attrs in scan(page).tags:
            if tag == "article" and attrs.get("id", "").startswith("post-"):
                seen.setdefault(int(str(attrs["id"])[5:]), []).append(page.name)
            if tag == "span" and attrs.get("class") == "anchor":
                seen.setdefault(int(str(attrs["id"])[5:]), []).append(page.name)
    assert {i: 1 for i in ids} == {i: len(pages) for i, pages in seen.items()}
    assert all((site.out / f"c/1001/posts/{i}.html").is_file() for i in ids)
    assert ["01.html", "02.html", "03-page2.html", "03-page3.html", "03.html"] == sorted(
        p.name for p in timeline
    )


def test_every_relative_link_and_media_reference_resolves(site: Site) -> None:
    """A link checker over the whole output: files exist and fragments name an element of the target page."""
    site.build()
    ids_cache: dict[Path, set[str]] = {}
    broken = []
    for page in html_pages(site.out):
        for tag, attrs in scan(page).tags:
            for name in ("href", "src"):
                url = attrs.get(name)
                if not url or (tag == "form"):
                    continue
                target = local_target(site.out, page, url)
                if target is None:
                    continue
                path, fragment = target
                if not path.is_file():
                    broken.append(f"{page.relative_to(site.out)}: {url}")
                    continue
                if fragment and path.suffix == ".html":
                    if path not in ids_cache:
                        ids_cache[path] = scan(path).ids
                    if fragment not in ids_cache[path]:
                        broken.append(f"{page.relative_to(site.out)}: {url} (no #{fragment})")
    assert [] == broken


def test_hostile_text_names_titles_and_links_are_escaped_or_neutralised(site: Site) -> None:
    site.build()
    for page in html_pages(site.out):
        parsed = scan(page)
        for tag, attrs in parsed.tags:
            assert not any(name.startswith("on") for name in attrs), (page, tag, attrs)
            if tag == "script":
                assert attrs.get("src", "").endswith(
                    ("static/site.js", "static/search.js", "search/index.js")
                )
            if tag == "img":
                assert attrs.get("src") != "x"
            for name in ("href", "src", "action"):
                url = attrs.get(name) or ""
                scheme = url.split(":", 1)[0].lower() if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url) else ""
                assert scheme in ALLOWED_SCHEMES or scheme == "", (page, url)
    hostile_page = site.page("c/1001/posts/13.html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in hostile_page
    assert '<span class="unlinked">click here</span>' in hostile_page
    assert '<span class="unlinked">data here</span>' in hostile_page
    document_page = site.page("c/1001/posts/7.html")
    assert "../../etc/passwd&lt;script&gt;alert(1)&lt;/script&gt;.pdf" in document_page
    assert "<script>alert(1)" not in document_page
    poll_page = site.page("c/1001/posts/8.html")
    assert "Best &lt;b&gt;city&lt;/b&gt;?" in poll_page
    assert "&lt;img src=x onerror=alert(3)&gt;" in poll_page
    secret_home = site.page("c/2002/index.html")
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in secret_home
    assert "<script>alert(" not in site.page("index.html")
    assert "News 🇷🇺 &lt;b&gt;&amp;amp;" in site.page("index.html")
    # the stored file keeps its content-addressed name; the hostile display name is never a path
    assert not list(site.out.rglob("*passwd*"))


def test_month_grouping_and_dates_follow_the_configured_timezone(site: Site) -> None:
    """Post 6 was posted at 23:30 UTC on January 31: still January in UTC, already February 1 in Tokyo."""
    site.build(timezone="UTC")
    assert 'id="post-6"' in site.page("c/1001/2024/01.html")
    assert 'id="d-2024-01-31"' in site.page("c/1001/2024/01.html")
    site.build(timezone="Asia/Tokyo")
    january, february = site.page("c/1001/2024/01.html"), site.page("c/1001/2024/02.html")
    assert 'id="post-6"' not in january
    assert 'id="post-6"' in february
    assert 'id="d-2024-02-01"' in february
    assert '<time datetime="2024-02-01T08:30:00+09:00"' in february


def test_a_rebuild_after_one_new_post_writes_only_the_affected_pages(site: Site) -> None:
    first = site.build()
    assert first.written == first.pages > 100
    assert (0, 0) == (first.unchanged, first.removed)
    new_post = Post(channel_id=NEWS.id, message_id=500, date=at(3, 16, 20), text="A brand new post")
    with site.uow() as uow:
        uow.posts.upsert_many([new_post], at(3, 21))
        uow.commit()
    second = site.build()
    expected = {
        "c/1001/2024/03-page3.html",  # the month's last page, where the new post lands
        "c/1001/posts/500.html",  # its permalink
        "c/1001/index.html",  # latest posts and post count
        "c/1001/feed.atom",
        "c/1001/feed.rss",
        "c/1001/stats.html",
        "search/1001/2024-03.js",  # the month's list of indexed posts
        "search/t/1001/2024-03/31.js",  # the text block holding the new post (ids 496-511)
        "search/index.js",  # the search manifest: posts per month
        "index.html",  # the post count on the list of channels
        "c/1001/ledger/1.jsonl",  # the channel's ledger, with the new post's entry
    }
    written = set(second.written_paths)
    shards = {path for path in written if path.startswith("search/r/")}
    assert expected == written - shards  # no bucket of the search index: its recent shards
    assert 0 < len(shards) < 16  # only the recent shards of the new post's words (of 16)
    assert (len(written), 0) == (second.written, second.removed)
    assert first.pages + 2 + len(shards) == second.pages  # the permalink, a text block, the shards
    third = site.build()
    assert (0, 0, second.pages) == (third.written, third.removed, third.unchanged)


def test_a_refresh_that_rewrites_rows_without_changes_writes_no_page(site: Site) -> None:
    """Rows touched by a refresh get a new updated_at: their pages are rendered again but not written."""
    site.build()
    with site.uow() as uow:
        posts = [post for post in uow.posts.iter_channel(NEWS.id) if post.deleted_at is None]
        uow.posts.upsert_many(posts, datetime(2024, 4, 1, tzinfo=UTC))
        uow.commit()
    again = site.build()
    assert again.rendered > 100
    assert 0 == again.written


def test_an_edit_rewrites_the_post_and_the_replies_quoting_it(site: Site) -> None:
    site.build()
    with site.uow() as uow:
        post = uow.posts.get(NEWS.id, 2)
        assert post is not None
        uow.posts.upsert_many(
            [post.model_copy(update={"text": "Edited text about Kenya", "entities": ()})], at(3, 22)
        )
        uow.commit()
    report = site.build()
    written = set(report.written_paths)
    assert {"c/1001/2024/01.html", "c/1001/posts/2.html", "search/t/1001/2024-01/0.js"} <= written
    # replies quote the replied text, wherever they are
    assert {"c/1001/posts/12.html", "c/2002/posts/2.html", "c/2002/2024/03.html"} <= written
    assert "Edited text about Kenya" in site.page("c/2002/2024/03.html")
    assert "1 earlier version" in site.page("c/1001/posts/2.html")
    assert "c/1001/2024/02.html" not in written


def test_full_rewrites_everything_and_missing_pages_are_restored(site: Site) -> None:
    first = site.build()
    (site.out / "c/1001/posts/3.html").unlink()
    # an incremental build looks only at the pages the archive's changes reach
    assert (True, []) == (site.build().incremental, site.build().written_paths)
    full = site.build(full=True)
    assert first.pages == full.written
    assert (site.out / "c/1001/posts/3.html").is_file()


def test_pages_that_are_no_longer_planned_are_removed(site: Site) -> None:
    site.build()
    stray = site.out / "notes.txt"
    stray.write_text("mine")
    report = site.build(channel_ids=(NEWS.id,))
    assert report.removed > 0
    assert all(
        path.startswith(("c/2002/", "search/2002/", "search/t/2002/")) for path in report.removed_paths
    )
    assert not (site.out / "c/2002").exists()
    assert stray.read_text() == "mine"  # files the site did not write are left alone


def test_feeds_are_valid_xml_with_the_latest_posts_escaped(site: Site) -> None:
    site.build(base_url="https://archive.example.org/news", feed_size=5)
    atom = ET.parse(site.out / "c/1001/feed.atom").getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = atom.findall("a:entry", ns)
    assert 5 == len(entries)
    assert "News 🇷🇺 <b>&amp; — Test <archive>" == atom.findtext("a:title", namespaces=ns)
    links = [e.find("a:link", ns).get("href") for e in entries]  # type: ignore[union-attr]
    assert links[0] == "https://archive.example.org/news/c/1001/posts/159.html"
    rss = ET.parse(site.out / "c/1001/feed.rss").getroot()
    assert 5 == len(rss.findall("channel/item"))
    hostile = ET.parse(site.out / "c/2002/feed.atom").getroot()
    assert '<script>alert("title")</script> — Test <archive>' == hostile.findtext("a:title", namespaces=ns)


def test_feeds_without_a_base_url_link_to_telegram(site: Site) -> None:
    site.build()
    rss = ET.parse(site.out / "c/2002/feed.rss").getroot()
    assert ["https://t.me/c/2002/2", "https://t.me/c/2002/1"] == [
        i.findtext("link") for i in rss.iter("item")
    ]


def test_posts_show_their_state_edited_deleted_partial_and_their_telegram_link(site: Site) -> None:
    site.build()
    february = site.page("c/1001/2024/02.html")
    assert "Deleted from Telegram on" in february
    assert "Not fully understood" in february
    assert "unknown media MessageMediaFuture &lt;script&gt;" in february
    assert '<span class="edited"' in february
    assert "1 earlier version" in february
    assert "first version" in february
    assert 'href="https://t.me/tgvault_news/9"' in february
    assert 'href="https://t.me/c/2002/1"' in site.page("c/2002/2024/02.html")
    assert "Forwarded from <bdi>Somebody &lt;b&gt;bold&lt;/b&gt;</bdi>" in february
    assert "not downloaded yet" in february


def test_albums_render_as_one_grid_with_every_photo(site: Site) -> None:
    site.build()
    january = site.page("c/1001/2024/01.html")
    assert '<div class="grid grid-3">' in january
    assert 3 == january.count('data-lightbox="post-3"')
    assert 'id="post-4"' in january and 'id="post-5"' in january
    assert 3 == site.page("c/1001/posts/4.html").count('class="media photo')


def test_hashtags_get_an_index_and_pages_linked_from_the_text(site: Site) -> None:
    site.build()
    assert 'href="../tags/kenya.html"' in site.page("c/1001/posts/2.html")
    assert 'href="../tags/kenya.html"' in site.page("c/1001/2024/01.html")
    tag_page = site.page("c/1001/tags/kenya.html")
    assert 2 == tag_page.count('<li class="tag-post')
    assert "#<bdi>Kenya</bdi>" in site.page("c/1001/tags/index.html")


def test_the_statistics_page_draws_static_svg(site: Site) -> None:
    site.build()
    stats = site.page("c/1001/stats.html")
    assert 2 <= stats.count('<svg class="chart"')
    assert "<title>March 2024: 67 posts</title>" in stats
    assert "<script" not in stats.split("</head>", 1)[1]


def test_a_posts_page_draws_its_views_over_time_once_they_changed(site: Site) -> None:
    site.build()
    assert "Views over time" not in site.page("c/1001/posts/2.html")
    with site.uow() as uow:
        post = uow.posts.get(NEWS.id, 2)
        assert post is not None
        for day, views in ((2, 1500), (9, 4200)):
            uow.posts.upsert_many([post.model_copy(update={"views": views})], at(4, day))
        uow.commit()
    report = site.build()
    assert "c/1001/posts/2.html" in report.written_paths
    page = site.page("c/1001/posts/2.html")
    assert "Views over time" in page and '<polyline class="line"' in page
    assert "4,200 views</title>" in page and "1,500 views</title>" in page


def test_a_file_not_downloaded_shows_its_stored_thumbnail(site: Site) -> None:
    site.build()
    assert "media-thumb" not in site.page("c/1001/posts/11.html")
    thumb = site.store.put_bytes(png(64, 36, (10, 200, 90)), "image/png")
    with site.uow() as uow:
        uow.media.mark_thumbnail(NEWS.id, 11, sha256=thumb.sha256, path=thumb.path)
        uow.commit()
    report = site.build()
    assert "c/1001/posts/11.html" in report.written_paths
    page = site.page("c/1001/posts/11.html")
    src = re.search(r'<img class="media-thumb" src="([^"]+)"', page)
    assert src is not None and "not downloaded yet" in page
    assert (site.out / "c/1001/posts" / src.group(1)).resolve().read_bytes() == site.store.path_of(
        thumb.path
    ).read_bytes()


def test_search_text_blocks_hold_each_months_posts_and_the_manifest_lists_them(site: Site) -> None:
    site.build()
    texts = {}
    for block in (site.out / "search/t/1001/2024-03").glob("*.js"):
        payload = json.loads("[" + block.read_text("utf-8")[len("tgvaultSearch.text(") : -3] + "]")
        texts.update({row[0]: row[3] for row in payload[1]})
    assert SEARCH_WORD in texts[18]
    assert 67 == len(texts)
    manifest = (site.out / "search/index.js").read_text("utf-8")
    assert '"2024-03":67' in manifest
    assert "<script>" in manifest  # the hostile title as JSON data; the search page inserts text, never HTML


def test_media_is_hardlinked_by_default_and_copied_or_symlinked_on_request(
    site: Site, tmp_path: Path
) -> None:
    report = site.build()
    assert 6 == report.media_written  # 3 photos, a document, a sticker and the channel photo
    photo = next((site.out / "media").rglob("*.png"))
    assert photo.stat().st_nlink == 2
    again = site.build(full=True)
    assert (6, 0) == (again.media_written, again.media_unchanged)
    again = site.build()  # incremental: only the files of changed posts (none) and the channel photo
    assert (True, 0, 1) == (again.incremental, again.media_written, again.media_unchanged)
    copied = build_site(
        site.uow, site.store, SiteOptions(out_dir=tmp_path / "copy", media_mode=MediaMode.COPY)
    )
    assert 6 == copied.media_written
    assert all(p.stat().st_nlink == 1 for p in (tmp_path / "copy/media").rglob("*.png"))
    build_site(site.uow, site.store, SiteOptions(out_dir=tmp_path / "links", media_mode=MediaMode.SYMLINK))
    assert all(p.is_symlink() for p in (tmp_path / "links/media").rglob("*.png"))


def test_oldest_first_order_reverses_timelines_and_paging(site: Site) -> None:
    site.build(order=Order.OLDEST)
    january = site.page("c/1001/2024/01.html")
    assert january.index('id="post-1"') < january.index('id="post-6"')
    assert 'rel="next" href="02.html">Newer posts' in january
    site.build(order=Order.NEWEST)
    january = site.page("c/1001/2024/01.html")
    assert january.index('id="post-6"') < january.index('id="post-2"')


def test_user_templates_override_the_defaults_by_name(site: Site, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "tags.html").write_text(
        '{% extends "base.html" %}{% block body %}MY TAGS {{ tags|length }}{% endblock %}'
    )
    site.build(templates_dir=templates)
    assert "MY TAGS 1" in site.page("c/1001/tags/index.html")
    (templates / "tags.html").write_text("{% broken")
    with pytest.raises(SiteError, match=r"template tags\.html"):
        site.build(templates_dir=templates)


def test_options_are_checked() -> None:
    with pytest.raises(SiteError, match="timezone"):
        SiteOptions(out_dir=Path("x"), timezone="Mars/Olympus")
    with pytest.raises(SiteError, match="base_url"):
        SiteOptions(out_dir=Path("x"), base_url="javascript:alert(1)")
    with pytest.raises(SiteError, match="posts_per_page"):
        SiteOptions(out_dir=Path("x"), posts_per_page=0)


def test_the_writer_refuses_two_pages_on_one_path_and_paths_outside_the_site(tmp_path: Path) -> None:
    writer = SiteWriter(tmp_path, SiteBuildReport())
    writer.write("a/b.html", "one")
    with pytest.raises(SiteError, match="same path"):
        writer.write("a/b.html", "two")
    for bad in ("../x.html", "/etc/passwd", "a/../../x", MANIFEST, "a//b"):
        with pytest.raises(SiteError):
            writer.write(bad, "x")
    writer.finish()
    assert "one" == (tmp_path / "a/b.html").read_text()
    assert not list(tmp_path.rglob("*.tmp"))


def test_an_empty_archive_builds_an_index_and_a_search_page(unit_of_work: UoW, tmp_path: Path) -> None:
    report = build_site(unit_of_work, LocalMediaStore(tmp_path / "m"), SiteOptions(out_dir=tmp_path / "s"))
    assert {"index.html", "search.html", "search/index.js"} <= set(report.written_paths)
    assert "The archive has no channels yet." in (tmp_path / "s/index.html").read_text()


def test_the_secret_channel_has_no_public_link(site: Site) -> None:
    site.build()
    home = site.page("c/2002/index.html")
    assert "https://t.me/c/2002" in home
    assert SECRET.title not in home


def test_a_channel_without_posts_gets_its_pages(unit_of_work: UoW, tmp_path: Path) -> None:
    with unit_of_work() as uow:
        uow.channels.upsert(NEWS.model_copy(update={"id": 3003, "username": None}))
        uow.commit()
    report = build_site(unit_of_work, LocalMediaStore(tmp_path / "m"), SiteOptions(out_dir=tmp_path / "s"))
    assert {"c/3003/index.html", "c/3003/stats.html", "c/3003/feed.atom", "c/3003/feed.rss"} <= set(
        report.written_paths
    )
    assert "No posts archived yet." in (tmp_path / "s/c/3003/index.html").read_text()
    ET.parse(tmp_path / "s/c/3003/feed.atom")


def test_channel_pages_advertise_their_feeds(site: Site) -> None:
    site.build()
    head = site.page("c/1001/2024/01.html").split("</head>", 1)[0]
    assert '<link rel="alternate" type="application/atom+xml"' in head
    assert 'href="../feed.atom"' in head


def test_a_new_part_of_the_current_month_leaves_other_months_alone(site: Site) -> None:
    """The navigator links to each month's first part, so a growing month never rewrites the others."""
    site.build()
    new_posts = [
        Post(channel_id=NEWS.id, message_id=600 + i, date=at(3, 17, 8, i), text=f"Late March {i}")
        for i in range(12)
    ]
    with site.uow() as uow:
        uow.posts.upsert_many(new_posts, at(3, 21))
        uow.commit()
    report = site.build()
    timeline = {path for path in report.written_paths if path.startswith("c/1001/2024/")}
    assert {"c/1001/2024/03-page3.html", "c/1001/2024/03-page4.html"} <= timeline
    assert timeline <= {f"c/1001/2024/03{suffix}.html" for suffix in ("", "-page2", "-page3", "-page4")}
    assert 'href="03-page4.html">Part 4' in site.page("c/1001/2024/03.html")


def test_permalink_pages_from_frames_equal_a_full_rendering(site: Site, tmp_path: Path) -> None:
    """Permalinks are filled into a once-rendered frame; with user templates (no frames) the bytes are the same."""
    site.build(base_url="https://archive.example.org/news")
    pages = [page.relative_to(site.out).as_posix() for page in html_pages(site.out)]
    framed = {path: site.page(path) for path in pages if "/posts/" in path}
    templates = tmp_path / "same-templates"
    templates.mkdir()  # an empty user folder: the default theme, rendered page by page
    site.build(full=True, base_url="https://archive.example.org/news", templates_dir=templates)
    assert len(framed) > 10
    assert framed == {path: site.page(path) for path in framed}
