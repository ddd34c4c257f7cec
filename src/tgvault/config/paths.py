"""Resolving the relative paths of a configuration against the current working directory."""

from __future__ import annotations

from pathlib import Path


def resolve_path(path: Path) -> Path:
    """Make ``path`` absolute against the current working directory (``~`` is expanded)."""
    path = path.expanduser()
    return path if path.is_absolute() else Path.cwd() / path
