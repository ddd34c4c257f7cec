"""Warnings counted by kind: the first few of each kind are logged as warnings, the rest at debug level.

An import of a Desktop export without its files would otherwise print one warning per file. Services
report every warning through :meth:`WarningTally.warn` with a stable ``kind`` (the log event) and the
details as fields; the person sees the first :data:`SHOWN_PER_KIND` of each kind, the log at debug level
has them all, and whoever runs the service (the CLI) prints :meth:`WarningTally.counts` at the end.
"""

from __future__ import annotations

import re
import threading
from typing import Final

import structlog

__all__ = ["SHOWN_PER_KIND", "WarningTally", "printable"]

log = structlog.get_logger("tgvault.warnings")  # one name for every service's counted warnings

SHOWN_PER_KIND: Final = 5
"""Warnings of one kind shown at warning level before the rest go to the debug log."""

# Control characters and bidirectional overrides in a field (a file name from an export, a URL) could
# move the cursor, recolour or reorder what the terminal shows; they are shown escaped instead.
_UNPRINTABLE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(value: str) -> str:
    """``value`` with control characters and bidi overrides written as escapes (``\\x1b``, ``\\u202e``)."""
    return _UNPRINTABLE.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), value)


class WarningTally:
    """Counts warnings by kind, logging the first ``shown`` of each kind as warnings and the rest at debug.

    Thread-safe: services report from worker threads too.
    """

    def __init__(self, shown: int = SHOWN_PER_KIND) -> None:
        self.shown = shown
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def warn(self, kind: str, **fields: object) -> None:
        """Count one warning of ``kind`` (a stable phrase: the log event); ``fields`` are its details."""
        with self._lock:
            count = self._counts[kind] = self._counts.get(kind, 0) + 1
        details = {
            key: printable(value) if isinstance(value, str) else value for key, value in fields.items()
        }
        if count <= self.shown:
            log.warning(kind, **details)
        else:
            log.debug(kind, **details)

    def counts(self) -> dict[str, int]:
        """How many warnings of each kind were reported, in the order the kinds first appeared."""
        with self._lock:
            return dict(self._counts)

    def hidden(self, kind: str) -> int:
        """Warnings of ``kind`` that went to the debug log only."""
        with self._lock:
            return max(0, self._counts.get(kind, 0) - self.shown)

    @property
    def total(self) -> int:
        """Warnings of every kind."""
        with self._lock:
            return sum(self._counts.values())

    def drain(self) -> dict[str, int]:
        """The counts so far (as :meth:`counts`), then start counting afresh (a service's next run)."""
        with self._lock:
            counts, self._counts = self._counts, {}
        return counts
