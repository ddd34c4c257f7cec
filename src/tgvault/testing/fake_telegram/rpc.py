"""How the fake speaks TL: wrappers stripped off requests, Telegram errors raised, answers serialized."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from telethon import errors
from telethon.tl import functions, types

__all__ = ["TL", "RequestHandler", "UnsupportedRequestError", "rpc_error", "serialize_result", "unwrap"]

TL = Any
"""A Telethon TL object (Telethon ships no type hints)."""

RequestHandler = Callable[[TL], TL]
"""Answers one (unwrapped) TL request: a TL object, or a list for ``Vector`` results."""

_VECTOR = 0x1CB5C415
_WRAPPERS: Any = (
    functions.InvokeWithLayerRequest,
    functions.InitConnectionRequest,
    functions.InvokeWithoutUpdatesRequest,
    functions.InvokeAfterMsgRequest,
    functions.InvokeWithTakeoutRequest,
)


class UnsupportedRequestError(NotImplementedError):
    """The fake does not know how to answer this request (it names the request type)."""

    def __init__(self, request: TL, detail: str = "") -> None:
        self.request = request
        name = type(request).__name__
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"FakeTelegram cannot answer {name}{extra}; add a handler in tgvault.testing.fake_telegram"
        )


def rpc_error(request: TL, message: str, code: int = 400) -> Exception:
    """The exception Telethon raises when Telegram answers ``rpc_error(code, message)`` to ``request``.

    Built by Telethon's own mapping (``telethon.errors.rpc_message_to_error``), so ``FLOOD_WAIT_5`` gives a
    ``FloodWaitError`` with ``seconds == 5`` exactly as on the network.
    """
    error: Exception = errors.rpc_message_to_error(types.RpcError(code, message), request)
    return error


def serialize_result(result: TL) -> bytes:
    """Serialize an answer of :meth:`FakeTelegram.handle` as it travels in ``rpc_result`` (lists: vectors)."""
    if isinstance(result, list):
        head = struct.pack("<Ii", _VECTOR, len(result))
        return head + b"".join(bytes(item) for item in result)
    return bytes(result)


def unwrap(request: TL) -> TL:
    """The innermost query of a request (``InvokeWithLayer``, ``InitConnection``, ... stripped)."""
    while isinstance(request, _WRAPPERS):
        request = request.query
    return request
