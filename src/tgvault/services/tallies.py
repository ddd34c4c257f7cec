"""The counts of one run, kept up to date as it goes."""

from __future__ import annotations

from dataclasses import dataclass, field

from tgvault.domain import RunCounts


@dataclass
class Tally:
    """Counts of one run, kept up to date as pages are committed (so a failed run records them too)."""

    counts: RunCounts = field(default_factory=RunCounts)

    def add(self, **changes: int) -> None:
        """Add to the counts."""
        self.counts = self.counts + RunCounts(**changes)
