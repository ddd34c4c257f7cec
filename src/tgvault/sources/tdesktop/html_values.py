"""Read values from the HTML export's markup: node texts, child elements, dates, durations, sizes, links."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from urllib.parse import urlsplit

from selectolax.lexbor import LexborNode

from tgvault.errors import ImportFormatError, TimezoneRequiredError
from tgvault.sources.html_text import classes_of

__all__ = [
    "DATE_TITLE",
    "child_elements",
    "duration_of",
    "first_child",
    "local_path",
    "moment_of",
    "node_text",
    "own_text",
    "size_of",
]

DATE_TITLE = re.compile(
    r"^(\d{2})\.(\d{2})\.(\d{4}) (\d{2}):(\d{2}):(\d{2})(?: UTC([+-])(\d{2}):(\d{2}))?$",
)
_DURATION = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})$")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?) (B|KB|MB|GB)$")
_SIZE_SCALE = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def node_text(node: LexborNode | None) -> str:
    """The node's text, whitespace collapsed (empty for no node)."""
    return " ".join((node.text(deep=True) if node is not None else "").split())


def own_text(node: LexborNode) -> str:
    """The text directly inside the node (not its children's), whitespace collapsed."""
    return " ".join(
        "".join(
            child.text_content or "" for child in node.iter(include_text=True) if child.is_text_node
        ).split()
    )


def child_elements(node: LexborNode) -> Iterator[LexborNode]:
    """The node's child elements (no text nodes)."""
    for child in node.iter():
        if child.is_element_node:
            yield child


def first_child(node: LexborNode, *class_names: str) -> LexborNode | None:
    """The first child element of ``node`` that has every one of ``class_names``."""
    for child in child_elements(node):
        if classes_of(child).issuperset(class_names):
            return child
    return None


# --------------------------------------------------------------------------------------------- values


def moment_of(value: str, zone: tzinfo | None, where: str) -> tuple[datetime, bool]:
    """A date title as UTC, and whether it was a local time (no offset)."""
    match = DATE_TITLE.match(value.strip())
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


def duration_of(text: str) -> float | None:
    """A duration shown as ``M:SS`` or ``H:MM:SS``, in seconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        return None
    hours, minutes, seconds = match.group(1), match.group(2), match.group(3)
    return float(int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds))


def size_of(text: str) -> int | None:
    """A size shown as ``1.5 MB`` (and B, KB, GB), in bytes."""
    match = _SIZE.match(text.strip())
    return None if match is None else int(float(match.group(1)) * _SIZE_SCALE[match.group(2)])


def local_path(href: str | None) -> str | None:
    """A link into the export's folder (not a web link); only ever read relative to that folder."""
    if not href or href.startswith("#"):
        return None
    split = urlsplit(href)
    if split.scheme or split.netloc:
        return None
    return href
