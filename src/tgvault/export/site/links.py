"""Links: which targets are safe to link to, Telegram's own links, and relative paths inside the site.

Every URL that comes from a post is untrusted. Only absolute ``http``/``https`` URLs with a host,
``tg://`` links and ``mailto:`` addresses become links; anything else (``javascript:``, ``data:``,
``vbscript:``, relative or protocol-relative tricks, URLs hiding control or invisible characters) is
shown as plain text by the caller.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import unicodedata
from functools import lru_cache
from urllib.parse import urlsplit

from tgvault.domain import Channel
from tgvault.storage.media_types import Display, passive_extension, passive_type

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
# Browsers drop tabs and newlines inside URLs ("java\nscript:"), so any control, space, backslash or
# invisible formatting character makes a URL unacceptable.
_FORBIDDEN = re.compile(
    r"[\x00-\x20\x7f-\x9f\\\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\s]"
)
_BARE_HOST = re.compile(r"^[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)*\.[^\W\d_]{2,63}(?:[:/?#]|$)")
_EMAIL = re.compile(r"^[^\s@<>\"'\\]{1,64}@[^\s@<>\"'\\/]{1,255}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_]{3,32}$")
_MEDIA_PATH = re.compile(r"^([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})\.([a-z0-9]{1,10})$")
_NAME_REFUSED = frozenset('/\\:*?"<>|')
_NAME_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_NAME_MAX = 120
MAX_URL_LENGTH = 4096
ALLOWED_SCHEMES = frozenset({"http", "https", "tg", "mailto"})


def safe_href(url: str | None) -> str | None:
    """``url`` when it may be linked to (absolute http(s), tg or mailto), else None."""
    if not url:
        return None
    url = url.strip(" ")
    if not url or len(url) > MAX_URL_LENGTH or _FORBIDDEN.search(url):
        return None
    match = _SCHEME.match(url)
    if match is None:
        return None
    scheme = match.group(1).lower()
    rest = url[match.end() :]
    if scheme in ("http", "https"):
        if not rest.startswith("//"):
            return None
        try:
            host = urlsplit(url).hostname
        except ValueError:
            return None
        if not host:
            return None
    elif scheme == "tg":
        if not re.match(r"^//[A-Za-z0-9_]", rest):
            return None
    elif scheme == "mailto":
        if "@" not in rest:
            return None
    else:
        return None
    return url


def autolink_href(text: str) -> str | None:
    """The link for a URL Telegram detected in text: as written when absolute, http:// for a bare host."""
    direct = safe_href(text)
    if direct is not None:
        return direct
    if _SCHEME.match(text) and not _BARE_HOST.match(text):
        return None
    if _BARE_HOST.match(text):
        return safe_href("http://" + text)
    return None


def email_href(text: str) -> str | None:
    """A mailto: link for an address Telegram detected, or None when it does not look like one."""
    text = text.strip()
    if not _EMAIL.match(text) or _FORBIDDEN.search(text):
        return None
    return safe_href("mailto:" + text)


def valid_username(username: str | None) -> str | None:
    """The username when it has Telegram's shape (letters, digits, underscores), else None."""
    if username and _USERNAME.match(username):
        return username
    return None


def mention_href(text: str) -> str | None:
    """https://t.me/<name> for an ``@name`` mention."""
    name = valid_username(text.strip().removeprefix("@"))
    return None if name is None else f"https://t.me/{name}"


def tme_channel_url(channel: Channel) -> str | None:
    """The channel on t.me: public channels by username; private ones have no public page."""
    name = valid_username(channel.username)
    return None if name is None else f"https://t.me/{name}"


def tme_post_url(channel_id: int, message_id: int, username: str | None = None) -> str:
    """The post on t.me: ``https://t.me/<username>/<id>``, or ``https://t.me/c/<channel>/<id>`` if private."""
    name = valid_username(username)
    if name is not None:
        return f"https://t.me/{name}/{message_id}"
    return f"https://t.me/c/{abs(int(channel_id))}/{int(message_id)}"


