"""Read Telegram Desktop's HTML chat exports (``messages.html``, ``messages2.html``, ...) into posts.

The only module that knows the HTML export's markup. It parses with a real HTML parser
(selectolax/Lexbor); the few regular expressions here read *values* (a date, a duration, a size),
never markup.

What an HTML export gives, and how it maps (the structure Desktop has written since 2018):

- ``div.message`` with ``id="message<id>"`` is one message; negative ids are the day separators.
  ``.service`` messages carry their action as a sentence (``Channel «X» created``, ``X pinned this
  message``); known sentences map to the same action types as the JSON export's, others are kept as text.
- ``.joined`` messages continue the previous sender (they have no ``.from_name``).
- The date is the ``title`` of ``div.date``: ``DD.MM.YYYY HH:MM:SS`` and, in newer exports, a
  `` UTC+03:00`` suffix. Without the suffix it is local time, read in the zone given by the caller.
- Text is rebuilt with its formatting as :class:`~tgvault.domain.TextEntity` spans in UTF-16 units.
  HTML loses a little against JSON: a mention of a user without a username has no user id, a custom
  emoji has no document id, and a bank card number is plain text.
- ``div.forwarded.body`` holds a forward (its ``from_name`` is the origin); ``div.reply_to`` links to the
  message replied to (``#go_to_message<id>``, possibly on another page); ``div.signature`` is the
  author's signature.
- Media: photos, videos, animations and stickers are links to the file in the export folder; other
  files, and every file the export did not include, are a generic block with a title, a description
  ("Not included, change data exporting settings to download.") and a status (duration, size as
  shown). A size is only shown, rounded, for files not included; it is kept in ``raw`` and not taken
  as the file's size.
- ``Post.raw`` is ``{"tdesktop_html": {...}}``: the page, the sender, and values read as shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from selectolax.lexbor import LexborHTMLParser, LexborNode

from tgvault.domain import (
    Contact,
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
)
from tgvault.errors import ImportFormatError, SourceError, TimezoneRequiredError
from tgvault.sources.html_text import HtmlRichText, classes_of

__all__ = ["RAW_KEY", "ExportMessage", "HtmlExport", "html_pages", "read_html_export"]

RAW_KEY = "tdesktop_html"

_PAGE = re.compile(r"^messages(\d*)\.html$")
_MESSAGE_ID = re.compile(r"^message(-?\d+)$")
_GO_TO = re.compile(r"go_to_message(\d+)$")
_DATE = re.compile(
    r"^(\d{2})\.(\d{2})\.(\d{4}) (\d{2}):(\d{2}):(\d{2})(?: UTC([+-])(\d{2}):(\d{2}))?$",
)
_DURATION = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})$")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?) (B|KB|MB|GB)$")
_SIZE_SCALE = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}
_NOT_INCLUDED = ("not included", "exceeds maximum size", "unavailable", "not downloaded")

_ONCLICK_ENTITIES = (
    ("ShowHashtag", EntityKind.HASHTAG),
    ("ShowCashtag", EntityKind.CASHTAG),
    ("ShowBotCommand", EntityKind.BOT_COMMAND),
    ("ShowMentionName", EntityKind.MENTION_NAME),
    ("Emoji", EntityKind.CUSTOM_EMOJI),
)
_SERVICE_TEXTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("channel_create", re.compile(r"^Channel «(?P<title>.*)» created$", re.S)),
    ("chat_create", re.compile(r" created group «(?P<title>.*)»", re.S)),
    ("chat_edit_title", re.compile(r"(?:changed group title to|title changed to) «(?P<title>.*)»$", re.S)),
    ("chat_edit_photo", re.compile(r"(?:changed group photo|photo changed|changed channel photo)")),
    ("chat_delete_photo", re.compile(r"(?:removed group photo|photo removed|removed channel photo)")),
    ("pin_message", re.compile(r" pinned ")),
    ("channel_migrate_from", re.compile(r"converted a basic group to this supergroup «(?P<title>.*)»", re.S)),
    ("history_clear", re.compile(r"^History cleared$")),
)


@dataclass(frozen=True)
class ExportMessage:
    """One message of a Desktop export (HTML or JSON): the post (media not yet stored) and its files."""

    post: Post
    where: str
    """Where the message stands in the export (file, message index), for error messages."""
    media_path: str | None
    """The attachment's path in the export (None for no attachment or a placeholder)."""
    files: tuple[str, ...]
    """Every path-valued field's path (attachment, thumbnail, vCard, custom emoji)."""


