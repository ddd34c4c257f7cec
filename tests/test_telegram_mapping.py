"""Telethon TL objects → domain records: every field, every kind, odd shapes, and real posts.

All inputs are real Telethon TL objects (``telethon.tl.types``), either built here or rebuilt from real
``Message.to_dict()`` output saved in ``tests/fixtures/telethon_messages.jsonl``.
"""

from __future__ import annotations

import base64
import inspect
import json
import math
import typing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from telethon.extensions import BinaryReader
from telethon.tl import alltlobjects, types
from telethon.tl.custom.message import Message as CustomMessage
from telethon.tl.tlobject import TLObject

from tgvault.domain import (
    Channel,
    ChannelKind,
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
from tgvault.sources.telegram import (
    MISSING_DATE,
    MappingError,
    channel_to_record,
    message_to_post,
    raw_to_json_safe,
    service_action_type,
    tl_to_raw,
)
from tgvault.testing import FakeTelegram, build_realistic_channel
from tgvault.text import utf16_slice

CHANNEL_ID = 1508897975
NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
FIXTURES = Path(__file__).parent / "fixtures"


# ---- builders ------------------------------------------------------------------------------------


def make_message(**fields: Any) -> Any:
    """A real ``types.Message`` posted in the test channel; ``fields`` override the defaults."""
    defaults: dict[str, Any] = {
        "id": 100,
        "peer_id": types.PeerChannel(CHANNEL_ID),
        "date": NOW,
        "post": True,
    }
    return types.Message(**{**defaults, "message": "", **fields})


def make_service(action: Any, **fields: Any) -> Any:
    """A real ``types.MessageService`` with ``action`` in the test channel."""
    defaults: dict[str, Any] = {
        "id": 200,
        "peer_id": types.PeerChannel(CHANNEL_ID),
        "date": NOW,
        "post": True,
    }
    return types.MessageService(**{**defaults, "action": action, **fields})


def mapped(message: Any) -> Post:
    """Map ``message`` in the test channel, asserting it is a post."""
    post = message_to_post(message, CHANNEL_ID)
    assert post is not None
    return post


def make_photo(photo_id: int = 555, sizes: list[Any] | None = None) -> Any:
    if sizes is None:
        sizes = [
            types.PhotoStrippedSize(type="i", bytes=b"\x01\x28\x1c"),
            types.PhotoSize(type="m", w=224, h=320, size=34800),
            types.PhotoSize(type="x", w=560, h=800, size=160119),
            types.PhotoSizeProgressive(type="y", w=896, h=1280, sizes=[20121, 61384, 139891, 229324, 302629]),
        ]
    return types.Photo(
        id=photo_id,
        access_hash=1,
        file_reference=b"\x00ref\xff",
        date=NOW,
        sizes=sizes,
        dc_id=2,
        video_sizes=[],
    )


def make_document(
    attributes: list[Any], mime_type: str = "application/octet-stream", size: int = 1234
) -> Any:
    return types.Document(
        id=777,
        access_hash=2,
        file_reference=b"\x01\x02",
        date=NOW,
        mime_type=mime_type,
        size=size,
        dc_id=2,
        attributes=attributes,
        thumbs=[],
        video_thumbs=[],
    )


def text_with_entities(text: str) -> Any:
    return types.TextWithEntities(text=text, entities=[])


# ---- rebuilding TL from dicts --------------------------------------------------------------------

_BY_NAME: dict[str, type] = {}
for _cls in alltlobjects.tlobjects.values():
    _BY_NAME.setdefault(_cls.__name__, _cls)


def tl_class(name: str) -> Any:
    """The TL class called ``name``: top-level ``types`` first (patched Message classes), then any."""
    cls = getattr(types, name, None)
    return cls if isinstance(cls, type) else _BY_NAME[name]


def _annotation_mentions(annotation: Any, wanted: type) -> bool:
    if annotation is wanted:
        return True
    return any(_annotation_mentions(arg, wanted) for arg in typing.get_args(annotation))


def tl_from_dict(value: Any, annotation: Any = None) -> Any:
    """Rebuild TL objects from ``to_dict()``-shaped data, as saved in JSON.

    Class names come from ``"_"``. Parameters annotated as bytes accept base64 strings (how the real dumps
    store them) or ``{"_bytes": ...}`` (how ``Post.raw`` stores them); parameters annotated as datetimes
    accept ISO strings, naive ones being UTC. Keys this layer does not know are dropped, and required
    parameters the dump lacks (added by later layers) are passed as ``None``.
    """
    if isinstance(value, list):
        return [tl_from_dict(item, annotation) for item in value]
    if isinstance(value, dict):
        if set(value) == {"_bytes"}:
            return base64.b64decode(value["_bytes"])
        cls = tl_class(value["_"])
        parameters = inspect.signature(cls.__init__).parameters
        kwargs = {
            key: tl_from_dict(item, parameters[key].annotation)
            for key, item in value.items()
            if key != "_" and key in parameters
        }
        for name, parameter in parameters.items():
            fillable = parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
            if (
                fillable
                and name != "self"
                and parameter.default is inspect.Parameter.empty
                and name not in kwargs
            ):
                kwargs[name] = None
        return cls(**kwargs)
    if isinstance(value, str) and annotation is not None:
        if _annotation_mentions(annotation, bytes):
            return base64.b64decode(value)
        if _annotation_mentions(annotation, datetime):
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value


def load_fixture_messages() -> list[dict[str, Any]]:
    lines = (FIXTURES / "telethon_messages.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def fixture_message(message_id: int) -> dict[str, Any]:
    return next(m for m in load_fixture_messages() if m["id"] == message_id)


def fixture_date(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


# ---- plain fields --------------------------------------------------------------------------------


def test_basic_fields_are_copied() -> None:
    """id, raw text (not markdown), author, album id, counters and the pinned flag are copied as they are."""
    message = make_message(
        id=42,
        message="**not bold** __raw__ <b>",
        post_author="Editor ✍️",
        grouped_id=13960000000000001,
        views=1353,
        forwards=4,
        replies=types.MessageReplies(replies=16, replies_pts=1, comments=True),
        pinned=True,
    )
    post = mapped(message)
    expected = (CHANNEL_ID, 42, "**not bold** __raw__ <b>", "Editor ✍️", 13960000000000001, 1353, 4, 16, True)
    actual = (
        post.channel_id,
        post.message_id,
        post.text,
        post.author,
        post.grouped_id,
        post.views,
        post.forwards,
        post.replies,
        post.pinned,
    )
    assert expected == actual
    assert post.parse_error is None


def test_dates_become_utc_aware() -> None:
    """A date in another offset is converted to UTC; a naive date is taken as UTC."""
    plus_three = timezone(timedelta(hours=3))
    message = make_message(
        date=datetime(2025, 1, 1, 3, 0, tzinfo=plus_three), edit_date=datetime(2025, 1, 1, 1, 30)
    )
    post = mapped(message)
    expected = (datetime(2025, 1, 1, 0, 0, tzinfo=UTC), datetime(2025, 1, 1, 1, 30, tzinfo=UTC))
    assert expected == (post.date, post.edit_date)
    assert UTC == post.date.tzinfo


def test_missing_optional_fields_give_defaults() -> None:
    """A bare message maps to empty text and no attachments, without a parse error."""
    post = mapped(make_message(message=None))
    expected = Post(channel_id=CHANNEL_ID, message_id=100, date=NOW, raw=post.raw)
    assert expected == post


def test_album_members_share_grouped_id() -> None:
    """Messages of one album keep the same grouped_id and their own photos."""
    album = [
        make_message(id=10, grouped_id=99, media=types.MessageMediaPhoto(photo=make_photo(1))),
        make_message(
            id=11, grouped_id=99, message="caption", media=types.MessageMediaPhoto(photo=make_photo(2))
        ),
    ]
    posts = [mapped(m) for m in album]
    expected = [(10, 99, 1, ""), (11, 99, 2, "caption")]
    assert expected == [(p.message_id, p.grouped_id, p.media and p.media.telegram_id, p.text) for p in posts]


# ---- entities ------------------------------------------------------------------------------------

ENTITY_CASES = [
    (types.MessageEntityBold(0, 2), TextEntity(kind=EntityKind.BOLD, offset=0, length=2)),
    (types.MessageEntityItalic(1, 2), TextEntity(kind=EntityKind.ITALIC, offset=1, length=2)),
    (types.MessageEntityUnderline(2, 2), TextEntity(kind=EntityKind.UNDERLINE, offset=2, length=2)),
    (types.MessageEntityStrike(3, 2), TextEntity(kind=EntityKind.STRIKETHROUGH, offset=3, length=2)),
    (types.MessageEntitySpoiler(4, 2), TextEntity(kind=EntityKind.SPOILER, offset=4, length=2)),
    (types.MessageEntityCode(5, 2), TextEntity(kind=EntityKind.CODE, offset=5, length=2)),
    (
        types.MessageEntityPre(6, 2, language="python"),
        TextEntity(kind=EntityKind.PRE, offset=6, length=2, language="python"),
    ),
    (types.MessageEntityPre(6, 2, language=""), TextEntity(kind=EntityKind.PRE, offset=6, length=2)),
    (
        types.MessageEntityBlockquote(7, 2, collapsed=True),
        TextEntity(kind=EntityKind.BLOCKQUOTE, offset=7, length=2, collapsed=True),
    ),
    (types.MessageEntityBlockquote(7, 2), TextEntity(kind=EntityKind.BLOCKQUOTE, offset=7, length=2)),
    (types.MessageEntityUrl(8, 2), TextEntity(kind=EntityKind.URL, offset=8, length=2)),
    (
        types.MessageEntityTextUrl(9, 2, url="https://example.org/?q=1"),
        TextEntity(kind=EntityKind.TEXT_LINK, offset=9, length=2, url="https://example.org/?q=1"),
    ),
    (types.MessageEntityMention(10, 2), TextEntity(kind=EntityKind.MENTION, offset=10, length=2)),
    (
        types.MessageEntityMentionName(11, 2, user_id=4242),
        TextEntity(kind=EntityKind.MENTION_NAME, offset=11, length=2, user_id=4242),
    ),
    (
        types.InputMessageEntityMentionName(12, 2, user_id=types.InputUser(user_id=4343, access_hash=9)),
        TextEntity(kind=EntityKind.MENTION_NAME, offset=12, length=2, user_id=4343),
    ),
    (
        types.InputMessageEntityMentionName(12, 2, user_id=types.InputUserSelf()),
        TextEntity(kind=EntityKind.MENTION_NAME, offset=12, length=2),
    ),
    (types.MessageEntityHashtag(13, 2), TextEntity(kind=EntityKind.HASHTAG, offset=13, length=2)),
    (types.MessageEntityCashtag(14, 2), TextEntity(kind=EntityKind.CASHTAG, offset=14, length=2)),
    (types.MessageEntityEmail(15, 2), TextEntity(kind=EntityKind.EMAIL, offset=15, length=2)),
    (types.MessageEntityPhone(16, 2), TextEntity(kind=EntityKind.PHONE, offset=16, length=2)),
    (types.MessageEntityBotCommand(17, 2), TextEntity(kind=EntityKind.BOT_COMMAND, offset=17, length=2)),
    (types.MessageEntityBankCard(18, 2), TextEntity(kind=EntityKind.BANK_CARD, offset=18, length=2)),
    (
        types.MessageEntityCustomEmoji(19, 2, document_id=5368324170671202286),
        TextEntity(kind=EntityKind.CUSTOM_EMOJI, offset=19, length=2, document_id=5368324170671202286),
    ),
    (types.MessageEntityUnknown(20, 2), TextEntity(kind=EntityKind.UNKNOWN, offset=20, length=2)),
]


@pytest.mark.parametrize(("tl_entity", "expected"), ENTITY_CASES, ids=lambda v: type(v).__name__)
def test_each_entity_kind_maps(tl_entity: Any, expected: TextEntity) -> None:
    """Every entity class maps to its kind with its extra (url, language, user, emoji, collapsed)."""
    post = mapped(make_message(message="x" * 30, entities=[tl_entity]))
    assert (expected,) == post.entities
    assert post.parse_error is None


def _dummy_argument(parameter: inspect.Parameter) -> Any:
    annotation = str(parameter.annotation)
    if parameter.name in ("offset", "length"):
        return 1
    if "InputUser" in annotation:
        return types.InputUser(user_id=1, access_hash=0)
    if "datetime" in annotation:
        return NOW
    if "str" in annotation:
        return "x"
    if "int" in annotation:
        return 1
    return None


def test_every_entity_class_of_this_layer_maps_without_error() -> None:
    """Reflection over telethon.tl.types: every MessageEntity* class is understood (a Telethon upgrade
    adding one makes this fail, so the new kind gets a decision)."""
    names = sorted(
        name
        for name in dir(types)
        if name.startswith(("MessageEntity", "InputMessageEntity")) and isinstance(getattr(types, name), type)
    )
    entities = []
    for name in names:
        cls = getattr(types, name)
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        entities.append(cls(**{p.name: _dummy_argument(p) for p in parameters}))
    post = mapped(make_message(message="abc", entities=entities))
    assert post.parse_error is None
    assert len(names) == len(post.entities)


def test_entity_offsets_stay_in_utf16_units() -> None:
    """Offsets are not converted: after 🇷🇺 (4 units) and a ZWJ family (11 units) they still select the
    right words through tgvault.text."""
    text = "🇷🇺 👨‍👩‍👧‍👦 Привет @tgvault"
    message = make_message(
        message=text, entities=[types.MessageEntityBold(17, 6), types.MessageEntityMention(24, 8)]
    )
    post = mapped(message)
    expected = [(EntityKind.BOLD, 17, 6, "Привет"), (EntityKind.MENTION, 24, 8, "@tgvault")]
    assert expected == [
        (e.kind, e.offset, e.length, utf16_slice(post.text, e.offset, e.length)) for e in post.entities
    ]


def test_broken_entity_is_skipped_and_the_others_kept() -> None:
    """A non-entity object inside the entity list is reported; valid entities and the text survive."""
    message = make_message(message="hello", entities=[types.MessageEntityBold(0, 5), "garbage"])
    post = mapped(message)
    assert (TextEntity(kind=EntityKind.BOLD, offset=0, length=5),) == post.entities
    assert "hello" == post.text
    assert post.parse_error is not None
    assert post.parse_error.startswith("entities: ")


# ---- media: photos -------------------------------------------------------------------------------


def test_photo_takes_the_largest_size_including_progressive() -> None:
    """The largest size wins; for PhotoSizeProgressive its byte count is the last (largest) scan."""
    post = mapped(make_message(media=types.MessageMediaPhoto(photo=make_photo(555), spoiler=True)))
    expected = MediaItem(
        kind=MediaKind.PHOTO,
        telegram_id=555,
        mime_type="image/jpeg",
        size=302629,
        width=896,
        height=1280,
        spoiler=True,
    )
    assert expected == post.media


def test_photo_prefers_the_largest_area_over_list_order() -> None:
    """A big PhotoSize listed before a smaller progressive one is still chosen; cached sizes count too."""
    sizes = [
        types.PhotoSize(type="y", w=1280, h=1280, size=400000),
        types.PhotoSizeProgressive(type="x", w=800, h=800, sizes=[1000, 9000]),
        types.PhotoCachedSize(type="s", w=90, h=90, bytes=b"\xff" * 10),
        types.PhotoPathSize(type="j", bytes=b"\x00"),
        types.PhotoSizeEmpty(type="z"),
    ]
    post = mapped(make_message(media=types.MessageMediaPhoto(photo=make_photo(1, sizes))))
    assert post.media is not None
    assert (1280, 1280, 400000) == (post.media.width, post.media.height, post.media.size)


def test_expired_photo_is_recorded_as_skipped() -> None:
    """A self-destructed photo (PhotoEmpty) is kept as a skipped photo, not an error."""
    post = mapped(make_message(media=types.MessageMediaPhoto(photo=types.PhotoEmpty(id=9))))
    assert post.media is not None
    assert (MediaKind.PHOTO, 9, MediaStatus.SKIPPED) == (
        post.media.kind,
        post.media.telegram_id,
        post.media.status,
    )
    assert post.parse_error is None


# ---- media: documents ----------------------------------------------------------------------------

DOCUMENT_CASES = [
    pytest.param(
        {"video": True},
        [
            types.DocumentAttributeVideo(duration=89.5, w=1280, h=720, supports_streaming=True),
            types.DocumentAttributeFilename(file_name="clip.mp4"),
        ],
        "video/mp4",
        MediaItem(
            kind=MediaKind.VIDEO,
            telegram_id=777,
            mime_type="video/mp4",
            file_name="clip.mp4",
            size=1234,
            width=1280,
            height=720,
            duration=89.5,
        ),
        id="video",
    ),
    pytest.param(
        {"round": True},
        [types.DocumentAttributeVideo(duration=12, w=384, h=384, round_message=True)],
        "video/mp4",
        MediaItem(
            kind=MediaKind.ROUND_VIDEO,
            telegram_id=777,
            mime_type="video/mp4",
            size=1234,
            width=384,
            height=384,
            duration=12.0,
        ),
        id="round_video",
    ),
    pytest.param(
        {},
        [
            types.DocumentAttributeImageSize(w=320, h=240),
            types.DocumentAttributeAnimated(),
            types.DocumentAttributeVideo(duration=3.2, w=320, h=240),
        ],
        "video/mp4",
        MediaItem(
            kind=MediaKind.ANIMATION,
            telegram_id=777,
            mime_type="video/mp4",
            size=1234,
            width=320,
            height=240,
            duration=3.2,
        ),
        id="animation",
    ),
    pytest.param(
        {"voice": True},
        [types.DocumentAttributeAudio(duration=7, voice=True, waveform=b"\x00\x10")],
        "audio/ogg",
        MediaItem(kind=MediaKind.VOICE, telegram_id=777, mime_type="audio/ogg", size=1234, duration=7.0),
        id="voice",
    ),
    pytest.param(
        {},
        [
            types.DocumentAttributeAudio(duration=215, title="Binks' Sake", performer="Brook"),
            types.DocumentAttributeFilename(file_name="binks.mp3"),
        ],
        "audio/mpeg",
        MediaItem(
            kind=MediaKind.AUDIO,
            telegram_id=777,
            mime_type="audio/mpeg",
            file_name="binks.mp3",
            size=1234,
            duration=215.0,
            title="Binks' Sake",
            performer="Brook",
        ),
        id="audio",
    ),
    pytest.param(
        {},
        [
            types.DocumentAttributeImageSize(w=512, h=512),
            types.DocumentAttributeSticker(alt="😂", stickerset=types.InputStickerSetEmpty()),
            types.DocumentAttributeFilename(file_name="sticker.webp"),
        ],
        "image/webp",
        MediaItem(
            kind=MediaKind.STICKER,
            telegram_id=777,
            mime_type="image/webp",
            file_name="sticker.webp",
            size=1234,
            width=512,
            height=512,
            sticker_emoji="😂",
        ),
        id="sticker",
    ),
    pytest.param(
        {},
        [
            types.DocumentAttributeSticker(alt="🔥", stickerset=types.InputStickerSetEmpty()),
            types.DocumentAttributeVideo(duration=2.9, w=512, h=512),
        ],
        "video/webm",
        MediaItem(
            kind=MediaKind.STICKER,
            telegram_id=777,
            mime_type="video/webm",
            size=1234,
            width=512,
            height=512,
            duration=2.9,
            sticker_emoji="🔥",
        ),
        id="video_sticker",
    ),
    pytest.param(
        {"spoiler": True},
        [types.DocumentAttributeFilename(file_name="../../etc/passwd"), types.DocumentAttributeHasStickers()],
        "application/pdf",
        MediaItem(
            kind=MediaKind.DOCUMENT,
            telegram_id=777,
            mime_type="application/pdf",
            file_name="../../etc/passwd",  # display text only; the media store names files by sha256
            size=1234,
            spoiler=True,
        ),
        id="document",
    ),
]


@pytest.mark.parametrize(("flags", "attributes", "mime_type", "expected"), DOCUMENT_CASES)
def test_document_kinds(
    flags: dict[str, bool], attributes: list[Any], mime_type: str, expected: MediaItem
) -> None:
    """The document's kind comes from its attributes; name, size, dimensions and duration are copied."""
    media = types.MessageMediaDocument(document=make_document(attributes, mime_type=mime_type), **flags)
    post = mapped(make_message(media=media))
    assert expected == post.media
    assert post.parse_error is None


def test_document_with_unknown_attribute_keeps_the_rest() -> None:
    """An attribute class the mapping does not know is reported; the document itself is kept."""

    class DocumentAttributeHologram(TLObject):  # type: ignore[misc]  # Telethon is untyped
        def to_dict(self) -> dict[str, Any]:
            return {"_": "DocumentAttributeHologram"}

    document = make_document(
        [DocumentAttributeHologram(), types.DocumentAttributeFilename(file_name="a.bin")]
    )
    post = mapped(make_message(media=types.MessageMediaDocument(document=document)))
    assert post.media is not None
    assert (MediaKind.DOCUMENT, "a.bin") == (post.media.kind, post.media.file_name)
    assert "media: unexpected DocumentAttributeHologram ignored" == post.parse_error


# ---- media: polls --------------------------------------------------------------------------------


def test_poll_with_results() -> None:
    """A quiz poll maps its question, answers, per-answer voters, chosen and correct answers, totals."""
    poll = types.Poll(
        id=1,
        question=text_with_entities("Who will save Kid?"),
        answers=[
            types.PollAnswer(text=text_with_entities("Rocks"), option=b"0"),
            types.PollAnswer(text=text_with_entities("Dragon"), option=b"1"),
            types.PollAnswer(text=text_with_entities("His mom"), option=b"2"),
        ],
        hash=0,
        closed=True,
        quiz=True,
        public_voters=True,
    )
    results = types.PollResults(
        results=[
            types.PollAnswerVoters(option=b"0", voters=10, chosen=True),
            types.PollAnswerVoters(option=b"1", voters=3, correct=True),
            types.PollAnswerVoters(option=b"2", voters=0),
        ],
        total_voters=13,
    )
    post = mapped(make_message(media=types.MessageMediaPoll(poll=poll, results=results)))
    expected = Poll(
        question="Who will save Kid?",
        answers=(
            PollAnswer(text="Rocks", voters=10, chosen=True),
            PollAnswer(text="Dragon", voters=3, correct=True),
            PollAnswer(text="His mom", voters=0),
        ),
        total_voters=13,
        closed=True,
        quiz=True,
        public_voters=True,
    )
    assert expected == post.poll
    assert post.media is None


def test_poll_with_plain_string_texts_and_hidden_results() -> None:
    """Older layers send plain strings; results not yet visible leave voters unknown (None)."""
    poll = types.Poll(
        id=2,
        question="Best arc?",
        answers=[types.PollAnswer(text="Egghead", option=b"a"), types.PollAnswer(text="Wano", option=b"b")],
        hash=0,
        multiple_choice=True,
    )
    post = mapped(
        make_message(media=types.MessageMediaPoll(poll=poll, results=types.PollResults(total_voters=688)))
    )
    expected = Poll(
        question="Best arc?",
        answers=(PollAnswer(text="Egghead"), PollAnswer(text="Wano")),
        total_voters=688,
        multiple_choice=True,
    )
    assert expected == post.poll


# ---- media: the rest -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("webpage", "expected"),
    [
        (
            types.WebPage(
                id=1,
                url="https://example.org/a",
                display_url="example.org/a",
                hash=0,
                site_name="Example",
                title="A page",
                description="About things",
            ),
            WebPagePreview(
                url="https://example.org/a", site_name="Example", title="A page", description="About things"
            ),
        ),
        (
            types.WebPagePending(id=2, date=NOW, url="https://example.org/b"),
            WebPagePreview(url="https://example.org/b"),
        ),
        (types.WebPageEmpty(id=3, url="https://example.org/c"), WebPagePreview(url="https://example.org/c")),
        (types.WebPageEmpty(id=4), None),
        (types.WebPageNotModified(), None),
    ],
    ids=["WebPage", "WebPagePending", "WebPageEmpty", "WebPageEmptyNoUrl", "WebPageNotModified"],
)
def test_web_page_previews(webpage: Any, expected: WebPagePreview | None) -> None:
    """Full, pending and empty previews keep their URL when there is one; none of them is an error."""
    post = mapped(make_message(message="see link", media=types.MessageMediaWebPage(webpage=webpage)))
    assert expected == post.web_page
    assert post.parse_error is None


@pytest.mark.parametrize(
    ("media", "expected"),
    [
        (
            types.MessageMediaGeo(geo=types.GeoPoint(long=2.35, lat=48.85, access_hash=0)),
            Location(latitude=48.85, longitude=2.35),
        ),
        (
            types.MessageMediaVenue(
                geo=types.GeoPoint(long=139.7, lat=35.68, access_hash=0),
                title="Tokyo Tower",
                address="4-2-8 Shibakoen",
                provider="foursquare",
                venue_id="v1",
                venue_type="",
            ),
            Location(latitude=35.68, longitude=139.7, title="Tokyo Tower", address="4-2-8 Shibakoen"),
        ),
        (
            types.MessageMediaGeoLive(geo=types.GeoPoint(long=-0.12, lat=51.5, access_hash=0), period=900),
            Location(latitude=51.5, longitude=-0.12, live_period=900),
        ),
        (types.MessageMediaGeo(geo=types.GeoPointEmpty()), None),
    ],
    ids=["geo", "venue", "geo_live", "geo_empty"],
)
def test_locations(media: Any, expected: Location | None) -> None:
    """Geo points, venues and live locations become Location; an empty point becomes none."""
    post = mapped(make_message(media=media))
    assert expected == post.location
    assert post.parse_error is None


def test_contact() -> None:
    """A contact card maps names and phone; user_id 0 (no Telegram account) becomes None."""
    media = types.MessageMediaContact(
        phone_number="+100", first_name="Nico", last_name="", vcard="", user_id=0
    )
    post = mapped(make_message(media=media))
    assert Contact(first_name="Nico", phone_number="+100") == post.contact
    media = types.MessageMediaContact(
        phone_number="", first_name="Nami", last_name="N.", vcard="", user_id=77
    )
    assert Contact(first_name="Nami", last_name="N.", user_id=77) == mapped(make_message(media=media)).contact


UNMODELLED_MEDIA = [
    types.MessageMediaDice(value=6, emoticon="🎲"),
    types.MessageMediaGame(
        game=types.Game(
            id=1, access_hash=0, short_name="g", title="Game", description="", photo=types.PhotoEmpty(id=1)
        )
    ),
    types.MessageMediaInvoice(title="T", description="D", currency="XTR", total_amount=5, start_param=""),
    types.MessageMediaStory(peer=types.PeerChannel(1), id=5),
    types.MessageMediaGiveaway(channels=[1], quantity=3, until_date=NOW, months=3),
    types.MessageMediaGiveawayResults(
        channel_id=1, launch_msg_id=2, winners_count=1, unclaimed_count=0, winners=[9], until_date=NOW
    ),
    types.MessageMediaPaidMedia(
        stars_amount=10, extended_media=[types.MessageExtendedMediaPreview(w=1, h=1)]
    ),
    types.MessageMediaToDo(
        todo=types.TodoList(
            title=text_with_entities("todo"), list=[types.TodoItem(1, text_with_entities("a"))]
        )
    ),
    types.MessageMediaVideoStream(call=types.InputGroupCall(id=1, access_hash=2)),
    types.MessageMediaUnsupported(),
    types.MessageMediaEmpty(),
]


@pytest.mark.parametrize("media", UNMODELLED_MEDIA, ids=lambda m: type(m).__name__)
def test_understood_but_unmodelled_media_live_in_raw_only(media: Any) -> None:
    """Dice, games, invoices, stories, giveaways, paid media, to-dos, streams and unsupported media are
    not errors: the text is kept, no domain attachment is made, and raw has the media."""
    post = mapped(make_message(message="caption", media=media))
    attachments = (post.media, post.poll, post.web_page, post.location, post.contact)
    assert ("caption", (None,) * 5, None) == (post.text, attachments, post.parse_error)
    assert post.raw is not None
    if not isinstance(media, types.MessageMediaEmpty):  # Telethon drops MessageMediaEmpty on construction
        assert type(media).__name__ == post.raw["media"]["_"]


def test_every_media_class_of_this_layer_is_covered_by_a_test() -> None:
    """Reflection over telethon.tl.types: each MessageMedia* class is exercised in this file."""
    covered = {type(m).__name__ for m in UNMODELLED_MEDIA} | {
        "MessageMediaPhoto",
        "MessageMediaDocument",
        "MessageMediaPoll",
        "MessageMediaWebPage",
        "MessageMediaGeo",
        "MessageMediaVenue",
        "MessageMediaGeoLive",
        "MessageMediaContact",
    }
    in_layer = {n for n in dir(types) if n.startswith("MessageMedia") and isinstance(getattr(types, n), type)}
    assert set() == in_layer - covered


class MessageMediaFoo(TLObject):  # type: ignore[misc]  # Telethon is untyped
    """A media class from a future layer: a TL object this version has never heard of."""

    def to_dict(self) -> dict[str, Any]:
        return {"_": "MessageMediaFoo", "blob": b"\x00\x01", "at": NOW}


def test_unknown_media_sets_parse_error_and_keeps_text_and_raw() -> None:
    """An unknown media class yields a post with its text, entities and raw, and a parse_error naming it."""
    message = make_message(
        message="still here", entities=[types.MessageEntityBold(0, 5)], media=MessageMediaFoo()
    )
    post = mapped(message)
    assert "media: unexpected MessageMediaFoo" == post.parse_error
    assert ("still here", 1) == (post.text, len(post.entities))
    assert post.raw is not None
    expected_raw_media = {
        "_": "MessageMediaFoo",
        "blob": {"_bytes": "AAE="},
        "at": "2025-03-04T05:06:07+00:00",
    }
    assert expected_raw_media == post.raw["media"]
    json.dumps(post.raw)


def test_odd_shapes_in_several_fields_are_all_reported() -> None:
    """Wrong types in counters, header and media each produce their own parse_error part; the rest maps."""
    message = make_message(
        message="ok",
        views="many",
        fwd_from="not a header",
        media=types.MessageMediaPhoto(photo="not a photo"),
        reactions=types.MessageReactions(
            results=[
                types.ReactionCount(reaction=types.ReactionEmoji(emoticon="🔥"), count=3),
                types.ReactionCount(reaction="???", count=1),
            ]
        ),
    )
    post = mapped(message)
    expected = [
        "views: views is str, expected int",
        "reactions: unexpected str",
        "forward: unexpected str",
        "media: unexpected str",
    ]
    assert post.parse_error is not None
    assert expected == post.parse_error.split("; ")
    assert ("ok", None, None, (Reaction(emoji="🔥", count=3),)) == (
        post.text,
        post.views,
        post.forward,
        post.reactions,
    )


def test_missing_date_is_reported_and_stands_in() -> None:
    """A message without a date still maps, with MISSING_DATE and a parse_error saying so."""
    post = mapped(make_message(date=None, message="undated"))
    assert (MISSING_DATE, "date: missing", "undated") == (post.date, post.parse_error, post.text)


WEIRD_VALUES = ["x", -1, 3.5, True, b"\x00", [object()], {"a": 1}, object(), MessageMediaFoo()]
CORRUPTIBLE = [
    ("date",),
    ("edit_date",),
    ("message",),
    ("entities",),
    ("media",),
    ("media", "photo"),
    ("media", "photo", "sizes"),
    ("views",),
    ("forwards",),
    ("replies",),
    ("replies", "replies"),
    ("reactions",),
    ("reactions", "results"),
    ("fwd_from",),
    ("fwd_from", "from_id"),
    ("fwd_from", "date"),
    ("reply_to",),
    ("reply_to", "reply_to_peer_id"),
    ("post_author",),
    ("grouped_id",),
    ("pinned",),
]


@pytest.mark.parametrize("path", CORRUPTIBLE, ids=".".join)
def test_no_corrupted_field_crashes_the_mapping(path: tuple[str, ...]) -> None:
    """Any attribute replaced by a value of the wrong type still gives a post with its id, a JSON-safe raw,
    and (unless the text itself was hit) the original text."""
    for weird in WEIRD_VALUES:
        message = rich_message()
        target = message
        for name in path[:-1]:
            target = getattr(target, name)
        setattr(target, path[-1], weird)
        post = mapped(message)
        assert 3757 == post.message_id
        json.dumps(post.raw)
        if path != ("message",):
            assert "New One Piece Official Art 🇯🇵" == post.text


# ---- reactions, forwards, replies ----------------------------------------------------------------


def test_reactions_of_every_kind() -> None:
    """Emoji, custom emoji and paid reactions keep their counts and order; empty reactions are skipped."""
    reactions = types.MessageReactions(
        results=[
            types.ReactionCount(reaction=types.ReactionEmoji(emoticon="🤷\u200d♂"), count=37),
            types.ReactionCount(reaction=types.ReactionCustomEmoji(document_id=5368324170671202286), count=5),
            types.ReactionCount(reaction=types.ReactionPaid(), count=250),
            types.ReactionCount(reaction=types.ReactionEmpty(), count=0),
        ]
    )
    post = mapped(make_message(reactions=reactions))
    expected = (
        Reaction(emoji="🤷\u200d♂", count=37),
        Reaction(custom_emoji_id=5368324170671202286, count=5),
        Reaction(paid=True, count=250),
    )
    assert expected == post.reactions


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            types.MessageFwdHeader(
                date=NOW - timedelta(days=1),
                from_id=types.PeerChannel(1234),
                channel_post=777,
                post_author="Oda",
            ),
            Forward(
                from_channel_id=1234, from_message_id=777, date=NOW - timedelta(days=1), post_author="Oda"
            ),
        ),
        (
            types.MessageFwdHeader(date=NOW, from_id=types.PeerUser(5555)),
            Forward(from_user_id=5555, date=NOW),
        ),
        (
            types.MessageFwdHeader(date=NOW, from_name="Hidden Pirate"),
            Forward(from_name="Hidden Pirate", date=NOW),
        ),
    ],
    ids=["from_channel", "from_user", "hidden_name"],
)
def test_forward_origins(header: Any, expected: Forward) -> None:
    """Forwards from a channel post, from a user and from a hidden account each keep their origin."""
    post = mapped(make_message(message="fwd", fwd_from=header))
    assert expected == post.forward
    assert post.parse_error is None


