"""Merging two sources' records of one post, field by field.

Posts from every source share one identity, ``(channel_id, message_id)``, and one record. When a source
writes a post that another source recorded (Telethon over a Desktop import, the web preview over a
Telethon post, ...), :func:`merge_sources` decides the stored record:

- The **richer** source's record wins: Telegram (Telethon) over a Telegram Desktop export over the web
  preview (:data:`SOURCE_RANK`). The stored record keeps the richer source's name in ``Post.source``.
- Every field the richer record lacks is **filled** from the other one: the author's signature, the
  forward, the reply, the edit date, a poll, a link preview, a place, a contact, counters (views,
  forwards, replies, reactions) and the attachment's description (name, size, type, dimensions).
- Counters the poorer source shows are **fresher** than the stored ones (the web preview is read more
  often than a Desktop export is made), so they replace them.
- A **file** already in the media store for the attachment is kept when the other record is still
  waiting for it (same kind, and the same size when both know it): a Desktop export's file serves a
  post Telethon has not downloaded, and the other way round.
- When the two **texts** differ, the one that does not become current is kept as a revision (the caller
  stores it, once).

Only called when the sources differ, so the usual path (one source re-reading its own posts) stays as
fast as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tgvault.domain import MediaItem, MediaStatus, Post, SourceKind

__all__ = ["SOURCE_RANK", "Merged", "merge_sources"]

SOURCE_RANK: dict[SourceKind, int] = {SourceKind.TELEGRAM: 3, SourceKind.TDESKTOP: 2, SourceKind.WEB: 1}
"""Which source's record is richer when two disagree (higher wins)."""

_FILLED = (
    "edit_date",
    "author",
    "reply_to_message_id",
    "reply_to_channel_id",
    "forward",
    "poll",
    "web_page",
    "location",
    "contact",
)
_COUNTERS = ("views", "forwards", "replies")
_MEDIA_DESCRIPTION = (
    "telegram_id",
    "mime_type",
    "file_name",
    "size",
    "width",
    "height",
    "duration",
    "performer",
    "title",
    "sticker_emoji",
)


@dataclass(frozen=True)
class Merged:
    """The record to store, and the other source's state to keep as a revision (None: same text)."""

    post: Post
    kept: Post | None
    text_changed: bool
    """True when the stored text changed (the richer incoming record brought a new text)."""


def _empty(value: object) -> bool:
    return value is None or value == ()


def merge_sources(stored: Post, incoming: Post) -> Merged:
    """Merge ``incoming`` (from one source) into ``stored`` (from another), field by field."""
    incoming_wins = SOURCE_RANK[incoming.source] >= SOURCE_RANK[stored.source]
    rich, poor = (incoming, stored) if incoming_wins else (stored, incoming)
    updates: dict[str, Any] = {}
    for name in _FILLED:
        if _empty(getattr(rich, name)) and not _empty(getattr(poor, name)):
            updates[name] = getattr(poor, name)
    for name in _COUNTERS:
        fresh = getattr(incoming, name)
        if fresh is not None:
            updates[name] = fresh
        elif getattr(rich, name) is None and getattr(poor, name) is not None:
            updates[name] = getattr(poor, name)
    if incoming.reactions:
        updates["reactions"] = incoming.reactions
    elif not rich.reactions and poor.reactions:
        updates["reactions"] = poor.reactions
    media = merge_media(rich.media, poor.media)
    if media != rich.media:
        updates["media"] = media
    post = rich.model_copy(update=updates) if updates else rich
    differs = rich.text.strip() != poor.text.strip() and not (not poor.text.strip() and poor.parse_error)
    kept = (stored if incoming_wins else incoming) if differs else None
    return Merged(post=post, kept=kept, text_changed=differs and incoming_wins)


def merge_media(rich: MediaItem | None, poor: MediaItem | None) -> MediaItem | None:
    """The richer record's attachment, described as fully as both know it, with a stored file if any."""
    if rich is None or poor is None:
        return rich if rich is not None else poor
    if rich.kind is not poor.kind:
        return rich
    updates: dict[str, Any] = {}
    for name in _MEDIA_DESCRIPTION:
        if getattr(rich, name) is None and getattr(poor, name) is not None:
            updates[name] = getattr(poor, name)
    if rich.status is not MediaStatus.DOWNLOADED and poor.status is MediaStatus.DOWNLOADED:
        same_size = rich.size is None or poor.size is None or rich.size == poor.size
        if same_size:
            updates.update(status=MediaStatus.DOWNLOADED, sha256=poor.sha256, path=poor.path, error=None)
            if poor.size is not None:
                updates["size"] = poor.size
    return rich.model_copy(update=updates) if updates else rich
