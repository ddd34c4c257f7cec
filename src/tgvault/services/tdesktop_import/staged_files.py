"""Files copied from an export, held apart until the import succeeds, then placed into the media store.

An import copies each file beside the export as its message is met (hashing while copying), but a
malformed message further on must leave the media store as it was. So copies go to a staging folder of
their own inside the store's temporary folder (``.tmp/import-<uuid>/``, one file per content hash) and
are placed by :meth:`StagedFiles.place_all` once every message was read and written, just before the
transaction commits; :meth:`StagedFiles.discard` removes them after an error. A killed import's folder
is removed by the next run's clean-up of the store (:meth:`LocalMediaStore.clean_temp`) once it has not
been touched for the stale period; a live import touches it every batch. The folder, not memory,
holds the list of files, so an import of any size stays flat.

Making the copies durable (an fsync each, and one of its folder for each file placed) is waited for by
the disk, not the processor: it is done by a few threads beside the import (:data:`SYNC_THREADS`),
and every fsync has finished, each placed file is durable, before :meth:`StagedFiles.place_all`
returns, that is before the transaction commits.
"""

from __future__ import annotations

import os
import shutil
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Final

from tgvault.errors import StorageError
from tgvault.storage.media_store import LocalMediaStore, PendingFile, StoredFile, parse_content_path

__all__ = ["SYNC_THREADS", "StagedFiles"]

SYNC_THREADS: Final = 4
"""Threads that fsync the staged copies and place them (each waits for the disk, not the processor)."""


class StagedFiles:
    """The files one import copied, waiting in their staging folder to be placed into the store."""

    def __init__(self, store: LocalMediaStore) -> None:
        self.store = store
        self.folder = store.temp_dir / f"import-{uuid.uuid4().hex}"
        self._made = False
        self._threads: ThreadPoolExecutor | None = None
        self._syncing: list[Future[None]] = []

    def add(self, pending: PendingFile) -> StoredFile:
        """Seal a complete copy and keep it staged (or drop it when the store or stage already holds it);
        its fsync runs beside the import."""
        stored = pending.seal(sync=False)
        target = self.folder / Path(stored.path).name
        if self.store.exists(stored.path) or target.exists():
            pending.temp_path.unlink(missing_ok=True)
            return stored
        if not self._made:
            self._mkdir()
        pending.temp_path.replace(target)
        self._syncing.append(self._pool().submit(_fsync, target))
        return stored

    def _pool(self) -> ThreadPoolExecutor:
        if self._threads is None:
            self._threads = ThreadPoolExecutor(SYNC_THREADS, thread_name_prefix="tgvault-import-fsync")
        return self._threads

    def _synced(self, wait: bool) -> None:
        """Forget the fsyncs that finished (all of them when ``wait``), raising the first that failed."""
        if wait:
            pending, self._syncing = self._syncing, []
        else:
            pending = [future for future in self._syncing if future.done()]
            self._syncing = [future for future in self._syncing if not future.done()]
        for future in pending:
            error = future.exception()
            if isinstance(error, FileNotFoundError):
                raise self._vanished() from error
            if error is not None:
                raise StorageError(f"media folder {self.store.root} cannot be written: {error}") from error

    def _vanished(self) -> StorageError:
        return StorageError(
            f"{self.folder}: the import's staging folder was removed while it ran; import again"
        )

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
                raise self._vanished() from exc
            self._synced(wait=False)

    def place_all(self) -> None:
        """Move every staged file into its content-addressed place, then remove the staging folder."""
        if not self._made:
            return
        self._synced(wait=True)  # every copy durable before any is placed
        placing = [self._pool().submit(self._place, staged) for staged in self.folder.iterdir()]
        for future in placing:
            future.result()
        self.discard()

    def _place(self, staged: Path) -> None:
        sha256 = staged.name.partition(".")[0]
        relative = f"{sha256[:2]}/{sha256[2:4]}/{staged.name}"
        if parse_content_path(relative) is not None:
            self.store.place(staged, relative, staged.stat().st_size, sha256)

    def discard(self) -> None:
        """Remove the staging folder and what is left in it."""
        if self._threads is not None:
            self._threads.shutdown(wait=True, cancel_futures=True)
            self._threads = None
            self._syncing = []
        if self._made:
            shutil.rmtree(self.folder, ignore_errors=True)
            self._made = False


def _fsync(path: Path) -> None:
    """Make a staged copy's bytes durable."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
