"""The site's manifest: what every build wrote, kept on disk so memory stays flat however big the site.

A SQLite file beside the output folder (``<folder>.tgvault-manifest.db``: ``site/`` is described by
``site.tgvault-manifest.db``) records, for every page, the key of the archive state it was rendered
from, the hash of its content and the number of the build that last produced it; for every media file,
its size; and the plan of the last build. It is kept outside the folder because a static host publishes
whatever the folder holds. A build runs in one transaction committed at the end, so a build that is
killed leaves the previous manifest, and the next build compares against it.

Older sites kept the manifest inside the folder: as SQLite (``.tgvault-site.db``), moved out on the
first build; or as JSON (``.tgvault-site.json``), read once into the new file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tgvault.export.site.options import SiteError

MANIFEST_SUFFIX = ".tgvault-manifest.db"
OLD_MANIFEST_DB = ".tgvault-site.db"  # inside the site folder, before the manifest moved beside it
LEGACY_MANIFEST = ".tgvault-site.json"
MANIFEST_VERSION = 1
_SQLITE_COMPANIONS = ("-journal", "-wal", "-shm")
SITE_INDEX = "index.html"  # the front page every build writes


def manifest_path(out_dir: Path) -> Path:
    """Where the manifest of the site built in ``out_dir`` is kept: beside the folder, never inside it.

    ``/srv/www/site`` is described by ``/srv/www/site.tgvault-manifest.db`` (symbolic links in the path
    are not followed, so the manifest stays where the folder is named).
    """
    folder = Path(os.path.abspath(out_dir))  # noqa: PTH100 (normalises without following links)
    if not folder.name:
        raise SiteError(
            f"cannot keep the site manifest beside {folder}: build the site into a folder below it"
        )
    return folder.with_name(folder.name + MANIFEST_SUFFIX)


def _move_database(source: Path, target: Path) -> None:
    """Move a SQLite file with its journal (a hot journal must stay beside its database)."""
    for companion in _SQLITE_COMPANIONS:
        target.with_name(target.name + companion).unlink(missing_ok=True)
    for suffix in ("", *_SQLITE_COMPANIONS):
        moving = source.with_name(source.name + suffix)
        if moving.exists():
            shutil.move(moving, target.with_name(target.name + suffix))


def _remove_database(path: Path) -> None:
    try:
        for suffix in ("", *_SQLITE_COMPANIONS):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    except OSError as exc:
        raise SiteError(f"cannot remove the outdated site manifest {path}: {exc.strerror or exc}") from exc


def adopt_old_manifest(out_dir: Path, target: Path) -> None:
    """Move a manifest an older version kept inside the site folder to ``target`` (beside the folder).

    The newer of the two wins when both exist; the one inside the folder is always gone afterwards, so
    it is never published. Raises SiteError when it cannot be moved or removed.
    """
    old = out_dir / OLD_MANIFEST_DB
    try:
        if old.is_file() and (not target.exists() or old.stat().st_mtime >= target.stat().st_mtime):
            _move_database(old, target)
        for suffix in ("", *_SQLITE_COMPANIONS):
            old.with_name(old.name + suffix).unlink(missing_ok=True)
    except OSError as exc:
        raise SiteError(
            f"cannot move the site manifest {old} out of the site folder to {target}: {exc.strerror or exc}"
        ) from exc


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS pages (path TEXT PRIMARY KEY, key TEXT, hash TEXT NOT NULL,"
    " build INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS media (path TEXT PRIMARY KEY, size INTEGER NOT NULL,"
    " build INTEGER NOT NULL) WITHOUT ROWID",
    # the plan of the last build, so the next one can start from it (tgvault.export.site.incremental)
    "CREATE TABLE IF NOT EXISTS plan (channel_id INTEGER NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL,"
    " PRIMARY KEY (channel_id, name)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS plan_site (name TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS plan_media (channel_id INTEGER NOT NULL, message_id INTEGER NOT NULL,"
    " path TEXT NOT NULL, PRIMARY KEY (channel_id, message_id)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS plan_media_path ON plan_media (path)",
    # what every incremental build counts (pages of earlier builds it did not produce): the pages this
    # build produced, read from the index, taken from the count of pages the triggers keep in ``meta``
    # (with recursive triggers on, the row an INSERT OR REPLACE replaces counts as deleted)
    "CREATE INDEX IF NOT EXISTS pages_build ON pages (build)",
    "CREATE TRIGGER IF NOT EXISTS pages_added AFTER INSERT ON pages BEGIN"
    " UPDATE meta SET value = value + 1 WHERE name = 'page_count'; END",
    "CREATE TRIGGER IF NOT EXISTS pages_removed AFTER DELETE ON pages BEGIN"
    " UPDATE meta SET value = value - 1 WHERE name = 'page_count'; END",
)


def unchanged_parts(kept: Mapping[str, bytes], parts: Mapping[str, bytes | memoryview]) -> set[str]:
    """The names of the parts of a plan that hold the bytes ``kept`` holds under the same name (what
    :meth:`SiteManifest.save_channel_plan` need not write again): compared byte for byte, which costs
    a tenth of hashing both sides."""
    found: set[str] = set()
    for name, data in parts.items():
        before = kept.get(name)
        if before is not None and len(before) == len(data) and before == bytes(data):
            found.add(name)
    return found


def parse_legacy_manifest(raw: bytes) -> tuple[dict[str, list[str | None]], dict[str, int]]:
    """A JSON manifest's pages (path -> [key, content hash]) and media (path -> size); empty when unreadable."""
    try:
        data: Any = json.loads(raw.decode("utf-8"))
    except ValueError:
        return {}, {}
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return {}, {}
    pages: dict[str, list[str | None]] = {}
    media: dict[str, int] = {}
    if isinstance(data.get("pages"), dict):
        pages = {
            str(k): [v[0], v[1]] for k, v in data["pages"].items() if isinstance(v, list) and len(v) == 2
        }
    if isinstance(data.get("media"), dict):
        media = {str(k): int(v) for k, v in data["media"].items() if isinstance(v, int)}
    return pages, media