def test_reply_in_the_same_channel() -> None:
    """A plain reply keeps the replied message id and no channel."""
    post = mapped(make_message(reply_to=types.MessageReplyHeader(reply_to_msg_id=3753)))
    assert (3753, None) == (post.reply_to_message_id, post.reply_to_channel_id)


def test_reply_to_another_channel() -> None:
    """A cross-chat reply keeps the other channel's id too."""
    header = types.MessageReplyHeader(reply_to_msg_id=12, reply_to_peer_id=types.PeerChannel(999))
    post = mapped(make_message(reply_to=header))
    assert (12, 999) == (post.reply_to_message_id, post.reply_to_channel_id)


def test_reply_to_a_private_chat_is_not_mistaken_for_a_channel_reply() -> None:
    """A reply into a user's chat cannot be linked; it is not turned into a same-channel reply."""
    header = types.MessageReplyHeader(reply_to_msg_id=12, reply_to_peer_id=types.PeerUser(1))
    post = mapped(make_message(reply_to=header))
    assert (None, None) == (post.reply_to_message_id, post.reply_to_channel_id)
    assert "reply_to: reply to a message in PeerUser is kept in raw only" == post.parse_error


def test_story_reply_is_not_a_message_reply() -> None:
    """A reply to a story sets no reply fields and is not an error."""
    post = mapped(make_message(reply_to=types.MessageReplyStoryHeader(peer=types.PeerChannel(1), story_id=3)))
    assert (None, None, None) == (post.reply_to_message_id, post.reply_to_channel_id, post.parse_error)