def media_site_path(store_path: str | None) -> str | None:
    """Where a stored file is published in the site (``media/ab/cd/<sha256>.<ext>``), or None for a bad path.

    The archive's recorded path is checked against the store's own naming, so nothing else is linked.
    The published extension is passive whatever the stored one (``.bin`` for a file an older version
    stored as ``.html`` or ``.svg``; see :mod:`tgvault.storage.media_types`), so no file of the site
    runs script when opened directly.
    """
    if not store_path:
        return None
    match = _MEDIA_PATH.match(store_path)
    if match is None or not match.group(3).startswith(match.group(1) + match.group(2)):
        return None
    head, _, extension = store_path.rpartition(".")
    return f"media/{head}.{passive_extension(extension)}"


def is_passive_media_path(site_path: str) -> bool:
    """True for a path under ``media/`` whose extension is passive (what this version publishes)."""
    _, dot, extension = site_path.rpartition(".")
    return bool(dot) and site_path.startswith("media/") and passive_extension(extension) == extension


def media_display(site_path: str) -> Display:
    """How a page may show a published media file: as an image, in a player, or only as a download."""
    return passive_type(site_path.rpartition(".")[2]).display


def media_type(site_path: str) -> str:
    """The Content-Type a published media file is served with (``application/octet-stream`` for ``.bin``)."""
    return passive_type(site_path.rpartition(".")[2]).mime_type


def download_name(name: str, site_path: str) -> str:
    """The file name a download link offers (its ``download`` attribute): the post's own name without
    path separators, control, invisible or bidi characters, characters Windows refuses, or leading dots,
    at most 120 characters; ``file.<ext>`` when nothing is left."""
    kept = "".join(
        "_" if ch in _NAME_REFUSED or unicodedata.category(ch) in _NAME_CATEGORIES else ch
        for ch in " ".join(unicodedata.normalize("NFC", name).split())  # tabs and newlines: one space
    )
    kept = kept.strip(" ._")
    if len(kept) > _NAME_MAX:
        stem, dot, extension = kept.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            kept = f"{stem[: _NAME_MAX - len(extension) - 1].rstrip(' ._')}.{extension}"
        else:
            kept = kept[:_NAME_MAX].rstrip(" ._")
    return kept or f"file.{site_path.rpartition('.')[2] or 'bin'}"


def relative_url(from_page: str, to_path: str, fragment: str | None = None) -> str:
    """A link from the page at site path ``from_page`` to the site path ``to_path``.

    Links are always relative and name files explicitly (``index.html``), so the site works from any
    folder, any URL prefix and from ``file://``. Both paths are clean site paths (no ``.``/``..``).
    """
    return relative_from(posixpath.dirname(from_page), to_path, fragment)


def relative_from(folder: str, to_path: str, fragment: str | None = None) -> str:
    """:func:`relative_url` from a page in site folder ``folder`` (its path's dirname)."""
    url = _relative(folder, to_path or "index.html")
    return f"{url}#{fragment}" if fragment else url


@lru_cache(maxsize=4096)
def _relative_dirs(start: str, target_dir: str) -> str:
    start_parts = start.split("/") if start else []
    target_parts = target_dir.split("/") if target_dir else []
    common = 0
    for a, b in zip(start_parts, target_parts, strict=False):
        if a != b:
            break
        common += 1
    up = [".."] * (len(start_parts) - common)
    return "/".join(up + target_parts[common:])


def _relative(start: str, target: str) -> str:
    folder, _, name = target.rpartition("/")
    prefix = _relative_dirs(start, folder)
    return f"{prefix}/{name}" if prefix else name


def tag_key(text: str) -> str:
    """The hashtag a ``#Tag`` entity names, folded so #News and #news are one tag."""
    name = text.strip().lstrip("#＃")
    name = name.split("@", 1)[0]
    return unicodedata.normalize("NFC", name).casefold()


def tag_slug(key: str) -> str:
    """A file name for a hashtag's page: the tag itself when plain ASCII, else ASCII plus a short hash."""
    ascii_part = re.sub(r"[^a-z0-9_]+", "", key)[:40]
    if ascii_part == key and ascii_part and ascii_part != "index":  # tags/index.html lists the tags
        return ascii_part
    digest = hashlib.sha1(key.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()[:10]
    return f"{ascii_part}-{digest}" if ascii_part else f"t-{digest}"