class SiteManifest:
    """The manifest of one build: read what earlier builds wrote, record what this one writes.

    ``build`` is this build's number; a row whose build is older was not produced (yet) by this build.
    Nothing is visible to the next build before :meth:`commit`.
    """

    def __init__(self, out_dir: Path) -> None:
        self._path = manifest_path(out_dir)
        adopt_old_manifest(out_dir, self._path)
        db: sqlite3.Connection | None = None
        try:
            db = self._open()
            usable = not self._describes_missing_files(db, out_dir)
        except sqlite3.DatabaseError:
            usable = False  # unreadable: compare nothing, write everything
        if not usable:
            # also when the folder was removed or emptied: the manifest lists files that are gone
            if db is not None:
                db.close()
            _remove_database(self._path)
            try:
                db = self._open()
            except sqlite3.Error as exc:  # e.g. the folder beside the site cannot be written
                raise SiteError(f"cannot create the site manifest {self._path}: {exc}") from exc
        assert db is not None
        self._db = db
        self._db.execute("BEGIN")
        row = self._db.execute("SELECT value FROM meta WHERE name = 'build'").fetchone()
        self.build = (int(row[0]) if row else 0) + 1
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('build', ?)", (self.build,))
        self._count_pages(self.build - 1)
        if row is None:
            self._import_legacy(out_dir / LEGACY_MANIFEST)

    def _count_pages(self, previous_build: int) -> None:
        """Count the pages again unless the last build to commit kept the count (one that did not,
        such as an older tgvault, leaves it behind); the triggers keep it from there."""
        row = self._db.execute("SELECT value FROM meta WHERE name = 'page_count_build'").fetchone()
        if row is None or int(row[0]) != previous_build:
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('page_count', (SELECT count(*) FROM pages))"
            )
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('page_count_build', ?)", (self.build,))

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA recursive_triggers=ON")
            for statement in _SCHEMA:
                db.execute(statement)
        except sqlite3.Error:
            db.close()
            raise
        return db

    @staticmethod
    def _describes_missing_files(db: sqlite3.Connection, out_dir: Path) -> bool:
        """True when the front page, or the first page, the manifest records is not in the folder."""
        rows = db.execute(
            "SELECT path FROM pages WHERE path = ? UNION ALL SELECT path FROM (SELECT path FROM pages LIMIT 1)",
            (SITE_INDEX,),
        )
        return any(not (out_dir / str(path)).is_file() for (path,) in rows.fetchall())

    def _import_legacy(self, legacy: Path) -> None:
        if not legacy.is_file():
            return
        try:
            pages, media = parse_legacy_manifest(legacy.read_bytes())
        except OSError:
            return
        self._db.executemany(
            "INSERT OR REPLACE INTO pages VALUES (?, ?, ?, 0)",
            ((path, key, digest) for path, (key, digest) in pages.items() if digest is not None),
        )
        self._db.executemany("INSERT OR REPLACE INTO media VALUES (?, ?, 0)", media.items())

    def page(self, path: str) -> tuple[str | None, str, int] | None:
        """(key, content hash, build) of a page, or None when no build wrote it."""
        row = self._db.execute("SELECT key, hash, build FROM pages WHERE path = ?", (path,)).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def pages(self, paths: Sequence[str]) -> dict[str, tuple[str | None, str, int]]:
        """(key, content hash, build) of every page among ``paths`` that a build wrote, read in bulk."""
        found: dict[str, tuple[str | None, str, int]] = {}
        for start in range(0, len(paths), 500):
            chunk = paths[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT path, key, hash, build FROM pages WHERE path IN ({marks})",  # noqa: S608
                chunk,
            )
            found.update((str(path), (key, str(digest), int(build))) for path, key, digest, build in rows)
        return found

    def record_pages(
        self, written: Iterable[tuple[str, str | None, str]], kept: Iterable[tuple[str, str | None]]
    ) -> None:
        """In bulk: pages this build wrote as (path, key, content hash), and pages it produced again
        unchanged as (path, key)."""
        self._db.executemany(
            "INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?)",
            ((path, key, digest, self.build) for path, key, digest in written),
        )
        self._db.executemany(
            "UPDATE pages SET key = ?, build = ? WHERE path = ?",
            ((key, self.build, path) for path, key in kept),
        )

    def record_page(self, path: str, key: str | None, digest: str) -> None:
        """This build produced the page from ``key`` with content hash ``digest``."""
        self._db.execute("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?)", (path, key, digest, self.build))

    def keep_page(self, path: str, key: str | None) -> None:
        """This build produced the page again, unchanged (recorded with ``key``)."""
        self._db.execute("UPDATE pages SET key = ?, build = ? WHERE path = ?", (key, self.build, path))

    def media_size(self, path: str) -> int | None:
        """The size recorded for a media file of the site."""
        row = self._db.execute("SELECT size FROM media WHERE path = ?", (path,)).fetchone()
        return None if row is None else int(row[0])

    def record_media(self, path: str, size: int) -> None:
        """This build put the media file in place (or found it there) with ``size`` bytes."""
        self._db.execute("INSERT OR REPLACE INTO media VALUES (?, ?, ?)", (path, size, self.build))

    def media_paths(self) -> list[str]:
        """Every media file of the site the manifest knows, in path order."""
        return [str(row[0]) for row in self._db.execute("SELECT path FROM media ORDER BY path")]

    def meta_value(self, name: str) -> int | None:
        """A number kept about the site (e.g. the media naming it was built with), or None."""
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else int(row[0])

    def set_meta_value(self, name: str, value: int) -> None:
        """Keep a number about the site (committed with the build)."""
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    def stale_pages(self) -> Iterator[str]:
        """Pages earlier builds wrote that this one did not produce, in path order."""
        rows = self._db.execute("SELECT path FROM pages WHERE build < ? ORDER BY path", (self.build,))
        return (row[0] for row in rows.fetchall())

    def stale_media(self) -> Iterator[str]:
        """Media files earlier builds put in place that this one did not use, in path order."""
        rows = self._db.execute("SELECT path FROM media WHERE build < ? ORDER BY path", (self.build,))
        return (row[0] for row in rows.fetchall())

    def forget_page(self, path: str) -> None:
        """Drop a removed page from the manifest."""
        self._db.execute("DELETE FROM pages WHERE path = ?", (path,))

    def forget_media(self, path: str) -> None:
        """Drop a removed media file from the manifest."""
        self._db.execute("DELETE FROM media WHERE path = ?", (path,))

    # ---- the plan kept between builds -----------------------------------------------------------

    def plan_value(self, name: str) -> bytes | None:
        """A site-wide value of the kept plan, or None."""
        row = self._db.execute("SELECT data FROM plan_site WHERE name = ?", (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def channel_plan(self, channel_id: int) -> dict[str, bytes]:
        """The kept plan of a channel, part by part (empty when none)."""
        rows = self._db.execute("SELECT name, data FROM plan WHERE channel_id = ?", (channel_id,))
        return {str(name): bytes(data) for name, data in rows}

    def clear_plan(self) -> None:
        """Forget the kept plan (a build that plans from scratch records it again)."""
        for table in ("plan", "plan_site", "plan_media"):
            self._db.execute(f"DELETE FROM {table}")  # noqa: S608 (fixed names)

    def save_plan_value(self, name: str, data: bytes) -> None:
        """Keep a site-wide value of the plan."""
        self._db.execute("INSERT OR REPLACE INTO plan_site VALUES (?, ?)", (name, data))

    def save_channel_plan(
        self,
        channel_id: int,
        parts: Mapping[str, bytes | memoryview],
        previous: Collection[str] | None = None,
        unchanged: Collection[str] = (),
    ) -> None:
        """Keep the plan of a channel (replacing the previous one); with ``previous`` (the names of the
        parts the kept plan holds), only the parts not named in ``unchanged`` (:func:`unchanged_parts`)
        are written and those no longer there removed."""
        if previous is None:
            self._db.execute("DELETE FROM plan WHERE channel_id = ?", (channel_id,))
            previous, unchanged = (), ()
        self._db.executemany(
            "DELETE FROM plan WHERE channel_id = ? AND name = ?",
            ((channel_id, name) for name in sorted(set(previous) - set(parts))),
        )
        self._db.executemany(
            "INSERT OR REPLACE INTO plan VALUES (?, ?, ?)",
            ((channel_id, name, data) for name, data in parts.items() if name not in unchanged),
        )

    def post_media(self, channel_id: int, message_ids: list[int]) -> dict[int, str]:
        """The stored file each of these posts showed in the last build."""
        found: dict[int, str] = {}
        for start in range(0, len(message_ids), 500):
            chunk = message_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT message_id, path FROM plan_media WHERE channel_id = ? AND message_id IN ({marks})",  # noqa: S608
                (channel_id, *chunk),
            )
            found.update((int(message_id), str(path)) for message_id, path in rows)
        return found

    def set_post_media(self, channel_id: int, media: dict[int, str | None]) -> None:
        """Record the stored file each post shows (None: no file)."""
        self._db.executemany(
            "DELETE FROM plan_media WHERE channel_id = ? AND message_id = ?",
            ((channel_id, message_id) for message_id, path in media.items() if path is None),
        )
        self._db.executemany(
            "INSERT OR REPLACE INTO plan_media VALUES (?, ?, ?)",
            ((channel_id, message_id, path) for message_id, path in media.items() if path is not None),
        )

    def add_post_media(self, channel_id: int, media: list[tuple[int, str]]) -> None:
        """Record (message id, stored file) pairs of a channel's posts (a plan from scratch, batch by batch)."""
        self._db.executemany(
            "INSERT OR REPLACE INTO plan_media VALUES (?, ?, ?)",
            ((channel_id, message_id, path) for message_id, path in media),
        )

    def files_shown(self, channel_id: int, batch: int = 1000) -> Iterator[str]:
        """Every stored file the posts of a channel show, once each, in path order (read batch by batch)."""
        after = ""
        while True:
            rows = self._db.execute(
                "SELECT DISTINCT path FROM plan_media WHERE channel_id = ? AND path > ? ORDER BY path LIMIT ?",
                (channel_id, after, batch),
            ).fetchall()
            if not rows:
                return
            for (path,) in rows:
                yield str(path)
            after = str(rows[-1][0])

    def media_in_use(self, store_path: str) -> bool:
        """True when some post of the kept plan shows this stored file."""
        row = self._db.execute("SELECT 1 FROM plan_media WHERE path = ? LIMIT 1", (store_path,)).fetchone()
        return row is not None

    def shown_with_content(self, store_path: str) -> list[str]:
        """Stored files posts of the kept plan show that have the content of ``store_path`` (the same
        ``ab/cd/<sha256>.`` before the extension), this one included."""
        stem = store_path.rpartition(".")[0]
        if not stem:
            return []
        rows = self._db.execute(
            "SELECT DISTINCT path FROM plan_media WHERE path >= ? AND path < ?", (f"{stem}.", f"{stem}/")
        )
        return [str(row[0]) for row in rows]

    def untouched_pages(self) -> int:
        """How many pages of earlier builds this build has not produced (yet)."""
        total = self._db.execute("SELECT value FROM meta WHERE name = 'page_count'").fetchone()
        produced = self._db.execute("SELECT count(*) FROM pages WHERE build = ?", (self.build,)).fetchone()
        return int(total[0]) - int(produced[0])

    def commit(self) -> None:
        """Make this build's record the one the next build compares against."""
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise SiteError(f"cannot save the site manifest {self._path}: {exc}") from exc

    def close(self) -> None:
        """Close the file (a build not committed leaves the previous manifest)."""
        with contextlib.suppress(sqlite3.Error):
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        self._db.close()


def read_manifest(out_dir: Path) -> tuple[dict[str, str], dict[str, int]] | None:
    """The pages (path -> content hash) and media (path -> size) of the site built in ``out_dir``,
    or None when no build finished there."""
    path = manifest_path(out_dir)
    if not path.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
            if db.execute("SELECT value FROM meta WHERE name = 'build'").fetchone() is None:
                return None
            pages = dict(db.execute("SELECT path, hash FROM pages"))
            media = {str(p): int(s) for p, s in db.execute("SELECT path, size FROM media")}
    except sqlite3.Error as exc:
        raise SiteError(f"cannot read the site manifest {path}: {exc}") from exc
    return pages, media