# ---- service messages ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "fields", "expected"),
    [
        (
            types.MessageActionChannelCreate(title="One Piece Spoilers"),
            {},
            ServiceAction(type="channel_create", title="One Piece Spoilers"),
        ),
        (
            types.MessageActionChatEditTitle(title="One Piece Chapter 1162"),
            {},
            ServiceAction(type="chat_edit_title", title="One Piece Chapter 1162"),
        ),
        (
            types.MessageActionPinMessage(),
            {"reply_to": types.MessageReplyHeader(reply_to_msg_id=3749)},
            ServiceAction(type="pin_message", pinned_message_id=3749),
        ),
        (types.MessageActionChatDeletePhoto(), {}, ServiceAction(type="chat_delete_photo")),
        (types.MessageActionSetMessagesTTL(period=86400), {}, ServiceAction(type="set_messages_ttl")),
        (
            types.MessageActionGeoProximityReached(
                from_id=types.PeerUser(1), to_id=types.PeerUser(2), distance=5
            ),
            {},
            ServiceAction(type="geo_proximity_reached"),
        ),
        (
            types.MessageActionCustomAction(message="Something happened"),
            {},
            ServiceAction(type="custom_action", text="Something happened"),
        ),
        (
            types.MessageActionTopicCreate(title="Theories", icon_color=0),
            {},
            ServiceAction(type="topic_create", title="Theories"),
        ),
    ],
    ids=lambda v: type(v).__name__,
)
def test_service_actions(action: Any, fields: dict[str, Any], expected: ServiceAction) -> None:
    """Service messages map to a snake_case action type, with title or pinned id where they apply."""
    post = mapped(make_service(action, **fields))
    assert expected == post.service
    assert (True, "", None) == (post.is_service, post.text, post.parse_error)


