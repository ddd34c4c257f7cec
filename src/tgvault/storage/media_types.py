"""Passive media names: the only extensions tgvault gives a file it stores or publishes.

A static host (GitHub Pages, S3, a plain nginx) picks a file's Content-Type from its extension, and a
file opened directly from the site's origin runs with the site's rights when that type is active:
HTML, SVG, XML, XHTML, JavaScript. Anyone who posts a file in an archived channel chooses its bytes,
its MIME type and its name, and the file's URL is predictable (the sha256 of its content). So a file
keeps its extension only when the extension is on the allow-list below — types a browser shows as an
image, plays as video or audio, or downloads — and everything else is named ``.bin``
(``application/octet-stream``, which browsers download and never render).

``pdf`` and ``txt`` are kept: browsers render them without running anything in the site's origin (PDF
in an isolated viewer, text as text), and the site links to them with ``download``. ``svg`` never is:
an SVG opened directly runs its script.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

FALLBACK_EXTENSION = "bin"
FALLBACK_TYPE = "application/octet-stream"


class Display(StrEnum):
    """How a page may show a file: inline as an image, in a video or audio player, or only as a download."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOWNLOAD = "download"


@dataclass(frozen=True)
class PassiveType:
    """An allowed extension: the Content-Type it is served with and how pages may show it."""

    mime_type: str
    display: Display


def _types(display: Display, pairs: dict[str, str]) -> dict[str, PassiveType]:
    return {extension: PassiveType(mime, display) for extension, mime in pairs.items()}


PASSIVE_TYPES: MappingProxyType[str, PassiveType] = MappingProxyType(
    {
        # images every browser shows in <img>
        **_types(
            Display.IMAGE,
            {
                "jpg": "image/jpeg",
                "jpeg": "image/jpeg",
                "png": "image/png",
                "gif": "image/gif",
                "webp": "image/webp",
                "avif": "image/avif",
                "bmp": "image/bmp",
            },
        ),
        # video a <video> element plays
        **_types(
            Display.VIDEO,
            {
                "mp4": "video/mp4",
                "m4v": "video/mp4",
                "webm": "video/webm",
                "mov": "video/quicktime",
                "mkv": "video/x-matroska",
            },
        ),
        # audio an <audio> element plays
        **_types(
            Display.AUDIO,
            {
                "mp3": "audio/mpeg",
                "m4a": "audio/mp4",
                "aac": "audio/aac",
                "ogg": "audio/ogg",
                "oga": "audio/ogg",
                "opus": "audio/ogg",
                "wav": "audio/wav",
                "flac": "audio/flac",
            },
        ),
        # passive, but not shown inline: offered as downloads
        **_types(
            Display.DOWNLOAD,
            {
                "heic": "image/heic",
                "heif": "image/heif",
                "tif": "image/tiff",
                "tiff": "image/tiff",
                "3gp": "video/3gpp",
                "avi": "video/x-msvideo",
                "mpg": "video/mpeg",
                "pdf": "application/pdf",
                "txt": "text/plain",
                "csv": "text/csv",
                "rtf": "application/rtf",
                "epub": "application/epub+zip",
                "doc": "application/msword",
                "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "xls": "application/vnd.ms-excel",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "ppt": "application/vnd.ms-powerpoint",
                "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                "odt": "application/vnd.oasis.opendocument.text",
                "ods": "application/vnd.oasis.opendocument.spreadsheet",
                "odp": "application/vnd.oasis.opendocument.presentation",
                "zip": "application/zip",
                "rar": "application/vnd.rar",
                "7z": "application/x-7z-compressed",
                "gz": "application/gzip",
                "tar": "application/x-tar",
                "apk": "application/vnd.android.package-archive",
                FALLBACK_EXTENSION: FALLBACK_TYPE,
            },
        ),
    }
)


def _first_extension_of_each_type() -> dict[str, str]:
    found: dict[str, str] = {}
    for extension, passive in PASSIVE_TYPES.items():
        found.setdefault(passive.mime_type, extension)
    return found


# The extension a new file gets from its declared MIME type (parameters and case ignored).
_EXTENSION_OF_TYPE: MappingProxyType[str, str] = MappingProxyType(
    {
        **_first_extension_of_each_type(),
        "image/jpeg": "jpg",
        "image/pjpeg": "jpg",
        "image/jpg": "jpg",
        "video/mp4": "mp4",
        "video/x-m4v": "m4v",
        "audio/ogg": "ogg",
        "audio/opus": "opus",
        "audio/mp3": "mp3",
        "audio/x-mpeg": "mp3",
        "audio/x-m4a": "m4a",
        "audio/m4a": "m4a",
        "audio/x-wav": "wav",
        "audio/wave": "wav",
        "audio/x-flac": "flac",
        "audio/webm": "webm",
        "image/x-ms-bmp": "bmp",
        "application/x-zip-compressed": "zip",
        "application/x-rar-compressed": "rar",
        "application/x-gzip": "gz",
        "text/rtf": "rtf",
        "application/octet-stream": FALLBACK_EXTENSION,
    }
)
# Types that do not say what the file is: its name may tell.
_UNSPECIFIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/unknown"})

_MEDIA_MAJORS = frozenset({"image", "video", "audio"})
_ACTIVE_WORDS = ("svg", "xml", "html", "script")

MEDIA_NAMING = int.from_bytes(
    hashlib.blake2b(repr(sorted(PASSIVE_TYPES.items())).encode(), digest_size=6).digest(), "big"
)
"""A number that changes whenever the allow-list does (a site built under another list is renamed)."""


def passive_extension(extension: str) -> str:
    """``extension`` (lower-cased) when it is on the allow-list, else ``bin``."""
    lowered = extension.lower()
    return lowered if lowered in PASSIVE_TYPES else FALLBACK_EXTENSION


def passive_type(extension: str) -> PassiveType:
    """The Content-Type and display of a published extension (``bin`` for anything not allowed)."""
    return PASSIVE_TYPES[passive_extension(extension)]


def extension_for(mime_type: str | None, file_name: str | None = None) -> str:
    """The passive extension a new file is stored under.

    From its MIME type when that is one of the allowed types; from its file name when the type says
    nothing (``application/octet-stream``), or names an image, video or audio format tgvault does not
    list and the name's extension is one of the same kind; ``bin`` otherwise: an HTML, SVG, XML or
    script file whatever its name, and any type in doubt.
    """
    declared = (mime_type or "").split(";", 1)[0].strip().lower()
    known = _EXTENSION_OF_TYPE.get(declared)
    if known is not None and known != FALLBACK_EXTENSION:
        return known
    if not file_name or "." not in file_name:
        return FALLBACK_EXTENSION
    from_name = passive_extension(file_name.rsplit(".", 1)[1].strip())
    if declared in _UNSPECIFIC_TYPES:
        return from_name
    major = declared.partition("/")[0]
    if (
        major in _MEDIA_MAJORS
        and not any(word in declared for word in _ACTIVE_WORDS)
        and PASSIVE_TYPES[from_name].mime_type.startswith(f"{major}/")
    ):
        return from_name
    return FALLBACK_EXTENSION
