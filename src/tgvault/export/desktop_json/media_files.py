"""Place the media files of exported posts in the ``media/`` folder next to the JSON file.

Files are named as in the media store (``media/ab/cd/<sha256>.<ext>``) but always with a passive
extension (:mod:`tgvault.storage.media_types`): a file an older version stored as ``.html`` or ``.svg``
is placed as ``.bin``, so an export put on a web server runs nothing when a file is opened.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from tgvault.domain import MediaItem, MediaStatus
from tgvault.errors import StorageError
from tgvault.export.desktop_json.raw_messages import DesktopRaw
from tgvault.formats.desktop import FILE_NOT_INCLUDED, is_file_placeholder
from tgvault.storage.media_store import MediaStore, content_path, parse_content_path
from tgvault.storage.media_types import passive_extension

__all__ = ["MediaFiles"]

_COPY_CHUNK = 1 << 20


class MediaFiles:
    """Copies (or hard-links) stored files into ``media/`` once each, counting what was placed or missing."""

    def __init__(self, out: Path, store: MediaStore, link: bool) -> None:
        self._out_dir = out.parent
        self._store = store
        self._link = link
        self._placed: dict[Path, str | None] = {}
        self._targets: set[str] = set()
        self.media_files = 0
        self.media_bytes = 0
        self.media_not_included = 0
        self.media_missing = 0

    def _place(self, relative: str) -> str | None:
        """Copy a stored file into ``media/``; its path relative to the JSON, or None if it is unusable."""
        parsed = parse_content_path(relative)
        if parsed is None:
            return None
        try:
            source = self._store.path_of(relative)
        except StorageError:
            return None
        if source in self._placed:
            return self._placed[source]
        sha256, extension = parsed
        placed = self._copy(source, sha256, passive_extension(extension)) if source.is_file() else None
        self._placed[source] = placed
        return placed

    def _copy(self, source: Path, sha256: str, extension: str) -> str | None:
        inside = content_path(sha256, extension)
        if inside in self._targets:  # the same content stored under two names: placed once
            return f"media/{inside}"
        target = self._out_dir / "media" / inside
        size = source.stat().st_size
        if not (target.is_file() and target.stat().st_size == size):
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(f".{uuid.uuid4().hex}.part")
            try:
                if not self._hard_link(source, temp) and self._copy_verified(source, temp) != sha256:
                    temp.unlink(missing_ok=True)
                    return None
                temp.replace(target)
            finally:
                temp.unlink(missing_ok=True)
        self._targets.add(inside)
        self.media_files += 1
        self.media_bytes += size
        return f"media/{inside}"

    def _hard_link(self, source: Path, temp: Path) -> bool:
        if not self._link:
            return False
        try:
            os.link(source, temp)
        except OSError:
            return False
        return True

    @staticmethod
    def _copy_verified(source: Path, temp: Path) -> str:
        digest = hashlib.sha256()
        with source.open("rb") as reader, temp.open("xb") as writer:
            while chunk := reader.read(_COPY_CHUNK):
                digest.update(chunk)
                writer.write(chunk)
        shutil.copystat(source, temp)
        return digest.hexdigest()

    def media_value(self, media: MediaItem) -> str:
        """A post's attachment as Desktop writes it: its placed path, or the "not included" placeholder."""
        if media.status is not MediaStatus.DOWNLOADED or not media.path:
            self.media_not_included += 1
            return FILE_NOT_INCLUDED
        placed = self._place(media.path)
        if placed is None:
            self.media_missing += 1
            return FILE_NOT_INCLUDED
        return placed

    def raw_file_value(self, value: Any, raw: DesktopRaw) -> str:
        """A path-valued field of an imported Desktop message (thumbnail, custom emoji, vCard)."""
        text = str(value)
        if is_file_placeholder(text):
            return text
        stored = raw.files.get(text)
        placed = None if stored is None else self._place(stored)
        return FILE_NOT_INCLUDED if placed is None else placed