def test_chat_edit_photo_carries_the_new_photo() -> None:
    """A channel photo change is a service post whose media is the new photo."""
    post = mapped(make_service(types.MessageActionChatEditPhoto(photo=make_photo(31337))))
    assert ServiceAction(type="chat_edit_photo") == post.service
    assert post.media is not None
    assert (MediaKind.PHOTO, 31337) == (post.media.kind, post.media.telegram_id)


def test_service_action_type_is_generic() -> None:
    """An action class this version does not know still gets a readable snake_case type."""

    class MessageActionStarGiftAuctionHTTPWon(TLObject):  # type: ignore[misc]  # Telethon is untyped
        def to_dict(self) -> dict[str, Any]:
            return {"_": "MessageActionStarGiftAuctionHTTPWon"}

    assert "star_gift_auction_http_won" == service_action_type(MessageActionStarGiftAuctionHTTPWon())
    post = mapped(make_service(MessageActionStarGiftAuctionHTTPWon()))
    assert ServiceAction(type="star_gift_auction_http_won") == post.service


def test_service_message_without_action_is_reported() -> None:
    """A service message missing its action still maps, with a parse_error."""
    post = mapped(make_service(None))
    assert (None, "service: service message without an action") == (post.service, post.parse_error)


# ---- message classes -----------------------------------------------------------------------------


