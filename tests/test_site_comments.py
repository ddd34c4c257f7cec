"""Discussion comments on the site: archived from the fake Telegram, built, checked as HTML and in Chromium
with axe-core (390 and 1280 px, light and dark), and absent for a channel with ``comments = false``; their
files shown like posts' (a photo inline, a file as a download under a passive name, one not downloaded
said so), and a file that arrives after the page was built shown by the next incremental build."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from telethon.tl import functions

from served_site import CHROMIUM, Browsing, served
from test_site_axe import AXE_DIR, AXE_TAGS, AXE_URL, FAILING_IMPACTS, FAILING_RULES
from tgvault.domain import MediaKind
from tgvault.export.site import SiteOptions, build_site
from tgvault.export.site.search.lookup import IndexReader
from tgvault.services.archiver import Archiver
from tgvault.services.plans import NO_MEDIA, ChannelPlan, CommentsPlan, MediaPolicy, RefreshWindow
from tgvault.sources.telegram import TelegramSource
from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.schema import upgrade
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing import FakeTelegram, add_post, document_media, fake_client, photo_media
from tgvault.testing.content.sample_files import aurora_picture

UoW = Callable[[], UnitOfWork]
GetFileRequest = functions.upload.GetFileRequest
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
FILES = MediaPolicy(kinds=frozenset({MediaKind.PHOTO, MediaKind.DOCUMENT}), max_size=10_000_000)
"""Comments' files downloaded here: photos (the default) and documents; a video is left."""


def _archive(root: Path) -> tuple[FakeTelegram, UoW, LocalMediaStore, dict[str, int]]:
    """A channel with a discussion: a deep thread, an edit, a deletion, hostile text, a photo comment."""
    world = FakeTelegram()
    channel = world.add_channel("threads", "Threads & Replies")
    start = world.now() - timedelta(days=30)
    for number in range(6):
        add_post(channel, f"post {number}", date=start + timedelta(hours=number), views=5, forwards=0)
    discussion = world.add_discussion_group(channel)
    ana = world.add_user("Ana", "Lima", username="ana_l")
    omar = world.add_user("عمر", "")
    ghost = world.add_user("", "")
    at = world.now() - timedelta(hours=1)  # inside the refresh window: the deletion is seen
    top = discussion.add_comment(6, ana, "First! honestly typed", date=at)
    answer = discussion.add_comment(6, omar, "Reply to Ana", date=at, reply_to=top.id)
    deeper = answer
    for level in range(5):
        deeper = discussion.add_comment(6, ana, f"level {level + 2}", date=at, reply_to=deeper.id)
    hostile = discussion.add_comment(6, ghost, HOSTILE, date=at)
    photo = discussion.add_comment(
        6, omar, "look", date=at, media=photo_media(discussion.group, w=640, h=400, data=aurora_picture(3))
    )
    page = document_media(
        discussion.group, "file", file_name="notes.html", mime_type="text/html", data=HOSTILE.encode()
    )
    html_file = discussion.add_comment(6, ana, "my notes", date=at, media=page)
    video = discussion.add_comment(6, ana, "a clip", date=at, media=document_media(discussion.group, "video"))
    doomed = discussion.add_comment(6, ana, "to be deleted", date=at)  # the word is in no other text
    discussion.add_comment(5, omar, "on another post", date=at)
    world.edit_message(discussion.group, top.id, "First! (edited) honestly typed")
    engine = create_archive_engine(f"sqlite:///{root / 'archive.db'}")
    upgrade(engine)
    factory = make_session_factory(engine)

    def uow() -> UnitOfWork:
        return UnitOfWork(factory)

    store = LocalMediaStore(root / "media")
    plan = ChannelPlan("@threads", media=NO_MEDIA, comments=CommentsPlan(media=FILES))

    async def sync() -> None:
        async with fake_client(world) as client:
            archiver = Archiver(TelegramSource(client, request_delay=0), uow, store, clock=world.now)
            await archiver.sync(plan)

    asyncio.run(sync())
    world.delete_messages(discussion.group, [doomed.id])
    asyncio.run(sync())
    ids = {"top": top.id, "answer": answer.id, "hostile": hostile.id, "photo": photo.id, "doomed": doomed.id}
    ids["html"], ids["video"] = html_file.id, video.id
    ids["deepest"], ids["channel"] = deeper.id, channel.id
    return world, uow, store, ids


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, int]]]:
    root = tmp_path_factory.mktemp("comments")
    _world, uow, store, ids = _archive(root)
    build_site(uow, store, SiteOptions(out_dir=root / "shown" / "site", title="Discussion test"))
    build_site(
        uow,
        store,
        SiteOptions(out_dir=root / "hidden" / "site", title="Discussion test", comments_hidden=("threads",)),
    )
    yield root, ids


