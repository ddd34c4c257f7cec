"""Per-channel Atom and RSS feeds of the latest posts, built with ElementTree so they are always valid XML.

Feed readers need absolute links: with a ``base_url`` entries link to the site's permalinks, without
one to the post on t.me. Characters XML cannot carry (most control characters, lone surrogates) are
dropped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime

from tgvault.domain import MediaKind, Post
from tgvault.export.site.links import tme_channel_url, tme_post_url
from tgvault.export.site.plan import ChannelPlan
from tgvault.export.site.richtext import clean_text, render_text, snippet

ATOM_NS = "http://www.w3.org/2005/Atom"
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MEDIA_LABEL = {
    MediaKind.PHOTO: "Photo",
    MediaKind.VIDEO: "Video",
    MediaKind.ROUND_VIDEO: "Video message",
    MediaKind.ANIMATION: "GIF",
    MediaKind.VOICE: "Voice message",
    MediaKind.AUDIO: "Audio",
    MediaKind.DOCUMENT: "File",
    MediaKind.STICKER: "Sticker",
}


def xml_text(text: str) -> str:
    """Text XML 1.0 can carry: surrogates replaced, forbidden control characters removed."""
    return _XML_INVALID.sub("", clean_text(text))


def _title(post: Post) -> str:
    if post.text.strip():
        return snippet(post.text, 100)
    if post.media is not None:
        return _MEDIA_LABEL[post.media.kind]
    if post.poll is not None:
        return "Poll: " + snippet(post.poll.question, 90)
    return f"Post {post.message_id}"


def _entry_link(plan: ChannelPlan, post: Post, base_url: str | None) -> str:
    if base_url:
        path, fragment = plan.post_target(post.message_id)
        return f"{base_url}/{path}" + (f"#{fragment}" if fragment else "")
    return tme_post_url(plan.channel.id, post.message_id, plan.channel.username)


def _channel_link(plan: ChannelPlan, base_url: str | None) -> str:
    if base_url:
        return f"{base_url}/{plan.index_path}"
    return tme_channel_url(plan.channel) or f"https://t.me/c/{plan.channel.id}/1"


def _content_html(plan: ChannelPlan, post: Post, base_url: str | None) -> str:
    def hashtag(key: str) -> str | None:
        path = plan.tag_path(key)
        return f"{base_url}/{path}" if base_url and path else None

    parts = []
    if post.media is not None:
        parts.append(f"<p>[{_MEDIA_LABEL[post.media.kind]}]</p>")
    body = render_text(post.text, post.entities, hashtag)
    if body:
        parts.append(f'<div style="white-space:pre-wrap">{body}</div>')
    if post.poll is not None:
        items = "".join(f"<li>{render_text(answer.text, ())}</li>" for answer in post.poll.answers)
        parts.append(f"<p>{render_text(post.poll.question, ())}</p><ul>{items}</ul>")
    return "".join(parts)


def _updated(posts: Sequence[Post], plan: ChannelPlan) -> datetime:
    dates = [post.edit_date or post.date for post in posts]
    if dates:
        return max(dates)
    return plan.channel.created_at or datetime(1970, 1, 1, tzinfo=UTC)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def _serialise(root: ET.Element) -> bytes:
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def feed_contents(plan: ChannelPlan, posts: Sequence[Post], base_url: str | None) -> dict[int, str]:
    """Each post's entry content (HTML), by message id: what both feeds show, rendered once for both."""
    return {post.message_id: xml_text(_content_html(plan, post, base_url)) for post in posts}


def atom_feed(
    plan: ChannelPlan,
    posts: Sequence[Post],
    site_title: str,
    base_url: str | None,
    contents: Mapping[int, str] | None = None,
) -> bytes:
    """An Atom 1.0 feed of ``posts`` (newest first); ``contents``: their :func:`feed_contents`, when known."""
    if contents is None:
        contents = feed_contents(plan, posts, base_url)
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
        content.text = contents[post.message_id]  # already XML text
    return _serialise(feed)


def rss_feed(
    plan: ChannelPlan,
    posts: Sequence[Post],
    site_title: str,
    base_url: str | None,
    contents: Mapping[int, str] | None = None,
) -> bytes:
    """An RSS 2.0 feed of ``posts`` (newest first); ``contents``: their :func:`feed_contents`, when known."""
    if contents is None:
        contents = feed_contents(plan, posts, base_url)
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
        _sub(item, "description").text = contents[post.message_id]  # already XML text
    return _serialise(rss)