def test_message_empty_is_not_a_post() -> None:
    """MessageEmpty (a deleted or inaccessible id) maps to None."""
    assert (
        message_to_post(types.MessageEmpty(id=5, peer_id=types.PeerChannel(CHANNEL_ID)), CHANNEL_ID) is None
    )


@pytest.mark.parametrize("thing", [types.PeerUser(1), "hello", None, {"_": "Message", "id": 1}])
def test_non_messages_are_refused(thing: Any) -> None:
    """Anything that is not a Telegram message raises MappingError (a typed error)."""
    with pytest.raises(MappingError):
        message_to_post(thing, CHANNEL_ID)


def test_message_without_integer_id_is_refused() -> None:
    """A message without an integer id has no identity and raises MappingError."""
    with pytest.raises(MappingError):
        message_to_post(make_message(id=None), CHANNEL_ID)


def test_custom_and_generated_message_classes_map_alike() -> None:
    """The patched types.Message (a telethon.tl.custom.Message), the plain generated class and a bare
    custom Message all map to the same post."""
    generated = next(c for c in types.Message.__mro__ if c.__module__ == "telethon.tl.types")
    common = {"id": 7, "peer_id": types.PeerChannel(CHANNEL_ID), "date": NOW, "message": "same"}
    posts = [mapped(types.Message(**common)), mapped(generated(**common)), mapped(CustomMessage(**common))]
    assert isinstance(types.Message(**common), CustomMessage)
    assert [("same", 7, None)] * 3 == [(p.text, p.message_id, p.parse_error) for p in posts]


