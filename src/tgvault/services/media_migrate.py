"""``tgvault media migrate``: copy the local media folder into another store (S3) while the archive runs.

Every file is re-hashed before it is copied (a file whose content no longer matches its name is
reported, never copied), uploaded and verified by the target store, and skipped when the target
already holds it with the right size and hash: so a migration can be stopped at any moment and run
again, and a last run after switching ``[media] store`` picks up files written in between. Nothing in
the database changes: store paths are the same relative ``ab/cd/<sha256>.<ext>`` names in every store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from tgvault.services.progress import Progress, SilentProgress
from tgvault.storage.media_store import LocalMediaStore, StoredFile
from tgvault.storage.s3_store import S3MediaStore
from tgvault.storage.unit_of_work import UnitOfWork

HASH_CHUNK = 1024 * 1024
DAMAGED: Final = "damaged file not copied (its content does not match its name)"


@dataclass
class MigrationReport:
    """What one migration run did."""

    copied: int = 0
    copied_bytes: int = 0
    already_there: int = 0
    damaged: list[str] = field(default_factory=list)
    """Local files whose content does not match their name (not copied)."""
    missing: list[str] = field(default_factory=list)
    """Files the archive records that the target store does not hold after the run."""

    @property
    def complete(self) -> bool:
        """True when every recorded file is in the target and nothing was damaged."""
        return not self.damaged and not self.missing


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def migrate_media(
    source: LocalMediaStore,
    target: S3MediaStore,
    unit_of_work: Callable[[], UnitOfWork],
    *,
    on_file: Callable[[StoredFile, bool], None] | None = None,
    progress: Progress | None = None,
) -> MigrationReport:
    """Copy every file of ``source`` into ``target`` (idempotent, resumable), then check that every file
    the archive records is in ``target``. ``on_file(file, copied)`` is called after each file;
    ``progress`` counts the files (and bytes) checked of the folder's total, and the files copied."""
    progress = progress or SilentProgress()
    target.prepare()
    report = MigrationReport()
    present = target.listing()
    files = source.files()
    progress.started(target.location.url, len(files), "files", total_bytes=sum(f.size for f in files))
    try:
        for stored in files:
            outcome = _migrate_file(source, target, stored, present, report)
            if outcome == "damaged":
                progress.warn(DAMAGED, path=stored.path)
            else:
                if outcome == "copied":
                    progress.media(1, stored.size)
                if on_file is not None:
                    on_file(stored, outcome == "copied")
            progress.advance(1, stored.size)
    finally:
        progress.finished()
    with unit_of_work() as uow:
        recorded = uow.media.downloaded_paths()
    report.missing = sorted(recorded - set(present))
    return report


def _migrate_file(
    source: LocalMediaStore,
    target: S3MediaStore,
    stored: StoredFile,
    present: dict[str, int],
    report: MigrationReport,
) -> Literal["copied", "there", "damaged"]:
    """Copy one file unless ``target`` holds it already or it is damaged (counted in ``report``)."""
    if present.get(stored.path) == stored.size:
        report.already_there += 1
        return "there"
    local = source.path_of(stored.path)
    if _sha256_of(local) != stored.sha256:
        report.damaged.append(stored.path)
        return "damaged"
    target.place(local, stored.path, stored.size, stored.sha256)
    present[stored.path] = stored.size
    report.copied += 1
    report.copied_bytes += stored.size
    return "copied"
