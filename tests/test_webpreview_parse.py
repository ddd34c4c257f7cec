"""The web preview parser: a real saved t.me/s page field by field, and pages written in its structure."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tgvault.domain import (
    EntityKind,
    Forward,
    Location,
    MediaItem,
    MediaKind,
    Poll,
    PollAnswer,
    Post,
    Reaction,
    ServiceAction,
    SourceKind,
    TextEntity,
    WebPagePreview,
)
from tgvault.errors import PageLayoutError
from tgvault.sources.webpreview import (
    RAW_KEY,
    PageKind,
    ParsedPost,
    WebMedia,
    channel_id_from_view,
    page_kind,
    parse_count,
    parse_preview_page,
    parse_size,
    post_link,
)
from tgvault.text import utf16_slice

FIXTURES = Path(__file__).parent / "fixtures" / "webpreview"
REAL = FIXTURES / "infoscape_test-2022.html"
WEBTEST = FIXTURES / "tgvault_webtest.html"
REAL_ID = 1523057384
WEBTEST_ID = 1987654321
CDN = "https://cdn4.telegram-cdn.org/file"
PHOTO_3 = (
    "https://cdn4.telegram-cdn.org/file/JYf-qfujXX6ldi1Sxf9AnETWceXm0jGwGKM8IYm31cjx8RgchkN_HOtRdHpLiE8SnMaSE1"
    "l579NBHgQebxVqh0PcsVB7goGBFC5E0o1ACr5tBH8aQxVG1KAdnz3jvnAZMK-oCXSVxglLjsGFmzaEZoh0XjTW6jeXp_i6kHv0eYUgCbx"
    "h-Ygk1OWXSpBmZVs25DKdu05nBtcOPCmXvb3GaK6Ofu3KVgT_cdap5m6L2dKnp11823VFWEOg2jIdX4V31mj4Pshl1LBUxW3m5GBHXGdi"
    "lQkf-PZcSPSj2NG9MoTYQ9VncofprbSEVuv--JbKCBDxFdQ8aobSzAAx0CD3Pw.jpg"
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def without_raw(item: ParsedPost) -> Post:
    return item.post.model_copy(update={"raw": None})


@pytest.fixture(scope="module")
def real_posts() -> dict[int, ParsedPost]:
    page = parse_preview_page(REAL.read_text(), url="https://t.me/s/infoscape_test?before=8")
    return {item.post.message_id: item for item in page.posts}


@pytest.fixture(scope="module")
def webtest() -> dict[int, ParsedPost]:
    page = parse_preview_page(WEBTEST.read_text(), url="https://t.me/s/tgvault_webtest")
    return {item.post.message_id: item for item in page.posts}


# ---- the real page ---------------------------------------------------------------------------------


def test_real_page_header_and_channel_id_from_data_view() -> None:
    """The header gives title, username and counters; data-view gives Telegram's numeric channel id."""
    page = parse_preview_page(REAL.read_text(), url="https://t.me/s/infoscape_test?before=8")

    assert REAL_ID == page.channel_id
    assert "infoscape_test" == page.header.title
    assert "infoscape_test" == page.header.username
    assert page.header.description is None
    assert page.header.photo_url is None
    assert 1 == page.header.subscribers
    assert {"subscriber": 1, "photo": 1, "file": 1, "link": 1} == dict(page.header.counters)
    assert [7, 5, 4, 3, 2, 1] == page.ids  # newest first; 6 is not on the page


def test_real_page_every_post_field_by_field(real_posts: dict[int, ParsedPost]) -> None:
    """Each post of the saved page maps to exactly these records (raw aside)."""
    base = {"channel_id": REAL_ID, "source": SourceKind.WEB}
    expected = {
        1: Post(
            **base,
            message_id=1,
            date=at("2022-05-24T19:06:50+00:00"),
            service=ServiceAction(type="channel_create", text="Channel created"),
        ),
        2: Post(
            **base, message_id=2, date=at("2022-05-24T19:07:22+00:00"), text="простое сообщение", views=2
        ),
        3: Post(
            **base,
            message_id=3,
            date=at("2022-05-24T19:08:13+00:00"),
            text="сообщение с картинкой",
            views=2,
            media=MediaItem(kind=MediaKind.PHOTO, mime_type="image/jpeg"),
        ),
        4: Post(
            **base,
            message_id=4,
            date=at("2022-05-24T19:08:25+00:00"),
            text="ссылка на https://yandex.ru/",
            entities=(TextEntity(kind=EntityKind.URL, offset=10, length=18),),
            views=2,
            web_page=WebPagePreview(url="https://yandex.ru/", site_name="Яндекс", description="Найдётся всё"),
        ),
        5: Post(
            **base,
            message_id=5,
            date=at("2022-05-24T19:09:57+00:00"),
            text="файл",
            views=2,
            media=MediaItem(kind=MediaKind.DOCUMENT, file_name="2022-05-24 22.09.34.jpg", size=53862),
        ),
        7: Post(
            **base,
            message_id=7,
            date=at("2022-05-24T19:10:44+00:00"),
            text="ответ на сообщение",
            views=2,
            reply_to_message_id=2,
        ),
    }
    assert expected == {message_id: without_raw(item) for message_id, item in real_posts.items()}


