"""The error for a peer that breaks MTProto: what a Telegram server closes the connection for."""

from __future__ import annotations

__all__ = ["ProtocolError"]


class ProtocolError(Exception):
    """The peer sent something a Telegram server would close the connection for."""
