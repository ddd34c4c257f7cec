"""The contents of fake photos and documents: generated lazily from a seed, with expiring file references."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from telethon.tl import types

from tgvault.testing.fake_telegram.defaults import SESSION_DC_ID
from tgvault.testing.fake_telegram.rpc import TL

__all__ = ["FakeFile"]

_BLOCK = 64 * 1024
_REFERENCE = struct.Struct("<qIq4x")  # media id, generation, access hash, padding: 28 bytes after 0x02
_MAGIC: dict[str, bytes] = {
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/gif": b"GIF89a",
    "image/webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    "video/mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
    "video/quicktime": b"\x00\x00\x00\x14ftypqt  ",
    "audio/ogg": b"OggS\x00\x02\x00\x00",
    "audio/mpeg": b"ID3\x04\x00\x00\x00\x00",
    "application/pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    "application/zip": b"PK\x03\x04",
}
_STORAGE_TYPES: dict[str, Callable[[], TL]] = {
    "image/jpeg": types.storage.FileJpeg,
    "image/png": types.storage.FilePng,
    "image/gif": types.storage.FileGif,
    "image/webp": types.storage.FileWebp,
    "video/mp4": types.storage.FileMp4,
    "video/quicktime": types.storage.FileMov,
    "audio/mpeg": types.storage.FileMp3,
    "application/pdf": types.storage.FilePdf,
}


def _generate(seed: int, key: str, size: int, header: bytes, offset: int, limit: int) -> bytes:
    """Bytes ``[offset, offset + limit)`` of a deterministic pseudo-random file of ``size`` bytes."""
    end = min(size, offset + limit)
    if offset >= end:
        return b""
    first, last = offset // _BLOCK, (end - 1) // _BLOCK
    prefix = f"{seed}:{key}:".encode()
    blob = b"".join(
        hashlib.shake_256(prefix + str(block).encode()).digest(_BLOCK) for block in range(first, last + 1)
    )
    data = blob[offset - first * _BLOCK : end - first * _BLOCK]
    if offset < len(header):
        head = header[offset : min(len(header), end)]
        data = head + data[len(head) :]
    return data


@dataclass(eq=False, slots=True)
class FakeFile:
    """The contents of one photo or document, generated lazily from a seed (or given explicitly).

    ``sizes`` maps a location's ``thumb_size`` to its byte length: ``""`` is a document itself, ``"m"``,
    ``"x"``, ``"y"``... are photo sizes and document thumbnails. ``main`` is what ``download_media`` fetches
    by default. File references have generations: only generations ``>= valid_from`` are accepted.
    """

    id: int
    access_hash: int
    kind: str  # "photo" or "document"
    mime_type: str
    date: datetime
    sizes: dict[str, int]
    main: str
    seed: int
    dc_id: int = SESSION_DC_ID
    data: dict[str, bytes] | None = None
    generation: int = 0
    valid_from: int = 0
    needs_new_reference: bool = False

    def reference_for(self, generation: int) -> bytes:
        """The file reference handed out in the given generation (29 opaque-looking bytes, like real ones)."""
        return b"\x02" + _REFERENCE.pack(self.id, generation, self.access_hash)

    @property
    def file_reference(self) -> bytes:
        """The current file reference."""
        return self.reference_for(self.generation)

    def reference_state(self, reference: bytes) -> str:
        """``"valid"``, ``"expired"`` (issued once, no longer accepted) or ``"invalid"`` (never issued)."""
        if len(reference) != 1 + _REFERENCE.size or reference[0] != 2:
            return "invalid"
        media_id, generation, access_hash = _REFERENCE.unpack(reference[1:])
        if media_id != self.id or access_hash != self.access_hash or not 0 <= generation <= self.generation:
            return "invalid"
        return "valid" if generation >= self.valid_from else "expired"

    def rotate_reference(self, *, invalidate_older: bool) -> None:
        """Issue a new file reference (a message carrying this file was read again)."""
        self.generation += 1
        self.needs_new_reference = False
        if invalidate_older:
            self.valid_from = self.generation

    def read(self, thumb_size: str, offset: int, limit: int) -> bytes:
        """Bytes ``[offset, offset + limit)`` of the given size (``""`` = the document itself)."""
        if self.data is not None and thumb_size in self.data:
            return self.data[thumb_size][offset : offset + limit]
        size = self.sizes[thumb_size]
        mime = "image/jpeg" if self.kind == "photo" or thumb_size else self.mime_type
        return _generate(self.seed, thumb_size, size, _MAGIC.get(mime, b""), offset, limit)

    def content(self, thumb_size: str | None = None) -> bytes:
        """The whole content of a size (default: :attr:`main`, what ``download_media`` fetches)."""
        key = self.main if thumb_size is None else thumb_size
        return self.read(key, 0, self.sizes[key])

    def storage_type(self, thumb_size: str) -> TL:
        """The ``storage.FileType`` Telegram reports in ``upload.File``."""
        mime = "image/jpeg" if self.kind == "photo" or thumb_size else self.mime_type
        return _STORAGE_TYPES.get(mime, types.storage.FileUnknown)()