def test_real_page_file_locations(real_posts: dict[int, ParsedPost]) -> None:
    """The photo's file is at the URL of its background image; the document has none on the page."""
    assert WebMedia(PHOTO_3) == real_posts[3].media
    document = real_posts[5].media
    assert document is not None and document.url is None and "no download" in (document.unavailable or "")
    assert {1, 2, 4, 7} == {key for key, item in real_posts.items() if item.media is None}


def test_real_page_raw_keeps_the_post_html(real_posts: dict[int, ParsedPost]) -> None:
    """raw holds data-post, data-view, the bubble's HTML (without the decorative tail) and values as shown."""
    raw = real_posts[4].post.raw
    assert raw is not None
    kept = raw[RAW_KEY]
    assert "infoscape_test/4" == kept["post"]
    assert REAL_ID == channel_id_from_view(kept["view"])
    assert "2" == kept["views"]
    assert kept["edited"] is False
    assert "link_preview_right_image" in kept["html"]
    assert "bubble_tail" not in kept["html"]


# ---- pages written in the same structure ------------------------------------------------------------


def test_header_with_photo_description_and_rounded_counters() -> None:
    """Emoji in the title, a description with a line break, "12.3K subscribers", the channel photo."""
    page = parse_preview_page(WEBTEST.read_text(), url="https://t.me/s/tgvault_webtest")

    assert WEBTEST_ID == page.channel_id
    assert "tgvault web test 📎" == page.header.title
    assert "Test channel for the web source\nSecond line with a link" == page.header.description
    assert f"{CDN}/channelphoto.jpg" == page.header.photo_url
    assert 12_300 == page.header.subscribers


def test_formatting_becomes_entities_in_utf16_units(webtest: dict[int, ParsedPost]) -> None:
    """Every formatting tag maps to the entity model; offsets count UTF-16 units (🇷🇺 is 4)."""
    post = webtest[2].post
    spans = {(entity.kind, utf16_slice(post.text, entity.offset, entity.length)) for entity in post.entities}

    assert {
        (EntityKind.BOLD, "Bold"),
        (EntityKind.ITALIC, "italic"),
        (EntityKind.UNDERLINE, "underline"),
        (EntityKind.STRIKETHROUGH, "strike"),
        (EntityKind.CODE, "code"),
        (EntityKind.SPOILER, "spoiler"),
        (EntityKind.TEXT_LINK, "a text link"),
        (EntityKind.URL, "https://example.org/"),
        (EntityKind.MENTION, "@durov"),
        (EntityKind.HASHTAG, "#news"),
        (EntityKind.CASHTAG, "$TON"),
        (EntityKind.BOLD, "bold nested"),
        (EntityKind.ITALIC, "nested"),
        (EntityKind.PRE, 'print("hi")'),
        (EntityKind.BLOCKQUOTE, "a quote"),
        (EntityKind.CUSTOM_EMOJI, "👍"),
    } == spans
    by_kind = {entity.kind: entity for entity in post.entities}
    assert "https://example.org/page" == by_kind[EntityKind.TEXT_LINK].url
    assert "python" == by_kind[EntityKind.PRE].language
    assert 5368324170671202286 == by_kind[EntityKind.CUSTOM_EMOJI].document_id
    assert post.text.endswith('flag 🇷🇺 bold nested\nprint("hi")\na quote\n👍 done')


def test_emoji_heavy_text_offsets(webtest: dict[int, ParsedPost]) -> None:
    """Astral characters (a flag, 𝔸, 👍) shift later offsets by two units each."""
    post = webtest[33].post
    assert "🇷🇺 flag then bold 𝔸 and 👍 end" == post.text
    assert (
        TextEntity(kind=EntityKind.BOLD, offset=15, length=7),
        TextEntity(kind=EntityKind.ITALIC, offset=27, length=6),
    ) == post.entities
    assert ["bold 𝔸", "👍 end"] == [utf16_slice(post.text, e.offset, e.length) for e in post.entities]


