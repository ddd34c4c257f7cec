"""A record the domain model refuses, as an import error naming the message and the field (issue 17.2).

The readers check what they read field by field; the domain model checks again whatever reaches it (a
finite coordinate, an id in Telegram's range, text that encodes). When it refuses a value, the import
stops with one line saying where: the file, the message and its id, and the export's own name for the
field. Nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from tgvault.errors import ImportFormatError

__all__ = ["JSON_FIELDS", "refused"]

JSON_FIELDS: Mapping[str, str] = {
    # a model inside a post: the Desktop JSON field it was read from
    "Location": "location_information",
    "Poll": "poll",
    "PollAnswer": "poll",
    "Contact": "contact_information",
    "MediaItem": "file",
    "Reaction": "reactions",
    "TextEntity": "text_entities",
    "Forward": "forwarded_from",
    "ServiceAction": "action",
    "Channel": "id",
    # a field of the post: the Desktop JSON field it was read from
    "message_id": "id",
    "edit_date": "edited",
    "entities": "text_entities",
    "location": "location_information",
    "contact": "contact_information",
    "media": "file",
    "service": "action",
    "forward": "forwarded_from",
}


def refused(exc: ValidationError, where: str, names: Mapping[str, str] = JSON_FIELDS) -> ImportFormatError:
    """``exc`` (the domain model refusing a value of the message at ``where``) as one import error."""
    first = exc.errors()[0]
    path = [str(part) for part in first["loc"]]
    if exc.title == "Post" and path:
        key, inner = names.get(path[0], path[0]), path[1:]
    else:
        key, inner = names.get(exc.title, exc.title), path
    detail = f" ({'.'.join(inner)})" if inner else ""
    problem = first["msg"].removeprefix("Value error, ")
    return ImportFormatError(f"{problem}{detail}", location=f"{where}, field {key!r}")
