"""Timeline pages whose cards did not change get a new frame around the cards already written: a new
part of a month changes every page's part navigation, and those pages are rewritten without reading
their posts or rendering their cards, byte for byte as a build from scratch writes them."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from sqlalchemy import text as sql_text

from test_site_archive import NEWS, UoW
from test_site_incremental import Sites, assert_same_site
from tgvault.domain import Post
from tgvault.export.site import SiteOptions
from tgvault.export.site.options import Order
from tgvault.export.site.render import Renderer
from tgvault.storage.media_store import LocalMediaStore

START = datetime(2024, 1, 1, tzinfo=UTC)
OLD_PAGE = "c/1001/2024/01.html"  # the month's first part: its oldest posts, ids 1-10


def _fill(unit_of_work: UoW) -> None:
    """300 posts of January, an hour apart: 30 parts of 10 posts."""
    with unit_of_work() as uow:
        uow.channels.upsert(NEWS, START)
        uow.posts.upsert_many(
            [
                Post(channel_id=NEWS.id, message_id=i, date=START + timedelta(hours=i), text=f"post {i}")
                for i in range(1, 301)
            ],
            START,
        )
        uow.commit()


def _add_posts(unit_of_work: UoW, first: int, count: int) -> None:
    """``count`` posts more at the end of January (a new part of the month, on a new day)."""
    later = datetime(2024, 1, 20, 12, tzinfo=UTC)
    with unit_of_work() as uow:
        uow.posts.upsert_many(
            [
                Post(channel_id=NEWS.id, message_id=i, date=later + timedelta(minutes=i), text=f"new {i}")
                for i in range(first, first + count)
            ],
            START + timedelta(days=30),
        )
        uow.commit()


def _rewrite_text_behind_the_stamp(unit_of_work: UoW, message_id: int, text: str) -> None:
    """Change a post's text in the archive without moving its stamp: a page that renders its card
    shows the new text, a page whose cards are taken as written keeps the old one."""
    with unit_of_work() as uow:
        session = uow._session
        assert session is not None
        session.execute(
            sql_text("UPDATE posts SET text = :text WHERE channel_id = :channel AND message_id = :id"),
            {"text": text, "channel": NEWS.id, "id": message_id},
        )
        uow.commit()


def _timeline_pages(site: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((site / "c/1001/2024").glob("*.html"))}


def test_a_new_part_of_a_month_reframes_its_other_pages_without_rendering_their_cards(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    store = LocalMediaStore(tmp_path / "media")
    _fill(unit_of_work)
    sites = Sites(unit_of_work, store, tmp_path, per_page=10)
    sites.build("site")
    site = tmp_path / "site"
    assert "post 5<" in (site / OLD_PAGE).read_text()
    assert ", part 1 of 30" in (site / OLD_PAGE).read_text()
    _rewrite_text_behind_the_stamp(unit_of_work, 5, "rewritten behind the stamp")
    _add_posts(unit_of_work, 301, 20)
    report = sites.build("site")
    assert report.incremental
    old = (site / OLD_PAGE).read_text()
    # its frame is new: two more parts of the month, a new day
    assert ", part 1 of 32" in old
    assert 'href="01-page32.html#d-2024-01-20"' in old
    # its cards are those written before: post 5's card was not rendered again
    assert "post 5<" in old
    assert "rewritten behind the stamp" not in old
    # a build from scratch of the archive as it was (post 5's old text) writes the same timeline pages
    # (the month's search shard read post 5 again: the search index is left out here)
    _rewrite_text_behind_the_stamp(unit_of_work, 5, "post 5")
    sites.fresh()
    assert _timeline_pages(site) == _timeline_pages(tmp_path / "fresh")
    assert len(_timeline_pages(site)) == 32
    # and after a full build, which renders every card, the text behind the stamp shows
    _rewrite_text_behind_the_stamp(unit_of_work, 5, "rewritten behind the stamp")
    sites.build("site", full=True)
    assert "rewritten behind the stamp" in (site / OLD_PAGE).read_text()


def test_a_page_whose_file_differs_from_what_was_written_is_rendered_whole(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    store = LocalMediaStore(tmp_path / "media")
    _fill(unit_of_work)
    sites = Sites(unit_of_work, store, tmp_path, per_page=10)
    sites.build("site")
    site = tmp_path / "site"
    page = site / OLD_PAGE
    page.write_text(page.read_text().replace("post 5<", "post five, edited on disk<"))
    other = site / "c/1001/2024/01-page2.html"
    other.write_bytes(other.read_bytes()[:-300])  # cut short: the cards' span runs past its end
    _add_posts(unit_of_work, 301, 20)
    assert sites.build("site").incremental
    assert "edited on disk" not in page.read_text()
    sites.fresh()
    assert_same_site(site, tmp_path / "fresh")


def test_a_theme_that_reads_the_items_of_a_timeline_page_gets_whole_pages(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    """A theme whose timeline shows something of ``items`` besides ``history`` (here a count): its pages
    are rendered whole, so what it shows of the items is always right."""
    theme = tmp_path / "theme"
    theme.mkdir()
    source = resources.files("tgvault.export.site").joinpath("templates/timeline.html").read_text()
    assert "{{ history }}" in source
    shown = source.replace("{{ history }}", '{{ history }}<p class="count">{{ items|length }} posts here</p>')
    (theme / "timeline.html").write_text(shown)
    store = LocalMediaStore(tmp_path / "media")
    _fill(unit_of_work)
    sites = Sites(unit_of_work, store, tmp_path, per_page=10)
    sites.build("site", templates_dir=theme)
    site = tmp_path / "site"
    assert "10 posts here" in (site / OLD_PAGE).read_text()
    _rewrite_text_behind_the_stamp(unit_of_work, 5, "rewritten behind the stamp")
    _add_posts(unit_of_work, 301, 20)
    assert sites.build("site", templates_dir=theme).incremental
    old = (site / OLD_PAGE).read_text()
    assert "10 posts here" in old
    assert ", part 1 of 32" in old
    assert "rewritten behind the stamp" in old  # rendered whole, its cards too
    shutil.rmtree(tmp_path / "fresh", ignore_errors=True)
    sites.build("fresh", full=True, templates_dir=theme)
    # (post 5's permalink keeps its text: its stamp did not move; the timeline pages are all rendered)
    assert _timeline_pages(site) == _timeline_pages(tmp_path / "fresh")


def test_the_bundled_theme_shows_a_timeline_pages_cards_through_history_only(tmp_path: Path) -> None:
    """What lets a build reframe pages without reading the bundled theme's templates each time."""
    renderer = Renderer(SiteOptions(out_dir=tmp_path / "site"))
    assert renderer.reads_variable("timeline.html", "history")
    assert not renderer.reads_variable("timeline.html", "items")
    assert renderer.reads_variable("channel.html", "items")


