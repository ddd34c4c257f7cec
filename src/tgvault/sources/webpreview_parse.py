"""Read pages of Telegram's public web preview (``t.me/s/<channel>``) into domain records.

The only module that knows the preview's HTML. It parses with a real HTML parser (selectolax/Lexbor);
the few regular expressions here read *values* (a CSS ``url(...)``, a count like ``1.2K``, a duration),
never markup.

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

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

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
from tgvault.sources.html_text import HtmlRichText, classes_of

__all__ = [
    "RAW_KEY",
    "ChannelHeader",
    "PageKind",
    "ParsedPost",
    "PreviewPage",
    "WebMedia",
    "channel_id_from_view",
    "page_kind",
    "parse_count",
    "parse_preview_page",
    "parse_size",
    "post_link",
]

RAW_KEY = "webpreview"
HIDDEN_POST_LABEL = "Please open Telegram to view this post"

_COUNT = re.compile(r"^(\d+(?:[.,]\d+)?)\s*([KMB]?)$", re.IGNORECASE)
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)$", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.IGNORECASE)
_DURATION = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})$")
_POST_PATH = re.compile(r"^/(?:s/)?([A-Za-z0-9_]+)/(\d+)/?$")
_COUNT_SCALE = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}
_SIZE_SCALE = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
_BARE_ID_LIMIT = 1_000_000_000_000  # Bot API ids of channels are -100<bare id>

# Containers whose content belongs to another post (a quoted reply) or another page (a link preview).
_FOREIGN = frozenset({"tgme_widget_message_reply", "tgme_widget_message_link_preview"})
_PLAYERS = frozenset({"tgme_widget_message_video_player", "tgme_widget_message_roundvideo_player"})
_MEDIA_SELECTOR = ", ".join(
    (
        "a.tgme_widget_message_photo_wrap",
        ".tgme_widget_message_video_player",
        ".tgme_widget_message_roundvideo_player",
        ".tgme_widget_message_voice_player",
        "audio.tgme_widget_message_voice",
        "a.tgme_widget_message_document_wrap",
        ".tgme_widget_message_sticker_wrap",
    )
)
_NO_DOCUMENT_FILE = (
    "the web preview shows this file's name and size but offers no download; a Telegram sync can fetch it"
)
_THUMBNAIL_ONLY = (
    "the web preview shows only a thumbnail of this video (too large to play in a browser); "
    "a Telegram sync can fetch it"
)

_SERVICE_TEXTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("channel_create", re.compile(r"^Channel created$")),
    ("chat_edit_photo", re.compile(r"^Channel photo (?:updated|changed)$")),
    ("chat_delete_photo", re.compile(r"^Channel photo removed$")),
    ("chat_edit_title", re.compile(r"^Channel (?:name was changed to|renamed to) «(?P<title>.*)»$", re.S)),
    ("pin_message", re.compile(r"\bpinned\b")),
    ("group_call", re.compile(r"^(?:Live stream|Video chat) (?:started|finished|ended|scheduled)")),
)


class PageKind(Enum):
    """What a page served for a channel name is."""

    CHANNEL = "channel"  # the channel's web preview
    NO_PREVIEW = "no_preview"  # the landing page of a name that exists but has no public preview
    UNKNOWN_NAME = "unknown_name"  # the landing page Telegram shows for a name nobody has
    OTHER = "other"  # none of these: the layout changed


@dataclass(frozen=True)
class WebMedia:
    """Where the preview serves a post's file: an http(s) ``url``, or why it serves none.

    ``thumbnail`` is the URL of the preview image shown for a file the page does not offer (a document,
    a video too large to play), so the archive keeps at least that.
    """

    url: str | None
    unavailable: str | None = None
    thumbnail: str | None = None


@dataclass(frozen=True)
class ParsedPost:
    """A post read from a page, with where its file can be downloaded (``None``: it has none)."""

    post: Post
    media: WebMedia | None = None


@dataclass(frozen=True)
class ChannelHeader:
    """The channel header of a preview page. ``counters`` are as shown (``{"subscriber": 53000}``)."""

    title: str
    username: str | None
    description: str | None
    photo_url: str | None
    subscribers: int | None
    counters: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PreviewPage:
    """One page of a channel's preview: its header, its channel id (when it shows posts), its posts.

    ``posts`` are newest first; album items are separate posts.
    """

    url: str
    header: ChannelHeader
    channel_id: int | None
    posts: tuple[ParsedPost, ...]

    @property
    def ids(self) -> list[int]:
        """Message ids on the page, newest first."""
        return [item.post.message_id for item in self.posts]


# ---- small value readers ---------------------------------------------------------------------------


def parse_count(text: str | None) -> int | None:
    """A count as the preview shows it: ``"2"`` → 2, ``"1.2K"`` → 1200, ``"3M"`` → 3000000; else None."""
    if text is None:
        return None
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "")
    match = _COUNT.match(cleaned)
    if match is None:
        return None
    number, suffix = match.group(1), match.group(2).upper()
    if suffix == "":
        number = number.replace(",", "")  # "1,234" is a thousands separator
    try:
        value = Decimal(number.replace(",", ".")) * _COUNT_SCALE[suffix]
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        return None
    return int(value)


def parse_size(text: str | None) -> int | None:
    """A file size as shown (``"52.6 KB"``, base 1024) in bytes, or None. Approximate by nature."""
    if text is None:
        return None
    match = _SIZE.match(text.strip())
    if match is None:
        return None
    return int(Decimal(match.group(1)) * _SIZE_SCALE[match.group(2).upper()])


def _duration(text: str | None) -> float | None:
    if text is None:
        return None
    match = _DURATION.match(text.strip())
    if match is None:
        return None
    hours, minutes, seconds = match.group(1), match.group(2), match.group(3)
    return float(int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds))


def channel_id_from_view(view: str | None) -> int | None:
    """The bare channel id in a post's ``data-view`` token (base64url JSON with ``"c": -<id>``)."""
    if not view:
        return None
    try:
        decoded = base64.urlsafe_b64decode(view + "=" * (-len(view) % 4))
        data = json.loads(decoded)
    except (binascii.Error, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    value = data.get("c")
    if not isinstance(value, int) or isinstance(value, bool) or value == 0:
        return None
    bare = abs(value)
    if bare > _BARE_ID_LIMIT:
        bare -= _BARE_ID_LIMIT
    return bare if bare > 0 else None


def post_link(href: str | None) -> tuple[str, int] | None:
    """``(username, message id)`` of a link to a public post such as ``https://t.me/name/12?single``."""
    if not href:
        return None
    match = _POST_PATH.match(urlsplit(href).path)
    if match is None or match.group(1).lower() in ("c", "s"):
        return None
    return match.group(1), int(match.group(2))


def _http_url(value: str | None, base: str) -> str | None:
    """An absolute http(s) URL from an attribute value (``//host/...`` is resolved against the page)."""
    if not value:
        return None
    absolute = urljoin(base, value.strip())
    split = urlsplit(absolute)
    if split.scheme not in ("http", "https") or not split.hostname:
        return None
    return absolute


def _style_url(node: LexborNode | None, base: str) -> str | None:
    if node is None:
        return None
    match = _CSS_URL.search(node.attributes.get("style") or "")
    return _http_url(match.group(2), base) if match else None


# ---- node helpers ----------------------------------------------------------------------------------


def _inside(node: LexborNode, root: LexborNode, classes: frozenset[str]) -> bool:
    """True when an ancestor of ``node`` below ``root`` has one of ``classes``."""
    parent = node.parent
    while parent is not None and parent.mem_id != root.mem_id:
        if classes_of(parent) & classes:
            return True
        parent = parent.parent
    return False


def _own(root: LexborNode, selector: str, exclude: frozenset[str] = _FOREIGN) -> list[LexborNode]:
    """Matches of ``selector`` under ``root`` that are not inside a quoted reply or a link preview."""
    return [node for node in root.css(selector) if not _inside(node, root, exclude)]


def _first_own(root: LexborNode, selector: str, exclude: frozenset[str] = _FOREIGN) -> LexborNode | None:
    found = _own(root, selector, exclude)
    return found[0] if found else None


def _plain(node: LexborNode | None) -> str | None:
    """The text of a node (``<br>`` as newlines, emoji images as their emoji), stripped; None if empty."""
    if node is None:
        return None
    text = _RichText.of(node).text.strip()
    return text or None


def _own_text(node: LexborNode) -> str:
    """Only the text directly inside ``node`` (not inside its child elements)."""
    return "".join(child.text_content or "" for child in node.iter(include_text=True) if child.is_text_node)


# ---- text with entities ----------------------------------------------------------------------------


def _without_scheme(url: str) -> str:
    text = url.strip()
    for prefix in ("https://", "http://"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
            break
    return text.rstrip("/")


class _RichText(HtmlRichText):
    """Rebuilds a text node's text and its entities (UTF-16 offsets) from the preview's HTML."""

    @classmethod
    def of(cls, node: LexborNode) -> _RichText:
        builder = cls()
        builder.walk(node)
        return builder

    def replacement(self, node: LexborNode, tag: str, classes: set[str]) -> str | None:
        if tag == "i" and "emoji" in classes:
            return node.text(deep=True)  # an emoji image: its <b> holds the emoji, not bold text
        return None

    def entity(
        self, node: LexborNode, tag: str, classes: set[str], offset: int, length: int
    ) -> TextEntity | None:
        if "tg-spoiler" in classes:
            return TextEntity(kind=EntityKind.SPOILER, offset=offset, length=length)
        if tag == "a":
            return self._link(node, offset, length)
        return super().entity(node, tag, classes, offset, length)

    def _link(self, node: LexborNode, offset: int, length: int) -> TextEntity | None:
        href = (node.attributes.get("href") or "").strip()
        shown = node.text(deep=True).strip()
        if not href:
            return None
        query = parse_qs(urlsplit(href).query).get("q", [""])[0] if href.startswith("?") else ""
        kind: EntityKind | None = None
        url: str | None = None
        user_id: int | None = None
        if query and shown.startswith("#") and query == shown:
            kind = EntityKind.HASHTAG
        elif query and shown.startswith("$") and query == shown:
            kind = EntityKind.CASHTAG
        elif href.lower().startswith("mailto:") and unquote(href[7:]) == shown:
            kind = EntityKind.EMAIL
        elif href.lower().startswith("tel:"):
            kind = EntityKind.PHONE
        elif href.startswith("tg://user?id="):
            digits = href.removeprefix("tg://user?id=")
            kind, user_id = EntityKind.MENTION_NAME, int(digits) if digits.isdigit() else None
        elif shown.startswith("@") and _without_scheme(href).lower() in (
            f"t.me/{shown[1:].lower()}",
            f"telegram.me/{shown[1:].lower()}",
        ):
            kind = EntityKind.MENTION
        elif shown.startswith("/") and query == shown:
            kind = EntityKind.BOT_COMMAND
        elif _without_scheme(shown).lower() == _without_scheme(href).lower() and shown:
            kind = EntityKind.URL
        else:
            kind, url = EntityKind.TEXT_LINK, href
        return TextEntity(kind=kind, offset=offset, length=length, url=url, user_id=user_id)


# ---- page classification and header -------------------------------------------------------------------


def page_kind(html: str) -> tuple[PageKind, str | None]:
    """What a page is, and for a landing page the title Telegram shows for the name (if any)."""
    tree = LexborHTMLParser(html)
    if tree.css_first(".tgme_channel_history") is not None or tree.css_first(".tgme_channel_info"):
        return PageKind.CHANNEL, None
    title = tree.css_first(".tgme_page_title")
    if title is not None:
        extra = _plain(tree.css_first(".tgme_page_extra"))
        name = _plain(title)
        return PageKind.NO_PREVIEW, ", ".join(part for part in (name, extra) if part) or None
    if tree.css_first(".tgme_page") is not None or tree.css_first(".tgme_username_link") is not None:
        return PageKind.UNKNOWN_NAME, None
    return PageKind.OTHER, None


def _counters(tree: LexborHTMLParser) -> dict[str, int]:
    counters: dict[str, int] = {}
    for counter in tree.css(".tgme_channel_info_counter"):
        value = parse_count(_plain(counter.css_first(".counter_value")))
        kind = (_plain(counter.css_first(".counter_type")) or "").lower()
        if value is None or not kind:
            continue
        singular = kind[:-1] if kind.endswith("s") else kind
        counters[singular] = value
    return counters


def _header(tree: LexborHTMLParser, url: str) -> ChannelHeader:
    info = tree.css_first(".tgme_channel_info")
    title = _plain(tree.css_first(".tgme_channel_info_header_title"))
    if title is None:
        og_title = tree.css_first('meta[property="og:title"]')
        title = (og_title.attributes.get("content") or "").strip() if og_title is not None else ""
    if not title:
        raise PageLayoutError(url, "no channel title (.tgme_channel_info_header_title)")
    username = _plain(tree.css_first(".tgme_channel_info_header_username"))
    if username is not None:
        username = username.removeprefix("@") or None
    photo = None
    if info is not None:
        image = info.css_first(".tgme_channel_info_header .tgme_page_photo_image img")
        photo = _http_url(image.attributes.get("src") if image is not None else None, url)
    counters = _counters(tree)
    subscribers = counters.get("subscriber", counters.get("member"))
    return ChannelHeader(
        title=title,
        username=username,
        description=_plain(tree.css_first(".tgme_channel_info_description")),
        photo_url=photo,
        subscribers=subscribers,
        counters=counters,
    )


# ---- posts -----------------------------------------------------------------------------------------


@dataclass
class _Notes:
    """What could not be read from one post, joined into ``Post.parse_error``."""

    items: list[str] = field(default_factory=list)

    def add(self, note: str) -> None:
        if note not in self.items:
            self.items.append(note)

    @property
    def text(self) -> str | None:
        return "; ".join(self.items) or None


def _media(node: LexborNode, base: str, notes: _Notes) -> tuple[MediaItem, WebMedia] | None:
    """The file a media element of a post shows (a photo, a video, a voice note, a document, ...)."""
    classes = classes_of(node)
    if "tgme_widget_message_photo_wrap" in classes:
        url = _style_url(node, base)
        if url is None:
            notes.add("a photo without an image URL")
        return MediaItem(kind=MediaKind.PHOTO, mime_type="image/jpeg"), WebMedia(url)
    if classes & _PLAYERS:
        round_video = "tgme_widget_message_roundvideo_player" in classes
        video = node.css_first("video")
        src = _http_url(video.attributes.get("src") if video is not None else None, base)
        duration = _duration(
            _plain(
                node.css_first(
                    ".tgme_widget_message_roundvideo_duration"
                    if round_video
                    else ".message_video_duration, .tgme_widget_message_video_duration"
                )
            )
        )
        if round_video:
            kind = MediaKind.ROUND_VIDEO
        else:
            kind = MediaKind.VIDEO if duration is not None else MediaKind.ANIMATION  # GIFs show no duration
        item = MediaItem(kind=kind, mime_type="video/mp4", duration=duration)
        thumbnail = _style_url(
            node.css_first(".tgme_widget_message_video_thumb, .tgme_widget_message_roundvideo_thumb"), base
        )
        return item, WebMedia(src) if src else WebMedia(None, _THUMBNAIL_ONLY, thumbnail)
    if "tgme_widget_message_voice_player" in classes or node.tag == "audio":
        audio = node if node.tag == "audio" else node.css_first("audio")
        wrap = node.parent if node.tag == "audio" and node.parent is not None else node
        src = _http_url(audio.attributes.get("src") if audio is not None else None, base)
        duration = _duration(_plain(wrap.css_first(".tgme_widget_message_voice_duration")))
        item = MediaItem(kind=MediaKind.VOICE, mime_type="audio/ogg", duration=duration)
        return item, WebMedia(src) if src else WebMedia(
            None, "the web preview offers no file for this voice note"
        )
    if "tgme_widget_message_document_wrap" in classes:
        title = _plain(node.css_first(".tgme_widget_message_document_title"))
        extra = _plain(node.css_first(".tgme_widget_message_document_extra"))
        size = parse_size(extra)
        icon = node.css_first(".tgme_widget_message_document_icon")
        if icon is not None and "audio" in classes_of(icon):
            item = MediaItem(
                kind=MediaKind.AUDIO, title=title, performer=extra if size is None else None, size=size
            )
        else:
            item = MediaItem(kind=MediaKind.DOCUMENT, file_name=title, size=size)
        thumbnail = _style_url(node.css_first(".tgme_widget_message_document_thumb"), base) or _style_url(
            icon, base
        )
        return item, WebMedia(None, _NO_DOCUMENT_FILE, thumbnail)
    if "tgme_widget_message_sticker_wrap" in classes:
        tgs = node.css_first('source[type="application/x-tgsticker"]')
        video = node.css_first("video")
        image = node.css_first(".tgme_widget_message_sticker")
        if tgs is not None:
            src = _http_url((tgs.attributes.get("srcset") or "").split(" ")[0], base)
            mime = "application/x-tgsticker"
        elif video is not None:
            src, mime = _http_url(video.attributes.get("src"), base), "video/webm"
        else:
            webp = image.attributes.get("data-webp") if image is not None else None
            src, mime = _http_url(webp, base) or _style_url(image, base), "image/webp"
        emoji = node.attributes.get("data-sticker-emoji")
        item = MediaItem(kind=MediaKind.STICKER, mime_type=mime, sticker_emoji=emoji or None)
        return item, WebMedia(src) if src else WebMedia(
            None, "the web preview offers no file for this sticker"
        )
    return None


def _unsupported_label(bubble: LexborNode) -> str | None:
    """The preview's "not shown here" label of a post (not the fallback text inside a video player)."""
    for label in _own(bubble, ".message_media_not_supported_label"):
        if not _inside(label, bubble, _PLAYERS):
            return _plain(label)
    return None


def _service(text: str) -> ServiceAction:
    for action, pattern in _SERVICE_TEXTS:
        match = pattern.search(text)
        if match is not None:
            title = match.groupdict().get("title")
            return ServiceAction(type=action, title=title, text=text)
    return ServiceAction(type="unknown", text=text)


def _poll(bubble: LexborNode, raw: dict[str, Any]) -> Poll | None:
    node = _first_own(bubble, ".tgme_widget_message_poll")
    if node is None:
        return None
    kind = (_plain(node.css_first(".tgme_widget_message_poll_type")) or "").lower()
    answers = []
    percents = []
    for option in node.css(".tgme_widget_message_poll_option"):
        answers.append(
            PollAnswer(text=_plain(option.css_first(".tgme_widget_message_poll_option_text")) or "")
        )
        percents.append(_plain(option.css_first(".tgme_widget_message_poll_option_percent")))
    raw["poll_type"] = kind
    raw["poll_percents"] = percents
    return Poll(
        question=_plain(node.css_first(".tgme_widget_message_poll_question")) or "",
        answers=tuple(answers),
        total_voters=parse_count(_plain(bubble.css_first(".tgme_widget_message_voters"))),
        closed="final results" in kind or "closed" in kind,
        quiz="quiz" in kind,
        multiple_choice="multiple" in kind,
        public_voters="public" in kind,
    )


def _forward(bubble: LexborNode, raw: dict[str, Any]) -> Forward | None:
    node = _first_own(bubble, ".tgme_widget_message_forwarded_from")
    if node is None:
        return None
    name_node = node.css_first(".tgme_widget_message_forwarded_from_name")
    name = _plain(name_node)
    href = name_node.attributes.get("href") if name_node is not None else None
    link = post_link(href)
    if href:
        raw["forwarded_from"] = href
    return Forward(
        from_name=name,
        from_message_id=link[1] if link else None,
        post_author=_plain(node.css_first(".tgme_widget_message_forwarded_from_author")),
    )


def _reactions(bubble: LexborNode) -> tuple[Reaction, ...]:
    found = []
    for node in bubble.css(".tgme_widget_message_reactions .tgme_reaction"):
        count = parse_count(_own_text(node))
        if count is None:
            continue
        custom = node.css_first("tg-emoji")
        emoji_id = custom.attributes.get("emoji-id") if custom is not None else None
        emoji_node = node.css_first("i.emoji b") or node.css_first("b")
        paid = "tgme_reaction_paid" in classes_of(node)
        found.append(
            Reaction(
                emoji=None if emoji_id or paid else _plain(emoji_node),
                custom_emoji_id=int(emoji_id) if emoji_id and emoji_id.isdigit() else None,
                paid=paid,
                count=count,
            )
        )
    return tuple(found)


def _location(bubble: LexborNode) -> Location | None:
    node = _first_own(bubble, "a.tgme_widget_message_location_wrap")
    if node is None:
        return None
    query = parse_qs(urlsplit(node.attributes.get("href") or "").query)
    for key in ("q", "ll"):
        parts = (query.get(key, [""])[0]).split(",")
        if len(parts) == 2:
            try:
                return Location(
                    latitude=float(parts[0]),
                    longitude=float(parts[1]),
                    title=_plain(bubble.css_first(".tgme_widget_message_venue_title")),
                    address=_plain(bubble.css_first(".tgme_widget_message_venue_address")),
                )
            except ValueError:
                return None
    return None


def _web_page(bubble: LexborNode, base: str) -> WebPagePreview | None:
    node = bubble.css_first("a.tgme_widget_message_link_preview")
    if node is None:
        return None
    url = _http_url(node.attributes.get("href"), base)
    if url is None:
        return None
    return WebPagePreview(
        url=url,
        site_name=_plain(node.css_first(".link_preview_site_name")),
        title=_plain(node.css_first(".link_preview_title")),
        description=_plain(node.css_first(".link_preview_description")),
    )


def _bubble_html(bubble: LexborNode) -> str:
    copy = bubble.clone()
    for tail in copy.css(".tgme_widget_message_bubble_tail"):
        tail.decompose()
    return copy.html or ""


def _date(message: LexborNode, url: str, data_post: str) -> datetime:
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


def _posts_of(message: LexborNode, channel_id: int, username: str | None, url: str) -> Iterator[ParsedPost]:
    """The post (or the album's posts) of one ``.tgme_widget_message``."""
    data_post = message.attributes.get("data-post") or ""
    message_id = _message_id(data_post, url)
    date = _date(message, url, data_post)
    bubble = message.css_first(".tgme_widget_message_bubble") or message
    notes = _Notes()
    raw: dict[str, Any] = {"post": data_post, "view": message.attributes.get("data-view")}

    text_node = _first_own(bubble, ".tgme_widget_message_text.js-message_text")
    rich = _RichText.of(text_node) if text_node is not None else _RichText()
    text, entities = rich.text, rich.entities

    service = None
    if "service_message" in classes_of(message):
        service = _service(text.strip())
        text, entities = "", ()

    views_text = _plain(bubble.css_first(".tgme_widget_message_views"))
    raw["views"] = views_text
    meta = bubble.css_first(".tgme_widget_message_meta")
    raw["edited"] = meta is not None and "edited" in _own_text(meta).lower()

    reply_to = None
    reply = bubble.css_first("a.tgme_widget_message_reply")
    if reply is not None:
        target = post_link(reply.attributes.get("href"))
        same_channel = target is not None and username is not None and target[0].lower() == username.lower()
        if target is not None and same_channel:
            reply_to = target[1]
        else:
            raw["reply_to"] = reply.attributes.get("href")  # another channel: its numeric id is unknown

    label = _unsupported_label(bubble)
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
        "author": _plain(bubble.css_first(".tgme_widget_message_from_author")),
        "forward": _forward(bubble, raw),
        "views": parse_count(views_text),
        "source": SourceKind.WEB,
    }
    head: dict[str, Any] = {
        "text": text,
        "entities": entities,
        "service": service,
        "reply_to_message_id": reply_to,
        "poll": _poll(bubble, raw),
        "web_page": _web_page(bubble, url),
        "location": _location(bubble),
        "reactions": _reactions(bubble),
    }

    grouped = _first_own(bubble, ".tgme_widget_message_grouped_wrap")
    if grouped is not None:
        items: list[tuple[int, MediaItem, WebMedia]] = []
        for node in grouped.css(".grouped_media_wrap"):
            link = post_link(node.attributes.get("href"))
            media = _media(node, url, notes)
            if link is None or media is None:
                notes.add("an album item without its own post link or a known kind was left out")
                continue
            items.append((link[1], *media))
        if items:
            raw["album"] = [item_id for item_id, _, _ in items]
            raw["html"] = _bubble_html(bubble)
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

    media_item: MediaItem | None = None
    web_media: WebMedia | None = None
    media_nodes = _own(bubble, _MEDIA_SELECTOR)
    # a voice player wraps its <audio>: count the pair once
    media_nodes = [
        node
        for node in media_nodes
        if not _inside(node, bubble, frozenset({"tgme_widget_message_voice_player"}))
    ]
    if media_nodes:
        found = _media(media_nodes[0], url, notes)
        if found is not None:
            media_item, web_media = found
        if len(media_nodes) > 1:
            notes.add(f"{len(media_nodes)} files shown; only the first was read")
    raw["html"] = _bubble_html(bubble)
    post = Post(
        message_id=message_id,
        media=media_item,
        raw={RAW_KEY: raw},
        parse_error=notes.text,
        **common,
        **head,
    )
    yield ParsedPost(post, web_media)


def parse_preview_page(html: str, *, url: str) -> PreviewPage:
    """Parse a channel page of the web preview; :class:`PageLayoutError` when it is not one."""
    tree = LexborHTMLParser(html)
    history = tree.css_first(".tgme_channel_history")
    if history is None:
        raise PageLayoutError(url, "no message history (.tgme_channel_history)")
    header = _header(tree, url)
    messages = [node for node in history.css(".tgme_widget_message") if node.attributes.get("data-post")]
    wraps = history.css(".tgme_widget_message_wrap")
    if wraps and not messages:
        raise PageLayoutError(url, f"{len(wraps)} message blocks but none with a data-post id")
    ids = {channel_id_from_view(node.attributes.get("data-view")) for node in messages} - {None}
    if messages and not ids:
        raise PageLayoutError(url, "no post carries a readable data-view token, so the channel id is unknown")
    if len(ids) > 1:
        raise PageLayoutError(
            url, f"posts of several channels on one page (ids {sorted(i for i in ids if i)})"
        )
    channel_id = next(iter(ids)) if ids else None
    username = header.username
    if username is None and messages:
        username = (messages[0].attributes.get("data-post") or "").rpartition("/")[0] or None
    posts: dict[int, ParsedPost] = {}
    if channel_id is not None:
        for message in messages:
            for parsed in _posts_of(message, channel_id, username, url):
                posts[parsed.post.message_id] = parsed
    ordered = tuple(posts[key] for key in sorted(posts, reverse=True))
    if username is not None and header.username is None:
        header = ChannelHeader(
            title=header.title,
            username=username,
            description=header.description,
            photo_url=header.photo_url,
            subscribers=header.subscribers,
            counters=header.counters,
        )
    return PreviewPage(url=url, header=header, channel_id=channel_id, posts=ordered)
