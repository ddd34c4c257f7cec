"""Files copied from an export, held apart until the import succeeds, then placed into the media store.

An import copies each file beside the export as its message is met (hashing while copying), but a
malformed message further on must leave the media store as it was. So copies go to a staging folder of
their own inside the store's temporary folder (``.tmp/import-<uuid>/``, one file per content hash) and
are placed by :meth:`StagedFiles.place_all` once every message was read and written, just before the
transaction commits; :meth:`StagedFiles.discard` removes them after an error. A killed import's folder
is removed by the next run's clean-up of the store (:meth:`LocalMediaStore.clean_temp`) once it has not
been touched for the stale period; a live import touches it every batch. The folder, not memory,
holds the list of files, so an import of any size stays flat.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from tgvault.errors import StorageError
from tgvault.storage.media_store import LocalMediaStore, PendingFile, StoredFile, parse_content_path

__all__ = ["StagedFiles"]


class StagedFiles:
    """The files one import copied, waiting in their staging folder to be placed into the store."""

    def __init__(self, store: LocalMediaStore) -> None:
        self.store = store
        self.folder = store.temp_dir / f"import-{uuid.uuid4().hex}"
        self._made = False

    def add(self, pending: PendingFile) -> StoredFile:
        """Seal a complete copy and keep it staged (or drop it when the store or stage already holds it)."""
        stored = pending.seal()
        target = self.folder / Path(stored.path).name
        if self.store.exists(stored.path) or target.exists():
            pending.temp_path.unlink(missing_ok=True)
            return stored
        if not self._made:
            self._mkdir()
        pending.temp_path.replace(target)
        return stored

    def _mkdir(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"media folder {self.store.root} cannot be written: {exc.strerror}") from exc
        self._made = True

    def keep_alive(self) -> None:
        """Mark the staging folder as in use (a run's clean-up removes folders left untouched for long:
        those of an import that was killed)."""
        if self._made:
            try:
                os.utime(self.folder)
            except FileNotFoundError as exc:
                raise StorageError(
                    f"{self.folder}: the import's staging folder was removed while it ran; import again"
                ) from exc

    def place_all(self) -> None:
        """Move every staged file into its content-addressed place, then remove the staging folder."""
        if not self._made:
            return
        for staged in self.folder.iterdir():
            sha256 = staged.name.partition(".")[0]
            relative = f"{sha256[:2]}/{sha256[2:4]}/{staged.name}"
            if parse_content_path(relative) is None:
                continue
            self.store.place(staged, relative, staged.stat().st_size, sha256)
        self.discard()

    def discard(self) -> None:
        """Remove the staging folder and what is left in it."""
        if self._made:
            shutil.rmtree(self.folder, ignore_errors=True)
            self._made = False
