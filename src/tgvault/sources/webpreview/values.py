"""Values as the web preview shows them: counts (``1.2K``), sizes, durations, view tokens, post links, URLs.

Its regular expressions read *values* (a CSS ``url(...)``, a count like ``1.2K``, a duration), never
markup.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborNode

_COUNT = re.compile(r"^(\d+(?:[.,]\d+)?)\s*([KMB]?)$", re.IGNORECASE)
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)$", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.IGNORECASE)
_DURATION = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})$")
_POST_PATH = re.compile(r"^/(?:s/)?([A-Za-z0-9_]+)/(\d+)/?$")
_COUNT_SCALE = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}
_SIZE_SCALE = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
_BARE_ID_LIMIT = 1_000_000_000_000  # Bot API ids of channels are -100<bare id>


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


def parse_duration(text: str | None) -> float | None:
    """A duration as shown (``1:05``, ``1:02:03``) in seconds, or None."""
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


def http_url(value: str | None, base: str) -> str | None:
    """An absolute http(s) URL from an attribute value (``//host/...`` is resolved against the page)."""
    if not value:
        return None
    absolute = urljoin(base, value.strip())
    split = urlsplit(absolute)
    if split.scheme not in ("http", "https") or not split.hostname:
        return None
    return absolute


def style_url(node: LexborNode | None, base: str) -> str | None:
    """The http(s) URL in a node's ``style`` (a CSS ``url(...)``), or None."""
    if node is None:
        return None
    match = _CSS_URL.search(node.attributes.get("style") or "")
    return http_url(match.group(2), base) if match else None