def test_bare_custom_message_with_action_is_a_service_post() -> None:
    """A bare custom Message carrying an action is read as a service message."""
    message = CustomMessage(
        id=8,
        peer_id=types.PeerChannel(CHANNEL_ID),
        date=NOW,
        action=types.MessageActionChatEditTitle(title="T"),
    )
    post = mapped(message)
    assert (ServiceAction(type="chat_edit_title", title="T"), "MessageService") == (
        post.service,
        post.raw and post.raw["_"],
    )


# ---- raw -----------------------------------------------------------------------------------------


def rich_message() -> Any:
    """A message touching bytes, dates, nested objects and vectors."""
    return make_message(
        id=3757,
        message="New One Piece Official Art 🇯🇵",
        edit_date=NOW + timedelta(seconds=39),
        entities=[types.MessageEntityBold(0, 3), types.MessageEntityTextUrl(4, 3, url="https://t.me/x")],
        media=types.MessageMediaPhoto(photo=make_photo(6134072984093184421)),
        views=1353,
        forwards=4,
        replies=types.MessageReplies(
            replies=16, replies_pts=85658, comments=True, recent_repliers=[types.PeerUser(6)]
        ),
        reactions=types.MessageReactions(
            results=[types.ReactionCount(reaction=types.ReactionEmoji(emoticon="🔥"), count=25)]
        ),
        fwd_from=types.MessageFwdHeader(date=NOW, from_id=types.PeerChannel(1), channel_post=2),
        reply_to=types.MessageReplyHeader(reply_to_msg_id=3, quote_text="q", quote_entities=[]),
        grouped_id=14073910880902845,
    )


