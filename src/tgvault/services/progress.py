"""How services report progress and warnings: the CLI shows a bar on a terminal and log lines elsewhere.

A service announces each piece of work (a channel's walk, an import, an audit, a migration) with
:meth:`Progress.started`, giving its total when known, counts what it did with :meth:`Progress.advance`
(and :meth:`Progress.media` for files downloaded on the side), reports warnings by kind with
:meth:`Progress.warn` (see :mod:`tgvault.services.warning_tally`) and ends with
:meth:`Progress.finished`. Nothing here draws anything: the display is the caller's.
"""

from __future__ import annotations

from typing import Protocol

import structlog

from tgvault.services.warning_tally import WarningTally

log = structlog.get_logger(__name__)


class Progress(Protocol):
    """Receives progress events and warnings from a long-running service."""

    def started(
        self, label: str, total: int | None, unit: str = "posts", *, total_bytes: int | None = None
    ) -> None:
        """A piece of work begins: ``label`` (a channel, "import"), ``total`` ``unit`` when known
        (Telegram's count of a channel's posts, an export's messages), ``total_bytes`` when it has a size."""
        ...

    def advance(self, count: int, size: int = 0) -> None:
        """``count`` more ``unit`` (``size`` more bytes) of the current piece of work are done."""
        ...

    def media(self, files: int, size: int) -> None:
        """``files`` more files (``size`` bytes) were stored on the side (downloads, copies)."""
        ...

    def warn(self, kind: str, **fields: object) -> None:
        """A warning of ``kind`` (a stable phrase) with its details; counted, and summarised by kind."""
        ...

    def finished(self) -> None:
        """The current piece of work ended (successfully or not)."""
        ...


class SilentProgress:
    """Progress that draws nothing (tests, the scheduler); warnings are still logged through a tally.

    When a piece of work ends, each kind with more warnings than were shown gets one summary line, and
    the tally starts afresh, so every run of a long-lived service shows the first few of each kind.
    """

    def __init__(self, warnings: WarningTally | None = None) -> None:
        self.warnings = warnings or WarningTally()

    def started(
        self, label: str, total: int | None, unit: str = "posts", *, total_bytes: int | None = None
    ) -> None:
        """Ignore."""

    def advance(self, count: int, size: int = 0) -> None:
        """Ignore."""

    def media(self, files: int, size: int) -> None:
        """Ignore."""

    def warn(self, kind: str, **fields: object) -> None:
        """Count and log the warning (the first few of a kind as warnings, the rest at debug level)."""
        self.warnings.warn(kind, **fields)

    def finished(self) -> None:
        """Log one line per kind of which some warnings went to the debug log only; count afresh."""
        shown = self.warnings.shown
        for kind, count in self.warnings.drain().items():
            if count > shown:
                log.warning("more warnings of one kind", kind=kind, count=count, at_debug_level=count - shown)
