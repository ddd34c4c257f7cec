"""Find the files a Desktop export's messages name by path, only ever inside the export's folder."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from tgvault.sources.tdesktop.records import ExportFile

__all__ = ["find_file"]


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