def test_raw_is_json_safe_with_bytes_and_dates() -> None:
    """raw survives json.dumps: bytes become {"_bytes": base64}, datetimes ISO strings with +00:00."""
    post = mapped(rich_message())
    assert post.raw is not None
    json.loads(json.dumps(post.raw))
    photo = post.raw["media"]["photo"]
    expected = (
        {"_bytes": base64.b64encode(b"\x00ref\xff").decode()},
        {"_bytes": base64.b64encode(b"\x01\x28\x1c").decode()},
        "2025-03-04T05:06:07+00:00",
        "2025-03-04T05:06:46+00:00",
    )
    assert expected == (
        photo["file_reference"],
        photo["sizes"][0]["bytes"],
        post.raw["date"],
        post.raw["edit_date"],
    )


def test_raw_is_deterministic() -> None:
    """Mapping the same message twice gives byte-identical raw JSON."""
    first, second = mapped(rich_message()), mapped(rich_message())
    assert json.dumps(first.raw) == json.dumps(second.raw)


def test_raw_rebuilds_the_same_post() -> None:
    """raw is lossless for everything mapped: TL rebuilt from raw maps to an equal Post."""
    original = mapped(rich_message())
    rebuilt = mapped(tl_from_dict(original.raw))
    assert original == rebuilt


def test_raw_to_json_safe_handles_odd_python_values() -> None:
    """Tuples, sets, naive datetimes, bytearrays, non-finite floats and non-string keys become JSON-safe."""
    value = {
        1: (b"\xff", bytearray(b"\x00")),
        "naive": datetime(2020, 1, 1, 12, 0),
        "offset": datetime(2020, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5))),
        "set": {3, 1, 2},
        "nan": math.nan,
        "tl": types.PeerChannel(5),
    }
    expected = {
        "1": [{"_bytes": "/w=="}, {"_bytes": "AA=="}],
        "naive": "2020-01-01T12:00:00+00:00",
        "offset": "2020-01-01T12:00:00-05:00",
        "set": [1, 2, 3],
        "nan": "nan",
        "tl": {"_": "PeerChannel", "channel_id": 5},
    }
    actual = raw_to_json_safe(value)
    assert expected == actual
    json.dumps(actual, allow_nan=False)


def test_tl_to_raw_of_a_service_message() -> None:
    """tl_to_raw gives the service message's own TL fields, including its action."""
    raw = tl_to_raw(make_service(types.MessageActionChannelCreate(title="T")))
    expected = ("MessageService", {"_": "MessageActionChannelCreate", "title": "T"})
    assert expected == (raw["_"], raw["action"])


# ---- real posts ----------------------------------------------------------------------------------

REAL_IDS = [m["id"] for m in load_fixture_messages()]
TL_ENTITY_NAMES = {
    EntityKind.BOLD: "MessageEntityBold",
    EntityKind.ITALIC: "MessageEntityItalic",
    EntityKind.MENTION: "MessageEntityMention",
    EntityKind.SPOILER: "MessageEntitySpoiler",
    EntityKind.BLOCKQUOTE: "MessageEntityBlockquote",
}


@pytest.mark.parametrize("message_id", REAL_IDS)
def test_real_posts_map_their_common_fields(message_id: int) -> None:
    """Each real post, rebuilt as TL, maps id, dates, text, entities, author, album, counters and
    reactions exactly as the saved dict has them, without a parse error."""
    data = fixture_message(message_id)
    post = mapped(tl_from_dict(data))
    expected = {
        "message_id": data["id"],
        "date": fixture_date(data["date"]),
        "edit_date": fixture_date(data["edit_date"]) if data.get("edit_date") else None,
        "text": data.get("message") or "",
        "entities": [(e["_"], e["offset"], e["length"]) for e in data.get("entities") or []],
        "author": data.get("post_author"),
        "grouped_id": data.get("grouped_id"),
        "views": data.get("views"),
        "forwards": data.get("forwards"),
        "replies": (data.get("replies") or {}).get("replies"),
        "reply_to": (data.get("reply_to") or {}).get("reply_to_msg_id"),
        "reactions": [
            (r["reaction"]["emoticon"], r["count"]) for r in (data.get("reactions") or {}).get("results", [])
        ],
        "pinned": bool(data.get("pinned")),
        "parse_error": None,
    }
    actual = {
        "message_id": post.message_id,
        "date": post.date,
        "edit_date": post.edit_date,
        "text": post.text,
        "entities": [(TL_ENTITY_NAMES[e.kind], e.offset, e.length) for e in post.entities],
        "author": post.author,
        "grouped_id": post.grouped_id,
        "views": post.views,
        "forwards": post.forwards,
        "replies": post.replies,
        "reply_to": post.reply_to_message_id,
        "reactions": [(r.emoji, r.count) for r in post.reactions],
        "pinned": post.pinned,
        "parse_error": post.parse_error,
    }
    assert expected == actual
    assert post.raw is not None
    assert data["id"] == post.raw["id"]
    json.dumps(post.raw)


def test_real_photo_post() -> None:
    """A real photo post: largest progressive size, its dimensions, spoiler and mention entities."""
    data = fixture_message(3756)
    post = mapped(tl_from_dict(data))
    photo = data["media"]["photo"]
    largest = photo["sizes"][-1]
    expected = MediaItem(
        kind=MediaKind.PHOTO,
        telegram_id=photo["id"],
        mime_type="image/jpeg",
        size=largest["sizes"][-1],
        width=largest["w"],
        height=largest["h"],
    )
    assert expected == post.media
    expected_spans = [
        (EntityKind.SPOILER, "Encourage us by reacting "),
        (EntityKind.MENTION, "@onepiecespoilhere"),
    ]
    assert expected_spans == [(e.kind, utf16_slice(post.text, e.offset, e.length)) for e in post.entities]


def test_real_album_shares_grouped_id() -> None:
    """Two real album members keep one grouped_id and their own photo ids; the caption is on one."""
    first, second = (mapped(tl_from_dict(fixture_message(i))) for i in (3885, 3884))
    assert first.grouped_id == second.grouped_id == 14073910880902845
    assert first.media is not None and second.media is not None
    expected = [(6260365655618471530, ""), (6260365655618471529, fixture_message(3884)["message"])]
    assert expected == [(first.media.telegram_id, first.text), (second.media.telegram_id, second.text)]


