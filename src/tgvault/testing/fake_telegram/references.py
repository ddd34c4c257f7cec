"""File references over time: expiring a post's references, and handing out fresh ones when it is read."""

from __future__ import annotations

from tgvault.testing.fake_telegram.channels import FakeChannel
from tgvault.testing.fake_telegram.media import media_objects
from tgvault.testing.fake_telegram.rpc import TL

__all__ = ["ReferenceRotations"]


class ReferenceRotations:
    """The world's file references that wait for a new generation (see :meth:`FakeTelegram.expire_file_reference`)."""

    def __init__(self) -> None:
        """No reference waits."""
        self.pending = 0
        """How many files need a new reference the next time a message carrying them is read."""

    def expire(self, ch: FakeChannel, message: TL) -> list[int]:
        """Expire the file references of ``message``'s media (stored in ``ch``); returns the media ids."""
        expired = []
        for obj in media_objects(getattr(message, "media", None)):
            file = ch.files.get(obj.id)
            if file is None:
                continue
            file.valid_from = file.generation + 1
            if not file.needs_new_reference:
                file.needs_new_reference = True
                self.pending += 1
            expired.append(obj.id)
        return expired

    def refresh(self, ch: FakeChannel, messages: list[TL], *, strict: bool) -> None:
        """Reading a message hands out current file references (new ones after an expiry)."""
        if not strict and self.pending == 0:
            return
        for message in messages:
            for obj in media_objects(getattr(message, "media", None)):
                file = ch.files.get(obj.id)
                if file is None:
                    continue
                if strict or file.needs_new_reference:
                    if file.needs_new_reference:
                        self.pending -= 1
                    file.rotate_reference(invalidate_older=strict)
                obj.file_reference = file.file_reference
