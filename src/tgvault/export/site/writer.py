"""Writing the site: atomic files, a manifest of what was written, and media from the archive's store.

The manifest (:mod:`tgvault.export.site.manifest`, on disk beside the output folder) records, for every
page, the key of the archive state it was rendered from and the hash of its content. A rebuild skips a
page whose key is unchanged, writes a page only when its content differs, and removes pages it no
longer plans. Every write goes to a temporary file in the same folder and is renamed into place, so a
reader never sees a half-written page. Two pages can never target one path: the second is refused.
Media files are published under passive names (:func:`~tgvault.export.site.links.media_site_path`);
one an earlier build published under another name (``.svg``, ``.html``) is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tgvault.errors import StorageError
from tgvault.export.site.links import is_passive_media_path, media_site_path
from tgvault.export.site.manifest import LEGACY_MANIFEST, OLD_MANIFEST_DB, SiteManifest
from tgvault.export.site.options import MediaMode, SiteBuildReport, SiteError
from tgvault.storage.media_types import MEDIA_NAMING

MANIFEST = LEGACY_MANIFEST  # the manifest a publish uploads next to the site (JSON)
_SAFE_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*$")


class MediaFiles(Protocol):
    """What the site needs of the media store (:class:`~tgvault.storage.media_store.LocalMediaStore`)."""

    @property
    def root(self) -> Path:
        """The store's folder."""
        ...

    def path_of(self, relative: str) -> Path:
        """Absolute path of a stored file; raises StorageError for paths outside the store."""
        ...

    def find(self, sha256: str) -> list[str]:
        """Store paths of files with this content hash."""
        ...


WRITTEN_PATHS_KEPT = 10_000  # paths listed in the report (the counts are always complete)


def content_hash(data: bytes) -> str:
    """The hash the manifest keeps of a page's bytes."""
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def _written_bytes(target: Path, digest: str) -> bytes | None:
    """The file's bytes when their hash is ``digest`` (what the manifest says was written), else None."""
    try:
        data = target.read_bytes()
    except OSError:
        return None
    return data if content_hash(data) == digest else None


def is_safe_path(path: str) -> bool:
    """True for a plain relative path inside the site (no ``..``, no leading dot or slash)."""
    return bool(_SAFE_PATH.match(path)) and ".." not in path.split("/")


def _check_path(path: str) -> str:
    if not _SAFE_PATH.match(path) or ".." in path.split("/") or path in (MANIFEST, OLD_MANIFEST_DB):
        raise SiteError(f"refusing to write outside the site or to an unsafe path: {path!r}")
    return path


def atomic_write(
    target: str | os.PathLike[str], data: bytes, folders: set[str] | None = None, *, new: bool = False
) -> None:
    """Write ``data`` to ``target`` through a temporary file in the same folder and a rename.

    ``folders`` remembers folders already created, to save a system call per file. With ``new`` (a
    page no manifest knows), a target that does not exist yet is created in place: nothing readable
    is replaced, and a page cut short by a kill has no manifest entry, so the next build writes it
    again. An existing target is still replaced through a temporary file. Paths are handled as plain
    strings and the bytes written by ``os.write`` (a build writes tens of thousands of small files:
    ``pathlib`` and a buffered file object a file cost more user CPU than the rest of the write).
    """
    target = os.fspath(target)
    folder = os.path.dirname(target)  # noqa: PTH120
    if folders is None or folder not in folders:
        os.makedirs(folder, exist_ok=True)  # noqa: PTH103
        if folders is not None:
            folders.add(folder)
    if new:
        try:
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            pass
        except OSError as exc:
            raise SiteError(f"cannot write {target}: {exc.strerror or exc}") from exc
        else:
            try:
                _write_fully(descriptor, data)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.unlink(target)  # noqa: PTH108
                raise SiteError(f"cannot write {target}: {exc.strerror or exc}") from exc
            return
    temp = os.path.join(folder, f".{os.path.basename(target)}.{uuid.uuid4().hex}.tmp")  # noqa: PTH118, PTH119
    try:
        _write_fully(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), data)
        os.replace(temp, target)  # noqa: PTH105
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)  # noqa: PTH108
        raise SiteError(f"cannot write {target}: {exc.strerror or exc}") from exc


