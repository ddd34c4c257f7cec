"""One comment of Telegram's discussion widget (``t.me/<channel>/<post>?embed=1&discussion=1``) as records.

A comment block is a ``.tgme_widget_message.js-widget_message`` carrying its id in the discussion group
as ``data-post-id`` (no ``data-post``, no ``data-view``). Inside its bubble, as in a channel post: the
author (``.tgme_widget_message_author_name``, a link to ``t.me/<username>`` when the person has one), a
quote of the comment it answers (``.tgme_widget_message_reply.js-reply_to`` with ``data-reply-to``, the
answered comment's id), the text, the file, the reactions and the footer with the date and an "edited"
mark. The avatar (``.tgme_widget_message_user``) is outside the bubble and is not read.

What the widget does not show is never invented: it names no Telegram user id, so an author is known by
the @username its name links to, or else by the name shown; :func:`web_author_id` turns that into a
stable id of its own range (``2**54`` up to ``2**55``, below the pseudonyms' and above any Telegram id),
with ``kind = "web"``. Everything that names a person is kept only in the author record (never in
``raw``), so pseudonymous archives (``comments_authors = "pseudonymous"``) hold no name.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from selectolax.lexbor import LexborNode

from tgvault.domain import CommentAuthor, CommentLink, Post, SourceKind
from tgvault.errors import PageLayoutError
from tgvault.sources.base import FetchedPost
from tgvault.sources.webpreview.media import shown_media
from tgvault.sources.webpreview.nodes import first_own, inside, own_text, plain
from tgvault.sources.webpreview.notes import Notes
from tgvault.sources.webpreview.post_parts import forward_of, location_of, poll_of, reactions_of, web_page_of
from tgvault.sources.webpreview.posts import bubble_html, message_date, unsupported_label
from tgvault.sources.webpreview.records import RAW_KEY
from tgvault.sources.webpreview.rich_text import RichText

WEB_AUTHOR: Final = "web"
"""The ``kind`` of an author known only from the widget (no Telegram id)."""
_USERNAME: Final = re.compile(r"^/([A-Za-z0-9_]{1,64})/?$")
_TELEGRAM_HOSTS: Final = frozenset({"t.me", "www.t.me", "telegram.me", "www.telegram.me", "telegram.dog"})
_PERSONAL: Final = (
    ".tgme_widget_message_author",
    ".tgme_widget_message_reply .tgme_widget_message_author_name",
    ".tgme_widget_message_user",
)
"""What names a person in a comment's bubble: left out of the HTML kept in ``raw``."""


@dataclass(frozen=True)
class Thread:
    """Where the comments of a widget page belong: the channel post and its discussion group."""

    channel_id: int
    post_id: int
    group_id: int
    top_id: int | None
    """The group's copy of the post (``top_msg_id``): a reply quoting it answers the post, not a comment."""


def web_author_id(key: str) -> int:
    """The stable id of an author known by ``key`` (``@username`` or ``name:<shown name>``) on the web."""
    digest = hashlib.sha256(f"web-author:{key}".encode()).digest()
    return (1 << 54) | (int.from_bytes(digest[:7], "big") >> 2)


def _username(href: str | None) -> str | None:
    if not href:
        return None
    try:
        split = urlsplit(href.strip())
    except ValueError:
        return None
    if (split.hostname or "").lower() not in _TELEGRAM_HOSTS:
        return None
    match = _USERNAME.match(split.path)
    return match.group(1) if match and not split.query else None


def author_of(bubble: LexborNode) -> CommentAuthor | None:
    """Who wrote the comment, as far as the widget shows (None: it names nobody)."""
    box = first_own(bubble, ".tgme_widget_message_author")
    node = box.css_first(".tgme_widget_message_author_name") if box is not None else None
    name = plain(node) or plain(box) or ""
    username = _username(node.attributes.get("href")) if node is not None else None
    if not name and username is None:
        return None
    key = f"@{username.lower()}" if username else f"name:{name}"
    return CommentAuthor(id=web_author_id(key), kind=WEB_AUTHOR, name=name[:256], username=username)


def _answered(bubble: LexborNode) -> int | None:
    """The id of the message a comment quotes (its ``data-reply-to``), or None."""
    for node in bubble.css(".tgme_widget_message_reply"):
        if inside(node, bubble, frozenset({"tgme_widget_message_link_preview"})):
            continue
        value = (node.attributes.get("data-reply-to") or "").strip()
        if value.isascii() and value.isdigit() and len(value) < 12:
            return int(value)
    return None


def _private_html(bubble: LexborNode) -> str:
    copy = bubble.clone()
    for selector in _PERSONAL:
        for node in copy.css(selector):
            node.decompose()
    return bubble_html(copy)


def comment_of(message: LexborNode, thread: Thread, url: str) -> FetchedPost:
    """A comment block as a group message tied to its post; PageLayoutError when it has no id or date."""
    value = (message.attributes.get("data-post-id") or "").strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 11:
        raise PageLayoutError(url, f"a comment without a readable data-post-id ({value[:20]!r})")
    message_id = int(value)
    date = message_date(message, url, f"comment {message_id}")
    bubble = message.css_first(".tgme_widget_message_bubble") or message
    notes = Notes()
    raw: dict[str, Any] = {"comment": message_id, "post": thread.post_id}
    text_node = first_own(bubble, ".tgme_widget_message_text.js-message_text")
    rich = RichText.of(text_node) if text_node is not None else RichText()
    meta = bubble.css_first(".tgme_widget_message_meta")
    raw["edited"] = meta is not None and "edited" in own_text(meta).lower()
    label = unsupported_label(bubble)
    if label is not None:
        raw["not_shown"] = label
        notes.add(f"the discussion widget does not show this comment's media ({label!r})")
    media_item, web_media = shown_media(bubble, url, notes)
    answered = _answered(bubble)
    parent = answered if answered is not None and answered != thread.top_id else None
    author = author_of(bubble)
    raw["html"] = _private_html(bubble)
    forward = forward_of(bubble, raw)
    raw.pop("forwarded_from", None)  # a link to whoever was forwarded: a person, perhaps
    post = Post(
        channel_id=thread.group_id,
        message_id=message_id,
        date=date,
        text=rich.text,
        entities=rich.entities,
        reply_to_message_id=answered if answered is not None else thread.top_id,
        forward=forward,
        reactions=reactions_of(bubble),
        media=media_item,
        poll=poll_of(bubble, raw),
        web_page=web_page_of(bubble, url),
        location=location_of(bubble),
        source=SourceKind.WEB,
        raw={RAW_KEY: raw},
        parse_error=notes.text,
    )
    link = CommentLink(
        group_id=thread.group_id,
        message_id=message_id,
        channel_id=thread.channel_id,
        post_id=thread.post_id,
        reply_to_comment_id=parent,
        author_id=author.id if author is not None else None,
    )
    return FetchedPost(post, web_media, author=author, comment=link)