@dataclass(frozen=True)
class HtmlExport:
    """An HTML export: the chat's name (from the page header), its messages, and its pages."""

    title: str
    messages: list[ExportMessage]
    pages: tuple[Path, ...]
    local_times: bool
    """True when some date had no UTC offset and was read in the given zone."""


def html_pages(folder: Path) -> list[Path]:
    """The export's pages in order: ``messages.html``, ``messages2.html``, ``messages3.html``, ..."""
    found: list[tuple[int, Path]] = []
    for path in folder.iterdir():
        match = _PAGE.match(path.name)
        if match and path.is_file():
            found.append((int(match.group(1) or 1), path))
    return [path for _, path in sorted(found)]


def _text(node: LexborNode | None) -> str:
    return " ".join((node.text(deep=True) if node is not None else "").split())


def _own_text(node: LexborNode) -> str:
    return " ".join(
        "".join(
            child.text_content or "" for child in node.iter(include_text=True) if child.is_text_node
        ).split()
    )


def _children(node: LexborNode) -> Iterator[LexborNode]:
    for child in node.iter():
        if child.is_element_node:
            yield child


def _child(node: LexborNode, *class_names: str) -> LexborNode | None:
    """The first child element of ``node`` that has every one of ``class_names``."""
    for child in _children(node):
        if classes_of(child).issuperset(class_names):
            return child
    return None


# --------------------------------------------------------------------------------------------- values


def _moment(value: str, zone: tzinfo | None, where: str) -> tuple[datetime, bool]:
    """A date title as UTC, and whether it was a local time (no offset)."""
    match = _DATE.match(value.strip())
    if match is None:
        raise ImportFormatError(
            f"the date {value!r} is not DD.MM.YYYY HH:MM:SS [UTC+HH:MM]", location=f"{where}, date"
        )
    day, month, year, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    local = match.group(7) is None
    if local:
        if zone is None:
            raise TimezoneRequiredError(f"{where}, date: local time without a time zone")
        offset: tzinfo = zone
    else:
        sign = 1 if match.group(7) == "+" else -1
        offset = timezone(sign * timedelta(hours=int(match.group(8)), minutes=int(match.group(9))))
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=offset)
    except ValueError as exc:
        raise ImportFormatError(
            f"the date {value!r} is not a real date ({exc})", location=f"{where}, date"
        ) from exc
    return moment.astimezone(UTC), local


def _duration(text: str) -> float | None:
    match = _DURATION.match(text.strip())
    if match is None:
        return None
    hours, minutes, seconds = match.group(1), match.group(2), match.group(3)
    return float(int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds))


def _size(text: str) -> int | None:
    match = _SIZE.match(text.strip())
    return None if match is None else int(float(match.group(1)) * _SIZE_SCALE[match.group(2)])


def _local_path(href: str | None) -> str | None:
    """A link into the export's folder (not a web link); only ever read relative to that folder."""
    if not href or href.startswith("#"):
        return None
    split = urlsplit(href)
    if split.scheme or split.netloc:
        return None
    return href


# --------------------------------------------------------------------------------------------- text


