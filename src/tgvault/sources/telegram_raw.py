"""Messages the mapping cannot read, kept raw; and raw TL read back into Telethon objects to map again.

When :func:`~tgvault.sources.telegram_mapping.message_to_post` fails on a message (a TL constructor or
field this version does not know), :func:`unparsed_post` still archives it: its id, date and text when
those can be read, the whole TL as ``raw``, and a ``parse_error`` saying what failed. The channel's
cursor moves on. Later, :func:`remap_raw` rebuilds the Telethon object from ``raw`` and maps it again,
so ``tgvault reparse`` upgrades such posts once the mapping learns the type.
"""

from __future__ import annotations

import base64
import inspect
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from telethon.tl import alltlobjects
from telethon.tl.tlobject import TLObject

from tgvault.domain import Post
from tgvault.sources.telegram_mapping import MISSING_DATE, message_to_post, tl_to_raw

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


@cache
def _classes() -> dict[str, type[TLObject]]:
    """TL constructors by the name ``to_dict()`` writes in ``_`` (e.g. ``"Message"``)."""
    found: dict[str, type[TLObject]] = {}
    for cls in alltlobjects.tlobjects.values():
        name = cls.__name__
        module = cls.__module__
        inner = module.removeprefix("telethon.tl.types.") if module.startswith("telethon.tl.types.") else ""
        found[f"{inner}.{name}" if inner else name] = cls
    return found


_DATE_FIELDS: dict[str, frozenset[str]] = {}


def _date_fields(name: str, cls: Any) -> frozenset[str]:
    found = _DATE_FIELDS.get(name)
    if found is None:
        signature = inspect.signature(cls.__init__)
        found = _DATE_FIELDS[name] = frozenset(
            key for key, parameter in signature.parameters.items() if "datetime" in str(parameter.annotation)
        )
    return found


def tl_from_raw(value: Any) -> Any:
    """The inverse of :func:`~tgvault.sources.telegram_mapping.tl_to_raw`: TL objects, bytes and dates back."""
    if isinstance(value, list):
        return [tl_from_raw(item) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"_bytes"}:
        return base64.b64decode(value["_bytes"])
    name = value.get("_")
    if not isinstance(name, str):
        return {key: tl_from_raw(item) for key, item in value.items()}
    cls = _classes().get(name)
    if cls is None:
        raise ValueError(f"unknown TL type {name!r}")
    accepted = inspect.signature(cls.__init__).parameters
    dates = _date_fields(name, cls)
    arguments: dict[str, Any] = {}
    for key, item in value.items():
        if key == "_" or key not in accepted:
            continue
        if key in dates and isinstance(item, str):
            arguments[key] = datetime.fromisoformat(item)
        else:
            arguments[key] = tl_from_raw(item)
    return cls(**arguments)
