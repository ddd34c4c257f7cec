"""The post layout, measured in a real Chromium at a phone's and a desktop's width, with media and without.

One channel is archived twice: once with every photo downloaded, once with none (a web-source channel
before its files arrive, a ``--no-media`` backfill: photos pending without sizes, or skipped with them).
Its last month holds albums of two, three and four photos with captions, a single photo and a text
post; thirty earlier months make the month navigator long. For each copy, width and page the tests
measure what a reader sees:

- every bubble spans most of the column and its caption wraps into lines of many letters (an album used
  to push its bubble into the 40 px avatar column, one letter a line);
- every photo of an album, or its placeholder, has room;
- on a phone the posts come before the month navigator, on screen and in keyboard order; on a desktop the
  navigator stays beside them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from served_site import CHROMIUM, Browsing, build_archive_site, served
from test_site_archive import png, stored
from tgvault.domain import Channel, MediaItem, MediaKind, MediaStatus, Post
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="browser tests need Debian's Chromium at /usr/bin/chromium"
    ),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")

CHANNEL = Channel(id=3003, username="layout_check", title="Layout check", subscribers=1200)
CAPTION = (
    "A caption of an ordinary length: the photos were taken on the morning of the harvest festival, "
    "when the market opened early and the first buyers came from the villages along the river."
)
# first message id of each album -> photos in it
ALBUMS = {500: 2, 510: 3, 520: 4}
SINGLE_PHOTO = 530
TEXT_ONLY = 540
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
PAGES = ("c/3003/2024/06.html", "c/3003/index.html", "c/3003/posts/500.html")
PAGES_WITH_NAVIGATOR = PAGES[:2]


def _at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def _photo(store: LocalMediaStore, with_media: bool, number: int) -> MediaItem:
    """A downloaded photo, or one the archive does not have: pending without sizes (as a web-source
    channel records it) for even numbers, skipped with its sizes (a ``--no-media`` backfill) for odd."""
    if with_media:
        colour = (40 + number * 20 % 200, 120, 200 - number * 15 % 150)
        return stored(
            store.put_bytes(png(640, 480, colour), "image/png"), MediaKind.PHOTO, width=640, height=480
        )
    if number % 2 == 0:
        return MediaItem(kind=MediaKind.PHOTO, status=MediaStatus.PENDING)
    return MediaItem(kind=MediaKind.PHOTO, status=MediaStatus.SKIPPED, width=1280, height=960, size=210_000)


def layout_posts(store: LocalMediaStore, with_media: bool) -> list[Post]:
    """Thirty monthly notes from January 2022, then June 2024's albums, a photo and a text post."""
    c = CHANNEL.id
    posts = [
        Post(
            channel_id=c, message_id=10 + n, date=_at(2022 + n // 12, n % 12 + 1, 3), text=f"Monthly note {n}"
        )
        for n in range(29)
    ]
    for day, (first, count) in enumerate(ALBUMS.items(), start=2):
        for offset in range(count):
            posts.append(
                Post(
                    channel_id=c,
                    message_id=first + offset,
                    date=_at(2024, 6, day),
                    text=CAPTION if offset == 0 else "",
                    grouped_id=first,
                    media=_photo(store, with_media, first + offset),
                    views=300 + offset,
                )
            )
    posts.append(
        Post(
            channel_id=c,
            message_id=SINGLE_PHOTO,
            date=_at(2024, 6, 8),
            text=CAPTION,
            media=_photo(store, with_media, SINGLE_PHOTO),
        )
    )
    posts.append(Post(channel_id=c, message_id=TEXT_ONLY, date=_at(2024, 6, 9), text=CAPTION))
    return posts


def layout_archive(with_media: bool) -> Callable[[Callable[[], UnitOfWork], LocalMediaStore], None]:
    """A filler for :func:`served_site.build_archive_site`: the layout channel with or without files."""

    def fill(uow_factory: Callable[[], UnitOfWork], store: LocalMediaStore) -> None:
        with uow_factory() as uow:
            uow.channels.upsert(CHANNEL, _at(2022, 1, 1))
            uow.posts.upsert_many(layout_posts(store, with_media), _at(2024, 7, 1))
            uow.commit()

    return fill


@pytest.fixture(scope="module")
def browsing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browsing]:
    """Both copies of the channel, built side by side (``with/site/``, ``without/site/``), served together."""
    root = tmp_path_factory.mktemp("layout")
    for name, with_media in (("with", True), ("without", False)):
        (root / name).mkdir()
        build_archive_site(root / name, layout_archive(with_media), title="Layout", posts_per_page=25)
    with served(root, sync_api) as browsing:
        yield browsing


@pytest.fixture(params=["with", "without"], ids=["media-present", "media-absent"])
def copy(request: pytest.FixtureRequest) -> str:
    """The served folder of the copy with media, then of the one without."""
    return f"{request.param}/site"


