"""Resource faults stop a channel cleanly: disk full, media folder read-only, database unusable, kill -9.

Each ends the run with one clear message, keeps every committed post, records no media that is not
complete on disk, and the next run (once the fault is gone) completes.

The read-only folder and the tiny file system are real when the tests run as root (a read-only bind
mount, a 1.5 MB tmpfs). Otherwise the same faults come from the media store's file-opening seam: a
folder that refuses writes (chmod) and a writer that raises ENOSPC past a quota, which is exactly the
error a full disk gives.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import sqlite3
import subprocess
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from sqlalchemy import create_engine
from structlog.testing import capture_logs

from tgvault.domain import MediaStatus, RunStatus
from tgvault.errors import ResourceFaultError
from tgvault.services.archiver import Archiver
from tgvault.services.plans import ChannelPlan, MediaPolicy
from tgvault.sources.telegram import TelegramSource
from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.schema import upgrade
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing import FakeTelegram, add_post, document_media, fake_client

UoW = Callable[[], UnitOfWork]
PLAN = ChannelPlan(key="@faults", media=MediaPolicy(max_size=10**9, concurrency=1))


def can_mount() -> bool:
    return os.geteuid() == 0 and subprocess.run(["mount", "--version"], capture_output=True).returncode == 0


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def umount(path: Path) -> None:
    subprocess.run(["umount", str(path)], check=True, capture_output=True)


class QuotaStore(LocalMediaStore):
    """A media store whose files raise ENOSPC once ``quota`` bytes are written in all (non-root fallback)."""

    def __init__(self, root: Path, quota: int) -> None:
        super().__init__(root)
        self.quota = quota

    def open_part(self, path: Path, mode: str) -> BinaryIO:
        return _QuotaFile(super().open_part(path, mode), self)  # type: ignore[return-value]


class _QuotaFile:
    def __init__(self, inner: BinaryIO, store: QuotaStore) -> None:
        self._inner = inner
        self._store = store

    def write(self, data: bytes) -> int:
        used = sum(p.stat().st_size for p in self._store.root.rglob("*") if p.is_file())
        if used + len(data) > self._store.quota:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self._inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class Files:
    """A media folder that can be made read-only or small, by mounts (root) or by the store seam."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.real = can_mount()
        self.quota: int | None = None
        self.mounted = False

    def store(self) -> LocalMediaStore:
        if self.quota is not None and not self.real:
            return QuotaStore(self.root, self.quota)
        return LocalMediaStore(self.root)

    def make_read_only(self) -> None:
        if self.real:
            mount("--bind", str(self.root), str(self.root))
            mount("-o", "remount,ro,bind", str(self.root))
            self.mounted = True
        else:
            for folder in [self.root, *[p for p in self.root.rglob("*") if p.is_dir()]]:
                folder.chmod(0o555)

    def make_writable(self) -> None:
        if self.real:
            umount(self.root)
            self.mounted = False
        else:
            for folder in [self.root, *[p for p in self.root.rglob("*") if p.is_dir()]]:
                folder.chmod(0o755)

    def make_small(self, size: int) -> None:
        self.quota = size
        if self.real:
            mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(self.root))
            self.mounted = True

    def grow(self, size: int) -> None:
        self.quota = size
        if self.real:
            mount("-o", f"remount,size={size}", str(self.root))

    def cleanup(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.root)], capture_output=True)


@pytest.fixture
def files(tmp_path: Path) -> Iterator[Files]:
    folder = Files(tmp_path / "media")
    yield folder
    folder.cleanup()


class AfterFiles:
    """Progress that calls ``then`` once ``count`` files have been stored."""

    def __init__(self, count: int, then: Callable[[], None]) -> None:
        self.left = count
        self.then = then

    def started(self, channel: str, total_posts: int | None) -> None:
        pass

    def advance(self, count: int, size: int = 0) -> None:
        pass

    def media(self, files: int, size: int) -> None:
        self.left -= files
        if self.left == 0:
            self.then()

    def finished(self) -> None:
        pass


def run(
    world: FakeTelegram,
    unit_of_work: UoW,
    store: LocalMediaStore,
    action: Callable[[Archiver], Coroutine[Any, Any, Any]],
    progress: Any = None,
) -> Any:
    async def go() -> Any:
        async with fake_client(world) as client:
            archiver = Archiver(
                TelegramSource(client, request_delay=0),
                unit_of_work,
                store,
                clock=world.now,
                progress=progress,
            )
            return await action(archiver)

    return asyncio.run(go())


def channel_with_files(world: FakeTelegram, count: int, size: int) -> Any:
    channel = world.add_channel("faults")
    for number in range(count):
        add_post(channel, f"file {number}", media=document_media(channel, "file", size=size, seed=number))
    return channel


def assert_only_complete_media_recorded(unit_of_work: UoW, root: Path, channel_id: int) -> int:
    """Every file recorded as downloaded is on disk, whole, under its own sha256; returns how many."""
    with unit_of_work() as uow:
        posts = list(uow.posts.iter_channel(channel_id))
    done = [p.media for p in posts if p.media is not None and p.media.status is MediaStatus.DOWNLOADED]
    for media in done:
        assert media is not None and media.path is not None and media.sha256 is not None
        content = (root / media.path).read_bytes()
        assert (media.sha256, media.size) == (hashlib.sha256(content).hexdigest(), len(content))
    return len(done)


def fault_logs(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry["event"] == "media downloads stopped"]


