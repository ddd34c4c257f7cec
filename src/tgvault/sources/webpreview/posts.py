"""Read the posts of a page of Telegram's public web preview (``t.me/s/<channel>``) into domain records.

This package's parsing modules are the only code that knows the preview's HTML. They parse with a real
HTML parser (selectolax/Lexbor); the few regular expressions read *values* (a CSS ``url(...)``, a count
like ``1.2K``, a duration, a service message's text), never markup.

What a page gives, and how it maps:

- Each ``.tgme_widget_message`` is one post, or one album (``.tgme_widget_message_grouped_wrap``) whose
  items become one post each, with their own ids (``.../<id>?single`` links) and ``grouped_id`` set to
  the album's first id (Telegram's real grouped id is not on the page). The caption goes to that first
  post.
- The channel's numeric id comes from each post's ``data-view`` token: base64url JSON whose ``"c"`` is
  the negated bare channel id (``{"c": -1523057384, "p": 1, ...}``). Every token on a page must agree.
- Text is rebuilt from the HTML with its formatting as :class:`~tgvault.domain.TextEntity` spans in
  UTF-16 units, exactly as Telegram counts them; ``<br>`` is a newline, emoji images give their emoji.
- Counts shown rounded (``1.2K`` views, ``3M``) are stored as the number shown (1200, 3000000).
- What the preview does not show is never invented: no edit date (only an "edited" mark, kept in
  ``raw``), no poll vote counts (only percentages, kept in ``raw``), no file for documents, and posts
  shown as "Please open Telegram to view this post" are recorded with a ``parse_error`` saying so.
- ``Post.raw`` is ``{"webpreview": {...}}``: the post's ``data-post`` and ``data-view``, its bubble HTML
  (minus the decorative bubble tail) and the values read as shown, so a later version can re-read it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from selectolax.lexbor import LexborNode

from tgvault.domain import MediaItem, Post, SourceKind
from tgvault.errors import PageLayoutError
from tgvault.sources.html_text import classes_of
from tgvault.sources.webpreview.media import PLAYERS, media_of, shown_media
from tgvault.sources.webpreview.nodes import first_own, inside, own, own_text, plain
from tgvault.sources.webpreview.notes import Notes
from tgvault.sources.webpreview.post_parts import forward_of, location_of, poll_of, reactions_of, web_page_of
from tgvault.sources.webpreview.records import RAW_KEY, ParsedPost, WebMedia
from tgvault.sources.webpreview.rich_text import RichText
from tgvault.sources.webpreview.service_messages import service_action
from tgvault.sources.webpreview.values import parse_count, post_link

HIDDEN_POST_LABEL = "Please open Telegram to view this post"


def unsupported_label(bubble: LexborNode) -> str | None:
    """The preview's "not shown here" label of a post (not the fallback text inside a video player)."""
    for label in own(bubble, ".message_media_not_supported_label"):
        if not inside(label, bubble, PLAYERS):
            return plain(label)
    return None


def bubble_html(bubble: LexborNode) -> str:
    """A message bubble's HTML as kept in ``raw`` (without the decorative bubble tail)."""
    copy = bubble.clone()
    for tail in copy.css(".tgme_widget_message_bubble_tail"):
        tail.decompose()
    return copy.html or ""


def message_date(message: LexborNode, url: str, data_post: str) -> datetime:
    """The date a message block shows (its ``<time datetime>``), in UTC; PageLayoutError when it has none."""
    time_node = message.css_first(".tgme_widget_message_date time[datetime]")
    if time_node is None:
        time_node = message.css_first(".tgme_widget_message_footer time[datetime]")
    value = time_node.attributes.get("datetime") if time_node is not None else None
    if not value:
        raise PageLayoutError(url, f"post {data_post} has no date (.tgme_widget_message_date time)")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise PageLayoutError(url, f"post {data_post} has a date that is not ISO 8601: {value!r}") from None
    if parsed.tzinfo is None:
        raise PageLayoutError(url, f"post {data_post} has a date without a time zone: {value!r}")
    return parsed.astimezone(UTC)


