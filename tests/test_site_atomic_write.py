"""``atomic_write``: every byte written even when ``os.write`` takes fewer at once, a new page created in
place, an existing one replaced through a temporary file, and nothing half written left by a failure."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tgvault.export.site.options import SiteError
from tgvault.export.site.writer import atomic_write

_real_write = os.write
PAYLOAD = bytes(range(256)) * 40  # 10,240 bytes


def _at_most(size: int) -> Callable[[int, bytes | memoryview], int]:
    """An ``os.write`` that takes at most ``size`` bytes a call (as a write to a full pipe or a signal may)."""

    def short_write(descriptor: int, data: bytes | memoryview) -> int:
        return _real_write(descriptor, bytes(data[:size]))

    return short_write


def _failing_after(size: int) -> Callable[[int, bytes | memoryview], int]:
    """An ``os.write`` that takes ``size`` bytes, then finds the disk full."""
    written = [0]

    def full_disk(descriptor: int, data: bytes | memoryview) -> int:
        if written[0] >= size:
            raise OSError(errno.ENOSPC, "No space left on device")
        written[0] += _real_write(descriptor, bytes(data[:size]))
        return min(size, len(data))

    return full_disk


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".tmp"))


@pytest.mark.parametrize("new", [True, False])
def test_every_byte_is_written_when_os_write_takes_fewer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, new: bool
) -> None:
    target = tmp_path / "a" / "b" / "page.html"
    if not new:
        target.parent.mkdir(parents=True)
        target.write_bytes(b"old")
    monkeypatch.setattr(os, "write", _at_most(1000))
    folders: set[str] = set()
    atomic_write(str(target), PAYLOAD, folders, new=new)
    assert target.read_bytes() == PAYLOAD
    assert folders == {str(target.parent)}
    assert leftovers(target.parent) == []


def test_a_new_page_over_an_existing_file_replaces_it_through_a_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "page.html"
    target.write_bytes(b"written by someone else")
    atomic_write(target, b"ours", new=True)  # a Path is taken too
    assert target.read_bytes() == b"ours"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("new", [True, False])
def test_a_full_disk_leaves_no_half_written_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, new: bool
) -> None:
    target = tmp_path / "page.html"
    if not new:
        target.write_bytes(b"the page as it was")
    monkeypatch.setattr(os, "write", _failing_after(1000))
    with pytest.raises(SiteError, match="No space left"):
        atomic_write(str(target), PAYLOAD, set(), new=new)
    monkeypatch.undo()
    if new:
        assert not target.exists()  # no manifest entry, no half page: the next build writes it
    else:
        assert target.read_bytes() == b"the page as it was"
    assert leftovers(tmp_path) == []
