"""One client connection of the loopback server: its transport, decryption, dispatch of what the client
sends (containers, gzip, acks, service calls) and an in-order worker that answers RPCs."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import socket
import struct
import time
from typing import Any

from telethon import errors
from telethon.extensions import BinaryReader
from telethon.tl import functions, types
from telethon.tl.core import GzipPacked, MessageContainer
from telethon.tl.tlobject import TLRequest

from tgvault.testing.mtproto_server.crypto import decrypt_message, encrypt_message
from tgvault.testing.mtproto_server.faults import CutRule
from tgvault.testing.mtproto_server.framing import Framing, Intermediate, detect_transport
from tgvault.testing.mtproto_server.protocol import ProtocolError
from tgvault.testing.mtproto_server.rpc import ALL_WRAPPERS, innermost_request
from tgvault.testing.mtproto_server.sessions import Session, check_msg_id
from tgvault.testing.mtproto_server.state import ServerState

__all__ = ["Connection"]

logger = logging.getLogger(__name__)

_RPC_RESULT = 0xF35C6D01


class Connection:
    """One client TCP connection: transport detection, decryption, dispatch and an in-order RPC worker."""

    def __init__(
        self, server: ServerState, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """A connection of ``server`` on the accepted stream ``reader``/``writer``."""
        self.server = server
        self.reader = reader
        self.writer = writer
        self.framing: Framing = Intermediate()
        self._decryptor: Any = None
        self._encryptor: Any = None
        self._queue: asyncio.Queue[tuple[Session, int, Any]] = asyncio.Queue()
        self._closed = False
        self._disconnect_timer: asyncio.TimerHandle | None = None
        self._session: Session | None = None

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

    # -- main loops ----------------------------------------------------------------------------------------

    async def serve(self) -> None:
        """Serve the client until the stream ends (EOF, reset, :meth:`abort`), then close."""
        worker: asyncio.Task[None] | None = None
        try:
            self.framing, self._decryptor, self._encryptor = await detect_transport(self.reader)
            self.server.transports.append(self.framing.name)
            worker = asyncio.create_task(self._work())
            while True:  # ends when the stream does (EOF, reset, abort())
                packet = await self.framing.read_packet(self._read)
                await self.server.pause_switch.wait()
                if not self._closed:  # after a cut, read on until the client hangs up
                    await self._on_packet(packet)
                    await self._drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as error:
            logger.debug("client connection ended: %r", error)
        except ProtocolError as error:
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
                await self.server.pause_switch.wait()
                body = await self.server.invoke(request)
                await self.server.pause_switch.wait()
                if self._closed:
                    return
                cut = self.server.cut_rules.take(request)
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
        session: Session,
        body: bytes,
        *,
        content_related: bool,
        response: bool,
        cut: CutRule | None = None,
    ) -> bytes | None:
        msg_id = self.server.msg_ids.next(response)
        seq_no = session.next_seq_no(content_related)
        plain = struct.pack("<qqqii", self.server.salt, session.session_id, msg_id, seq_no, len(body)) + body
        return self._write(encrypt_message(self.server.auth_key, self.server.key_id, plain), cut)

    def _send_obj(self, session: Session, obj: Any, *, response: bool = True) -> None:
        self._send(session, bytes(obj), content_related=True, response=response)

    async def _on_packet(self, packet: bytes) -> None:
        if len(packet) < 8:
            raise ProtocolError(f"short packet {packet.hex()}")
        key_id = packet[:8]
        if key_id == bytes(8):
            raise ProtocolError("unencrypted message: key exchange is not supported, use session_string()")
        if key_id != self.server.key_id or self.server.reject_auth_key:
            self._write(struct.pack("<i", -404))  # transport error: auth key not found
            await self._drain()
            raise ProtocolError("unknown auth key, sent -404")
        plain = decrypt_message(self.server.auth_key, packet)
        salt, session_id, msg_id, seq_no, length = struct.unpack_from("<qqqii", plain)
        padding = len(plain) - 32 - length
        if length < 0 or length % 4 or not 12 <= padding <= 1024:
            raise ProtocolError("bad message length")
        body = plain[32 : 32 + length]

        known = self.server.sessions.get(session_id) or Session(session_id)
        bad_msg = check_msg_id(msg_id)
        if bad_msg:
            self._send_obj(known, types.BadMsgNotification(msg_id, seq_no, bad_msg))
            return
        if self.server.check_salt and salt != self.server.salt:
            self.server.salt_corrections += 1
            self._send_obj(known, types.BadServerSalt(msg_id, seq_no, 48, self.server.salt))
            return
        session, created = self.server.sessions.open(session_id)
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

    def _dispatch(self, session: Session, msg_id: int, seq_no: int, obj: Any) -> None:
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
            elif answer is obj or not isinstance(obj, ALL_WRAPPERS):
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
            if self.server.sessions.destroy(request.session_id):
                return types.DestroySessionOk(request.session_id)
            return types.DestroySessionNone(request.session_id)
        if isinstance(request, functions.RpcDropAnswerRequest):
            return types.RpcAnswerUnknown()
        return None


def _utc(timestamp: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