def test_a_posts_page_shows_its_thread_and_its_card_the_count(site: tuple[Path, dict[str, int]]) -> None:
    root, ids = site
    page = (root / "shown/site/c" / str(ids["channel"]) / "posts/6.html").read_text(encoding="utf-8")
    assert '<h2 id="comments-title">11 comments</h2>' in page, "12 written, 1 deleted"
    assert 'class="comment depth-0" id="comment-{}"'.format(ids["top"]) in page
    assert 'class="comment depth-1" id="comment-{}"'.format(ids["answer"]) in page
    assert 'class="comment depth-4" id="comment-{}"'.format(ids["deepest"]) in page, "nesting stops at 4"
    assert f'In reply to <a href="#comment-{ids["deepest"] - 1}">' in page
    assert "<bdi>Ana Lima</bdi>" in page and "@<bdi>ana_l</bdi>" in page and "<bdi>عمر</bdi>" in page
    assert "Deleted account" in page, "a user without a name"
    assert 'title="Edited' in page and "First! (edited)" in page
    assert "is-deleted" in page and "deleted on Telegram" in page and "to be deleted" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert "on another post" not in page
    month = next((root / "shown/site/c" / str(ids["channel"])).glob("20*/*.html")).read_text(encoding="utf-8")
    assert 'class="comment-count" href="../posts/6.html#comments">11 comments</a>' in month
    assert 'href="../posts/5.html#comments">1 comment</a>' in month


def _comment(page: str, message_id: int) -> str:
    """The HTML of one comment of a post's page."""
    start = page.index(f'id="comment-{message_id}"')
    return page[start : page.index("</li>", start)]


def test_a_comments_files_are_shown_like_a_posts(site: tuple[Path, dict[str, int]]) -> None:
    root, ids = site
    folder = root / "shown/site"
    page = (folder / "c" / str(ids["channel"]) / "posts/6.html").read_text(encoding="utf-8")
    photo = _comment(page, ids["photo"])
    assert 'class="comment-media grid grid-1"' in photo and 'alt="Photo"' in photo
    assert 'width="640" height="400"' in photo, "the photo's dimensions: no layout shift"
    src = photo.split('<img src="../../../', 1)[1].split('"', 1)[0]
    assert src.startswith("media/") and src.endswith(".jpg") and (folder / src).is_file()
    html = _comment(page, ids["html"])
    href = html.split('href="../../../', 1)[1].split('"', 1)[0]
    assert href.endswith(".bin") and (folder / href).read_bytes() == HOSTILE.encode(), "published inert"
    assert 'download="notes.html" type="application/octet-stream"' in html
    video = _comment(page, ids["video"])
    assert "<video" not in video and 'class="media missing"' in video and "not archived" in video
    published = [p.suffix for p in (folder / "media").rglob("*") if p.is_file()]
    assert sorted(published) == [".bin", ".jpg"], "a comment's file a browser would run is never published"
    assert not (root / "hidden/site/media").exists(), "comments = false: their files are not published"


