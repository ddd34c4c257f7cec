"""Map the media block of a message of the HTML export (file, poll, location, contact) to domain records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from selectolax.lexbor import LexborNode

from tgvault.domain import Contact, Location, MediaItem, MediaKind, Poll, PollAnswer
from tgvault.errors import ImportFormatError
from tgvault.sources.html_text import classes_of
from tgvault.sources.tdesktop.html_values import (
    child_elements,
    duration_of,
    local_path,
    node_text,
    own_text,
    size_of,
)

__all__ = ["HtmlMedia", "media_of"]

_NOT_INCLUDED = ("not included", "exceeds maximum size", "unavailable", "not downloaded")


@dataclass
class HtmlMedia:
    """What the media block of a message holds (at most one of them), and the values it showed."""

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


def media_of(body: LexborNode, where: str) -> HtmlMedia:
    """The media block (``.media_wrap``) of a message body at ``where``."""
    wrap = body.css_first(".media_wrap")
    if wrap is None:
        return HtmlMedia()
    for node in child_elements(wrap):
        classes = classes_of(node)
        for name, kind in _WRAPS.items():
            if name in classes:
                return _wrapped(node, kind)
        if "media_poll" in classes:
            return HtmlMedia(poll=_poll(node))
        if "media" in classes:
            return _generic(node, classes)
    raise ImportFormatError("a media block of an unknown kind", location=f"{where}, media_wrap")


def _wrapped(node: LexborNode, kind: MediaKind) -> HtmlMedia:
    path = local_path(node.attributes.get("href"))
    duration = duration_of(node_text(node.css_first(".video_duration"))) if kind is MediaKind.VIDEO else None
    item = MediaItem(
        kind=kind,
        mime_type="image/jpeg" if kind is MediaKind.PHOTO else None,
        duration=duration,
    )
    return HtmlMedia(item=item, path=path)


def _generic(node: LexborNode, classes: set[str]) -> HtmlMedia:
    title = node_text(node.css_first(".title"))
    description = node_text(node.css_first(".description"))
    status = node_text(node.css_first(".status"))
    shown: dict[str, Any] = {"title": title, "description": description, "status": status}
    path = local_path(node.attributes.get("href")) if node.tag == "a" else None
    missing = any(marker in description.lower() for marker in _NOT_INCLUDED)
    if missing:
        path = None
    pieces = [piece.strip() for piece in status.split(",")]
    duration = duration_of(pieces[0]) if pieces else None
    if "media_contact" in classes:
        first, _, last = title.partition(" ")
        phone = status.removesuffix(" - vCard").strip() or None
        return HtmlMedia(
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
            return HtmlMedia(shown=shown)
        return HtmlMedia(location=location, shown=shown)
    kind: MediaKind | None = None
    values: dict[str, Any] = {}
    if "media_photo" in classes:
        if title.lower() == "sticker":
            kind = MediaKind.STICKER
            emoji = pieces[0] if pieces and size_of(pieces[0]) is None else ""
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
        return HtmlMedia(shown=shown)
    shown["size_shown"] = size_of(pieces[-1]) if pieces else None
    return HtmlMedia(item=MediaItem(kind=kind, **values), path=path, shown=shown)


def _poll(node: LexborNode) -> Poll:
    answers = []
    for answer in node.css(".answer"):
        details = answer.css_first(".details")
        votes_text = node_text(details)
        text = own_text(answer).removeprefix("-").strip()
        count = votes_text.split(" ")[0]
        answers.append(
            PollAnswer(
                text=text,
                voters=int(count) if count.isdigit() else None,
                chosen="chosen vote" in votes_text,
            )
        )
    total = node_text(node.css_first(".total")).split(" ")[0]
    kind = node_text(node.css_first(".details")).lower()
    return Poll(
        question=node_text(node.css_first(".question")),
        answers=tuple(answers),
        total_voters=int(total) if total.isdigit() else None,
        closed="final results" in kind,
    )
