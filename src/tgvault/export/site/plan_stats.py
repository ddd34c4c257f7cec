"""The statistics page's figures of a channel's planned posts, kept from one build to the next.

Counting every post per month and finding the most viewed costs a pass over every post; a rebuild
changes a few. :class:`RunningStats` keeps what the last count found (with the kept plan) and is told of
each post put in or moved, so the next build reads the figures without that pass.
"""

from __future__ import annotations

from collections.abc import Callable


class RunningStats:
    """Month totals ([posts, deleted posts, views in total, posts with a view count] per month) and the
    most viewed posts, as last counted and brought up to date since (None: count them again)."""

    __slots__ = ("candidates", "top", "totals")

    def __init__(self) -> None:
        self.totals: dict[int, list[int]] | None = None
        self.top: tuple[int, list[int]] | None = None  # (how many, the ids of the most viewed)
        self.candidates: set[int] = set()  # posts changed since ``top`` was found, which may join it

    def count(self, month: int, deleted: bool, views: int | None, sign: int) -> None:
        """Add (``sign`` 1) or take away (-1) a post in the month totals."""
        if self.totals is None:
            return
        row = self.totals.setdefault(month, [0, 0, 0, 0])
        row[0] += sign
        row[1] += sign * deleted
        if views is not None:
            row[2] += sign * views
            row[3] += sign

    def changed(self, message_id: int, fell_back: bool) -> None:
        """A post was put in or replaced; ``fell_back``: it had a view count and now has fewer views, or
        none, or became a service message (then the most viewed are found again among every post)."""
        if self.top is None:
            return
        if fell_back and message_id in self.top[1]:
            self.top = None
            return
        self.candidates.add(message_id)

    def month_counts(self) -> dict[int, list[int]] | None:
        """The month totals (months with posts), or None when they must be counted."""
        if self.totals is None:
            return None
        return {month: list(row) for month, row in self.totals.items() if row[0]}

    def most_viewed_among(self, count: int) -> set[int] | None:
        """The posts among which the ``count`` most viewed are (the last ones and those changed since),
        or None when every post must be looked at."""
        if self.top is None or self.top[0] != count:
            return None
        return {*self.top[1], *self.candidates}

    def found(self, count: int, ids: list[int]) -> None:
        """The ``count`` most viewed posts, as just found."""
        self.top, self.candidates = (count, list(ids)), set()

    def to_json(self) -> dict[str, object]:
        """What to keep with the plan (:meth:`from_json` takes it back)."""
        kept: dict[str, object] = {}
        if self.totals is not None:
            kept["totals"] = [[month, *row] for month, row in sorted(self.totals.items()) if row[0]]
        if self.top is not None and not self.candidates:
            kept["top"] = [self.top[0], self.top[1]]
        return kept

    def from_json(self, kept: object, posts: int, planned: Callable[[int], bool]) -> None:
        """Take back what :meth:`to_json` kept, for a plan of ``posts`` posts (``planned`` tells whether
        an id is one); what does not fit is left to be counted again."""
        if not isinstance(kept, dict):
            return
        rows = kept.get("totals")
        if isinstance(rows, list) and all(
            isinstance(row, list) and len(row) == 5 and all(isinstance(v, int) for v in row) for row in rows
        ):
            totals = {row[0]: list(row[1:]) for row in rows}
            if sum(row[0] for row in totals.values()) == posts:
                self.totals = totals
        top = kept.get("top")
        if not (isinstance(top, list) and len(top) == 2 and isinstance(top[1], list)):
            return
        if isinstance(top[0], int) and all(isinstance(i, int) and planned(i) for i in top[1]):
            self.top = (top[0], list(top[1]))
