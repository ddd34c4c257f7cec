"""How an export reports its progress: the CLI passes its display (a bar, or log lines when piped).

Export does not import services, so it states here the little it needs of a progress display; the
CLI's displays implement it (they implement the services' ``Progress`` too, which has the same shape).
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["ExportProgress", "NoProgress"]


class ExportProgress(Protocol):
    """Receives an export's progress: each phase (planning, writing pages, uploading) with its total."""

    def started(self, label: str, total: int | None, unit: str = "posts") -> None:
        """A phase begins: ``total`` ``unit`` to do, when known."""
        ...

    def advance(self, count: int, size: int = 0) -> None:
        """``count`` more ``unit`` (``size`` more bytes) are done."""
        ...

    def finished(self) -> None:
        """The phase ended."""
        ...


class NoProgress:
    """Progress that goes nowhere (the service's rebuilds, tests)."""

    def started(self, label: str, total: int | None, unit: str = "posts") -> None:
        """Ignore."""

    def advance(self, count: int, size: int = 0) -> None:
        """Ignore."""

    def finished(self) -> None:
        """Ignore."""