class _RichText(HtmlRichText):
    """Text and entities of a ``div.text``, with the files of the custom emoji the export saved."""

    def __init__(self) -> None:
        super().__init__()
        self.files: list[str] = []

    def replacement(self, node: LexborNode, tag: str, classes: set[str]) -> str | None:
        return (node.attributes.get("alt") or "") if tag == "img" else None

    def entity(
        self, node: LexborNode, tag: str, classes: set[str], offset: int, length: int
    ) -> TextEntity | None:
        if tag == "span" and "spoiler" in classes:
            return TextEntity(kind=EntityKind.SPOILER, offset=offset, length=length)
        if tag == "a":
            emoji_file = _local_path(node.attributes.get("href"))
            if emoji_file is not None:  # a custom emoji the export saved: a link to its file
                self.files.append(emoji_file)
                return TextEntity(kind=EntityKind.CUSTOM_EMOJI, offset=offset, length=length)
            return _link(node, offset, length)
        return super().entity(node, tag, classes, offset, length)


def _link(node: LexborNode, offset: int, length: int) -> TextEntity | None:
    href = (node.attributes.get("href") or "").strip()
    onclick = node.attributes.get("onclick") or ""
    shown = node.text(deep=True)
    for marker, kind in _ONCLICK_ENTITIES:
        if marker in onclick:
            return TextEntity(kind=kind, offset=offset, length=length)
    if not href:
        return None
    lowered = href.lower()
    if lowered.startswith("mailto:"):
        return TextEntity(kind=EntityKind.EMAIL, offset=offset, length=length)
    if lowered.startswith("tel:"):
        return TextEntity(kind=EntityKind.PHONE, offset=offset, length=length)
    if shown.startswith("@") and urlsplit(href).path.strip("/").lower() == shown[1:].lower():
        return TextEntity(kind=EntityKind.MENTION, offset=offset, length=length)
    if href == shown:
        return TextEntity(kind=EntityKind.URL, offset=offset, length=length)
    return TextEntity(kind=EntityKind.TEXT_LINK, offset=offset, length=length, url=href)


def _rich(node: LexborNode | None) -> tuple[str, tuple[TextEntity, ...], list[str]]:
    """Text, entities and the files of custom emoji in a ``div.text``."""
    if node is None:
        return "", (), []
    builder = _RichText()
    builder.walk(node)
    text, entities = builder.stripped()
    return text, entities, builder.files


# --------------------------------------------------------------------------------------------- media


@dataclass
class _Media:
    item: MediaItem | None = None
    path: str | None = None
    poll: Poll | None = None
    location: Location | None = None
    contact: Contact | None = None
    shown: dict[str, Any] | None = None


_GENERIC_KINDS = {
    "media_voice_message": MediaKind.VOICE,
    "media_audio_file": MediaKind.AUDIO,
    "media_file": MediaKind.DOCUMENT,
}
_VIDEO_TITLES = {
    "video file": MediaKind.VIDEO,
    "animation": MediaKind.ANIMATION,
    "video message": MediaKind.ROUND_VIDEO,
}
_WRAPS = {
    "photo_wrap": MediaKind.PHOTO,
    "video_file_wrap": MediaKind.VIDEO,
    "animated_wrap": MediaKind.ANIMATION,
    "sticker_wrap": MediaKind.STICKER,
}


def _media(body: LexborNode, where: str) -> _Media:
    wrap = body.css_first(".media_wrap")
    if wrap is None:
        return _Media()
    for node in _children(wrap):
        classes = classes_of(node)
        for name, kind in _WRAPS.items():
            if name in classes:
                return _wrapped(node, kind)
        if "media_poll" in classes:
            return _Media(poll=_poll(node))
        if "media" in classes:
            return _generic(node, classes)
    raise ImportFormatError("a media block of an unknown kind", location=f"{where}, media_wrap")


def _wrapped(node: LexborNode, kind: MediaKind) -> _Media:
    path = _local_path(node.attributes.get("href"))
    duration = _duration(_text(node.css_first(".video_duration"))) if kind is MediaKind.VIDEO else None
    item = MediaItem(
        kind=kind,
        mime_type="image/jpeg" if kind is MediaKind.PHOTO else None,
        duration=duration,
    )
    return _Media(item=item, path=path)


