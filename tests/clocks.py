"""A clock the tests move by hand, for the archive's and the workers' notion of now."""

from __future__ import annotations

from datetime import datetime


class HandClock:
    """Returns `now` until the test sets it to another time."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
