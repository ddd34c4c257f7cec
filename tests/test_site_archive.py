"""A small, hostile fixture archive for the site tests (helpers imported by the other test_site_* modules).

Two channels: a public one with every kind of post (albums, replies across months, polls, files, edits,
deletions, a post at 23:30 UTC on January 31, hostile text and names) and a private one whose title is
a script tag and which replies across channels.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tgvault.domain import (
    Channel,
    Contact,
    EntityKind,
    Forward,
    Location,
    MediaItem,
    MediaKind,
    MediaStatus,
    Poll,
    PollAnswer,
    Post,
    Reaction,
    ServiceAction,
    TextEntity,
    WebPagePreview,
)
from tgvault.storage.media_store import LocalMediaStore, StoredFile
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.text import utf16_len

UoW = Callable[[], UnitOfWork]

NEWS = Channel(
    id=1001,
    username="tgvault_news",
    title="News 🇷🇺 <b>&amp;",
    description="Daily news\n<script>alert('description')</script>",
    subscribers=53_000,
)
SECRET = Channel(id=2002, username=None, title='<script>alert("title")</script>', subscribers=12)
HOSTILE_FILE_NAME = "../../etc/passwd<script>alert(1)</script>.pdf"
HOSTILE_TEXT = (
    "<script>alert(1)</script><img src=x onerror=alert(2)> "
    "click here or data here \u202eevil\u202c zero\u200bwidth "
)
LONG_WORD = "A" * 10_000
FLAG_TEXT = "🇷🇺🇰🇪 The tour in Kenya was an important step. #Kenya"
SEARCH_WORD = "Tangerine"


def ent(kind: EntityKind, text: str, part: str, occurrence: int = 0, **extra: object) -> TextEntity:
    """An entity over the ``occurrence``-th appearance of ``part`` in ``text`` (offsets in UTF-16 units)."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(part, start + 1)
    return TextEntity(kind=kind, offset=utf16_len(text[:start]), length=utf16_len(part), **extra)


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid PNG of one colour."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def stored(item: StoredFile, kind: MediaKind, **extra: object) -> MediaItem:
    return MediaItem.model_validate(
        {"kind": kind, "status": MediaStatus.DOWNLOADED, "sha256": item.sha256, "path": item.path, **extra}
    )


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


