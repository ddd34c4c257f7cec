"""Page keys: a short, stable hash of the archive state a page is rendered from."""

from __future__ import annotations

import hashlib


def digest(*parts: object) -> str:
    """A short, stable hash of ``repr`` of the parts, for page keys and content comparison."""
    hasher = hashlib.blake2b(digest_size=12)
    for part in parts:
        hasher.update(repr(part).encode("utf-8", "surrogatepass"))
        hasher.update(b"\x1f")
    return hasher.hexdigest()
