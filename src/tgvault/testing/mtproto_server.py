"""A loopback MTProto server: the real, unmodified Telethon client talks to a fake Telegram over TCP.

The server listens on 127.0.0.1, speaks MTProto 2.0 over the TCP transports Telethon offers (full — the
default —, intermediate, padded intermediate, abridged, and their obfuscated forms) and uses a pre-shared
auth key, so no key exchange happens: :meth:`LoopbackTelegramServer.session_string` gives a Telethon
``StringSession`` that points at the server and carries the key.

Everything below the TL layer is handled here (encryption, msg_id / seq_no, salts, sessions, containers,
gzip, acks, pings, future salts, session destruction). Every RPC request is decoded with Telethon's own TL
reader and handed to an async ``handler(request) -> result``; the server answers with ``rpc_result``, or
with ``rpc_error`` when the handler raises a ``telethon.errors.RPCError`` (the wire message is chosen so
that Telethon raises the same class on the client side, e.g. ``FloodWaitError`` with its ``seconds``).

Typical use with the fake Telegram::

    fake = FakeTelegram(...)
    async with LoopbackTelegramServer(fake.handle) as server:
        client = TelegramClient(StringSession(server.session_string()), api_id=1, api_hash="x")
        await client.connect()

or, for a subprocess (the real CLI) talking to it::

    with LoopbackTelegramServer.start_in_thread(fake.handle) as running:
        subprocess.run([..., "--session", running.session_string])
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gzip
import hashlib
import ipaddress
import logging
import os
import socket
import struct
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from telethon import errors
from telethon.crypto import AES, AESModeCTR, AuthKey
from telethon.extensions import BinaryReader
from telethon.sessions import StringSession
from telethon.tl import functions, types
from telethon.tl.core import GzipPacked, MessageContainer
from telethon.tl.tlobject import TLObject, TLRequest

__all__ = [
    "CutRule",
    "Handler",
    "LoopbackTelegramServer",
    "ServerThread",
    "innermost_request",
    "request_name",
    "rpc_error_wire",
]

logger = logging.getLogger(__name__)

Handler = Callable[[Any], Awaitable[Any]]
"""``async def handler(request) -> TLObject`` (or ``bool``, a list, or pre-serialized ``bytes``)."""

T = TypeVar("T")

_RPC_RESULT = 0xF35C6D01
_BOOL_TRUE = 0x997275B5
_BOOL_FALSE = 0xBC799737
_VECTOR = 0x1CB5C415
_MAX_PACKET = 32 * 1024 * 1024
_MSG_TOO_OLD = 300  # seconds, as in MTProto's security guidelines
_MSG_TOO_NEW = 30
_GZIP_MIN = 512
_HANDLER_ERROR = "LOOPBACK_HANDLER_ERROR"

# Wrappers that only change how a request is executed; the server strips the ordering ones itself.
_ORDERING_WRAPPERS = (functions.InvokeAfterMsgRequest, functions.InvokeAfterMsgsRequest)
_ALL_WRAPPERS = (
    functions.InvokeAfterMsgRequest,
    functions.InvokeAfterMsgsRequest,
    functions.InvokeWithLayerRequest,
    functions.InitConnectionRequest,
    functions.InvokeWithoutUpdatesRequest,
    functions.InvokeWithMessagesRangeRequest,
    functions.InvokeWithTakeoutRequest,
)


class _ProtocolError(Exception):
    """The peer sent something a Telegram server would close the connection for."""


# ---------------------------------------------------------------------------------------------------------
# Helpers that are useful to handlers and tests too.


def innermost_request(request: Any) -> Any:
    """Strip ``invokeWithLayer``/``initConnection``/``invokeAfterMsg``/... wrappers off a request."""
    while isinstance(request, _ALL_WRAPPERS):
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


def _kdf(auth_key: bytes, msg_key: bytes, x: int) -> tuple[bytes, bytes]:
    """MTProto 2.0 AES key and IV for a message (x=0 client to server, x=8 server to client)."""
    a = hashlib.sha256(msg_key + auth_key[x : x + 36]).digest()
    b = hashlib.sha256(auth_key[40 + x : 76 + x] + msg_key).digest()
    return a[:8] + b[8:24] + a[24:32], b[:8] + a[8:24] + b[24:32]


# ---------------------------------------------------------------------------------------------------------
# Transports.

Read = Callable[[int], Awaitable[bytes]]


class _Framing:
    """Packet framing of one MTProto TCP transport."""

    name = "?"

    async def read_packet(self, read: Read) -> bytes:
        raise NotImplementedError

    def encode_packet(self, payload: bytes) -> bytes:
        raise NotImplementedError


class _Full(_Framing):
    name = "full"

    def __init__(self, first_header: bytes) -> None:
        self._pending = first_header
        self._recv_seq = 0
        self._send_seq = 0

    async def read_packet(self, read: Read) -> bytes:
        head, self._pending = (self._pending or await read(8)), b""
        length, seq = struct.unpack("<ii", head)
        if not 12 <= length <= _MAX_PACKET:
            raise _ProtocolError(f"bad full-transport length {length}")
        rest = await read(length - 8)
        body, (checksum,) = rest[:-4], struct.unpack("<I", rest[-4:])
        if zlib.crc32(head + body) != checksum:
            raise _ProtocolError("bad crc32")
        if seq != self._recv_seq:
            raise _ProtocolError(f"transport seq {seq}, expected {self._recv_seq}")
        self._recv_seq += 1
        return body

    def encode_packet(self, payload: bytes) -> bytes:
        data = struct.pack("<ii", len(payload) + 12, self._send_seq) + payload
        self._send_seq += 1
        return data + struct.pack("<I", zlib.crc32(data))


class _Intermediate(_Framing):
    name = "intermediate"

    async def read_packet(self, read: Read) -> bytes:
        (length,) = struct.unpack("<I", await read(4))
        length &= 0x7FFFFFFF  # the top bit asks for a quick ack, which we do not send
        if length > _MAX_PACKET:
            raise _ProtocolError(f"bad intermediate length {length}")
        return await read(length)

    def encode_packet(self, payload: bytes) -> bytes:
        return struct.pack("<i", len(payload)) + payload


class _PaddedIntermediate(_Intermediate):
    name = "padded-intermediate"

    async def read_packet(self, read: Read) -> bytes:
        packet = await super().read_packet(read)
        extra = len(packet) % 4  # 0-3 random bytes appended by the sender
        return packet[: len(packet) - extra]

    def encode_packet(self, payload: bytes) -> bytes:
        return super().encode_packet(payload + os.urandom(int.from_bytes(os.urandom(1), "little") % 4))


class _Abridged(_Framing):
    name = "abridged"

    async def read_packet(self, read: Read) -> bytes:
        length = (await read(1))[0] & 0x7F
        if length == 0x7F:
            length = int.from_bytes(await read(3), "little")
        if length << 2 > _MAX_PACKET:
            raise _ProtocolError("abridged packet too long")
        return await read(length << 2)

    def encode_packet(self, payload: bytes) -> bytes:
        words = len(payload) >> 2
        head = bytes([words]) if words < 0x7F else b"\x7f" + words.to_bytes(3, "little")
        return head + payload


_TAGGED: dict[bytes, type[_Framing]] = {
    b"\xef\xef\xef\xef": _Abridged,
    b"\xee\xee\xee\xee": _Intermediate,
    b"\xdd\xdd\xdd\xdd": _PaddedIntermediate,
}


# ---------------------------------------------------------------------------------------------------------
# Server state.


@dataclass
class CutRule:
    """A fault: cut the connection while sending the response to a matching request.

    ``after_bytes`` bytes of the framed response reach the client, then the server closes the connection
    (never the whole response, so the client has to reconnect and ask again). ``fired`` counts the cuts done.
    """

    predicate: Callable[[Any], bool]
    after_bytes: int = 0
    times: int | None = 1
    fired: int = 0

    @property
    def exhausted(self) -> bool:
        """True once the rule has cut ``times`` responses."""
        return self.times is not None and self.fired >= self.times


class _Session:
    """One MTProto session (the client picks its id; it survives reconnections)."""

    def __init__(self, session_id: int) -> None:
        self.session_id = session_id
        self._content_sent = 0

    def next_seq_no(self, content_related: bool) -> int:
        if not content_related:
            return self._content_sent * 2
        self._content_sent += 1
        return self._content_sent * 2 - 1


class _MsgIds:
    """Server msg_ids: time based, strictly increasing, ``≡ 1 (mod 4)`` for responses, ``3`` otherwise."""

    def __init__(self) -> None:
        self._last = 0

    def next(self, response: bool) -> int:
        now = time.time()
        base = (int(now) << 32) | (int((now % 1) * 2**32) & ~3)
        if base <= self._last:
            base = self._last + 4
        self._last = base
        return base | (1 if response else 3)


class LoopbackTelegramServer:
    """An asyncio MTProto server on 127.0.0.1 that answers with ``handler``; see the module docstring.

    Observability: ``requests`` (qualified names of the RPCs handed to the handler, innermost query, e.g.
    ``"help.GetConfigRequest"``), ``received`` (the request objects themselves), ``handler_errors``
    (exceptions other than RPCError raised by the handler — answered with a 400 ``LOOPBACK_HANDLER_ERROR``),
    ``connections_count`` (connections accepted so far), ``open_connections``, ``sessions_created``
    (``new_session_created`` sent), ``salt_corrections`` (``bad_server_salt`` sent), ``pings``,
    ``transports`` (transport names in connection order).
    """

    def __init__(
        self,
        handler: Handler,
        *,
        auth_key: bytes | None = None,
        dc_id: int = 2,
        host: str = "127.0.0.1",
        port: int = 0,
        check_salt: bool = True,
        gzip_responses: bool = True,
    ) -> None:
        """Create a server (not yet listening); ``auth_key`` is 256 bytes, random when omitted.

        With ``check_salt`` a message carrying a wrong server salt gets ``bad_server_salt`` and must be
        re-sent (as Telegram does, and as Telethon expects on its first message); without it any salt is
        accepted. ``gzip_responses`` wraps large results (except file parts) in ``gzip_packed``.
        """
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the loopback server only listens on loopback addresses, not {host}")
        key = os.urandom(256) if auth_key is None else bytes(auth_key)
        if len(key) != 256:
            raise ValueError("an MTProto auth key is 256 bytes")
        self._handler = handler
        self._auth_key = key
        self._key_id = struct.pack("<Q", AuthKey(key).key_id)
        self.dc_id = dc_id
        self.host = host
        self._requested_port = port
        self.check_salt = check_salt
        self.gzip_responses = gzip_responses
        self.salt = struct.unpack("<q", os.urandom(8))[0]
        self.reject_auth_key = False
        """When True every encrypted packet gets transport error -404 (Telethon: ``AuthKeyNotFound``)."""

        self.requests: list[str] = []
        self.received: list[Any] = []
        self.handler_errors: list[BaseException] = []
        self.connections_count = 0
        self.sessions_created = 0
        self.salt_corrections = 0
        self.pings = 0
        self.transports: list[str] = []

        self._listener: asyncio.Server | None = None
        self._old_listeners: list[asyncio.Server] = []
        self._started = False
        self._port: int | None = None
        self._connections: dict[_Connection, asyncio.Task[Any]] = {}
        self._sessions: dict[int, _Session] = {}
        self._msg_ids = _MsgIds()
        self._cut_rules: list[CutRule] = []
        self._unpaused: asyncio.Event | None = None

    # -- lifecycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening; afterwards ``port`` and ``session_string()`` are available."""
        if self._started:
            raise RuntimeError("server already started")
        self._started = True
        self._unpaused = asyncio.Event()
        self._unpaused.set()
        await self.start_listening()
        logger.debug("loopback MTProto server listening on %s:%s", self.host, self._port)

    async def close(self) -> None:
        """Stop listening, close every connection and wait until all of the server's tasks are done."""
        if not self._started:
            return
        self._started = False
        self.stop_listening()
        for connection in list(self._connections):
            connection.abort()
        tasks = list(self._connections.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for listener in self._old_listeners:
            await listener.wait_closed()
        self._old_listeners.clear()

    async def __aenter__(self) -> LoopbackTelegramServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @classmethod
    def start_in_thread(cls, handler: Handler, **kwargs: Any) -> ServerThread:
        """Run a server with its own event loop in a background thread (for subprocess clients)."""
        return ServerThread(handler, **kwargs).start()

    # -- addresses -----------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    @property
    def auth_key(self) -> bytes:
        """The pre-shared 256-byte auth key."""
        return self._auth_key

    def session_string(self) -> str:
        """A Telethon ``StringSession`` string: dc ``dc_id``, this host and port, the pre-shared key."""
        session = StringSession()
        session.set_dc(self.dc_id, self.host, self.port)
        session.auth_key = AuthKey(self._auth_key)
        return str(session.save())

    def dc_option(self) -> Any:
        """A ``types.DcOption`` pointing at this server, for a ``types.Config`` answer."""
        return types.DcOption(id=self.dc_id, ip_address=self.host, port=self.port)

    @property
    def open_connections(self) -> int:
        """How many client connections are open right now."""
        return len(self._connections)

    # -- faults --------------------------------------------------------------------------------------------

    async def drop_connections(self) -> int:
        """Abruptly close (TCP reset) every client connection; return how many were dropped."""
        dropped = list(self._connections.items())
        for connection, task in dropped:
            connection.abort()
            task.cancel()  # it may be waiting for resume() rather than reading the socket
        await asyncio.gather(*(task for _c, task in dropped), return_exceptions=True)
        return len(dropped)

    def push(self, updates: Any) -> int:
        """Send an unsolicited update (e.g. ``types.Updates``) to every open connection that has a session,
        as Telegram pushes updates; returns to how many. Call it in the server's loop (``subscribe`` it to
        a :class:`~tgvault.testing.FakeTelegram` whose changes are made with :meth:`ServerThread.call`)."""
        sent = 0
        for connection in list(self._connections):
            sent += connection.push(updates)
        return sent

    def stop_listening(self) -> None:
        """Close the listening socket: new connections are refused, open ones go on."""
        if self._listener is not None:
            self._listener.close()
            self._old_listeners.append(self._listener)
            self._listener = None

    async def start_listening(self) -> None:
        """Listen again (on the same port) after ``stop_listening()``."""
        if self._listener is not None:
            return
        port = self._requested_port if self._port is None else self._port
        self._listener = await asyncio.start_server(self._on_client, self.host, port)
        self._port = self._listener.sockets[0].getsockname()[1]

    def pause(self) -> None:
        """Stop processing: packets stay unread and no response is sent until ``resume()``."""
        if self._unpaused is not None:
            self._unpaused.clear()

    def resume(self) -> None:
        """Undo ``pause()``."""
        if self._unpaused is not None:
            self._unpaused.set()

    @property
    def paused(self) -> bool:
        """True between ``pause()`` and ``resume()``."""
        return self._unpaused is not None and not self._unpaused.is_set()

    def cut_after_response(
        self, predicate: Callable[[Any], bool], *, after_bytes: int = 0, times: int | None = 1
    ) -> CutRule:
        """Cut the connection after ``after_bytes`` bytes of the response to a request matching ``predicate``.

        ``predicate`` receives the innermost request (e.g. an ``upload.GetFileRequest``). The rule applies
        ``times`` times (``None``: always). Returns the rule; its ``fired`` attribute counts the cuts.
        """
        rule = CutRule(predicate, max(0, after_bytes), times)
        self._cut_rules.append(rule)
        return rule

    def clear_faults(self) -> None:
        """Forget every cut rule, resume if paused, accept auth keys again (listening is left as is)."""
        self._cut_rules.clear()
        self.reject_auth_key = False
        self.resume()

    # -- internals -----------------------------------------------------------------------------------------

    async def _wait_unpaused(self) -> None:
        if self._unpaused is not None:
            await self._unpaused.wait()

    def _take_cut_rule(self, request: Any) -> CutRule | None:
        inner = innermost_request(request)
        for rule in self._cut_rules:
            try:
                matches = not rule.exhausted and rule.predicate(inner)
            except Exception:
                logger.exception("cut_after_response predicate failed; treating it as no match")
                matches = False
            if matches:
                rule.fired += 1
                if rule.exhausted:
                    self._cut_rules.remove(rule)
                return rule
        return None

    def _next_msg_id(self, response: bool) -> int:
        return self._msg_ids.next(response)

    def _session(self, session_id: int) -> tuple[_Session, bool]:
        session = self._sessions.get(session_id)
        if session is not None:
            return session, False
        session = self._sessions[session_id] = _Session(session_id)
        return session, True

    def _destroy_session(self, session_id: int) -> bool:
        return self._sessions.pop(session_id, None) is not None

    async def _invoke(self, request: Any) -> bytes:
        """Run the handler; return the ``result`` field of the ``rpc_result`` to send."""
        while isinstance(request, _ORDERING_WRAPPERS):
            request = request.query  # requests on a connection run in order anyway
        self.requests.append(request_name(request))
        self.received.append(request)
        try:
            result = await self._handler(request)
            body = _serialize_result(request, result)
        except errors.RPCError as error:
            code, message = rpc_error_wire(error)
            return bytes(types.RpcError(code, message))
        except Exception as error:
            logger.exception("loopback handler failed on %s", request_name(request))
            self.handler_errors.append(error)
            return bytes(types.RpcError(400, _HANDLER_ERROR))
        if self.gzip_responses and len(body) > _GZIP_MIN and not _is_file_part(body):
            compressed: bytes = TLObject.serialize_bytes(gzip.compress(body, compresslevel=6))
            packed = struct.pack("<I", GzipPacked.CONSTRUCTOR_ID) + compressed
            if len(packed) < len(body):
                return packed
        return body

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections_count += 1
        connection = _Connection(self, reader, writer)
        task = asyncio.current_task()
        assert task is not None
        self._connections[connection] = task
        try:
            await connection.serve()
        except asyncio.CancelledError:
            # Only close() and drop_connections() cancel these tasks. asyncio's stream protocol calls
            # task.exception() on them, which would log a cancelled task as an error: end normally.
            pass
        finally:
            del self._connections[connection]


_FILE_PART_IDS = frozenset({types.upload.File.CONSTRUCTOR_ID, types.upload.CdnFile.CONSTRUCTOR_ID})


def _is_file_part(body: bytes) -> bool:
    return len(body) >= 4 and struct.unpack_from("<I", body)[0] in _FILE_PART_IDS


class _Connection:
    """One client TCP connection: transport detection, decryption, dispatch and an in-order RPC worker."""

    def __init__(
        self, server: LoopbackTelegramServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.framing: _Framing = _Intermediate()
        self._decryptor: Any = None
        self._encryptor: Any = None
        self._queue: asyncio.Queue[tuple[_Session, int, Any]] = asyncio.Queue()
        self._closed = False
        self._disconnect_timer: asyncio.TimerHandle | None = None
        self._session: _Session | None = None

    def push(self, updates: Any) -> int:
        """Send an update outside any RPC result (1), unless the connection has no session yet (0)."""
        if self._closed or self._session is None:
            return 0
        self._send_obj(self._session, updates, response=False)
        return 1

    # -- socket level --------------------------------------------------------------------------------------

    async def _read(self, n: int) -> bytes:
        data = await self.reader.readexactly(n)
        if self._decryptor is not None:
            decrypted: bytes = self._decryptor.encrypt(data)
            return decrypted
        return data

    def _write(self, payload: bytes, cut: CutRule | None = None) -> bytes | None:
        """Frame and write one packet; with a cut rule return the partial bytes to send instead."""
        frame = self.framing.encode_packet(payload)
        if self._encryptor is not None:
            frame = self._encryptor.encrypt(frame)
        if cut is not None:
            return frame[: min(cut.after_bytes, len(frame) - 1)]
        if not self._closed:
            self.writer.write(frame)
        return None

    async def _drain(self) -> None:
        if not self._closed:
            await self.writer.drain()

    def abort(self) -> None:
        """Close the socket at once with a TCP reset."""
        self._closed = True
        transport = self.writer.transport
        if transport.is_closing():
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()

    async def _cut(self, partial: bytes) -> None:
        """Deliver ``partial`` then end the stream (FIN), so the client sees a truncated packet."""
        self._closed = True
        transport = self.writer.transport
        if transport.is_closing():
            return
        self.writer.write(partial)
        transport.set_write_buffer_limits(high=0)
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()
        with contextlib.suppress(OSError):
            self.writer.write_eof()
        # The client closes its side when it sees the truncated packet; reset if it does not.
        loop = asyncio.get_running_loop()
        self._disconnect_timer = loop.call_later(5, self.abort)

    async def _detect_transport(self) -> None:
        first = await self.reader.readexactly(1)
        if first == b"\xef":
            self.framing = _Abridged()
            return
        head = first + await self.reader.readexactly(3)
        if head in (b"\xee\xee\xee\xee", b"\xdd\xdd\xdd\xdd"):
            self.framing = _TAGGED[head]()
            return
        head += await self.reader.readexactly(4)
        if head[4:8] == b"\0\0\0\0":  # a full-transport packet starts with its length and seq_no 0
            self.framing = _Full(head)
            return
        header = head + await self.reader.readexactly(56)  # obfuscated2: 64 random bytes
        reverse = header[55:7:-1]
        self._decryptor = AESModeCTR(bytes(header[8:40]), bytes(header[40:56]))
        self._encryptor = AESModeCTR(bytes(reverse[:32]), bytes(reverse[32:48]))
        tag = self._decryptor.encrypt(header)[56:60]
        framing = _TAGGED.get(tag)
        if framing is None:
            raise _ProtocolError(f"unknown transport (obfuscated tag {tag.hex()})")
        self.framing = framing()
        self.framing.name = f"obfuscated-{self.framing.name}"

    # -- main loops ----------------------------------------------------------------------------------------

    async def serve(self) -> None:
        worker: asyncio.Task[None] | None = None
        try:
            await self._detect_transport()
            self.server.transports.append(self.framing.name)
            worker = asyncio.create_task(self._work())
            while True:  # ends when the stream does (EOF, reset, abort())
                packet = await self.framing.read_packet(self._read)
                await self.server._wait_unpaused()
                if not self._closed:  # after a cut, read on until the client hangs up
                    await self._on_packet(packet)
                    await self._drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as error:
            logger.debug("client connection ended: %r", error)
        except _ProtocolError as error:
            logger.warning("closing client connection: %s", error)
        except Exception:
            logger.exception("loopback connection failed")
        finally:
            if self._disconnect_timer is not None:
                self._disconnect_timer.cancel()
            if worker is not None:
                worker.cancel()
                await asyncio.gather(worker, return_exceptions=True)
            self.abort()

    async def _work(self) -> None:
        """Run queued RPCs one at a time, in the order they arrived, and send their results."""
        try:
            while not self._closed:
                session, msg_id, request = await self._queue.get()
                await self.server._wait_unpaused()
                body = await self.server._invoke(request)
                await self.server._wait_unpaused()
                if self._closed:
                    return
                cut = self.server._take_cut_rule(request)
                payload = struct.pack("<Iq", _RPC_RESULT, msg_id) + body
                partial = self._send(session, payload, content_related=True, response=True, cut=cut)
                if partial is not None:
                    await self._cut(partial)
                    return
                await self._drain()
        except (ConnectionError, OSError) as error:
            logger.debug("client connection ended while answering: %r", error)
        except Exception:
            logger.exception("loopback connection failed while answering; dropping it")
            self.abort()

    # -- MTProto -------------------------------------------------------------------------------------------

    def _send(
        self,
        session: _Session,
        body: bytes,
        *,
        content_related: bool,
        response: bool,
        cut: CutRule | None = None,
    ) -> bytes | None:
        msg_id = self.server._next_msg_id(response)
        seq_no = session.next_seq_no(content_related)
        plain = struct.pack("<qqqii", self.server.salt, session.session_id, msg_id, seq_no, len(body)) + body
        return self._write(self._encrypt(plain), cut)

    def _send_obj(self, session: _Session, obj: Any, *, response: bool = True) -> None:
        self._send(session, bytes(obj), content_related=True, response=response)

    def _encrypt(self, plain: bytes) -> bytes:
        key = self.server.auth_key
        padded = plain + os.urandom(12 + (-(len(plain) + 12) % 16))
        msg_key = hashlib.sha256(key[96:128] + padded).digest()[8:24]
        aes_key, aes_iv = _kdf(key, msg_key, 8)
        encrypted: bytes = AES.encrypt_ige(padded, aes_key, aes_iv)
        return self.server._key_id + msg_key + encrypted

    def _decrypt(self, packet: bytes) -> bytes:
        key = self.server.auth_key
        msg_key = packet[8:24]
        encrypted = packet[24:]
        if len(encrypted) % 16 or len(encrypted) < 48:
            raise _ProtocolError("encrypted payload is not a whole number of AES blocks")
        aes_key, aes_iv = _kdf(key, msg_key, 0)
        plain: bytes = AES.decrypt_ige(encrypted, aes_key, aes_iv)
        if hashlib.sha256(key[88:120] + plain).digest()[8:24] != msg_key:
            raise _ProtocolError("msg_key does not match the decrypted message")
        return plain

    async def _on_packet(self, packet: bytes) -> None:
        if len(packet) < 8:
            raise _ProtocolError(f"short packet {packet.hex()}")
        key_id = packet[:8]
        if key_id == bytes(8):
            raise _ProtocolError("unencrypted message: key exchange is not supported, use session_string()")
        if key_id != self.server._key_id or self.server.reject_auth_key:
            self._write(struct.pack("<i", -404))  # transport error: auth key not found
            await self._drain()
            raise _ProtocolError("unknown auth key, sent -404")
        plain = self._decrypt(packet)
        salt, session_id, msg_id, seq_no, length = struct.unpack_from("<qqqii", plain)
        padding = len(plain) - 32 - length
        if length < 0 or length % 4 or not 12 <= padding <= 1024:
            raise _ProtocolError("bad message length")
        body = plain[32 : 32 + length]

        known = self.server._sessions.get(session_id) or _Session(session_id)
        bad_msg = self._check_msg_id(msg_id)
        if bad_msg:
            self._send_obj(known, types.BadMsgNotification(msg_id, seq_no, bad_msg))
            return
        if self.server.check_salt and salt != self.server.salt:
            self.server.salt_corrections += 1
            self._send_obj(known, types.BadServerSalt(msg_id, seq_no, 48, self.server.salt))
            return
        session, created = self.server._session(session_id)
        self._session = session
        if created:
            self.server.sessions_created += 1
            unique_id = struct.unpack("<q", os.urandom(8))[0]
            notice = types.NewSessionCreated(msg_id, unique_id, self.server.salt)
            self._send_obj(session, notice, response=False)
        try:
            obj = BinaryReader(body).tgread_object()
        except errors.TypeNotFoundError as error:
            logger.warning("unknown constructor %08x from client", error.invalid_constructor_id)
            self._send(
                session,
                struct.pack("<Iq", _RPC_RESULT, msg_id) + bytes(types.RpcError(400, "INPUT_METHOD_INVALID")),
                content_related=True,
                response=True,
            )
            return
        self._dispatch(session, msg_id, seq_no, obj)

    def _check_msg_id(self, msg_id: int) -> int:
        """0 if a client msg_id is acceptable, else the bad_msg_notification error code."""
        delta = (msg_id >> 32) - time.time()
        if delta < -_MSG_TOO_OLD:
            return 16  # msg_id too low
        if delta > _MSG_TOO_NEW:
            return 17  # msg_id too high
        if msg_id % 4:
            return 18  # client msg_ids are divisible by 4
        return 0

    def _dispatch(self, session: _Session, msg_id: int, seq_no: int, obj: Any) -> None:
        if isinstance(obj, MessageContainer):
            for message in obj.messages:
                self._dispatch(session, message.msg_id, message.seq_no, message.obj)
        elif isinstance(obj, GzipPacked):
            self._dispatch(session, msg_id, seq_no, BinaryReader(obj.data).tgread_object())
        elif isinstance(obj, types.MsgsAck | types.HttpWait | types.MsgsStateReq | types.MsgResendReq):
            pass  # nothing to resend: every answer is sent once, right away
        elif isinstance(obj, TLRequest):
            answer = self._service_answer(msg_id, innermost_request(obj))
            if answer is None:
                self._queue.put_nowait((session, msg_id, obj))
            elif answer is obj or not isinstance(obj, _ALL_WRAPPERS):
                self._send_obj(session, answer)  # as Telegram does: pong, future_salts... stand alone
            else:
                # A wrapped service call (e.g. invokeWithoutUpdates(ping)) is answered like any RPC.
                payload = struct.pack("<Iq", _RPC_RESULT, msg_id) + bytes(answer)
                self._send(session, payload, content_related=True, response=True)
        else:
            logger.debug("ignoring %s from client", type(obj).__name__)

    def _service_answer(self, msg_id: int, request: Any) -> Any:
        """The answer to an MTProto service function, or None for an ordinary RPC."""
        if isinstance(request, functions.PingRequest | functions.PingDelayDisconnectRequest):
            self.server.pings += 1
            if isinstance(request, functions.PingDelayDisconnectRequest):
                if self._disconnect_timer is not None:
                    self._disconnect_timer.cancel()
                loop = asyncio.get_running_loop()
                self._disconnect_timer = loop.call_later(request.disconnect_delay, self.abort)
            return types.Pong(msg_id, request.ping_id)
        if isinstance(request, functions.GetFutureSaltsRequest):
            now = int(time.time())
            salts = [types.FutureSalt(_utc(now), _utc(now + 3600), self.server.salt)]
            for i in range(1, max(1, min(request.num, 64))):
                salt = struct.unpack("<q", os.urandom(8))[0]
                salts.append(types.FutureSalt(_utc(now + 3600 * i), _utc(now + 3600 * (i + 1)), salt))
            return types.FutureSalts(msg_id, now, salts)
        if isinstance(request, functions.DestroySessionRequest):
            if self.server._destroy_session(request.session_id):
                return types.DestroySessionOk(request.session_id)
            return types.DestroySessionNone(request.session_id)
        if isinstance(request, functions.RpcDropAnswerRequest):
            return types.RpcAnswerUnknown()
        return None


def _utc(timestamp: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)


# ---------------------------------------------------------------------------------------------------------
# Running in a thread.


class ServerThread:
    """A :class:`LoopbackTelegramServer` on its own event loop in a background thread.

    The methods here are thread-safe; ``server`` itself must only be touched through :meth:`call`.
    """

    def __init__(self, handler: Handler, **kwargs: Any) -> None:
        """Prepare (not start) a threaded server; ``kwargs`` go to :class:`LoopbackTelegramServer`."""
        self._handler = handler
        self._kwargs = kwargs
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._server: LoopbackTelegramServer | None = None
        self.port = 0
        self.host = "127.0.0.1"
        self.session_string = ""

    @property
    def server(self) -> LoopbackTelegramServer:
        """The server object (owned by the background loop)."""
        if self._server is None:
            raise RuntimeError("server thread not started")
        return self._server

    def start(self) -> ServerThread:
        """Start the thread and wait until the server listens."""
        self._thread = threading.Thread(target=self._run, name="loopback-telegram", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise RuntimeError("loopback server failed to start") from self._error
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:
            if not self._ready.is_set():
                self._error = error
                self._ready.set()
            else:
                logger.exception("loopback server thread crashed")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = LoopbackTelegramServer(self._handler, **self._kwargs)
        await server.start()
        self._server = server
        self.port = server.port
        self.host = server.host
        self.session_string = server.session_string()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await server.close()

    def run(self, factory: Callable[[], Coroutine[Any, Any, T]], timeout: float = 30) -> T:
        """Run ``factory()`` (a coroutine) on the server's loop and return its result."""
        if self._loop is None:
            raise RuntimeError("server thread not started")
        return asyncio.run_coroutine_threadsafe(factory(), self._loop).result(timeout)

    def call(self, fn: Callable[[], T], timeout: float = 30) -> T:
        """Run the plain function ``fn()`` on the server's loop and return its result."""

        async def wrapper() -> T:
            return fn()

        return self.run(wrapper, timeout)

    def drop_connections(self) -> int:
        """Thread-safe :meth:`LoopbackTelegramServer.drop_connections`."""
        return self.run(self.server.drop_connections)

    def stop_listening(self) -> None:
        """Thread-safe :meth:`LoopbackTelegramServer.stop_listening`."""
        self.call(self.server.stop_listening)

    def start_listening(self) -> None:
        """Thread-safe :meth:`LoopbackTelegramServer.start_listening`."""
        self.run(self.server.start_listening)

    def pause(self) -> None:
        """Thread-safe :meth:`LoopbackTelegramServer.pause`."""
        self.call(self.server.pause)

    def resume(self) -> None:
        """Thread-safe :meth:`LoopbackTelegramServer.resume`."""
        self.call(self.server.resume)

    def cut_after_response(
        self, predicate: Callable[[Any], bool], *, after_bytes: int = 0, times: int | None = 1
    ) -> CutRule:
        """Thread-safe :meth:`LoopbackTelegramServer.cut_after_response`."""
        server = self.server
        return self.call(lambda: server.cut_after_response(predicate, after_bytes=after_bytes, times=times))

    @property
    def requests(self) -> list[str]:
        """A snapshot of the server's request log."""
        return self.call(lambda: list(self.server.requests))

    @property
    def connections_count(self) -> int:
        """Connections accepted so far."""
        return self.call(lambda: self.server.connections_count)

    def stop(self, timeout: float = 30) -> None:
        """Close the server and join the thread; safe to call twice."""
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError("loopback server thread did not stop")
        self._thread = None

    def __enter__(self) -> ServerThread:
        if self._thread is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