def _write_fully(descriptor: int, data: bytes) -> None:
    """Write every byte of ``data`` to an open file descriptor (``os.write`` may write less at once),
    then close it (also when writing fails)."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
    finally:
        os.close(descriptor)


class PageWriter(Protocol):
    """What a page builder needs of a writer: skip a page whose key is current, write one."""

    def skip_if_current(self, path: str, key: str) -> bool:
        """True (the page is counted as unchanged) when it was last written from the same ``key``."""
        ...

    def write(self, path: str, content: str | bytes, key: str | None = None) -> bool:
        """Write a page when its content changed; True when written."""
        ...

    def current_key(self, path: str) -> str | None:
        """The key ``path`` was last written from, when its file is there and this build may keep it
        (None in a full or re-rendering build, or for a page no build wrote)."""
        ...

    def current_content(self, path: str) -> bytes | None:
        """The bytes of ``path`` as the last build wrote them (None when the file is missing or differs
        from what the manifest says was written)."""
        ...


@dataclass
class BatchResult:
    """What a :class:`BatchWriter` did, for the site's writer to record in the manifest in bulk."""

    written: list[tuple[str, str | None, str]] = field(default_factory=list)  # (path, key, content hash)
    kept: list[tuple[str, str | None]] = field(default_factory=list)  # (path, key): produced again, same
    rendered: int = 0
    unchanged: int = 0


class BatchWriter:
    """Writes the pages of one unit of a build (a month of a channel) with the manifest entries of its
    paths read beforehand, anywhere (in a worker process too): files go to the folder, what the manifest
    must learn is kept in :attr:`result` for :meth:`SiteWriter.record_batch`."""

    def __init__(
        self,
        out_dir: Path,
        entries: dict[str, tuple[str | None, str, int]],
        *,
        full: bool,
        rerender: bool,
    ) -> None:
        self._root = str(out_dir)
        self.out_dir = out_dir
        self._entries = entries
        self._full = full
        self._rerender = rerender
        self._claimed: set[str] = set()
        self._folders: set[str] = set()
        self.result = BatchResult()

    def _exists(self, path: str) -> bool:
        return os.path.isfile(os.path.join(self._root, path))  # noqa: PTH113, PTH118

    def skip_if_current(self, path: str, key: str) -> bool:
        """As :meth:`SiteWriter.skip_if_current`."""
        entry = self._entries.get(_check_path(path))
        if self._full or self._rerender or entry is None or entry[0] != key or not self._exists(path):
            self._claimed.add(path)
            return False
        self.result.kept.append((path, key))
        self.result.unchanged += 1
        return True

    def write(self, path: str, content: str | bytes, key: str | None = None) -> bool:
        """As :meth:`SiteWriter.write`."""
        entry = self._entries.get(_check_path(path))
        self._claimed.discard(path)
        data = content.encode("utf-8", "replace") if isinstance(content, str) else content
        digest = content_hash(data)
        self.result.rendered += 1
        if not self._full and entry is not None and entry[1] == digest and self._exists(path):
            self.result.kept.append((path, key))
            self.result.unchanged += 1
            return False
        atomic_write(os.path.join(self._root, path), data, self._folders, new=entry is None)  # noqa: PTH118
        self.result.written.append((path, key, digest))
        return True

    def current_key(self, path: str) -> str | None:
        """As :meth:`PageWriter.current_key`."""
        entry = self._entries.get(_check_path(path))
        if self._full or self._rerender or entry is None or not self._exists(path):
            return None
        return entry[0]

    def current_content(self, path: str) -> bytes | None:
        """As :meth:`PageWriter.current_content`."""
        entry = self._entries.get(_check_path(path))
        return None if entry is None else _written_bytes(self.out_dir / path, entry[1])

    def finish(self) -> BatchResult:
        """The result, with the pages reserved but not written kept as they were (key forgotten)."""
        self.result.kept.extend((path, None) for path in sorted(self._claimed) if path in self._entries)
        self._claimed.clear()
        return self.result


