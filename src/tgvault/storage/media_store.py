"""Content-addressed media files: ``<root>/ab/cd/<sha256>.<ext>``, written atomically.

A file is streamed into a temporary file in the store (hashing as it goes), fsynced, and renamed
into place only when complete, so a crash never leaves a partial file under a final name. The same
content posted twice is stored once. Names Telegram supplies are never used as paths: only the
sha256 and a sanitised extension are.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from tgvault.errors import StorageError

_SAFE_EXTENSION = re.compile(r"^[a-z0-9]{1,10}$")
_PREFERRED_EXTENSIONS = {
    "image/jpeg": "jpg",
    "video/mp4": "mp4",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "application/x-tgsticker": "tgs",
    "image/webp": "webp",
    "video/webm": "webm",
    "text/plain": "txt",
}


def safe_extension(mime_type: str | None, file_name: str | None = None) -> str:
    """A short, safe file extension for stored media (``bin`` when nothing better is known)."""
    if mime_type:
        preferred = _PREFERRED_EXTENSIONS.get(mime_type.lower())
        if preferred:
            return preferred
        guessed = mimetypes.guess_extension(mime_type.lower(), strict=False)
        if guessed and _SAFE_EXTENSION.match(guessed[1:]):
            return guessed[1:]
    if file_name and "." in file_name:
        candidate = file_name.rsplit(".", 1)[1].lower()
        if _SAFE_EXTENSION.match(candidate):
            return candidate
    return "bin"


@dataclass(frozen=True)
class StoredFile:
    """A file now in the store: its content hash, size and path relative to the store root."""

    sha256: str
    size: int
    path: str


class PendingFile:
    """A file being written into the store; :meth:`commit` moves it into place."""

    def __init__(self, store: LocalMediaStore, extension: str) -> None:
        self._store = store
        self._extension = extension
        self._hash = hashlib.sha256()
        self.size = 0
        self.temp_path = store.temp_dir / f"{uuid.uuid4().hex}.part"
        self._file = self.temp_path.open("xb")
        self._done = False

    def write(self, chunk: bytes) -> int:
        """Append bytes to the file (Telethon's download_media accepts any object with write())."""
        self._file.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)
        return len(chunk)

    def commit(self, expected_size: int | None = None) -> StoredFile:
        """Verify the size, fsync and rename into its content-addressed place."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        if expected_size is not None and expected_size != self.size:
            self.discard()
            raise StorageError(f"downloaded {self.size} bytes but Telegram announced {expected_size}")
        digest = self._hash.hexdigest()
        relative = f"{digest[:2]}/{digest[2:4]}/{digest}.{self._extension}"
        final = self._store.root / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists() and final.stat().st_size == self.size:
            self.temp_path.unlink(missing_ok=True)
        else:
            self.temp_path.replace(final)
            self._store.fsync_dir(final.parent)
        self._done = True
        return StoredFile(sha256=digest, size=self.size, path=relative)

    def discard(self) -> None:
        """Throw the partial file away."""
        if not self._file.closed:
            self._file.close()
        self.temp_path.unlink(missing_ok=True)
        self._done = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self._done:
            self.discard()


class LocalMediaStore:
    """Media files in a local folder (the default store)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def temp_dir(self) -> Path:
        """Where files are written before they are complete."""
        return self.root / ".tmp"

    def prepare(self) -> None:
        """Create the folders; raises StorageError when the folder cannot be written."""
        try:
            self.temp_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"media folder {self.root} cannot be created: {exc.strerror}") from exc
        if not os.access(self.temp_dir, os.W_OK):
            raise StorageError(f"media folder {self.root} is not writable")

    def begin(self, mime_type: str | None, file_name: str | None = None) -> PendingFile:
        """Start writing a new file; use as a context manager and call ``commit()`` when complete."""
        self.prepare()
        return PendingFile(self, safe_extension(mime_type, file_name))

    def put_bytes(self, data: bytes, mime_type: str | None = None) -> StoredFile:
        """Store a whole in-memory file (small files such as channel photos)."""
        with self.begin(mime_type) as pending:
            pending.write(data)
            return pending.commit()

    def path_of(self, relative: str) -> Path:
        """Absolute path of a stored file; refuses anything that would leave the store."""
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root.resolve()):
            raise StorageError(f"media path {relative!r} is outside the media folder")
        return candidate

    def exists(self, relative: str) -> bool:
        """True when the stored file is present."""
        return self.path_of(relative).is_file()

    def clean_temp(self) -> int:
        """Remove partial files left by a crash; returns how many were removed."""
        if not self.temp_dir.is_dir():
            return 0
        removed = 0
        for leftover in self.temp_dir.glob("*.part"):
            leftover.unlink(missing_ok=True)
            removed += 1
        return removed

    @staticmethod
    def fsync_dir(folder: Path) -> None:
        """Make a rename in ``folder`` durable."""
        try:
            descriptor = os.open(folder, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