def _generic(node: LexborNode, classes: set[str]) -> _Media:
    title = _text(node.css_first(".title"))
    description = _text(node.css_first(".description"))
    status = _text(node.css_first(".status"))
    shown: dict[str, Any] = {"title": title, "description": description, "status": status}
    path = _local_path(node.attributes.get("href")) if node.tag == "a" else None
    missing = any(marker in description.lower() for marker in _NOT_INCLUDED)
    if missing:
        path = None
    pieces = [piece.strip() for piece in status.split(",")]
    duration = _duration(pieces[0]) if pieces else None
    if "media_contact" in classes:
        first, _, last = title.partition(" ")
        phone = status.removesuffix(" - vCard").strip() or None
        return _Media(
            contact=Contact(first_name=first, last_name=last or None, phone_number=phone), shown=shown
        )
    if "media_location" in classes or "media_venue" in classes or "media_live_location" in classes:
        href = node.attributes.get("href") or ""
        query = urlsplit(href).query
        point = next((part[2:] for part in query.split("&") if part.startswith("q=")), "")
        latitude, _, longitude = point.partition(",")
        try:
            location = Location(
                latitude=float(latitude),
                longitude=float(longitude),
                title=title if "media_venue" in classes else None,
                address=description or None if "media_venue" in classes else None,
            )
        except ValueError:
            return _Media(shown=shown)
        return _Media(location=location, shown=shown)
    kind: MediaKind | None = None
    values: dict[str, Any] = {}
    if "media_photo" in classes:
        if title.lower() == "sticker":
            kind = MediaKind.STICKER
            emoji = pieces[0] if pieces and _size(pieces[0]) is None else ""
            values["sticker_emoji"] = emoji or None
        else:
            kind = MediaKind.PHOTO
            values["mime_type"] = "image/jpeg"
    elif "media_video" in classes:
        kind = _VIDEO_TITLES.get(title.lower(), MediaKind.VIDEO)
        values["duration"] = duration
    else:
        for name, candidate in _GENERIC_KINDS.items():
            if name in classes:
                kind = candidate
        if kind is MediaKind.AUDIO:
            performer, dash, song = title.partition(" \u2013 ")
            if dash:
                values.update(performer=performer, title=song)
            values["duration"] = duration
        elif kind is MediaKind.VOICE:
            values["duration"] = duration
        elif kind is MediaKind.DOCUMENT:
            values["file_name"] = title if title and title != "File" else None
    if kind is None:
        return _Media(shown=shown)
    shown["size_shown"] = _size(pieces[-1]) if pieces else None
    return _Media(item=MediaItem(kind=kind, **values), path=path, shown=shown)


def _poll(node: LexborNode) -> Poll:
    answers = []
    for answer in node.css(".answer"):
        details = answer.css_first(".details")
        votes_text = _text(details)
        text = _own_text(answer).removeprefix("-").strip()
        count = votes_text.split(" ")[0]
        answers.append(
            PollAnswer(
                text=text,
                voters=int(count) if count.isdigit() else None,
                chosen="chosen vote" in votes_text,
            )
        )
    total = _text(node.css_first(".total")).split(" ")[0]
    kind = _text(node.css_first(".details")).lower()
    return Poll(
        question=_text(node.css_first(".question")),
        answers=tuple(answers),
        total_voters=int(total) if total.isdigit() else None,
        closed="final results" in kind,
    )


# --------------------------------------------------------------------------------------------- messages


def _message_id(node: LexborNode) -> int | None:
    match = _MESSAGE_ID.match(node.attributes.get("id") or "")
    return None if match is None else int(match.group(1))


def _go_to(node: LexborNode | None) -> int | None:
    if node is None:
        return None
    for link in node.css("a"):
        match = _GO_TO.search(link.attributes.get("href") or "")
        if match:
            return int(match.group(1))
    return None