class SiteWriter:
    """Writes pages and media into the output folder, keeping the manifest."""

    def __init__(self, out_dir: Path, report: SiteBuildReport, *, full: bool = False) -> None:
        self.out_dir = out_dir
        self.report = report
        self.full = full
        # An incremental build produces only the pages its changes reach: finish() then removes only
        # what it was told to (drop), and counts every other page of the manifest as unchanged.
        self.incremental = False
        # Render every page again (a page whose key is unchanged is not skipped); written only if it differs.
        self.rerender = False
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SiteError(f"cannot create the site folder {out_dir}: {exc.strerror or exc}") from exc
        self._manifest = SiteManifest(out_dir)
        self._claimed: set[str] = set()  # reserved by skip_if_current, not written yet
        self._media_seen: set[str] = set()
        self._folders: set[str] = set()
        self._root = str(out_dir)
        self._rename_media()

    def _rename_media(self) -> None:
        """Remove media files an earlier build published under a name this version never gives (an
        ``.svg``, ``.html`` or ``.js`` kept from the store). The first build under another naming
        renders every page again (writing those that differ), so every page links to the new names."""
        manifest = self._manifest
        if manifest.meta_value("media_naming") == MEDIA_NAMING:
            return
        self.rerender = True
        for path in manifest.media_paths():
            if not is_passive_media_path(path):
                self._remove(path)
                manifest.forget_media(path)
                self.report.media_removed += 1
        manifest.set_meta_value("media_naming", MEDIA_NAMING)

    @property
    def manifest(self) -> SiteManifest:
        """The manifest of this build (where the plan is kept between builds)."""
        return self._manifest

    def drop(self, path: str) -> None:
        """Remove a page the site no longer has (an incremental build names them)."""
        entry = self._manifest.page(path)
        if entry is None or entry[2] == self._manifest.build or path in self._claimed:
            return
        self._remove(path)
        self._manifest.forget_page(path)
        self.report.removed += 1
        if len(self.report.removed_paths) < WRITTEN_PATHS_KEPT:
            self.report.removed_paths.append(path)

    def drop_media(self, site_path: str) -> None:
        """Remove a media file no page shows any more (unless this build put it in place)."""
        if site_path in self._media_seen or self._manifest.media_size(site_path) is None:
            return
        self._remove(site_path)
        self._manifest.forget_media(site_path)
        self.report.media_removed += 1

    def _exists(self, path: str) -> bool:
        # A hot path (once per page on every build): plain os.path is ten times cheaper than pathlib.
        return os.path.isfile(os.path.join(self._root, path))  # noqa: PTH113, PTH118

    def _claim(self, path: str) -> tuple[str | None, str, int] | None:
        """Reserve ``path`` for this build; returns its manifest entry (key, hash, build)."""
        entry = self._manifest.page(path)
        if entry is not None and entry[2] == self._manifest.build:
            raise SiteError(f"two pages of the site target the same path: {path}")
        self._claimed.add(path)
        return entry

    def skip_if_current(self, path: str, key: str) -> bool:
        """True (and the page counts as unchanged) when it was last written from the same ``key``.

        Otherwise the path is reserved for a following :meth:`write`.
        """
        entry = self._claim(_check_path(path))
        if self.full or self.rerender or entry is None or entry[0] != key or not self._exists(path):
            return False
        self._claimed.discard(path)
        self._manifest.keep_page(path, key)
        self.report.unchanged += 1
        return True

    def write(self, path: str, content: str | bytes, key: str | None = None) -> bool:
        """Write a page when its content changed (always with ``full``); returns True when written."""
        entry = self._claim(_check_path(path))
        self._claimed.discard(path)
        data = content.encode("utf-8", "replace") if isinstance(content, str) else content
        digest = content_hash(data)
        self.report.rendered += 1
        if not self.full and entry is not None and entry[1] == digest and self._exists(path):
            self._manifest.keep_page(path, key)
            self.report.unchanged += 1
            return False
        atomic_write(os.path.join(self._root, path), data, self._folders, new=entry is None)  # noqa: PTH118
        self._manifest.record_page(path, key, digest)
        self.report.written += 1
        if len(self.report.written_paths) < WRITTEN_PATHS_KEPT:
            self.report.written_paths.append(path)
        return True

    def current_key(self, path: str) -> str | None:
        """As :meth:`PageWriter.current_key`."""
        entry = self._manifest.page(_check_path(path))
        if self.full or self.rerender or entry is None or not self._exists(path):
            return None
        return entry[0]

    def current_content(self, path: str) -> bytes | None:
        """As :meth:`PageWriter.current_content`."""
        entry = self._manifest.page(_check_path(path))
        return None if entry is None else _written_bytes(self.out_dir / path, entry[1])

    def batch_entries(self, paths: Sequence[str]) -> dict[str, tuple[str | None, str, int]]:
        """The manifest entries of ``paths``, read in bulk, for the :class:`BatchWriter` of a unit of
        the build that writes (at most) those paths."""
        return self._manifest.pages(paths)

    def record_batch(self, result: BatchResult) -> None:
        """Record in the manifest, in bulk, what a :class:`BatchWriter` did, and count it."""
        self._manifest.record_pages(result.written, result.kept)
        report = self.report
        report.rendered += result.rendered
        report.unchanged += result.unchanged
        report.written += len(result.written)
        room = WRITTEN_PATHS_KEPT - len(report.written_paths)
        if room > 0:
            report.written_paths.extend(path for path, _, _ in result.written[:room])

    def planned(self, path: str) -> bool:
        """True when the build already wrote or reserved ``path``."""
        entry = self._manifest.page(path)
        return path in self._claimed or (entry is not None and entry[2] == self._manifest.build)

    def media(self, store: MediaFiles, store_path: str, mode: MediaMode) -> str | None:
        """Put a stored file into the site's ``media/`` folder; returns its site path, None when unavailable.

        Files are named by content, so one already in place with the right size is left alone.
        """
        site_path = media_site_path(store_path)
        if site_path is None:
            return None
        if site_path in self._media_seen:
            return site_path
        try:
            source = store.path_of(store_path)
        except StorageError:  # the store refuses paths outside it
            self.report.media_missing += 1
            return None
        if not source.is_file():
            self.report.media_missing += 1
            return None
        self._media_seen.add(site_path)
        target = self.out_dir / site_path
        size = source.stat().st_size
        if not self.full and self._current_media(target, source, size, mode):
            self._manifest.record_media(site_path, size)
            self.report.media_unchanged += 1
            return site_path
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
        try:
            if mode is MediaMode.SYMLINK:
                temp.symlink_to(source.resolve())
            elif mode is MediaMode.HARDLINK:
                try:
                    os.link(source, temp)
                except OSError:
                    shutil.copyfile(source, temp)
            else:
                shutil.copyfile(source, temp)
            temp.replace(target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise SiteError(
                f"cannot put media file {site_path} into the site: {exc.strerror or exc}"
            ) from exc
        self._manifest.record_media(site_path, size)
        self.report.media_written += 1
        return site_path

    @staticmethod
    def _current_media(target: Path, source: Path, size: int, mode: MediaMode) -> bool:
        if mode is MediaMode.SYMLINK:
            return target.is_symlink() and target.readlink() == source.resolve()
        return not target.is_symlink() and target.is_file() and target.stat().st_size == size

    def finish(self) -> None:
        """Remove pages and media the build no longer produced, then save the manifest."""
        manifest = self._manifest
        if self.incremental:
            for path in self._claimed:  # reserved but not written (kept as it was)
                manifest.keep_page(path, None)
            self.report.unchanged += manifest.untouched_pages()
            manifest.commit()
            (self.out_dir / LEGACY_MANIFEST).unlink(missing_ok=True)
            return
        for path in list(manifest.stale_pages()):
            if path in self._claimed:  # reserved but not written (kept as it was)
                manifest.keep_page(path, None)
                continue
            self._remove(path)
            manifest.forget_page(path)
            self.report.removed += 1
            if len(self.report.removed_paths) < WRITTEN_PATHS_KEPT:
                self.report.removed_paths.append(path)
        for path in list(manifest.stale_media()):
            self._remove(path)
            manifest.forget_media(path)
            self.report.media_removed += 1
        manifest.commit()
        (self.out_dir / LEGACY_MANIFEST).unlink(missing_ok=True)

    def close(self) -> None:
        """Release the manifest (a build that did not finish leaves the previous one)."""
        self._manifest.close()

    def _remove(self, path: str) -> None:
        if not _SAFE_PATH.match(path) or ".." in path.split("/"):
            return  # a tampered manifest never makes us delete outside the site
        target = self.out_dir / path
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        folder = target.parent
        while folder != self.out_dir and folder.is_relative_to(self.out_dir):
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent
