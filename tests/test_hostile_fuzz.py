"""Issue 17.4: property-based fuzzing (Hypothesis) of the Desktop JSON importer, the HTML importer and the
web-preview parser: no input makes them raise anything but tgvault's own errors.

The inputs are built from each format's own vocabulary (its field names, classes and markup) filled with
hostile values: NaN and infinities, integers far past 64 bits, lone surrogates, control characters, deep
nesting, wrong types. A JSON export is imported into a real SQLite archive whole (read, validated, written):
when it is refused, nothing of it is in the archive. Runs are deterministic (``derandomize=True``, no example
database), so CI sees the same inputs every time; the examples are capped (120 a parser) to keep the run to ~30 s.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tgvault.errors import TgvaultError
from tgvault.services.tdesktop_import import import_tdesktop
from tgvault.sources.tdesktop import read_html_export
from tgvault.sources.webpreview.pages import page_kind, parse_preview_page
from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.schema import upgrade
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=120,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ------------------------------------------------------------------------------------------ values

EDGE_INTEGERS = st.sampled_from(
    [0, -1, 1, 2**31 - 1, 2**31, -(2**31) - 1, 2**63 - 1, 2**63, -(2**63) - 1, 10**30]
)
INTEGERS = st.one_of(EDGE_INTEGERS, st.integers(), st.integers(min_value=10**18, max_value=10**60))
FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e308, -1e308, 5e-324]))
# Any code point, lone surrogates and control characters included.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=20)
DIGITS = st.one_of(
    st.text("0123456789", min_size=1, max_size=30), st.just("9" * 400), st.text("٠١٢٣٤٥٦٧٨٩", min_size=1)
)
SHAPED = st.sampled_from(
    [
        "",
        " ",
        "-5",
        "1e400",
        "NaN",
        "Infinity",
        "photos/a.jpg",
        "../../etc/passwd",
        "/etc/passwd",
        "channel1",
        "user99999999999999999999999",
        "2025-01-02T10:00:00",
        "99999-01-01T00:00:00",
        "javascript:alert(1)",
        "(File not included. Change data exporting settings to download.)",
        "\ud800",
        "\x1b[2J",
    ]
)
SCALARS = st.one_of(st.none(), st.booleans(), INTEGERS, FLOATS, ANY_TEXT, DIGITS, SHAPED)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(ANY_TEXT | SHAPED, inner, max_size=4)
    ),
    max_leaves=12,
)

# ------------------------------------------------------------------------------------------ Desktop JSON

MESSAGE_FIELDS = [
    "id", "type", "date", "date_unixtime", "edited", "edited_unixtime", "from", "from_id", "text", "text_entities",
    "photo", "photo_file_size", "width", "height", "file", "file_name", "file_size", "media_type", "mime_type",
    "duration_seconds", "performer", "title", "sticker_emoji", "thumbnail", "action", "message_id", "author",
    "reply_to_message_id", "reply_to_peer_id", "forwarded_from", "forwarded_from_id", "reactions", "poll",
    "location_information", "place_name", "address", "live_location_period_seconds", "contact_information",
    "contact_vcard", "via_bot", "inline_bot_buttons",
]  # fmt: skip
ENTITY_TYPES = st.sampled_from(
    [
        "plain",
        "bold",
        "link",
        "text_link",
        "mention_name",
        "custom_emoji",
        "pre",
        "blockquote",
        "unknown_kind",
    ]
)
ENTITY = st.fixed_dictionaries(
    {"type": ENTITY_TYPES | SCALARS, "text": ANY_TEXT | SCALARS},
    optional={
        "href": SCALARS,
        "user_id": SCALARS,
        "document_id": SCALARS,
        "language": SCALARS,
        "collapsed": SCALARS,
    },
)


def mostly(
    good: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any] = JSON_VALUES
) -> st.SearchStrategy[Any]:
    """``good`` 19 times in 20, else ``hostile``: most of an export is well formed, a little is not."""
    return st.integers(0, 19).flatmap(lambda n: hostile if n == 0 else good)


WORDS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12) | ANY_TEXT
COORDINATE = st.floats(-90, 90) | FLOATS
WELL_FORMED_ENTITY = st.fixed_dictionaries(
    {"type": ENTITY_TYPES, "text": WORDS},
    optional={
        "href": st.sampled_from(["https://example.org", "github.com"]),
        "document_id": DIGITS,
        "user_id": st.integers(1, 2**40),
    },
)
GOOD: dict[str, st.SearchStrategy[Any]] = {
    "type": st.just("message"),
    "date_unixtime": st.integers(0, 2**31 - 1).map(str),
    "date": st.just("2025-01-02T10:00:00"),
    "edited": st.just("2025-01-02T11:00:00"),
    "edited_unixtime": st.integers(0, 2**31 - 1).map(str),
    "text": WORDS,
    "text_entities": st.lists(mostly(WELL_FORMED_ENTITY, ENTITY), max_size=4),
    "location_information": st.fixed_dictionaries({"latitude": COORDINATE, "longitude": COORDINATE}),
    "reactions": st.lists(
        st.fixed_dictionaries({"type": st.just("emoji"), "emoji": WORDS, "count": st.integers(0, 2**31) | INTEGERS}),
        max_size=3,
    ),
    "poll": st.fixed_dictionaries(
        {"question": WORDS, "answers": st.lists(st.fixed_dictionaries({"text": WORDS, "voters": st.integers(0, 99) | INTEGERS}), max_size=3)},
    ),
    "contact_information": st.fixed_dictionaries({"first_name": WORDS, "phone_number": WORDS}),
    "photo": st.sampled_from(["photos/a.jpg", "../a.jpg", "(File not included. Change data exporting settings to download.)"]),
    "file": st.sampled_from(["files/a.pdf", "/etc/passwd", "files/../../x"]),
    "duration_seconds": st.integers(0, 9999) | FLOATS,
    "reply_to_message_id": st.integers(1, 2**31 - 1) | INTEGERS,
    "forwarded_from_id": st.sampled_from(["channel1", "user2", "chat3"]) | DIGITS.map(lambda d: "channel" + d),
}  # fmt: skip
for _key in ("photo_file_size", "width", "height", "file_size", "live_location_period_seconds", "message_id"):
    GOOD[_key] = st.integers(0, 2**31) | INTEGERS


@st.composite
def desktop_messages(draw: st.DrawFn, position: int) -> dict[str, Any]:
    message: dict[str, Any] = {"id": draw(mostly(st.just(position + 1), INTEGERS)), "type": "message"}
    message["date_unixtime"] = str(1_735_812_000 + position)
    for key in draw(st.lists(st.sampled_from(MESSAGE_FIELDS), max_size=6, unique=True)):
        message[key] = draw(mostly(GOOD.get(key, WORDS)))
    return message


@st.composite
def desktop_exports(draw: st.DrawFn) -> dict[str, Any] | list[Any]:
    count = draw(st.integers(0, 4))
    messages: list[Any] = [draw(desktop_messages(position)) for position in range(count)]
    if draw(st.integers(0, 9)) == 0:
        messages.append(draw(JSON_VALUES))
    chat: dict[str, Any] = {
        "name": draw(mostly(WORDS)),
        "type": draw(mostly(st.sampled_from(["public_channel", "private_channel", "private_supergroup"]))),
        "id": draw(mostly(st.integers(1, 2**40), INTEGERS)),
        "messages": messages,
    }
    if draw(st.integers(0, 9)) == 0:
        return {"chats": {"list": [chat, draw(JSON_VALUES)]}}
    return chat


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UoW, LocalMediaStore, Path]]:
    folder = tmp_path_factory.mktemp("fuzz")
    engine = create_archive_engine(f"sqlite:///{folder / 'archive.db'}")
    upgrade(engine)
    factory = make_session_factory(engine)
    yield (lambda: UnitOfWork(factory)), LocalMediaStore(folder / "store"), folder
    engine.dispose()


def _archived(unit_of_work: UoW) -> tuple[int, ...]:
    with unit_of_work() as uow:
        channels = uow.channels.list()
        return (len(channels), sum(1 for c in channels for _ in uow.posts.iter_channel(c.id)))


@FUZZ
@given(document=desktop_exports())
def test_the_desktop_json_importer_raises_only_tgvault_errors(
    archive: tuple[UoW, LocalMediaStore, Path], document: dict[str, Any] | list[Any]
) -> None:
    """Issue 17.4: any export is imported (into a real SQLite archive) or refused with a TgvaultError, whole."""
    unit_of_work, store, folder = archive
    with tempfile.TemporaryDirectory(dir=folder) as export:
        path = Path(export) / "result.json"
        path.write_text(json.dumps(document), encoding="utf-8")  # NaN, Infinity and \ud800 escapes included
        before = _archived(unit_of_work)
        try:
            import_tdesktop(path, unit_of_work, store, timezone=UTC)
        except TgvaultError as exc:
            assert "\n" not in str(exc)
            assert before == _archived(unit_of_work)  # a refused export writes nothing
        else:
            _archived(unit_of_work)  # what was imported reads back (every post, through the domain model)


# ------------------------------------------------------------------------------------------ Desktop HTML

ATTRIBUTE = st.one_of(ANY_TEXT, DIGITS, SHAPED).map(lambda value: value.replace('"', "&quot;"))
TAGS = st.sampled_from(
    [
        "b",
        "i",
        "u",
        "s",
        "code",
        "pre",
        "blockquote",
        "span",
        "a",
        "div",
        "tg-emoji",
        "br",
        "img",
        "script",
        "svg",
    ]
)


@st.composite
def fragments(draw: st.DrawFn, depth: int = 0) -> str:
    pieces = []
    for _ in range(draw(st.integers(0, 3))):
        if depth < 4 and draw(st.booleans()):
            tag = draw(TAGS)
            attributes = "".join(
                f' {name}="{draw(ATTRIBUTE)}"'
                for name in draw(
                    st.lists(
                        st.sampled_from(["href", "class", "onclick", "emoji-id", "alt", "title", "id"]),
                        max_size=3,
                        unique=True,
                    )
                )
            )
            pieces.append(f"<{tag}{attributes}>{draw(fragments(depth + 1))}</{tag}>")
        else:
            pieces.append(draw(ANY_TEXT | DIGITS | SHAPED).replace("<", "&lt;"))
    if depth == 0 and draw(st.integers(0, 9)) == 0:
        levels = draw(st.integers(1_000, 5_000))
        pieces.append("<span><i>" * levels + "deep" + "</i></span>" * levels)
    return "".join(pieces)


MEDIA_CLASSES = st.sampled_from(["media_file", "media_photo", "media_video", "media_voice_message", "media_audio_file",
                                 "media_contact", "media_location", "media_venue", "media_poll", "photo_wrap", "sticker_wrap"])  # fmt: skip
DATES = st.one_of(
    st.sampled_from(["02.01.2025 10:00:00 UTC+03:00", "31.12.9999 23:59:59 UTC-14:00", "01.01.0001 00:00:00 UTC+14:00",
                     "02.01.2025 10:00:00 UTC+99:99", "02.01.2025 10:00:00", "29.02.2023 10:00:00 UTC+00:00"]),
    ANY_TEXT,
)  # fmt: skip


@st.composite
def html_messages(draw: st.DrawFn, position: int) -> str:
    message_id = draw(st.just(str(position + 1)) | DIGITS | SHAPED)
    classes = draw(
        st.sampled_from(["message default clearfix", "message default clearfix joined", "message service"])
    )
    media = ""
    if draw(st.booleans()):
        media = (
            f'<div class="media_wrap clearfix"><a class="media clearfix pull_left {draw(MEDIA_CLASSES)}" href="{draw(ATTRIBUTE)}">'
            f'<div class="body"><div class="title bold">{draw(fragments(2))}</div>'
            f'<div class="description">{draw(fragments(2))}</div><div class="status details">{draw(ATTRIBUTE)}</div>'
            f'<div class="question">{draw(fragments(2))}</div><div class="answer">{draw(ATTRIBUTE)}<span class="details">{draw(ATTRIBUTE)} votes</span></div>'
            f'<div class="total details">{draw(ATTRIBUTE)} votes</div></div></a></div>'
        )
    return (
        f'<div class="{classes}" id="message{message_id}"><div class="body">'
        f'<div class="pull_right date details" title="{draw(DATES)}">10:00</div>'
        f'<div class="from_name">{draw(fragments(2))}</div>'
        f'<div class="forwarded body"><div class="from_name">{draw(ATTRIBUTE)}</div></div>' * draw(st.integers(0, 1))
        + f'<div class="reply_to details"><a href="#go_to_message{draw(DIGITS)}">this</a></div>' * draw(st.integers(0, 1))
        + media
        + f'<div class="text">{draw(fragments())}</div>'
        f'<div class="signature details">{draw(ATTRIBUTE)}</div>'
        f'<div class="reactions"><div class="reaction"><div class="emoji">{draw(ATTRIBUTE)}</div><div class="count">{draw(DIGITS | ATTRIBUTE)}</div></div></div>'
        "</div></div>"
    )  # fmt: skip


@st.composite
def html_pages(draw: st.DrawFn) -> str:
    messages = "".join(draw(html_messages(position)) for position in range(draw(st.integers(0, 4))))
    head = '<!DOCTYPE html><html><head><meta charset="utf-8"/></head><body><div class="page_wrap">'
    header = f'<div class="page_header"><div class="content"><div class="text bold">{draw(ATTRIBUTE)}</div></div></div>'
    return f'{head}{header}<div class="page_body chat_page"><div class="history">{messages}</div></div></div></body></html>'


@FUZZ
@given(page=html_pages())
def test_the_desktop_html_reader_raises_only_tgvault_errors(
    archive: tuple[UoW, LocalMediaStore, Path], page: str
) -> None:
    """Issue 17.4: any HTML export page is read or refused with a TgvaultError (never RecursionError, ValueError...)."""
    _, _, folder = archive
    with tempfile.TemporaryDirectory(dir=folder) as export:
        (Path(export) / "messages.html").write_text(page, encoding="utf-8", errors="surrogatepass")
        try:
            read_html_export(Path(export), 1777000401, UTC)
        except TgvaultError as exc:
            assert "\n" not in str(exc)


# ------------------------------------------------------------------------------------------ web preview

DATETIMES = st.one_of(
    st.sampled_from(["2023-03-01T12:00:00+00:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2023-03-01T12:00:00"]),
    ANY_TEXT,
)  # fmt: skip
VIEWS = st.one_of(st.sampled_from(["1.2K", "3M", "9" * 40 + "M", "1,234", "0"]), ATTRIBUTE)


@st.composite
def preview_posts(draw: st.DrawFn) -> str:
    channel = draw(st.integers(1, 2**40) | INTEGERS)
    view = draw(st.sampled_from(["eyJjIjotMTk4NzY1NDMyMSwicCI6MX0", "e30", ""]) | ATTRIBUTE)
    if draw(st.booleans()):
        import base64

        view = base64.urlsafe_b64encode(json.dumps({"c": -channel}).encode()).decode().rstrip("=")
    post = draw(st.just("1") | DIGITS | SHAPED)
    media = draw(st.sampled_from([
        "", '<a class="tgme_widget_message_photo_wrap" href="https://t.me/x/{p}" style="background-image:url(\'https://cdn4.telegram-cdn.org/a.jpg\')"></a>',
        '<div class="tgme_widget_message_grouped_wrap"><a class="grouped_media_wrap tgme_widget_message_photo_wrap" href="https://t.me/x/{p}"></a></div>',
        '<div class="tgme_widget_message_poll"><div class="tgme_widget_message_poll_question">{f}</div><div class="tgme_widget_message_poll_option"><div class="tgme_widget_message_poll_option_percent">{p}%</div></div></div>',
        '<a class="tgme_widget_message_location_wrap" href="https://maps.google.com/maps?q={p},{p}"></a>',
    ])).format(p=draw(DIGITS | SHAPED), f=draw(fragments(2)))  # fmt: skip
    return (
        f'<div class="tgme_widget_message_wrap"><div class="tgme_widget_message js-widget_message" data-post="x/{post}" data-view="{view}">'
        f'<div class="tgme_widget_message_bubble">{media}<div class="tgme_widget_message_text js-message_text">{draw(fragments())}</div>'
        f'<div class="tgme_widget_message_reactions"><span class="tgme_reaction"><tg-emoji emoji-id="{draw(DIGITS)}"></tg-emoji>{draw(VIEWS)}</span></div>'
        f'<span class="tgme_widget_message_views">{draw(VIEWS)}</span><span class="tgme_widget_message_meta"><a class="tgme_widget_message_date">'
        f'<time datetime="{draw(DATETIMES)}">12:00</time></a></span></div></div></div>'
    )  # fmt: skip


@st.composite
def preview_pages(draw: st.DrawFn) -> str:
    posts = "".join(draw(preview_posts()) for _ in range(draw(st.integers(0, 3))))
    header = (
        f'<div class="tgme_channel_info"><div class="tgme_channel_info_header_title">{draw(fragments(2))}</div>'
        f'<div class="tgme_channel_info_counter"><span class="counter_value">{draw(VIEWS)}</span><span class="counter_type">subscribers</span></div></div>'
    )  # fmt: skip
    return f'<html><body>{header}<section class="tgme_channel_history">{posts}</section></body></html>'


@FUZZ
@given(page=preview_pages())
def test_the_web_preview_parser_raises_only_tgvault_errors(page: str) -> None:
    """Issue 17.4: any preview page is parsed or refused with a TgvaultError (PageLayoutError)."""
    page_kind(page)
    try:
        parsed = parse_preview_page(page, url="https://t.me/s/x")
    except TgvaultError as exc:
        assert "\n" not in str(exc)
        return
    for item in parsed.posts:
        item.post.text.encode("utf-8")