def test_views_reactions_and_author(webtest: dict[int, ParsedPost]) -> None:
    """ "1.2K" and "3M" views are stored as the number shown; reactions keep emoji, custom and paid."""
    assert 1_200 == webtest[2].post.views
    assert 3_000_000 == webtest[3].post.views
    assert 12_300 == webtest[4].post.views
    assert "Anna Editor" == webtest[3].post.author
    assert (
        Reaction(emoji="👍", count=1_200),
        Reaction(custom_emoji_id=5368324170671202286, count=15),
        Reaction(paid=True, count=3),
    ) == webtest[2].post.reactions


def test_album_items_become_posts_of_one_group(webtest: dict[int, ParsedPost]) -> None:
    """An album is one block on the page but one post per item, grouped, caption on the first."""
    items = [webtest[4], webtest[5], webtest[6]]

    assert [4, 4, 4] == [item.post.grouped_id for item in items]
    assert ["Album caption", "", ""] == [item.post.text for item in items]
    assert [MediaKind.PHOTO, MediaKind.VIDEO, MediaKind.PHOTO] == [
        item.post.media.kind for item in items if item.post.media
    ]
    assert webtest[5].post.media is not None and 12.0 == webtest[5].post.media.duration
    assert [f"{CDN}/album4.jpg", f"{CDN}/video5.mp4", f"{CDN}/album6.jpg"] == [
        item.media.url for item in items if item.media
    ]
    assert [12_300] * 3 == [item.post.views for item in items]
    assert 7 not in webtest  # the deleted post between the album and the poll


def test_poll_with_percentages_only(webtest: dict[int, ParsedPost]) -> None:
    """A poll keeps question, answers and voters; the preview shows percentages, not vote counts."""
    post = webtest[8].post
    assert (
        Poll(
            question="Which source?",
            answers=(PollAnswer(text="Telegram"), PollAnswer(text="Web")),
            total_voters=1_500,
        )
        == post.poll
    )
    assert post.raw is not None
    assert ["60%", "40%"] == post.raw[RAW_KEY]["poll_percents"]


def test_forwards_from_a_channel_and_from_a_hidden_account(webtest: dict[int, ParsedPost]) -> None:
    """A forward keeps the name shown and the original post's id when the page links it."""
    assert Forward(from_name="Other & News", from_message_id=77) == webtest[9].post.forward
    assert Forward(from_name="Hidden Person") == webtest[10].post.forward
    raw = webtest[9].post.raw
    assert raw is not None and "https://t.me/otherchan/77" == raw[RAW_KEY]["forwarded_from"]


def test_voice_document_sticker_round_video_and_gif(webtest: dict[int, ParsedPost]) -> None:
    """Each media kind the preview shows, with the file URL when it offers one."""
    assert MediaItem(kind=MediaKind.VOICE, mime_type="audio/ogg", duration=4.0) == webtest[11].post.media
    assert WebMedia(f"{CDN}/voice11.ogg?token=abc") == webtest[11].media
    assert (
        MediaItem(kind=MediaKind.DOCUMENT, file_name="report.pdf", size=1_258_291) == webtest[12].post.media
    )
    assert webtest[12].media is not None and webtest[12].media.url is None
    sticker = MediaItem(kind=MediaKind.STICKER, mime_type="image/webp", sticker_emoji="😀")
    assert sticker == webtest[19].post.media
    assert WebMedia(f"{CDN}/sticker19.webp") == webtest[19].media
    round_video = MediaItem(kind=MediaKind.ROUND_VIDEO, mime_type="video/mp4", duration=7.0)
    assert round_video == webtest[31].post.media
    assert MediaItem(kind=MediaKind.ANIMATION, mime_type="video/mp4") == webtest[32].post.media


def test_video_shown_only_as_thumbnail_has_no_file(webtest: dict[int, ParsedPost]) -> None:
    """A video too large for the browser is a video with a duration and no downloadable file."""
    assert MediaItem(kind=MediaKind.VIDEO, mime_type="video/mp4", duration=754.0) == webtest[16].post.media
    media = webtest[16].media
    assert media is not None and media.url is None and "thumbnail" in (media.unavailable or "")
    assert webtest[16].post.parse_error is None  # the player's fallback label is not a hidden post


def test_posts_the_preview_does_not_show(webtest: dict[int, ParsedPost]) -> None:
    """ "Please open Telegram to view this post" and unsupported media are recorded as such."""
    hidden = webtest[14].post
    assert "" == hidden.text and hidden.media is None
    assert hidden.parse_error is not None and "Please open Telegram to view this post" in hidden.parse_error
    unsupported = webtest[27].post
    assert unsupported.parse_error is not None
    assert "This media is not supported in your browser" in unsupported.parse_error


