"""The feeds written as strings (``feeds.py``) against the ElementTree code they replaced (kept here as
the reference): a built site's ``feed.atom`` and ``feed.rss`` are byte for byte what ElementTree writes
for the same plan and posts — hostile text, control characters, quotes and line breaks in attributes,
empty titles, authors, edits, media, polls, with and without ``base_url`` — and one element alone is
ElementTree's for any text and attributes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_site_archive import UoW, at, make_archive
from tgvault.domain import Channel, MediaItem, MediaKind, Poll, PollAnswer, Post
from tgvault.export.site import SiteOptions
from tgvault.export.site.build import _Build
from tgvault.export.site.feeds import (
    ATOM_NS,
    _channel_link,
    _el,
    _entry_link,
    _title,
    _updated,
    atom_feed,
    feed_contents,
    xml_text,
)
from tgvault.export.site.plan import ChannelPlan
from tgvault.storage.media_store import LocalMediaStore

# ---- the reference: the feeds as ElementTree built them before (issue 19) ------------------------------


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def _serialise(root: ET.Element) -> bytes:
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def reference_atom(
    plan: ChannelPlan,
    posts: Sequence[Post],
    site_title: str,
    base_url: str | None,
    contents: Mapping[int, str],
) -> bytes:
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    ns = f"{{{ATOM_NS}}}"
    _sub(feed, ns + "id", f"urn:tgvault:channel:{plan.channel.id}")
    _sub(feed, ns + "title", f"{plan.channel.title} — {site_title}")
    if plan.channel.description:
        _sub(feed, ns + "subtitle", plan.channel.description)
    _sub(feed, ns + "updated", _updated(posts, plan).astimezone(UTC).isoformat())
    _sub(feed, ns + "link", rel="alternate", type="text/html", href=_channel_link(plan, base_url))
    if base_url:
        _sub(feed, ns + "link", rel="self", type="application/atom+xml", href=f"{base_url}/{plan.atom_path}")
    author = _sub(feed, ns + "author")
    _sub(author, ns + "name", plan.channel.title)
    _sub(feed, ns + "generator", "tgvault")
    for post in posts:
        entry = _sub(feed, ns + "entry")
        _sub(entry, ns + "id", f"urn:tgvault:channel:{plan.channel.id}:post:{post.message_id}")
        _sub(entry, ns + "title", _title(post))
        _sub(entry, ns + "published", post.date.astimezone(UTC).isoformat())
        _sub(entry, ns + "updated", (post.edit_date or post.date).astimezone(UTC).isoformat())
        _sub(entry, ns + "link", rel="alternate", type="text/html", href=_entry_link(plan, post, base_url))
        if post.author:
            entry_author = _sub(entry, ns + "author")
            _sub(entry_author, ns + "name", post.author)
        content = _sub(entry, ns + "content", type="html")
        content.text = contents[post.message_id]
    return _serialise(feed)


def reference_rss(
    plan: ChannelPlan,
    posts: Sequence[Post],
    site_title: str,
    base_url: str | None,
    contents: Mapping[int, str],
) -> bytes:
    rss = ET.Element("rss", {"version": "2.0"})
    channel = _sub(rss, "channel")
    _sub(channel, "title", f"{plan.channel.title} — {site_title}")
    _sub(channel, "link", _channel_link(plan, base_url))
    _sub(channel, "description", plan.channel.description or plan.channel.title)
    _sub(channel, "generator", "tgvault")
    _sub(channel, "lastBuildDate", format_datetime(_updated(posts, plan).astimezone(UTC), usegmt=True))
    for post in posts:
        item = _sub(channel, "item")
        _sub(item, "title", _title(post))
        _sub(item, "link", _entry_link(plan, post, base_url))
        _sub(
            item, "guid", f"urn:tgvault:channel:{plan.channel.id}:post:{post.message_id}", isPermaLink="false"
        )
        _sub(item, "pubDate", format_datetime(post.date.astimezone(UTC), usegmt=True))
        _sub(item, "description").text = contents[post.message_id]
    return _serialise(rss)


# ---- a built site's feeds -------------------------------------------------------------------------------

HOSTILE = Channel(
    id=7007,
    username=None,
    title='Ch "<&>" \t\r\n\x01 ]]> 😀',
    description="line one\r\nline\ttwo <script>alert('x')</script> &amp; \x0b\ufffe",
)


def _hostile_posts() -> list[Post]:
    texts = [
        "plain",
        "<b>bold</b> & \"quoted\" 'single'",
        "\x01\x02\x03",  # a title of nothing XML can carry: an empty element
        "",
        "]]> <![CDATA[x]]> \r\n\t tabs",
        "x" * 300,
        "\u202eright to left\u202c 🇷🇺",
    ]
    posts = []
    for i, text in enumerate(texts * 3, start=1):
        posts.append(
            Post(
                channel_id=HOSTILE.id,
                message_id=i,
                date=at(3, 1) + timedelta(hours=i),
                edit_date=at(3, 5) + timedelta(minutes=i) if i % 4 == 0 else None,
                text=text,
                author=["", 'A <b>"writer"</b> &', "\x07", None][i % 4],
                media=MediaItem(kind=MediaKind.PHOTO, telegram_id=i) if i % 5 == 0 else None,
                poll=Poll(question='Q <&> "?"', answers=(PollAnswer(text="a&b"),)) if i % 6 == 0 else None,
            )
        )
    return posts


def _built(unit_of_work: UoW, root: Path, **options: object) -> _Build:
    build = _Build(
        unit_of_work, LocalMediaStore(root / "media"), SiteOptions(out_dir=root / "site", **options), True
    )  # type: ignore[arg-type]
    try:
        build.run()
    finally:
        build.ctx.writer.close()
    return build


@pytest.mark.parametrize("base_url", [None, "https://archive.example.org/a&b"])
def test_built_feeds_are_byte_for_byte_elementtrees(
    unit_of_work: UoW, tmp_path: Path, base_url: str | None
) -> None:
    store = LocalMediaStore(tmp_path / "media")
    make_archive(unit_of_work, store)
    with unit_of_work() as uow:
        uow.channels.upsert(HOSTILE, at(3, 1))
        uow.posts.upsert_many(_hostile_posts(), at(4, 1))
        uow.commit()
    title = 'Site <"&">\t'
    build = _built(unit_of_work, tmp_path, title=title, base_url=base_url, feed_size=15)
    compared = 0
    for plan in build.ctx.site.channels.values():
        ids = plan.newest(15)
        with unit_of_work() as uow:
            found = uow.posts.for_display(plan.channel.id, ids)
        posts = [found[i] for i in ids if i in found]
        contents = feed_contents(plan, posts, base_url and base_url.rstrip("/"))
        base = build.ctx.options.absolute_base
        atom = (tmp_path / "site" / plan.atom_path).read_bytes()
        rss = (tmp_path / "site" / plan.rss_path).read_bytes()
        assert atom == reference_atom(plan, posts, title, base, contents)
        assert rss == reference_rss(plan, posts, title, base, contents)
        assert atom == atom_feed(plan, posts, title, base)  # contents worked out when not given
        compared += 1
    assert compared == len(build.ctx.site.channels) >= 2
    hostile = (tmp_path / "site" / "c" / str(HOSTILE.id) / "feed.atom").read_text()
    assert "<title />" in hostile  # the post of control characters only
    assert "&lt;script&gt;" in hostile and "<script>" not in hostile
    ET.fromstring(hostile.encode())  # well formed


# ---- one element ----------------------------------------------------------------------------------------

texts = st.text(max_size=30) | st.sampled_from(["", "\x00", "]]>", "\r\n\t", "\"<&>'", "\ud800x", "😀"])


@settings(max_examples=500, deadline=None)
@given(text=st.none() | texts, href=texts, kind=texts)
def test_an_element_is_elementtrees(text: str | None, href: str, kind: str) -> None:
    element = ET.Element("link", {"href": xml_text(href), "type": xml_text(kind)})
    if text is not None:
        element.text = xml_text(text)
    assert _el("link", text, href=href, type=kind) == ET.tostring(element, encoding="unicode")
