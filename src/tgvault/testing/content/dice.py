"""Cheap deterministic random picks for the realistic-channel generator."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["Dice"]

T = TypeVar("T")


class Dice:
    """``random.Random`` with cheaper picks (the builder draws dozens of numbers per post)."""

    def __init__(self, seed: int) -> None:
        """A generator seeded with ``seed``."""
        self.rng = random.Random(seed)
        self.random = self.rng.random

    def pick(self, items: Sequence[T]) -> T:
        """One of ``items``."""
        return items[int(self.random() * len(items))]

    def between(self, low: int, high: int) -> int:
        """A number in ``[low, high]``."""
        return low + int(self.random() * (high - low + 1))

    def bits(self, n: int) -> int:
        """A number of ``n`` random bits."""
        return self.rng.getrandbits(n)