def _message_id(data_post: str, url: str) -> int:
    _, _, number = data_post.rpartition("/")
    if not number.isdigit():
        raise PageLayoutError(url, f"data-post {data_post!r} does not end in a message id")
    return int(number)


def posts_of(message: LexborNode, channel_id: int, username: str | None, url: str) -> Iterator[ParsedPost]:
    """The post (or the album's posts) of one ``.tgme_widget_message``."""
    data_post = message.attributes.get("data-post") or ""
    message_id = _message_id(data_post, url)
    date = message_date(message, url, data_post)
    bubble = message.css_first(".tgme_widget_message_bubble") or message
    notes = Notes()
    raw: dict[str, Any] = {"post": data_post, "view": message.attributes.get("data-view")}

    text_node = first_own(bubble, ".tgme_widget_message_text.js-message_text")
    rich = RichText.of(text_node) if text_node is not None else RichText()
    text, entities = rich.text, rich.entities

    service = None
    if "service_message" in classes_of(message):
        service = service_action(text.strip())
        text, entities = "", ()

    views_text = plain(bubble.css_first(".tgme_widget_message_views"))
    raw["views"] = views_text
    meta = bubble.css_first(".tgme_widget_message_meta")
    raw["edited"] = meta is not None and "edited" in own_text(meta).lower()

    reply_to = None
    reply = bubble.css_first("a.tgme_widget_message_reply")
    if reply is not None:
        target = post_link(reply.attributes.get("href"))
        same_channel = target is not None and username is not None and target[0].lower() == username.lower()
        if target is not None and same_channel:
            reply_to = target[1]
        else:
            raw["reply_to"] = reply.attributes.get("href")  # another channel: its numeric id is unknown

    label = unsupported_label(bubble)
    if label is not None:
        raw["not_shown"] = label
        if HIDDEN_POST_LABEL.lower() in label.lower():
            notes.add(f"the web preview does not show this post ({label!r}); a Telegram sync can read it")
        else:
            notes.add(
                f"the web preview does not show this post's media ({label!r}); a Telegram sync can fetch it"
            )

    common: dict[str, Any] = {
        "channel_id": channel_id,
        "date": date,
        "author": plain(bubble.css_first(".tgme_widget_message_from_author")),
        "forward": forward_of(bubble, raw),
        "views": parse_count(views_text),
        "source": SourceKind.WEB,
    }
    head: dict[str, Any] = {
        "text": text,
        "entities": entities,
        "service": service,
        "reply_to_message_id": reply_to,
        "poll": poll_of(bubble, raw),
        "web_page": web_page_of(bubble, url),
        "location": location_of(bubble),
        "reactions": reactions_of(bubble),
    }

    grouped = first_own(bubble, ".tgme_widget_message_grouped_wrap")
    if grouped is not None:
        items: list[tuple[int, MediaItem, WebMedia]] = []
        for node in grouped.css(".grouped_media_wrap"):
            link = post_link(node.attributes.get("href"))
            media = media_of(node, url, notes)
            if link is None or media is None:
                notes.add("an album item without its own post link or a known kind was left out")
                continue
            items.append((link[1], *media))
        if items:
            raw["album"] = [item_id for item_id, _, _ in items]
            raw["html"] = bubble_html(bubble)
            ids = [item_id for item_id, _, _ in items]
            head_id = message_id if message_id in ids else ids[0]
            prefix = data_post.rpartition("/")[0]
            for item_id, item, web in items:
                is_head = item_id == head_id
                fields = {**common, **head} if is_head else dict(common)
                item_raw = raw if is_head else {"post": f"{prefix}/{item_id}", "album_head": head_id}
                post = Post(
                    message_id=item_id,
                    grouped_id=message_id,
                    media=item,
                    raw={RAW_KEY: item_raw},
                    parse_error=notes.text if is_head else None,
                    **fields,
                )
                yield ParsedPost(post, web)
            return
        notes.add("an album whose items could not be read")

    media_item, web_media = shown_media(bubble, url, notes)
    raw["html"] = bubble_html(bubble)
    post = Post(
        message_id=message_id,
        media=media_item,
        raw={RAW_KEY: raw},
        parse_error=notes.text,
        **common,
        **head,
    )
    yield ParsedPost(post, web_media)
