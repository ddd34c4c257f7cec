"""Find the files a Desktop export's messages name by path, only ever inside the export's folder."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from tgvault.sources.tdesktop.records import ExportFile, ExportMessage

__all__ = ["find_file", "find_files"]


def find_file(root: Path, value: str) -> ExportFile:
    """The file a path of the export names, if it is safely inside the export's folder and present."""
    relative = PurePosixPath(value.replace("\\", "/"))
    root = root.resolve()
    unsafe = (
        not value
        or "\x00" in value
        or relative.is_absolute()
        or ".." in relative.parts
        or re.match(r"^[A-Za-z]:", value) is not None
    )
    candidate = None if unsafe else (root / relative).resolve()
    if candidate is None or not candidate.is_relative_to(root):
        return ExportFile(name=value, path=None, size=None, refused=True)
    if not candidate.is_file():
        return ExportFile(name=value, path=None, size=None, refused=False)
    try:
        size: int | None = candidate.stat().st_size
    except OSError:
        size = None
    return ExportFile(name=value, path=candidate, size=size, refused=False)


def find_files(root: Path, messages: Iterable[ExportMessage]) -> dict[str, ExportFile]:
    """Every file the messages name, by the path the export writes (each looked up once)."""
    found: dict[str, ExportFile] = {}
    for message in messages:
        for value in message.files:
            if value not in found:
                found[value] = find_file(root, value)
    return found
