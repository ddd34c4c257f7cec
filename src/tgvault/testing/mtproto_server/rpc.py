"""Request dispatch: requests unwrapped and named, the handler run, and its answer (or its error) made the
``result`` of an ``rpc_result`` the way Telethon reads it back."""

from __future__ import annotations

import gzip
import logging
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from telethon import errors
from telethon.extensions import BinaryReader
from telethon.tl import functions, types
from telethon.tl.core import GzipPacked
from telethon.tl.tlobject import TLObject

__all__ = [
    "ALL_WRAPPERS",
    "ORDERING_WRAPPERS",
    "Handler",
    "innermost_request",
    "request_name",
    "rpc_error_wire",
    "run_handler",
]

logger = logging.getLogger(__name__)

Handler = Callable[[Any], Awaitable[Any]]
"""``async def handler(request) -> TLObject`` (or ``bool``, a list, or pre-serialized ``bytes``)."""

_BOOL_TRUE = 0x997275B5
_BOOL_FALSE = 0xBC799737
_VECTOR = 0x1CB5C415
_GZIP_MIN = 512
_HANDLER_ERROR = "LOOPBACK_HANDLER_ERROR"

# Wrappers that only change how a request is executed; the server strips the ordering ones itself.
ORDERING_WRAPPERS = (functions.InvokeAfterMsgRequest, functions.InvokeAfterMsgsRequest)
ALL_WRAPPERS = (
    functions.InvokeAfterMsgRequest,
    functions.InvokeAfterMsgsRequest,
    functions.InvokeWithLayerRequest,
    functions.InitConnectionRequest,
    functions.InvokeWithoutUpdatesRequest,
    functions.InvokeWithMessagesRangeRequest,
    functions.InvokeWithTakeoutRequest,
)


# Helpers that are useful to handlers and tests too.


def innermost_request(request: Any) -> Any:
    """Strip ``invokeWithLayer``/``initConnection``/``invokeAfterMsg``/... wrappers off a request."""
    while isinstance(request, ALL_WRAPPERS):
        request = request.query
    return request


def request_name(request: Any) -> str:
    """Qualified TL name of a request's innermost query, e.g. ``"messages.GetHistoryRequest"``."""
    inner = innermost_request(request)
    module = type(inner).__module__.rsplit(".", 1)[-1]
    name = type(inner).__name__
    return name if module == "functions" else f"{module}.{name}"


def _build_error_maps() -> tuple[dict[type, str], dict[type, str]]:
    by_class: dict[type, str] = {}
    for message, cls in errors.rpc_errors_dict.items():
        by_class.setdefault(cls, message)
    by_pattern: dict[type, str] = {}
    for pattern, cls in errors.rpc_errors_re:
        by_pattern.setdefault(cls, pattern)
    return by_class, by_pattern


_ERROR_MESSAGES, _ERROR_PATTERNS = _build_error_maps()
_BASE_ERRORS = frozenset({errors.RPCError, *errors.base_errors.values()})


def rpc_error_wire(error: Exception) -> tuple[int, str]:
    """Return the ``(error_code, error_message)`` that makes Telethon raise ``error``'s class again.

    Generated classes (``ChannelPrivateError``, ``FloodWaitError(request, capture=5)``, ...) map back to
    their Telegram message (``CHANNEL_PRIVATE``, ``FLOOD_WAIT_5``); a plain ``RPCError(request, message,
    code)`` keeps its own message and code.
    """
    for cls in type(error).__mro__:
        code = getattr(cls, "code", None) or 500
        if cls in _ERROR_PATTERNS:  # before the plain messages: EMAIL_UNCONFIRMED has both forms
            args = error.__reduce__()[1]
            capture = args[1] if isinstance(args, tuple) and len(args) > 1 else 0
            return code, _ERROR_PATTERNS[cls].replace("(\\d+)", str(int(capture)))
        if cls in _ERROR_MESSAGES:
            return code, _ERROR_MESSAGES[cls]
        if cls in _BASE_ERRORS:
            instance_code = getattr(error, "code", None)
            message = getattr(error, "message", None) or getattr(cls, "message", None) or "INTERNAL"
            return int(instance_code if instance_code is not None else code), str(message)
    return 500, _HANDLER_ERROR


def _vector_item_format(request: Any) -> str:
    """Whether ``request`` returns ``Vector<int>`` (``'<i'``) or ``Vector<long>`` (``'<q'``)."""
    probe = BinaryReader(struct.pack("<Ii", _VECTOR, 1) + bytes(8))
    request.read_result(probe)
    return "<i" if probe.tell_position() == 12 else "<q"


def _serialize_result(request: Any, result: Any) -> bytes:
    if isinstance(result, bytes | bytearray):
        return bytes(result)
    if result is True or result is False:
        return struct.pack("<I", _BOOL_TRUE if result else _BOOL_FALSE)
    if isinstance(result, list):
        head = struct.pack("<Ii", _VECTOR, len(result))
        if all(isinstance(item, int) and not isinstance(item, bool) for item in result):
            fmt = _vector_item_format(request) if result else "<i"
            return head + b"".join(struct.pack(fmt, item) for item in result)
        return head + b"".join(bytes(item) for item in result)
    return bytes(result)


_FILE_PART_IDS = frozenset({types.upload.File.CONSTRUCTOR_ID, types.upload.CdnFile.CONSTRUCTOR_ID})


def _is_file_part(body: bytes) -> bool:
    return len(body) >= 4 and struct.unpack_from("<I", body)[0] in _FILE_PART_IDS


async def run_handler(
    handler: Handler, request: Any, handler_errors: list[BaseException], *, gzip_responses: bool
) -> bytes:
    """Run ``handler`` on ``request``; return the ``result`` field of the ``rpc_result`` to send.

    A ``telethon.errors.RPCError`` becomes the ``rpc_error`` that raises it again on the client; any other
    exception is appended to ``handler_errors`` and answered with a 400 ``LOOPBACK_HANDLER_ERROR``. With
    ``gzip_responses`` large results (except file parts) travel in ``gzip_packed``.
    """
    try:
        result = await handler(request)
        body = _serialize_result(request, result)
    except errors.RPCError as error:
        code, message = rpc_error_wire(error)
        return bytes(types.RpcError(code, message))
    except Exception as error:
        logger.exception("loopback handler failed on %s", request_name(request))
        handler_errors.append(error)
        return bytes(types.RpcError(400, _HANDLER_ERROR))
    if gzip_responses and len(body) > _GZIP_MIN and not _is_file_part(body):
        compressed: bytes = TLObject.serialize_bytes(gzip.compress(body, compresslevel=6))
        packed = struct.pack("<I", GzipPacked.CONSTRUCTOR_ID) + compressed
        if len(packed) < len(body):
            return packed
    return body
