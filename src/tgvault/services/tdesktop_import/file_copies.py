"""Copy the files of a Desktop export into the media store, warning about the ones that cannot be used.

Media files present in the export are copied into the media store (named by sha256, deduplicated) and
recorded as downloaded. Desktop's "(File not included. ...)" placeholders, and files missing from the
export, are recorded as not downloaded (pending, with their size) so a later Telethon sync fetches them.
File paths in the export are only ever read, and only inside the export's folder: a path that leaves it
(``../``, absolute, or through a symlink) is refused with a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final

from tgvault.services.progress import Progress
from tgvault.services.tdesktop_import.summaries import Tally
from tgvault.sources.tdesktop import ExportFile
from tgvault.storage.media_store import LocalMediaStore, StoredFile

__all__ = ["MISSING", "REFUSED", "SIZE_DIFFERS", "UNREADABLE", "ExportFileCopier"]

_COPY_CHUNK = 1 << 20

# The kinds of warning an import reports (each counted and summarised, see services/warning_tally.py).
REFUSED: Final = "file path refused (it leads outside the export)"
MISSING: Final = "file not in the export; recorded as not downloaded"
UNREADABLE: Final = "file cannot be read; recorded as not downloaded"
SIZE_DIFFERS: Final = "file size differs from the export's; recorded as not downloaded"


@dataclass
class ExportFileCopier:
    """Copies the files an export's messages name into the media store (each once), reporting the files it
    cannot use as warnings (counted by kind in ``warnings``)."""

    files: Mapping[str, ExportFile]
    """The files beside the export, by the path the export writes (as the reader found them)."""
    store: LocalMediaStore
    progress: Progress
    warnings: dict[str, int] = field(default_factory=dict)
    _stored: dict[tuple[Path, int | None], StoredFile | None] = field(default_factory=dict)

    def _warn(self, kind: str, where: str, value: str, **details: object) -> None:
        self.warnings[kind] = self.warnings.get(kind, 0) + 1
        self.progress.warn(kind, where=where, file=value, **details)

    def _source(self, value: str, where: str, tally: Tally) -> Path | None:
        """The file a path of the export names, if it is safely inside the export's folder and present."""
        found = self.files[value]
        if found.refused:
            tally.refused += 1
            self._warn(REFUSED, where, value)
            return None
        if found.path is None:
            self._warn(MISSING, where, value)
            return None
        return found.path

    def store_file(
        self, value: str, where: str, tally: Tally, *, mime_type: str | None = None, size: int | None = None
    ) -> StoredFile | None:
        """Copy one file of the export into the media store (once per file); None if unusable."""
        source = self._source(value, where, tally)
        if source is None:
            return None
        key = (source, size)
        if key in self._stored:
            return self._stored[key]
        stored = self._copy(source, value, where, mime_type, size)
        if stored is not None:
            tally.files += 1
            tally.bytes += stored.size
            self.progress.media(1, stored.size)
        self._stored[key] = stored
        return stored

    def _copy(
        self, source: Path, value: str, where: str, mime_type: str | None, size: int | None
    ) -> StoredFile | None:
        try:
            reader = source.open("rb")
        except OSError as exc:
            self._warn(UNREADABLE, where, value, error=exc.strerror)
            return None
        # The export's name only hints at the extension; the store names the file by its sha256.
        with reader, self.store.begin(mime_type, PurePosixPath(value).name) as pending:
            while True:
                try:
                    chunk = reader.read(_COPY_CHUNK)
                except OSError as exc:
                    self._warn(UNREADABLE, where, value, error=exc.strerror)
                    return None
                if not chunk:
                    break
                pending.write(chunk)
            if size is not None and pending.size != size:
                self._warn(SIZE_DIFFERS, where, value, size=pending.size, expected=size)
                return None
            return pending.commit()