def news_posts(store: LocalMediaStore) -> list[Post]:
    """Every kind of post, January to March 2024, plus 60 short March posts to make March long."""
    red, green, blue = (
        store.put_bytes(png(480, 320, c), "image/png")
        for c in ((214, 90, 90), (90, 170, 110), (80, 110, 210))
    )
    document = store.put_bytes(b"%PDF-1.4 fake report\n" * 64, "application/pdf")
    sticker = store.put_bytes(png(128, 128, (250, 200, 60)), "image/png")
    c = NEWS.id
    spoiler_text = "Spoiler: the answer is 42. Bold and italic text."
    code_text = "def f():\n    return 2\nquoted words\nafter the quote"
    hostile = HOSTILE_TEXT + LONG_WORD
    reply_text = "Replying to the January post about #kenya"
    posts = [
        Post(channel_id=c, message_id=1, date=at(1, 5, 10), service=ServiceAction(type="channel_create")),
        Post(
            channel_id=c,
            message_id=2,
            date=at(1, 10),
            text=FLAG_TEXT,
            entities=(
                ent(EntityKind.BOLD, FLAG_TEXT, "Kenya"),
                ent(EntityKind.ITALIC, FLAG_TEXT, "important"),
                ent(EntityKind.HASHTAG, FLAG_TEXT, "#Kenya"),
            ),
            views=12_345,
            reactions=(
                Reaction(emoji="👍", count=120),
                Reaction(emoji="❤", count=33),
                Reaction(paid=True, count=2),
            ),
        ),
        Post(
            channel_id=c,
            message_id=3,
            date=at(1, 20),
            text="Album caption",
            grouped_id=77,
            media=stored(red, MediaKind.PHOTO, width=480, height=320),
            views=900,
        ),
        Post(
            channel_id=c,
            message_id=4,
            date=at(1, 20),
            grouped_id=77,
            media=stored(green, MediaKind.PHOTO, width=480, height=320),
        ),
        Post(
            channel_id=c,
            message_id=5,
            date=at(1, 20),
            grouped_id=77,
            media=stored(blue, MediaKind.PHOTO, width=480, height=320),
        ),
        Post(
            channel_id=c, message_id=6, date=datetime(2024, 1, 31, 23, 30, tzinfo=UTC), text="Late night post"
        ),
        Post(
            channel_id=c,
            message_id=7,
            date=at(2, 10),
            text="Report attached",
            media=stored(
                document,
                MediaKind.DOCUMENT,
                file_name=HOSTILE_FILE_NAME,
                mime_type="application/pdf",
                size=1344,
            ),
        ),
        Post(
            channel_id=c,
            message_id=8,
            date=at(2, 11),
            poll=Poll(
                question="Best <b>city</b>?",
                answers=(
                    PollAnswer(text="Nairobi", voters=30, chosen=True),
                    PollAnswer(text="<img src=x onerror=alert(3)>", voters=10),
                ),
                total_voters=40,
            ),
            views=400,
        ),
        Post(
            channel_id=c,
            message_id=9,
            date=at(2, 12),
            edit_date=at(2, 13),
            text=code_text,
            entities=(
                ent(EntityKind.PRE, code_text, "def f():\n    return 2", language="python"),
                ent(EntityKind.BLOCKQUOTE, code_text, "quoted words"),
            ),
            web_page=WebPagePreview(
                url="https://example.org/a",
                site_name="Example",
                title="An example page",
                description="About things",
            ),
        ),
        Post(
            channel_id=c,
            message_id=10,
            date=at(2, 13),
            text="This post was deleted on Telegram",
            deleted_at=at(2, 20),
            location=Location(latitude=55.75, longitude=37.61, title="Red Square", address="Moscow"),
        ),
        Post(
            channel_id=c,
            message_id=11,
            date=at(2, 14),
            text="Partly understood",
            parse_error="unknown media MessageMediaFuture <script>",
            forward=Forward(from_name="Somebody <b>bold</b>"),
            media=MediaItem(kind=MediaKind.VIDEO, status=MediaStatus.PENDING, size=10_000_000),
        ),
        Post(
            channel_id=c,
            message_id=12,
            date=at(3, 1, 9),
            text=reply_text,
            entities=(ent(EntityKind.HASHTAG, reply_text, "#kenya"),),
            reply_to_message_id=2,
            author="Press office",
        ),
        Post(
            channel_id=c,
            message_id=13,
            date=at(3, 1, 10),
            text=hostile,
            entities=(
                ent(EntityKind.TEXT_LINK, hostile, "click here", url="javascript:alert(4)"),
                ent(
                    EntityKind.TEXT_LINK, hostile, "data here", url="data:text/html,<script>alert(5)</script>"
                ),
            ),
        ),
        Post(
            channel_id=c,
            message_id=14,
            date=at(3, 1, 11),
            text=spoiler_text,
            entities=(
                ent(EntityKind.SPOILER, spoiler_text, "the answer is 42"),
                ent(EntityKind.BOLD, spoiler_text, "Bold"),
                ent(EntityKind.ITALIC, spoiler_text, "italic"),
            ),
        ),
        Post(
            channel_id=c,
            message_id=15,
            date=at(3, 1, 12),
            media=stored(sticker, MediaKind.STICKER, sticker_emoji="😀", mime_type="image/png"),
        ),
        Post(
            channel_id=c,
            message_id=16,
            date=at(3, 1, 13),
            contact=Contact(first_name="Anna", last_name="<K>", phone_number="+100"),
        ),
        Post(
            channel_id=c,
            message_id=17,
            date=at(3, 1, 14),
            media=MediaItem(kind=MediaKind.VOICE, status=MediaStatus.FAILED, duration=7, size=3000),
        ),
        Post(
            channel_id=c, message_id=18, date=at(3, 1, 15), text=f"The {SEARCH_WORD} harvest report", views=77
        ),
    ]
    for number in range(60):
        posts.append(
            Post(
                channel_id=c,
                message_id=100 + number,
                date=at(3, 2 + number // 4, 8 + number % 4),
                text=f"Filler post {number}",
            )
        )
    return posts


def secret_posts() -> list[Post]:
    c = SECRET.id
    return [
        Post(channel_id=c, message_id=1, date=at(2, 1), text="Private hello", views=5),
        Post(
            channel_id=c,
            message_id=2,
            date=at(3, 5),
            text="Cross-channel reply",
            reply_to_message_id=2,
            reply_to_channel_id=NEWS.id,
        ),
    ]


def make_archive(uow_factory: UoW, store: LocalMediaStore) -> None:
    """Fill an empty archive with the fixture channels; post 9 gets an earlier revision."""
    avatar = store.put_bytes(png(96, 96, (40, 140, 220)), "image/png")
    news = NEWS.model_copy(update={"photo_sha256": avatar.sha256})
    posts = news_posts(store)
    first_version = posts[8].model_copy(
        update={"text": "def f():\n    return 1\nfirst version", "entities": ()}
    )
    with uow_factory() as uow:
        uow.channels.upsert(news, at(1, 1))
        uow.channels.upsert(SECRET, at(1, 1))
        uow.posts.upsert_many([first_version], at(2, 12, 13))
        uow.posts.upsert_many(posts, at(3, 20))
        uow.posts.upsert_many(secret_posts(), at(3, 20))
        uow.posts.mark_deleted(NEWS.id, [10], at(3, 20))
        uow.commit()


class PageScan(HTMLParser):
    """Every tag, attribute, id and text of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.ids: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.tags.append((tag, values))
        if values.get("id"):
            self.ids.add(str(values["id"]))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def scan(path: Path) -> PageScan:
    parser = PageScan()
    parser.feed(path.read_text("utf-8"))
    parser.close()
    return parser


def html_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def local_target(site: Path, page: Path, url: str) -> tuple[Path, str] | None:
    """The file and fragment a relative link points to, or None for an absolute URL."""
    split = urlsplit(url)
    if split.scheme or split.netloc:
        return None
    target = page if not split.path else (page.parent / unquote(split.path)).resolve()
    return target, split.fragment


def test_fixture_entities_cover_the_intended_words() -> None:
    """The helper that places entities counts UTF-16 units (a flag is 4), so tests mean what they say."""
    entity = ent(EntityKind.BOLD, FLAG_TEXT, "Kenya")
    assert (21, 5) == (entity.offset, entity.length)
