"""Find what a path given for a Desktop export names: its ``result.json``, or its HTML pages' folder."""

from __future__ import annotations

from pathlib import Path

from tgvault.errors import ImportFormatError, SourceError
from tgvault.sources.tdesktop.html_export import html_pages

__all__ = ["locate_export"]


def locate_export(path: Path) -> Path:
    """The export's ``result.json``, or for an HTML export the folder holding ``messages.html``."""
    if path.is_dir():
        candidate = path / "result.json"
        if candidate.is_file():
            return candidate
        if html_pages(path):
            return path
        raise ImportFormatError("neither result.json nor messages.html in this folder", location=str(path))
    if path.suffix.lower() in (".html", ".htm"):
        return path.parent
    if not path.is_file():
        raise SourceError(f"{path}: no such file or folder")
    return path
