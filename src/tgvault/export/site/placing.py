"""Where one post goes: its month and day in the site's timezone, its timeline page, its hashtags.

The rules both planning from scratch (:func:`~tgvault.export.site.plan.plan_channel`) and bringing a
kept plan up to date (:mod:`tgvault.export.site.incremental`) place posts by.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from datetime import datetime, tzinfo

from tgvault.domain import EntityKind
from tgvault.export.site.links import tag_key
from tgvault.storage.repositories import PostOutline
from tgvault.text import utf16_slice


def _entity_text(text: str, offset: int, length: int) -> str:
    """The text an entity covers: a fast path through the UTF-16 codec, the careful one on odd spans."""
    start, end = max(0, offset), max(0, offset + length)
    if text.isascii():
        return text[start:end]
    try:
        return text.encode("utf-16-le", "surrogatepass")[2 * start : 2 * end].decode("utf-16-le")
    except UnicodeDecodeError:  # a span cutting a surrogate pair, or a lone surrogate in the text
        return utf16_slice(text, offset, length)


def outline_tags(outline: PostOutline) -> dict[str, str]:
    """The hashtags of a post: tag key -> label (as first written in the post), in text order."""
    found: dict[str, str] = {}
    for entity in outline.hashtags:
        if entity.kind is EntityKind.HASHTAG:
            text = _entity_text(outline.text, entity.offset, entity.length)
            key = tag_key(text)
            if key and key not in found:
                found[key] = text.strip().lstrip("#＃")
    return found


def place_of(moment: datetime, zone: tzinfo) -> tuple[int, int]:
    """(month number, day ordinal) of a moment in the site's timezone."""
    local = moment.astimezone(zone)
    return local.year * 12 + local.month - 1, local.toordinal()


def page_path(channel_id: int, month: int, number: int) -> str:
    """The path of a timeline page: the month, then ``-pageN`` for parts after the first."""
    return part_path(month_stem(channel_id, month), number)


def month_stem(channel_id: int, month: int) -> str:
    """The path of a month's timeline pages without its part and extension: ``c/<id>/2024/03``."""
    return f"c/{channel_id}/{month // 12:04d}/{month % 12 + 1:02d}"


def part_path(stem: str, number: int) -> str:
    """The path of part ``number`` of the month whose :func:`month_stem` is ``stem``."""
    return f"{stem}.html" if number == 1 else f"{stem}-page{number}.html"


def cut_pages(ordered: Iterable[tuple[int, int | None]], per_page: int) -> list[array[int]]:
    """Cut a month's (message id, album) in timeline order into pages, never splitting an album."""
    chunks: list[array[int]] = [array("I")]  # 4 bytes a post; widened to int64 for an id that needs it
    previous_group: int | None = None
    for message_id, group in ordered:
        current = chunks[-1]
        if len(current) >= per_page and (group is None or group != previous_group):
            current = array("I")
            chunks.append(current)
        try:
            current.append(message_id)
        except OverflowError:
            current = chunks[-1] = array("q", current)
            current.append(message_id)
        previous_group = group
    return chunks