def _service(node: LexborNode, text: str) -> ServiceAction:
    for action, pattern in _SERVICE_TEXTS:
        match = pattern.search(text)
        if match is not None:
            return ServiceAction(
                type=action,
                title=match.groupdict().get("title"),
                pinned_message_id=_go_to(node) if action == "pin_message" else None,
            )
    return ServiceAction(type="unknown", text=text)


def _reactions(body: LexborNode) -> tuple[Reaction, ...]:
    found = []
    for node in body.css(".reactions .reaction"):
        count = _text(node.css_first(".count"))
        emoji = _text(node.css_first(".emoji"))
        if count.isdigit():
            found.append(Reaction(emoji=emoji or None, count=int(count)))
    return tuple(found)


@dataclass
class _Reader:
    """Reads the pages of one export in order, carrying the sender over ``joined`` messages."""

    root: Path
    channel_id: int
    zone: tzinfo | None
    sender: str | None = None
    local_times: bool = False

    def page(self, path: Path) -> Iterator[ExportMessage]:
        name = path.relative_to(self.root).as_posix()
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise SourceError(f"{path}: cannot be read: {exc.strerror}") from exc
        try:
            html = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFormatError(f"not UTF-8 text (byte {exc.start})", location=str(path)) from exc
        tree = LexborHTMLParser(html)
        history = tree.css_first(".history")
        if history is None:
            raise ImportFormatError(
                "no message history (div.history): not a Desktop HTML export page", location=str(path)
            )
        if "</html>" not in html[-200:].lower():
            last = None
            for node in history.css("div.message"):
                last = _message_id(node) or last
            after = f", after message id {last}" if last else ""
            raise ImportFormatError(f"the page is truncated (no closing </html>){after}", location=str(path))
        for position, node in enumerate(history.css("div.message")):
            message_id = _message_id(node)
            where = f"{path}, message #{position}"
            if message_id is None:
                raise ImportFormatError(
                    f'no message id (id="message123"), got {node.attributes.get("id")!r}', location=where
                )
            if message_id <= 0:
                continue  # a day separator
            yield self.message(node, message_id, f"{where} (id {message_id})", name)

    def message(self, node: LexborNode, message_id: int, where: str, page: str) -> ExportMessage:
        classes = classes_of(node)
        body = _child(node, "body") or node
        raw: dict[str, Any] = {"page": page}
        values: dict[str, Any] = {
            "channel_id": self.channel_id,
            "message_id": message_id,
            "source": SourceKind.TDESKTOP,
        }
        if "service" in classes:
            text = _text(body)
            if not text:
                raise ImportFormatError("a service message without text", location=where)
            raw["service"] = text
            self.sender = None
            values["service"] = _service(body, text)
            values["date"] = self.service_date(node, where)
            media = _Media()
        else:
            self.dates(body, values, raw, where)
            self.fill(body, values, raw, joined="joined" in classes)
            media = _media(body, where)
        values.update(media=media.item, poll=media.poll, location=media.location, contact=media.contact)
        if media.shown:
            raw["media"] = media.shown
        values["raw"] = {RAW_KEY: raw}
        try:
            post = Post(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            place = ".".join(str(part) for part in first["loc"])
            raise ImportFormatError(f"{first['msg']} ({place})", location=where) from exc
        files = tuple(dict.fromkeys([*([media.path] if media.path else []), *raw.get("emoji_files", [])]))
        return ExportMessage(post=post, where=where, media_path=media.path, files=files)

    def dates(self, body: LexborNode, values: dict[str, Any], raw: dict[str, Any], where: str) -> None:
        """The message's date (its ``div.date`` title) and, when the export shows one, its edit."""
        date_node = _child(body, "date")
        title = date_node.attributes.get("title") if date_node is not None else None
        if date_node is None or not title:
            raise ImportFormatError("no date (div.date with a title)", location=where)
        raw["date"] = title
        date_text, _, edited_text = title.partition("\n")
        values["date"], local = _moment(date_text, self.zone, where)
        self.local_times = self.local_times or local
        if "edited" in _text(date_node).lower() or edited_text:
            raw["edited"] = True
            edited_value = edited_text.strip().removeprefix("Edited:").strip()
            if edited_value:
                values["edit_date"], _ = _moment(edited_value, self.zone, where)

    def service_date(self, node: LexborNode, where: str) -> datetime:
        """Service messages show no time of their own: the next message's date, else the previous one's."""
        for sibling in _following(node):
            date_node = sibling.css_first(".date[title]")
            if date_node is not None:
                moment, local = _moment(
                    (date_node.attributes.get("title") or "").partition("\n")[0], self.zone, where
                )
                self.local_times = self.local_times or local
                return moment
        raise ImportFormatError("a service message with no dated message after it", location=where)

    def fill(self, body: LexborNode, values: dict[str, Any], raw: dict[str, Any], *, joined: bool) -> None:
        """Sender, forward, reply, text, signature and reactions of a message."""
        sender_node = _child(body, "from_name")
        if sender_node is not None:
            self.sender = _own_text(sender_node) or None
        elif not joined:
            self.sender = None
        raw["from"] = self.sender
        forwarded = _child(body, "forwarded", "body")
        if forwarded is not None:
            origin = _child(forwarded, "from_name")
            name = _own_text(origin).removesuffix("via").strip() if origin is not None else ""
            values["forward"] = Forward(from_name=name or None)
        reply = body.css_first(".reply_to")
        if reply is not None:
            values["reply_to_message_id"] = _go_to(reply)
            if values["reply_to_message_id"] is None:
                raw["reply_to"] = _text(reply)
        values["text"], values["entities"], emoji_files = _rich(body.css_first(".text"))
        raw["emoji_files"] = emoji_files
        signature = body.css_first(".signature")
        values["author"] = _text(signature) or None
        values["reactions"] = _reactions(body)


def _following(node: LexborNode) -> Iterator[LexborNode]:
    sibling = node.next
    while sibling is not None:
        if sibling.is_element_node and "message" in classes_of(sibling):
            yield sibling
        sibling = sibling.next
    sibling = node.prev
    while sibling is not None:
        if sibling.is_element_node and "message" in classes_of(sibling):
            yield sibling
        sibling = sibling.prev


def read_html_export(folder: Path, channel_id: int, zone: tzinfo | None) -> HtmlExport:
    """Read every page of an HTML export in ``folder``; posts get ``channel_id``.

    Raises :class:`ImportFormatError` naming the page and message for a malformed or truncated page,
    :class:`TimezoneRequiredError` when a date has no UTC offset and ``zone`` is None.
    """
    pages = html_pages(folder)
    if not pages:
        raise ImportFormatError("no messages.html in this folder", location=str(folder))
    reader = _Reader(root=folder, channel_id=channel_id, zone=zone)
    messages: dict[int, ExportMessage] = {}
    for page in pages:
        for message in reader.page(page):
            messages[message.post.message_id] = message
    return HtmlExport(
        title=read_title(pages[0]),
        messages=[messages[key] for key in sorted(messages)],
        pages=tuple(pages),
        local_times=reader.local_times,
    )


def read_title(page: Path) -> str:
    """The chat's name, from the header of an export page."""
    try:
        tree = LexborHTMLParser(page.read_bytes().decode("utf-8", errors="replace"))
    except OSError as exc:
        raise SourceError(f"{page}: cannot be read: {exc.strerror}") from exc
    header = tree.css_first(".page_header .text")
    title = _text(header)
    if not title:
        raise ImportFormatError("no chat name in the page header (.page_header .text)", location=str(page))
    return title


def needs_timezone(folder: Path) -> bool:
    """True when some date of the export has no UTC offset (an older export)."""
    for page in html_pages(folder):
        tree = LexborHTMLParser(page.read_bytes().decode("utf-8", errors="replace"))
        for node in tree.css(".history .date[title]"):
            value = (node.attributes.get("title") or "").partition("\n")[0].strip()
            if _DATE.match(value) and " UTC" not in value:
                return True
    return False
