"""The card written in Python (``card_html.py``) against the theme's ``post_card`` macro it stands for.

Cards of every shape — service messages, albums, each kind of attachment with its file present and
missing, polls, previews, places, contacts, reactions, revisions, flags — with hostile text in every
value are rendered both ways: the bytes must be the same, so the macro stays the definition of the card
and a site whose templates folder has its own ``_macros.html`` looks like the theme.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from tgvault.export.site import SiteOptions
from tgvault.export.site.card_html import card_html
from tgvault.export.site.render import Renderer
from tgvault.export.site.richtext import escape_text
from tgvault.export.site.views import (
    CardView,
    ContactView,
    LinkLabel,
    MediaView,
    PlaceView,
    PollOptionView,
    PollView,
    ReactionView,
    ReplyView,
    RevisionView,
    WebPageView,
)

HOSTILE = [
    "",
    "a",
    "<script>x</script>",
    "\"'&<>",
    "a & b",
    "tg://user?id=1",
    "https://e.org/?a=1&b='2'",
    "😀 ٣",
]
text = st.sampled_from(HOSTILE) | st.text(max_size=12)
maybe = st.none() | text
html = st.sampled_from([Markup(""), Markup("<strong>bold</strong> &amp; text"), Markup("plain")])
KINDS = [
    "photo",
    "video",
    "gif",
    "round",
    "audio",
    "voice",
    "sticker",
    "sticker-video",
    "sticker-animated",
    "document",
]

media = st.builds(
    MediaView,
    kind=st.sampled_from(KINDS),
    url=maybe,
    name=text,
    size=text,
    mime=text,
    width=st.none() | st.integers(0, 4000),
    height=st.none() | st.integers(0, 4000),
    duration=text,
    performer=text,
    title=text,
    emoji=text,
    spoiler=st.booleans(),
    note=text,
    deleted=st.booleans(),
    thumbnail=maybe,
    download_name=text,
    served_type=text,
)
poll = st.builds(
    PollView,
    question=text,
    kind=text,
    options=st.lists(
        st.builds(
            PollOptionView,
            text=text,
            voters=text,
            percent=st.integers(0, 100),
            chosen=st.booleans(),
            correct=st.booleans(),
        ),
        max_size=3,
    ),
    total=text,
    closed=st.booleans(),
)
card = st.builds(
    CardView,
    message_id=st.integers(1, 2**31),
    anchor=text,
    extra_anchors=st.lists(text, max_size=2),
    channel_title=text,
    channel_url=text,
    avatar_url=maybe,
    avatar_letter=text,
    permalink=text,
    tme_url=text,
    timeline_url=maybe,
    date_iso=text,
    date_time=text,
    date_full=text,
    text_html=html,
    service=maybe,
    author=maybe,
    forward=st.none() | st.builds(LinkLabel, label=text, url=maybe),
    reply=st.none() | st.builds(ReplyView, url=maybe, author=text, text=text, archived=st.booleans()),
    visuals=st.lists(media, max_size=5),
    files=st.lists(media, max_size=3),
    poll=st.none() | poll,
    web_page=st.none()
    | st.builds(WebPageView, url=maybe, display_url=text, site_name=text, title=text, description=text),
    place=st.none()
    | st.builds(
        PlaceView, latitude=text, longitude=text, map_url=text, title=text, address=text, live=st.booleans()
    ),
    contact=st.none() | st.builds(ContactView, name=text, phone=text, url=maybe),
    views=maybe,
    views_exact=maybe,
    comments=st.none() | st.integers(0, 10**6),
    comments_url=maybe,
    reactions=st.lists(st.builds(ReactionView, label=text, count=text, title=text), max_size=3),
    edited=maybe,
    revisions=st.lists(st.builds(RevisionView, label=text, text_html=html), max_size=2),
    deleted=maybe,
    parse_error=maybe,
    pinned=st.booleans(),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(view=card)
def test_the_python_card_is_byte_for_byte_the_theme_macro(view: CardView, tmp_path_factory: object) -> None:
    renderer = Renderer(SiteOptions(out_dir=Path("unused")))
    assert card_html(view) == renderer.macro_card(view)


def test_escaping_is_markupsafes() -> None:
    from markupsafe import escape

    for value in [*HOSTILE, 12, None, "\x00<\u2028>"]:
        assert escape_text(value) == str(escape(value))