def test_a_media_folder_made_read_only_mid_run_stops_the_channel_cleanly(
    unit_of_work: UoW, files: Files
) -> None:
    world = FakeTelegram()
    channel = channel_with_files(world, 12, 100_000)
    with capture_logs() as logs, pytest.raises(ResourceFaultError, match=r"read-only|not writable"):
        run(
            world,
            unit_of_work,
            files.store(),
            lambda a: a.backfill(PLAN),
            AfterFiles(3, files.make_read_only),
        )
    assert 1 == len(fault_logs(logs))
    with unit_of_work() as uow:
        assert 12 == uow.posts.count(channel.id)
        last = uow.runs.last(channel_id=channel.id)
        backlog = uow.media_queue.backlog(channel.id)
    assert last is not None and RunStatus.FAILED == last.status
    assert "media folder" in (last.error or "")
    assert 3 == assert_only_complete_media_recorded(unit_of_work, files.root, channel.id)
    assert 9 == backlog.files

    files.make_writable()
    counts = run(world, unit_of_work, files.store(), lambda a: a.sync(PLAN))
    assert 9 == counts.media_files
    assert 12 == assert_only_complete_media_recorded(unit_of_work, files.root, channel.id)
    with unit_of_work() as uow:
        assert 0 == uow.media_queue.backlog(channel.id).files


def test_a_tiny_file_system_that_fills_up_stops_the_channel_and_the_next_run_completes(
    unit_of_work: UoW, files: Files
) -> None:
    world = FakeTelegram()
    channel = channel_with_files(world, 10, 300_000)
    files.make_small(1_500_000)
    with capture_logs() as logs, pytest.raises(ResourceFaultError, match="disk is full"):
        run(world, unit_of_work, files.store(), lambda a: a.backfill(PLAN))
    assert 1 == len(fault_logs(logs))
    stored = assert_only_complete_media_recorded(unit_of_work, files.root, channel.id)
    assert 1 <= stored < 10
    with unit_of_work() as uow:
        assert 10 == uow.posts.count(channel.id)
        assert 10 - stored == uow.media_queue.backlog(channel.id).files
        last = uow.runs.last(channel_id=channel.id)
    assert last is not None and RunStatus.FAILED == last.status and "disk is full" in (last.error or "")

    files.grow(20_000_000)
    counts = run(world, unit_of_work, files.store(), lambda a: a.sync(PLAN))
    assert 10 - stored == counts.media_files
    assert 10 == assert_only_complete_media_recorded(unit_of_work, files.root, channel.id)
    assert [] == list((files.root / ".tmp").glob("*.part"))


def test_an_unreachable_database_is_one_clear_error(tmp_path: Path) -> None:
    """A PostgreSQL server that refuses connections: the channel fails with a message, not a traceback."""
    engine = create_archive_engine("postgresql+psycopg://tgvault@127.0.0.1:9/none?connect_timeout=2")
    factory = make_session_factory(engine)
    world = FakeTelegram()
    channel_with_files(world, 1, 1000)
    try:
        outcomes = run(
            world, lambda: UnitOfWork(factory), LocalMediaStore(tmp_path / "m"), lambda a: a.sync_many([PLAN])
        )
    finally:
        engine.dispose()
    assert 1 == len(outcomes) and outcomes[0].error is not None
    assert outcomes[0].error.startswith("cannot connect to PostgreSQL at 127.0.0.1:9: connection refused")
    assert "check [database] url" in outcomes[0].error


def test_a_killed_run_is_marked_interrupted_and_its_old_partial_files_are_removed(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    """A run left "running" by kill -9 is marked interrupted by the next run; stale .part files go."""
    world = FakeTelegram()
    channel = channel_with_files(world, 2, 1000)
    run(world, unit_of_work, LocalMediaStore(tmp_path / "m"), lambda a: a.sync(PLAN))
    with unit_of_work() as uow:
        killed = uow.runs.start("@faults", "sync", world.now())
        uow.commit()
    temp = tmp_path / "m" / ".tmp"
    old = temp / f"{'a' * 32}.part"
    fresh = temp / f"{'b' * 32}.part"
    for leftover in (old, fresh):
        leftover.write_bytes(b"partial")
    stale = time.time() - 3600
    os.utime(old, (stale, stale))
    run(world, unit_of_work, LocalMediaStore(tmp_path / "m"), lambda a: a.sync(PLAN))
    with unit_of_work() as uow:
        runs = {item.id: item for item in uow.runs.recent()}
    assert RunStatus.INTERRUPTED == runs[killed].status
    assert channel.id == runs[killed].channel_id
    assert [RunStatus.OK] * 2 == [item.status for item in runs.values() if item.id != killed]
    assert (False, True) == (old.exists(), fresh.exists())


def test_a_locked_sqlite_database_is_a_resource_fault_naming_the_lock(tmp_path: Path) -> None:
    """Another process holding the write lock past the busy timeout: one clear error, nothing written."""
    path = tmp_path / "archive.db"
    migrated = create_archive_engine(f"sqlite:///{path}")
    upgrade(migrated)
    migrated.dispose()
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.2})
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        locked = r"database cannot be used \(database is locked\)"
        with pytest.raises(ResourceFaultError, match=locked), UnitOfWork(make_session_factory(engine)) as uow:
            uow.runs.start("@faults", "sync")
            uow.commit()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with UnitOfWork(make_session_factory(engine)) as uow:
        assert [] == uow.runs.recent()
    engine.dispose()