def test_real_poll_post() -> None:
    """The real poll: TextWithEntities question and answers, 688 voters, per-answer results hidden."""
    data = fixture_message(3879)
    post = mapped(tl_from_dict(data))
    expected = Poll(
        question=data["media"]["poll"]["question"]["text"],
        answers=tuple(PollAnswer(text=a["text"]["text"]) for a in data["media"]["poll"]["answers"]),
        total_voters=688,
    )
    assert expected == post.poll
    assert post.media is None


def test_real_document_and_video_posts() -> None:
    """The real PDF keeps its file name and size; the real video its duration and dimensions."""
    pdf = mapped(tl_from_dict(fixture_message(3749)))
    video = mapped(tl_from_dict(fixture_message(3733)))
    expected_pdf = MediaItem(
        kind=MediaKind.DOCUMENT,
        telegram_id=6118538022502799825,
        mime_type="application/pdf",
        file_name="One Piece Chapter 1157 TCB Scans Translation.pdf",
        size=17400549,
    )
    expected_video = MediaItem(
        kind=MediaKind.VIDEO,
        telegram_id=6109239143429052445,
        mime_type="video/mp4",
        size=18456569,
        width=1280,
        height=720,
        duration=89.0,
    )
    assert (expected_pdf, expected_video) == (pdf.media, video.media)


def test_real_blockquote_post() -> None:
    """A real post opening with a blockquote keeps it and its nested bold."""
    data = fixture_message(3875)
    post = mapped(tl_from_dict(data))
    expected = [(e["_"], e["offset"], e["length"]) for e in data["entities"]]
    assert expected == [(TL_ENTITY_NAMES[e.kind], e.offset, e.length) for e in post.entities]
    assert post.media is not None
    assert "One Piece ch1161 @mangaspoil.pdf" == post.media.file_name


def test_real_service_post() -> None:
    """The real title change is a service post with its new title and no text."""
    post = mapped(tl_from_dict(fixture_message(3751)))
    expected = ServiceAction(type="chat_edit_title", title="One Piece Chapter 1158 (on break)")
    assert (expected, "", None) == (post.service, post.text, post.parse_error)


def test_real_unsupported_media_post() -> None:
    """The real MessageMediaUnsupported post keeps author (emoji flags) and reactions, no attachment."""
    data = fixture_message(3753)
    post = mapped(tl_from_dict(data))
    assert (None, None, data["post_author"], 6) == (
        post.media,
        post.parse_error,
        post.author,
        len(post.reactions),
    )
    assert post.raw is not None
    assert {"_": "MessageMediaUnsupported"} == post.raw["media"]


def test_real_raw_keeps_the_saved_fields() -> None:
    """raw of a rebuilt real post holds the saved values: bytes as {"_bytes"}, dates with an offset."""
    data = fixture_message(3756)
    post = mapped(tl_from_dict(data))
    assert post.raw is not None
    photo = post.raw["media"]["photo"]
    expected = (
        data["message"],
        {"_bytes": data["media"]["photo"]["file_reference"]},
        "2025-08-19T04:14:44+00:00",
    )
    assert expected == (post.raw["message"], photo["file_reference"], post.raw["date"])


# ---- channels ------------------------------------------------------------------------------------


def make_channel(**fields: Any) -> Any:
    defaults: dict[str, Any] = {
        "id": CHANNEL_ID,
        "title": "One Piece Spoilers",
        "photo": types.ChatPhotoEmpty(),
        "date": NOW,
        "broadcast": True,
        "access_hash": 1,
        "username": "onepiecespoilhere",
    }
    return types.Channel(**{**defaults, **fields})


def make_full(
    channel_id: int = CHANNEL_ID, about: str = "Spoilers and leaks", count: int | None = 123456
) -> Any:
    full = types.ChannelFull(
        id=channel_id,
        about=about,
        read_inbox_max_id=0,
        read_outbox_max_id=0,
        unread_count=0,
        chat_photo=types.PhotoEmpty(id=0),
        notify_settings=types.PeerNotifySettings(),
        bot_info=[],
        pts=1,
        participants_count=count,
    )
    return types.messages.ChatFull(full_chat=full, chats=[], users=[])


def test_channel_with_full_info() -> None:
    """A broadcast channel with messages.ChatFull maps title, username, about and subscribers."""
    expected = Channel(
        id=CHANNEL_ID,
        username="onepiecespoilhere",
        title="One Piece Spoilers",
        description="Spoilers and leaks",
        subscribers=123456,
        kind=ChannelKind.CHANNEL,
    )
    assert expected == channel_to_record(make_channel(), make_full())
    assert expected == channel_to_record(make_channel(), make_full().full_chat)


def test_channel_without_full_info() -> None:
    """Without full info the channel's own participants_count is used and no description is set."""
    record = channel_to_record(make_channel(participants_count=10))
    assert (10, None, None) == (record.subscribers, record.description, record.created_at)


def test_megagroup_is_a_supergroup_and_collectible_username_is_used() -> None:
    """A megagroup maps to a supergroup; with no main username the first active extra one is used."""
    chat = make_channel(
        broadcast=False,
        megagroup=True,
        username=None,
        usernames=[types.Username("old_name", active=False), types.Username("strawhats", active=True)],
    )
    record = channel_to_record(chat, make_full(about="", count=None))
    assert (ChannelKind.SUPERGROUP, "strawhats", None) == (record.kind, record.username, record.description)


def test_marked_id_becomes_bare() -> None:
    """A -100-prefixed id is reduced to the bare channel id."""
    assert CHANNEL_ID == channel_to_record(make_channel(id=int(f"-100{CHANNEL_ID}"))).id


def test_forbidden_channel_maps() -> None:
    """A channel we were banned from still maps its id and title."""
    chat = types.ChannelForbidden(id=5, access_hash=0, title="Gone", megagroup=True)
    assert Channel(id=5, title="Gone", kind=ChannelKind.SUPERGROUP) == channel_to_record(chat)


def test_channel_mapping_refuses_other_chats_and_mismatched_full_info() -> None:
    """A User, a basic Chat, or full info of another channel raise MappingError."""
    basic = types.Chat(
        id=1, title="g", photo=types.ChatPhotoEmpty(), participants_count=1, date=NOW, version=1
    )
    for bad in (types.User(id=1), basic):
        with pytest.raises(MappingError):
            channel_to_record(bad)
    with pytest.raises(MappingError):
        channel_to_record(make_channel(), make_full(channel_id=1))


def test_raw_fast_path_gives_the_same_json_as_the_python_walk() -> None:
    """tl_to_raw (through orjson) equals the pure-Python walk over every kind of realistic message."""
    world = FakeTelegram()
    channel = build_realistic_channel(world, 400, seed=11, with_media=True, username="rawcheck")
    messages = [BinaryReader(bytes(message)).tgread_object() for message in channel.messages.values()]
    assert len(messages) > 300
    for message in messages:
        assert raw_to_json_safe(message.to_dict()) == tl_to_raw(message)


def test_raw_takes_the_python_walk_for_what_orjson_refuses() -> None:
    """An integer beyond 64 bits (orjson refuses it) is kept exactly, through the pure-Python walk."""
    raw = tl_to_raw(types.PeerChannel(channel_id=2**70))
    assert {"_": "PeerChannel", "channel_id": 2**70} == raw