def test_edited_mark_replies_link_preview_and_location(webtest: dict[int, ParsedPost]) -> None:
    """The edited mark is kept in raw (the preview gives no edit date); replies, previews, places."""
    edited, plain = webtest[13].post.raw, webtest[21].post.raw
    assert edited is not None and plain is not None
    assert (True, False) == (edited[RAW_KEY]["edited"], plain[RAW_KEY]["edited"])
    assert webtest[13].post.edit_date is None
    assert 13 == webtest[17].post.reply_to_message_id
    assert "A reply" == webtest[17].post.text  # the quoted text of the replied post is not this post's
    cross = webtest[20].post
    assert cross.reply_to_message_id is None and cross.raw is not None
    assert "https://t.me/otherchan/5" == cross.raw[RAW_KEY]["reply_to"]
    assert (
        WebPagePreview(
            url="https://example.org/article",
            site_name="Example",
            title="An article",
            description="First line\nSecond line",
        )
        == webtest[18].post.web_page
    )
    assert Location(latitude=55.7558, longitude=37.6173) == webtest[30].post.location


def test_service_messages(webtest: dict[int, ParsedPost]) -> None:
    """Service messages become service actions, with the text the preview shows."""
    assert ServiceAction(type="channel_create", text="Channel created") == webtest[1].post.service
    assert ServiceAction(type="chat_edit_photo", text="Channel photo updated") == webtest[15].post.service
    assert (
        ServiceAction(
            type="chat_edit_title",
            title="tgvault web test",
            text="Channel name was changed to «tgvault web test»",
        )
        == webtest[34].post.service
    )
    assert "" == webtest[34].post.text


# ---- values and classification ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        ("2", 2),
        ("1.2K", 1_200),
        ("3M", 3_000_000),
        ("436.6K", 436_600),
        ("12.3K", 12_300),
        ("1.37K", 1_370),
        ("1,234", 1_234),
        ("1B", 1_000_000_000),
        ("", None),
        ("many", None),
        (None, None),
    ],
)
def test_counts_as_shown(shown: str | None, expected: int | None) -> None:
    """Rounded counts are converted exactly, without float error."""
    assert expected == parse_count(shown)


def test_sizes_links_and_view_tokens() -> None:
    """Sizes are base 1024; post links give (name, id); data-view may use the -100 prefix."""
    assert 53_862 == parse_size("52.6 KB")
    assert 1_258_291 == parse_size("1.2 MB")
    assert parse_size("0:04") is None
    assert ("chan", 85) == post_link("https://t.me/chan/85?single")
    assert ("chan", 3) == post_link("https://t.me/s/chan/3")
    assert post_link("https://t.me/c/123/45") is None
    assert post_link("https://t.me/chan") is None
    assert 1591537674 == channel_id_from_view(
        "eyJjIjotMTU5MTUzNzY3NCwicCI6Ijg0ZyIsInQiOjE2NzcyNDEzNDMsImgiOiJkN2I0ZGFkYWUyYjRmY2ZlZjgifQ"
    )
    assert channel_id_from_view("not base64!") is None


def test_page_kinds() -> None:
    """Channel pages, landing pages of names without a preview, unknown names, and anything else."""
    assert (PageKind.CHANNEL, None) == page_kind(REAL.read_text())
    assert PageKind.NO_PREVIEW == page_kind((FIXTURES / "no-preview.html").read_text())[0]
    assert PageKind.UNKNOWN_NAME == page_kind((FIXTURES / "not-found.html").read_text())[0]
    assert (PageKind.OTHER, None) == page_kind((FIXTURES / "changed-layout.html").read_text())


def test_a_page_without_channel_ids_is_a_layout_change() -> None:
    """Posts whose data-view tokens are gone cannot be archived under a channel id: an error, not 0 posts."""
    html = REAL.read_text().replace("data-view=", "data-x=")
    with pytest.raises(PageLayoutError, match="data-view"):
        parse_preview_page(html, url="https://t.me/s/infoscape_test")


def test_a_post_without_a_date_is_a_layout_change() -> None:
    """A post block without its <time datetime> is reported with the post it concerns."""
    html = REAL.read_text().replace('<time datetime="2022-05-24T19:07:22+00:00"', "<time")
    with pytest.raises(PageLayoutError, match="infoscape_test/2 has no date"):
        parse_preview_page(html, url="https://t.me/s/infoscape_test")


def test_a_page_without_history_is_a_layout_change() -> None:
    """The changed-layout page has no message history at all."""
    with pytest.raises(PageLayoutError, match="tgme_channel_history"):
        parse_preview_page((FIXTURES / "changed-layout.html").read_text(), url="https://t.me/s/x")