def test_a_comments_file_that_arrives_later_is_shown_by_the_next_incremental_build(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    world = FakeTelegram()
    channel = world.add_channel("late_files")
    add_post(channel, "a post", date=world.now() - timedelta(days=20), views=1, forwards=0)
    discussion = world.add_discussion_group(channel)
    ana = world.add_user("Ana", "Lima")
    photo = photo_media(discussion.group, w=640, h=400, data=aurora_picture(4))
    comment = discussion.add_comment(1, ana, "see this", date=world.now() - timedelta(days=10), media=photo)
    store = LocalMediaStore(tmp_path / "media")
    # nothing re-read on the second sync: only the file's arrival can change the post's page
    quiet = RefreshWindow(newest_posts=0, days=0)
    plan = ChannelPlan("@late_files", media=NO_MEDIA, refresh=quiet, comments=CommentsPlan())
    options = SiteOptions(out_dir=tmp_path / "site")

    def sync() -> None:
        async def go() -> None:
            async with fake_client(world) as client:
                source = TelegramSource(client, request_delay=0)
                await Archiver(source, unit_of_work, store, clock=world.now).sync(plan)

        asyncio.run(go())

    world.fail_next(GetFileRequest, "FILE_PARTS_INVALID", 400)  # the first download fails
    sync()
    build_site(unit_of_work, store, options)
    page = tmp_path / "site" / "c" / str(channel.id) / "posts" / "1.html"
    first = _comment(page.read_text(encoding="utf-8"), comment.id)
    assert 'class="media missing"' in first and "download failed" in first and "<img" not in first
    world.advance(60)  # the retry is due
    sync()
    report = build_site(unit_of_work, store, options)
    assert report.incremental, "an incremental build"
    second = _comment(page.read_text(encoding="utf-8"), comment.id)
    src = second.split('<img src="../../../', 1)[1].split('"', 1)[0]
    assert (tmp_path / "site" / src).read_bytes() == aurora_picture(4)


def test_comments_find_their_post_in_the_search(site: tuple[Path, dict[str, int]]) -> None:
    root, ids = site
    shown, hidden = IndexReader(root / "shown/site"), IndexReader(root / "hidden/site")
    assert [(ids["channel"], 6)] == shown.search("honestly typed")
    assert [(ids["channel"], 5)] == shown.search("another post")
    assert [] == shown.search("deleted"), "a deleted comment is not searchable"
    assert [] == hidden.search("honestly typed"), "comments = false: not searchable either"


def test_a_channel_with_comments_off_shows_nothing_and_says_nothing(
    site: tuple[Path, dict[str, int]],
) -> None:
    root, ids = site
    folder = root / "hidden/site/c" / str(ids["channel"])
    for page in folder.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "comment" not in text.lower(), page


sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="browser tests need Debian's Chromium at /usr/bin/chromium")
@pytest.mark.parametrize("width", [390, 1280])
def test_the_thread_reads_well_in_chromium_and_passes_axe(
    site: tuple[Path, dict[str, int]], width: int
) -> None:
    root, ids = site
    with served(root, sync_api) as browsing:
        browsing.injected[AXE_URL] = (AXE_DIR / "axe.min.js").read_text(encoding="utf-8")
        found: list[str] = []
        for theme in ("light", "dark"):
            context = browsing.context(viewport={"width": width, "height": 900}, color_scheme=theme)
            page = browsing.page(context)
            try:
                month = next((root / "shown/site/c" / str(ids["channel"])).glob("20*/*.html"))
                page.goto(f"{browsing.base}shown/site/{month.relative_to(root / 'shown/site').as_posix()}")
                page.click("a.comment-count >> nth=0")
                page.wait_for_load_state("load")
                assert page.url.endswith("#comments")
                assert 12 == page.locator("li.comment").count(), "the deleted one shown, marked"
                assert 1 == page.locator("li.comment.is-deleted").count()
                nested = page.locator(f"#comment-{ids['deepest']}").bounding_box()
                top = page.locator(f"#comment-{ids['top']}").bounding_box()
                assert nested is not None and top is not None and nested["x"] > top["x"], "replies indent"
                assert nested["x"] + nested["width"] <= width, "nothing overflows the screen"
                assert "<script>" in page.locator(f"#comment-{ids['hostile']} .text").inner_text()
                image = page.locator(f"#comment-{ids['photo']} img")
                image.scroll_into_view_if_needed()
                page.wait_for_function(
                    "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
                )
                shown = image.bounding_box()
                assert shown is not None and 0 < shown["width"] <= width and shown["height"] <= 360
                assert page.locator(f"#comment-{ids['html']} a.file.document").is_visible(), "a file: a link"
                assert page.locator(f"#comment-{ids['video']} .media.missing").is_visible(), "absent: said"
                found += _violations(browsing, page, f"{theme} {width}px")
            finally:
                context.close()
        assert [] == found
        assert [] == browsing.errors and [] == browsing.blocked and [] == browsing.dialogs


def _violations(browsing: Browsing, page: Any, where: str) -> list[str]:
    page.add_script_tag(url=browsing.base + AXE_URL)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    return [
        f"{where}: {v['id']} {v['help']} {v['nodes'][0]['target']}"
        for v in result["violations"]
        if v["impact"] in FAILING_IMPACTS or v["id"] in FAILING_RULES
    ]