def test_timeline_pages_filled_into_frames_are_those_the_templates_render_one_by_one(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    """The bundled theme's timeline pages are filled into a frame rendered once a month and shape
    (:mod:`tgvault.export.site.frame`): every page, with and without neighbours, parts and a canonical
    address, in both orders, is byte for byte the page the same templates render for it alone (a copy
    of the bundled templates given as the user's own, which is never framed)."""
    theme = tmp_path / "theme"
    with resources.as_file(resources.files("tgvault.export.site").joinpath("templates")) as bundled:
        shutil.copytree(bundled, theme)
    store = LocalMediaStore(tmp_path / "media")
    _fill(unit_of_work)
    with unit_of_work() as uow:  # a month of one page besides the long one
        uow.posts.upsert_many(
            [Post(channel_id=NEWS.id, message_id=400, date=datetime(2024, 3, 2, tzinfo=UTC), text="march")],
            START,
        )
        uow.commit()
    for order in (Order.NEWEST, Order.OLDEST):
        sites = Sites(unit_of_work, store, tmp_path / order.value, per_page=10, order=order)
        sites.build("framed", full=True, base_url="https://archive.example.org/x")
        sites.build("alone", full=True, base_url="https://archive.example.org/x", templates_dir=theme)
        framed, alone = tmp_path / order.value / "framed", tmp_path / order.value / "alone"
        pages = {
            str(path.relative_to(framed)): path.read_bytes()
            for folder in ("c/1001/2024",)
            for path in sorted((framed / folder).glob("*.html"))
        }
        assert len(pages) == 31  # 30 parts of January, March
        assert {path: (alone / path).read_bytes() for path in pages} == pages
        assert (
            b", part 1 of 30" in pages["c/1001/2024/01.html"]
            or b", part 30 of 30" in pages["c/1001/2024/01.html"]
        )
