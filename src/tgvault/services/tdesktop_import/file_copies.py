"""Copy the files of a Desktop export into the media store, warning about the ones that cannot be used.

Media files present in the export are copied into the media store (named by sha256, deduplicated) as
their messages are met, hashing while copying in 1 MiB chunks, and recorded as downloaded; the copies wait
in a staging folder (:mod:`~tgvault.services.tdesktop_import.staged_files`) until the import succeeds. Desktop's "(File not included. ...)" placeholders, and files missing from the
export, are recorded as not downloaded (pending, with their size) so a later Telethon sync fetches them.
File paths in the export are only ever read, and only inside the export's folder: a path that leaves it
(``../``, absolute, or through a symlink) is refused with a warning.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final

from tgvault.services.progress import Progress
from tgvault.services.tdesktop_import.staged_files import StagedFiles
from tgvault.services.tdesktop_import.summaries import Tally
from tgvault.sources.tdesktop import ExportFile, find_file
from tgvault.storage.media_store import StoredFile

__all__ = ["MISSING", "REFUSED", "SIZE_DIFFERS", "UNREADABLE", "ExportFileCopier"]

_COPY_CHUNK = 1 << 20
_REMEMBERED = 4096
"""How many of the export's files are remembered (looked up, copied); a file met again after that is
looked up and hashed again, and the store keeps one copy."""

# The kinds of warning an import reports (each counted and summarised, see services/warning_tally.py).
REFUSED: Final = "file path refused (it leads outside the export)"
MISSING: Final = "file not in the export; recorded as not downloaded"
UNREADABLE: Final = "file cannot be read; recorded as not downloaded"
SIZE_DIFFERS: Final = "file size differs from the export's; recorded as not downloaded"


@dataclass
class ExportFileCopier:
    """Copies the files an export's messages name into the media store (each once), reporting the files it
    cannot use as warnings (counted by kind in ``warnings``)."""

    root: Path
    """The export's folder: the files its messages name are looked up there (and only there)."""
    staged: StagedFiles
    progress: Progress
    warnings: dict[str, int] = field(default_factory=dict)
    _found: OrderedDict[str, ExportFile] = field(default_factory=OrderedDict)
    _stored: OrderedDict[tuple[Path, int | None], StoredFile | None] = field(default_factory=OrderedDict)

    def _find(self, value: str) -> ExportFile:
        found = self._found.get(value)
        if found is None:
            found = self._found[value] = find_file(self.root, value)
            if len(self._found) > _REMEMBERED:
                self._found.popitem(last=False)
        return found

    def _warn(self, kind: str, where: str, value: str, **details: object) -> None:
        self.warnings[kind] = self.warnings.get(kind, 0) + 1
        self.progress.warn(kind, where=where, file=value, **details)

    def _source(self, value: str, where: str, tally: Tally) -> Path | None:
        """The file a path of the export names, if it is safely inside the export's folder and present."""
        found = self._find(value)
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
        if len(self._stored) > _REMEMBERED:
            self._stored.popitem(last=False)
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
        with reader, self.staged.store.begin(mime_type, PurePosixPath(value).name) as pending:
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
            return self.staged.add(pending)
