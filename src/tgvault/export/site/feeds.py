"""Per-channel Atom and RSS feeds of the latest posts, written as ElementTree writes them (every text and
attribute escaped), so they are always valid XML.

Feed readers need absolute links: with a ``base_url`` entries link to the site's permalinks, without
one to the post on t.me. Characters XML cannot carry (most control characters, lone surrogates) are
dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

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


def _text(text: str) -> str:
    """Character data escaped as ElementTree escapes it (``&``, ``<``, ``>``)."""
    return escape(text)


# what ElementTree escapes in an attribute value besides character data's three
_ATTRIBUTE_ENTITIES = {'"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"}


def _attribute(value: str) -> str:
    """An attribute value escaped as ElementTree escapes it."""
    return escape(value, _ATTRIBUTE_ENTITIES)


def _el(tag: str, text: str | None = None, **attrs: str) -> str:
    """An element holding ``text`` (made XML text), as ElementTree writes it: ``<tag />`` when empty."""
    opening = tag + "".join(f' {name}="{_attribute(xml_text(value))}"' for name, value in attrs.items())
    return _xml_el(opening, tag, None if text is None else xml_text(text))


def _xml_el(opening: str, tag: str, xml: str | None) -> str:
    """An element holding ``xml`` (already XML text: escaped here as character data)."""
    return f"<{opening}>{_text(xml)}</{tag}>" if xml else f"<{opening} />"


_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"


def _document(root: str) -> bytes:
    """The bytes of a feed: ElementTree's declaration, the root element, a final newline."""
    return (_DECLARATION + root + "\n").encode("utf-8", "xmlcharrefreplace")


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
    """An Atom 1.0 feed of ``posts`` (newest first); ``contents``: their :func:`feed_contents`, when known.

    Written as ElementTree wrote it (the same bytes; the tests compare), without building a tree."""
    if contents is None:
        contents = feed_contents(plan, posts, base_url)
    channel = plan.channel
    parts = [
        f'<feed xmlns="{ATOM_NS}">',
        _el("id", f"urn:tgvault:channel:{channel.id}"),
        _el("title", f"{channel.title} — {site_title}"),
    ]
    if channel.description:
        parts.append(_el("subtitle", channel.description))
    parts.append(_el("updated", _updated(posts, plan).astimezone(UTC).isoformat()))
    parts.append(_el("link", rel="alternate", type="text/html", href=_channel_link(plan, base_url)))
    if base_url:
        parts.append(
            _el("link", rel="self", type="application/atom+xml", href=f"{base_url}/{plan.atom_path}")
        )
    parts.append(f"<author>{_el('name', channel.title)}</author>")
    parts.append(_el("generator", "tgvault"))
    for post in posts:
        parts.append("<entry>")
        parts.append(_el("id", f"urn:tgvault:channel:{channel.id}:post:{post.message_id}"))
        parts.append(_el("title", _title(post)))
        parts.append(_el("published", post.date.astimezone(UTC).isoformat()))
        parts.append(_el("updated", (post.edit_date or post.date).astimezone(UTC).isoformat()))
        parts.append(_el("link", rel="alternate", type="text/html", href=_entry_link(plan, post, base_url)))
        if post.author:
            parts.append(f"<author>{_el('name', post.author)}</author>")
        parts.append(_xml_el('content type="html"', "content", contents[post.message_id]))  # XML text
        parts.append("</entry>")
    parts.append("</feed>")
    return _document("".join(parts))


def rss_feed(
    plan: ChannelPlan,
    posts: Sequence[Post],
    site_title: str,
    base_url: str | None,
    contents: Mapping[int, str] | None = None,
) -> bytes:
    """An RSS 2.0 feed of ``posts`` (newest first); ``contents``: their :func:`feed_contents`, when known.

    Written as ElementTree wrote it (the same bytes; the tests compare), without building a tree."""
    if contents is None:
        contents = feed_contents(plan, posts, base_url)
    channel = plan.channel
    parts = [
        '<rss version="2.0"><channel>',
        _el("title", f"{channel.title} — {site_title}"),
        _el("link", _channel_link(plan, base_url)),
        _el("description", channel.description or channel.title),
        _el("generator", "tgvault"),
        _el("lastBuildDate", format_datetime(_updated(posts, plan).astimezone(UTC), usegmt=True)),
    ]
    for post in posts:
        parts.append("<item>")
        parts.append(_el("title", _title(post)))
        parts.append(_el("link", _entry_link(plan, post, base_url)))
        parts.append(
            _el("guid", f"urn:tgvault:channel:{channel.id}:post:{post.message_id}", isPermaLink="false")
        )
        parts.append(_el("pubDate", format_datetime(post.date.astimezone(UTC), usegmt=True)))
        parts.append(_xml_el("description", "description", contents[post.message_id]))  # XML text
        parts.append("</item>")
    parts.append("</channel></rss>")
    return _document("".join(parts))
