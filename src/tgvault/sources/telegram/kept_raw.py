"""Messages the mapping cannot read, kept raw; and raw TL read back into Telethon objects to map again.

When :func:`~tgvault.sources.telegram.posts.message_to_post` fails on a message (a TL constructor or
field this version does not know), :func:`unparsed_post` still archives it: its id, date and text when
those can be read, the whole TL as ``raw``, and a ``parse_error`` saying what failed. The channel's
cursor moves on. Later, :func:`remap_raw` rebuilds the Telethon object from ``raw`` and maps it again,
so ``tgvault reparse`` upgrades such posts once the mapping learns the type.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tgvault.domain import Post
from tgvault.sources.telegram.posts import MISSING_DATE, message_to_post
from tgvault.sources.telegram.raw import tl_from_raw, tl_to_raw

NOT_UNDERSTOOD = "not understood"
"""How a ``parse_error`` of a post kept raw begins."""

Mapper = Callable[[Any, int], Post | None]


def unparsed_post(message: Any, channel_id: int, error: BaseException) -> Post | None:
    """A post for a message the mapping failed on: id, date and text if readable, raw TL, and the error.

    Returns None when the message has no integer id (there is nothing to file it under).
    """
    message_id = getattr(message, "id", None)
    if isinstance(message_id, bool) or not isinstance(message_id, int):
        return None
    posted = getattr(message, "date", None)
    if not isinstance(posted, datetime):
        posted = MISSING_DATE
    elif posted.tzinfo is None:
        posted = posted.replace(tzinfo=UTC)
    text = getattr(message, "message", None)
    try:
        raw: dict[str, Any] | None = tl_to_raw(message)
    except Exception as exc:  # keep what can be kept; the error says why raw is missing
        raw = None
        error = exc
    reason = f"{NOT_UNDERSTOOD}: {type(error).__name__}: {error}"[:2000]
    return Post(
        channel_id=channel_id,
        message_id=message_id,
        date=posted,
        text=text if isinstance(text, str) else "",
        raw=raw,
        parse_error=reason,
    )


def map_or_keep_raw(mapper: Mapper, message: Any, channel_id: int) -> Post | None:
    """``mapper(message, channel_id)``, or :func:`unparsed_post` when the mapper raises."""
    try:
        return mapper(message, channel_id)
    except Exception as exc:
        return unparsed_post(message, channel_id, exc)


def remap_raw(raw: dict[str, Any], channel_id: int, mapper: Mapper = message_to_post) -> Post | None:
    """Rebuild the Telethon message from a post's ``raw`` and map it again (raises when it cannot)."""
    return mapper(tl_from_raw(raw), channel_id)
