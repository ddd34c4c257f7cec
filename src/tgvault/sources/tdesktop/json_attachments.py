"""Map a Desktop JSON message's attachment (file, poll, location, contact) and reactions to domain records."""

from __future__ import annotations

from tgvault.domain import Contact, Location, MediaItem, MediaKind, Poll, PollAnswer, Reaction
from tgvault.formats.desktop import DESKTOP_MEDIA_TYPES, is_file_placeholder
from tgvault.sources.tdesktop.json_fields import Fields

__all__ = ["contact_of", "location_of", "media_of", "poll_of", "reactions_of"]

_MEDIA_KINDS = {name: kind for kind, name in DESKTOP_MEDIA_TYPES.items()}


def media_of(fields: Fields, service: bool) -> tuple[MediaItem | None, str | None]:
    """The attachment as a pending MediaItem, and its path in the export (None for a placeholder)."""
    if fields.has("photo"):
        value = fields.string("photo", required=True)
        item = MediaItem(
            kind=MediaKind.PHOTO,
            mime_type="image/jpeg",  # Telegram serves every photo as JPEG
            size=fields.integer("photo_file_size"),
            width=fields.integer("width"),
            height=fields.integer("height"),
        )
    elif fields.has("file") and not service:
        value = fields.string("file", required=True)
        media_type = fields.string("media_type")
        item = MediaItem(
            kind=_MEDIA_KINDS.get(media_type or "", MediaKind.DOCUMENT),
            mime_type=fields.string("mime_type"),
            file_name=fields.string("file_name"),
            size=fields.integer("file_size"),
            width=fields.integer("width"),
            height=fields.integer("height"),
            duration=fields.number("duration_seconds"),
            performer=fields.string("performer"),
            title=fields.string("title"),
            sticker_emoji=fields.string("sticker_emoji"),
        )
    else:
        return None, None
    assert value is not None
    return item, None if is_file_placeholder(value) else value


def reactions_of(fields: Fields, files: list[str]) -> tuple[Reaction, ...]:
    """The reactions; the paths of custom emoji files the export saved are added to ``files``."""
    found = []
    for position, item in enumerate(fields.array("reactions")):
        part = fields.part(item, f"{fields.where}, field 'reactions[{position}]'")
        kind = part.string("type", required=True)
        count = part.integer("count", required=True)
        assert count is not None
        if kind == "emoji":
            found.append(Reaction(emoji=part.string("emoji", required=True), count=count))
        elif kind == "custom_emoji":
            document = part.numeric_id("document_id")
            if isinstance(document, int):
                found.append(Reaction(custom_emoji_id=document, count=count))
            else:
                if document is not None and not is_file_placeholder(document):
                    files.append(document)
                found.append(Reaction(count=count))
        elif kind == "paid":
            found.append(Reaction(paid=True, count=count))
    return tuple(found)


def poll_of(fields: Fields) -> Poll | None:
    """The poll (``poll``), if the message has one."""
    poll = fields.obj("poll")
    if poll is None:
        return None
    answers = []
    for position, item in enumerate(poll.array("answers")):
        answer = poll.part(item, f"{poll.where}, field 'answers[{position}]'")
        answers.append(
            PollAnswer(
                text=answer.string("text", required=True) or "",
                voters=answer.integer("voters"),
                chosen=answer.boolean("chosen"),
            )
        )
    return Poll(
        question=poll.string("question", required=True) or "",
        answers=tuple(answers),
        total_voters=poll.integer("total_voters"),
        closed=poll.boolean("closed"),
    )


def location_of(fields: Fields) -> Location | None:
    """The location or venue (``location_information``), if the message has one."""
    point = fields.obj("location_information")
    if point is None:
        return None
    latitude, longitude = point.number("latitude"), point.number("longitude")
    if latitude is None or longitude is None:
        point.fail("latitude" if latitude is None else "longitude", "missing")
    return Location(
        latitude=latitude,
        longitude=longitude,
        title=fields.string("place_name"),
        address=fields.string("address"),
        live_period=fields.integer("live_location_period_seconds"),
    )


def contact_of(fields: Fields, files: list[str]) -> Contact | None:
    """The shared contact; the path of its vCard file is added to ``files``."""
    card = fields.obj("contact_information")
    if card is None:
        return None
    vcard = fields.string("contact_vcard")
    if vcard and not is_file_placeholder(vcard):
        files.append(vcard)
    return Contact(
        first_name=card.string("first_name") or "",
        last_name=card.string("last_name") or None,
        phone_number=card.string("phone_number") or None,
    )
