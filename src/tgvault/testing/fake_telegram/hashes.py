"""Deterministic 64-bit numbers for the fake's ids and access hashes."""

from __future__ import annotations

import hashlib

__all__ = ["hash64", "mix64"]


def hash64(*parts: object) -> int:
    """A deterministic signed 64-bit number (access hashes, ids) from ``parts``."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def mix64(value: int) -> int:
    """A cheap deterministic signed 64-bit scramble of ``value`` (splitmix64's finalizer)."""
    z = (value + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    z ^= z >> 31
    return z - (1 << 64) if z >= 1 << 63 else z