def _open(browsing: Browsing, viewport: dict[str, int], url: str) -> tuple[Any, Any]:
    context = browsing.context(viewport=viewport)
    page = browsing.page(context)
    page.goto(browsing.base + url)
    page.wait_for_load_state("load")
    return context, page


_MEASURE_POSTS = """() => Array.from(document.querySelectorAll('.post:not(.service)')).map(post => {
  const bubble = post.querySelector('.bubble').getBoundingClientRect();
  const text = post.querySelector('.bubble > .text');
  const media = Array.from(post.querySelectorAll('.grid > .media')).map(m => m.getBoundingClientRect());
  let lines = 0, letters = 0;
  if (text) {
    lines = Math.round(text.getBoundingClientRect().height / parseFloat(getComputedStyle(text).lineHeight));
    letters = text.textContent.trim().length;
  }
  return {id: post.id, post: post.getBoundingClientRect().width, bubble: bubble.width, lines, letters,
          media: media.map(r => [Math.round(r.width), Math.round(r.height)])};
})"""


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
@pytest.mark.parametrize("path", PAGES)
def test_bubbles_fill_the_column_and_captions_wrap_into_words(
    browsing: Browsing, copy: str, viewport: dict[str, int], path: str
) -> None:
    """Each bubble is at least 3/4 of its post's width and a caption's lines average 15 letters or more."""
    context, page = _open(browsing, viewport, f"{copy}/{path}")
    posts = page.evaluate(_MEASURE_POSTS)
    context.close()
    assert posts, f"{copy}/{path} shows no posts"
    narrow = [p for p in posts if p["bubble"] < 0.75 * p["post"]]
    assert [] == narrow, f"bubbles narrower than 3/4 of the column at {viewport['width']}px"
    letter_a_line = [p for p in posts if p["lines"] and p["letters"] / p["lines"] < 15]
    assert [] == letter_a_line, f"captions wrapped into lines of a few letters at {viewport['width']}px"
    assert [] == browsing.errors
    assert [] == browsing.blocked


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_every_photo_of_an_album_has_room(browsing: Browsing, copy: str, viewport: dict[str, int]) -> None:
    """Each photo or placeholder of an album is at least a fifth of the post's width wide and 60 px high."""
    context, page = _open(browsing, viewport, f"{copy}/{PAGES[0]}")
    posts = {p["id"]: p for p in page.evaluate(_MEASURE_POSTS)}
    context.close()
    for first, count in ALBUMS.items():
        album = posts[f"post-{first}"]
        assert count == len(album["media"]), album
        cramped = [size for size in album["media"] if size[0] < album["post"] / 5 or size[1] < 60]
        assert [] == cramped, f"album {first} at {viewport['width']}px: {album}"


_ORDER = """() => {
  const post = document.querySelector('main .post');
  const nav = document.querySelector('.navigator');
  return {post: post.getBoundingClientRect().top + scrollY, nav: nav.getBoundingClientRect().top + scrollY,
          postFirst: Boolean(post.compareDocumentPosition(nav) & Node.DOCUMENT_POSITION_FOLLOWING)};
}"""


@pytest.mark.parametrize("path", PAGES_WITH_NAVIGATOR)
def test_on_a_phone_the_posts_come_before_the_month_navigator(
    browsing: Browsing, copy: str, path: str
) -> None:
    """At 390 px the first post starts on the first screen, above the navigator and before it in the page."""
    context, page = _open(browsing, PHONE, f"{copy}/{path}")
    order = page.evaluate(_ORDER)
    context.close()
    assert order["post"] < PHONE["height"], order
    assert order["post"] < order["nav"], order
    assert order["postFirst"], order


@pytest.mark.parametrize("path", PAGES_WITH_NAVIGATOR)
def test_on_a_desktop_the_month_navigator_stays_beside_the_posts(browsing: Browsing, path: str) -> None:
    """At 1280 px the navigator is in the left column, starting on the first screen."""
    context, page = _open(browsing, DESKTOP, f"without/site/{path}")
    nav = page.eval_on_selector(".navigator", "e => e.getBoundingClientRect().toJSON()")
    main = page.eval_on_selector("main", "e => e.getBoundingClientRect().toJSON()")
    context.close()
    assert nav["right"] <= main["left"], (nav, main)
    assert nav["top"] < DESKTOP["height"], nav


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
@pytest.mark.parametrize("path", PAGES_WITH_NAVIGATOR)
def test_the_keyboard_reaches_the_posts_before_the_month_navigator(
    browsing: Browsing, viewport: dict[str, int], path: str
) -> None:
    """Pressing Tab from the top of the page reaches a post's link before any link of the navigator."""
    context, page = _open(browsing, viewport, f"without/site/{path}")
    reached = ""
    for _ in range(80):
        page.keyboard.press("Tab")
        reached = page.evaluate(
            "() => document.activeElement.closest('.post') ? 'post'"
            " : document.activeElement.closest('.navigator') ? 'navigator' : ''"
        )
        if reached:
            break
    context.close()
    assert "post" == reached
