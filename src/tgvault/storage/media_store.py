"""Content-addressed media files: ``<root>/ab/cd/<sha256>.<ext>``, written atomically.

A file is streamed into a temporary file in the store (hashing as it goes), fsynced, and renamed
into place only when complete, so a crash never leaves a partial file under a final name. The same
content posted twice is stored once. Names Telegram supplies are never used as paths: only the
sha256 and a passive extension are (an image, video, audio or download type; ``bin`` for anything a
browser could run, see :mod:`tgvault.storage.media_types`). Files stored by older versions keep
their names; the site and the JSON export publish them under passive names.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Protocol, Self, cast

from tgvault.errors import IncompleteDownloadError, StorageError
from tgvault.storage.media_types import extension_for

_PART_NAME = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_ONE_SHOT_PART = re.compile(r"^[0-9a-f]{32}$")
# An import's staging folder (services/tdesktop_import/staged_files.py); a live import touches it at
# least once a batch, so one left untouched for the stale period belongs to an import that was killed.
_IMPORT_STAGING = re.compile(r"^import-[0-9a-f]{32}$")


def safe_extension(mime_type: str | None, file_name: str | None = None) -> str:
    """The extension a new stored file gets: a passive one (:mod:`tgvault.storage.media_types`), else ``bin``.

    HTML, SVG, XML, script and any other type a browser would run never keep their extension.
    """
    return extension_for(mime_type, file_name)


@dataclass(frozen=True)
class StoredFile:
    """A file now in the store: its content hash, size and path relative to the store root."""

    sha256: str
    size: int
    path: str


class MediaStore(Protocol):
    """What the archive needs of a media store: the local folder or S3-compatible object storage.

    Files are always written into a local temporary area first (:attr:`temp_dir`), hashed as they
    arrive, and handed to :meth:`place` once complete; a file is recorded in the database only after
    :meth:`place` returned, so the archive never points at a missing or partial file.
    """

    @property
    def root(self) -> Path:
        """The local folder: the store itself, or the local cache of a remote store."""
        ...

    @property
    def temp_dir(self) -> Path:
        """Local folder where files are written before they are complete."""
        ...

    def describe(self) -> str:
        """Where the files live, for messages (never with credentials)."""
        ...

    def prepare(self) -> None:
        """Check the store can be written; raises StorageError naming what to fix."""
        ...

    def begin(self, mime_type: str | None, file_name: str | None = None) -> PendingFile:
        """Start writing a new file (a context manager; call ``commit()`` when complete)."""
        ...

    def put_bytes(self, data: bytes, mime_type: str | None = None) -> StoredFile:
        """Store a whole in-memory file."""
        ...

    def place(self, local: Path, relative: str, size: int, sha256: str) -> None:
        """Make the complete local file ``local`` the stored file ``relative`` (verified); raises
        StorageError when it could not be stored."""
        ...

    def path_of(self, relative: str) -> Path:
        """A local path holding the stored file (a remote store fetches it into its cache)."""
        ...

    def exists(self, relative: str) -> bool:
        """True when the stored file is present."""
        ...

    def find(self, sha256: str) -> list[str]:
        """Relative paths of stored files with this content hash (any extension)."""
        ...

    def clean_temp(self) -> int:
        """Remove partial files left by a crash; returns how many were removed."""
        ...


def content_path(sha256: str, extension: str) -> str:
    """Where a file with this content hash and extension is stored: ``ab/cd/<sha256>.<ext>``."""
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}.{extension}"


_CONTENT_PATH = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/([0-9a-f]{64})\.([a-z0-9]{1,10})$")


def parse_content_path(relative: str) -> tuple[str, str] | None:
    """``(sha256, extension)`` of a content-addressed store path; None for anything else."""
    match = _CONTENT_PATH.match(relative)
    if match is None or relative[:2] != match.group(1)[:2] or relative[3:5] != match.group(1)[2:4]:
        return None
    return match.group(1), match.group(2)


class PendingFile:
    """A file being written into the store; :meth:`commit` moves it into place.

    With a ``part_name`` the file is resumable: it lives at ``.tmp/<part_name>.part``, an interrupted
    download leaves its bytes there, and the next :meth:`LocalMediaStore.resume` continues after them
    (cut back to a multiple of ``align`` so the next request starts on a boundary Telegram accepts).
    """

    def __init__(
        self, store: LocalMediaStore, extension: str, *, part_name: str | None = None, align: int = 1
    ) -> None:
        self._store = store
        self._extension = extension
        self._hash = hashlib.sha256()
        self.size = 0
        self.resumed_from = 0
        self._resumable = part_name is not None
        if part_name is None:
            self.temp_path = store.temp_dir / f"{uuid.uuid4().hex}.part"
            self._file = store.open_part(self.temp_path, "xb")
        else:
            self.temp_path = store.temp_dir / f"{part_name}.part"
            self._file = store.open_part(self.temp_path, "a+b")
            self._take_existing(max(1, align))
        self._done = False

    def _take_existing(self, align: int) -> None:
        """Keep the whole ``align``-sized blocks already on disk and hash them."""
        existing = os.fstat(self._file.fileno()).st_size
        keep = existing - existing % align
        if keep != existing:
            self._file.truncate(keep)
        self._file.seek(0)
        left = keep
        while left > 0:
            block = self._file.read(min(left, 1 << 20))
            if not block:
                break
            self._hash.update(block)
            left -= len(block)
        self.size = self.resumed_from = keep - left
        self._file.seek(0, os.SEEK_END)

    def write(self, chunk: bytes) -> int:
        """Append bytes to the file (Telethon's download_media accepts any object with write())."""
        self._file.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)
        return len(chunk)

    def restart(self) -> None:
        """Throw away what was written so far and start again from byte 0."""
        self._file.seek(0)
        self._file.truncate(0)
        self._hash = hashlib.sha256()
        self.size = self.resumed_from = 0

    def suspend(self) -> None:
        """Close a resumable file keeping its bytes for the next attempt (a plain file is discarded)."""
        if not self._resumable:
            self.discard()
            return
        if not self._file.closed:
            try:
                self._file.flush()
            finally:
                self._file.close()
        self._done = True

    def commit(self, expected_size: int | None = None) -> StoredFile:
        """Verify the size, fsync and rename into its content-addressed place."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        if expected_size is not None and expected_size != self.size:
            self.discard()
            raise IncompleteDownloadError(
                f"downloaded {self.size} bytes but Telegram announced {expected_size}"
            )
        digest = self._hash.hexdigest()
        if self.resumed_from and _file_sha256(self.temp_path) != digest:
            self.discard()
            raise IncompleteDownloadError(
                f"the resumed file {self.temp_path.name} changed on disk; downloading it again"
            )
        relative = content_path(digest, self._extension)
        try:
            self._store.place(self.temp_path, relative, self.size, digest)
        except BaseException:
            self.suspend()  # a resumable file stays on disk: the next attempt only places it again
            raise
        self.temp_path.unlink(missing_ok=True)
        self._done = True
        return StoredFile(sha256=digest, size=self.size, path=relative)

    def seal(self, *, sync: bool = True) -> StoredFile:
        """Finish writing without placing the file: fsynced and closed at ``temp_path``, its content
        hash and store path known (for callers that place it later with :meth:`LocalMediaStore.place`).
        ``sync=False`` leaves the fsync to the caller (who must make the file durable before placing it)."""
        self._file.flush()
        if sync:
            os.fsync(self._file.fileno())
        self._file.close()
        self._done = True
        digest = self._hash.hexdigest()
        return StoredFile(sha256=digest, size=self.size, path=content_path(digest, self._extension))

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
            self.suspend()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


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

    def resume(
        self, part_name: str, mime_type: str | None, file_name: str | None = None, *, align: int = 1
    ) -> PendingFile:
        """Continue (or start) the resumable file ``part_name``; its bytes survive a failed attempt.

        ``part_name`` must be made of letters, digits, ``_`` and ``-`` (tgvault builds it from ids).
        """
        if not _PART_NAME.match(part_name):
            raise StorageError(f"invalid partial file name {part_name!r}")
        self.prepare()
        return PendingFile(self, safe_extension(mime_type, file_name), part_name=part_name, align=align)

    def drop_part(self, part_name: str) -> None:
        """Remove a resumable file that is no longer wanted."""
        if _PART_NAME.match(part_name):
            (self.temp_dir / f"{part_name}.part").unlink(missing_ok=True)

    def part_size(self, part_name: str) -> int:
        """Bytes of a resumable file already on disk (0 when there is none)."""
        path = self.temp_dir / f"{part_name}.part"
        return path.stat().st_size if _PART_NAME.match(part_name) and path.is_file() else 0

    def open_part(self, path: Path, mode: str) -> BinaryIO:
        """Open a temporary file for writing (a seam: tests swap in a writer that runs out of space)."""
        return cast(BinaryIO, path.open(mode))

    def put_bytes(self, data: bytes, mime_type: str | None = None) -> StoredFile:
        """Store a whole in-memory file (small files such as channel photos)."""
        with self.begin(mime_type) as pending:
            pending.write(data)
            return pending.commit()

    def describe(self) -> str:
        """The media folder."""
        return str(self.root)

    def place(self, local: Path, relative: str, size: int, sha256: str) -> None:
        """Rename the complete file into its content-addressed place (kept if already there)."""
        final = self.root / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists() and final.stat().st_size == size:
            return
        local.replace(final)
        self.fsync_dir(final.parent)

    def find(self, sha256: str) -> list[str]:
        """Stored files with this content hash (any extension)."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            return []
        folder = self.root / sha256[:2] / sha256[2:4]
        if not folder.is_dir():
            return []
        return [f"{sha256[:2]}/{sha256[2:4]}/{found.name}" for found in sorted(folder.glob(f"{sha256}.*"))]

    def files(self) -> list[StoredFile]:
        """Every stored file (for ``tgvault media migrate``), in path order."""
        found = []
        for path in sorted(self.root.glob("??/??/*")):
            relative = path.relative_to(self.root).as_posix()
            parsed = parse_content_path(relative)
            if parsed is not None and path.is_file():
                found.append(StoredFile(sha256=parsed[0], size=path.stat().st_size, path=relative))
        return found

    def path_of(self, relative: str) -> Path:
        """Absolute path of a stored file; refuses anything that would leave the store."""
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root.resolve()):
            raise StorageError(f"media path {relative!r} is outside the media folder")
        return candidate

    def exists(self, relative: str) -> bool:
        """True when the stored file is present."""
        return self.path_of(relative).is_file()

    def clean_temp(self, older_than: timedelta = timedelta(0)) -> int:
        """Remove one-shot partial files and imports' staging folders left by a crash (not resumable
        files); returns how many.

        Only files untouched for ``older_than`` go, so a file another live process is writing stays.
        """
        if not self.temp_dir.is_dir():
            return 0
        removed = 0
        cutoff = time.time() - older_than.total_seconds()
        for leftover in self.temp_dir.glob("*.part"):
            if not _ONE_SHOT_PART.match(leftover.stem):
                continue
            try:
                if leftover.stat().st_mtime > cutoff:
                    continue
                leftover.unlink()
            except FileNotFoundError:
                continue
            removed += 1
        for staging in self.temp_dir.glob("import-*"):
            try:
                if not _IMPORT_STAGING.match(staging.name) or staging.stat().st_mtime > cutoff:
                    continue
                shutil.rmtree(staging)
            except FileNotFoundError:
                continue
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
