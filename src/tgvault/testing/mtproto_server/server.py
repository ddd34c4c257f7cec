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
import ipaddress
import logging
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

from telethon.crypto import AuthKey
from telethon.sessions import StringSession
from telethon.tl import types

from tgvault.testing.mtproto_server.connection import Connection
from tgvault.testing.mtproto_server.faults import CutRule
from tgvault.testing.mtproto_server.rpc import Handler
from tgvault.testing.mtproto_server.state import ServerState

__all__ = ["LoopbackTelegramServer", "ServerThread"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class LoopbackTelegramServer(ServerState):
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
        super().__init__(handler, auth_key=auth_key, check_salt=check_salt, gzip_responses=gzip_responses)
        self.dc_id = dc_id
        self.host = host
        self._requested_port = port
        self._listener: asyncio.Server | None = None
        self._old_listeners: list[asyncio.Server] = []
        self._started = False
        self._port: int | None = None
        self._connections: dict[Connection, asyncio.Task[Any]] = {}

    # -- lifecycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening; afterwards ``port`` and ``session_string()`` are available."""
        if self._started:
            raise RuntimeError("server already started")
        self._started = True
        self.pause_switch.start()
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

    def session_string(self) -> str:
        """A Telethon ``StringSession`` string: dc ``dc_id``, this host and port, the pre-shared key."""
        session = StringSession()
        session.set_dc(self.dc_id, self.host, self.port)
        session.auth_key = AuthKey(self.auth_key)
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
        self.pause_switch.pause()

    def resume(self) -> None:
        """Undo ``pause()``."""
        self.pause_switch.resume()

    @property
    def paused(self) -> bool:
        """True between ``pause()`` and ``resume()``."""
        return self.pause_switch.paused

    def cut_after_response(
        self, predicate: Callable[[Any], bool], *, after_bytes: int = 0, times: int | None = 1
    ) -> CutRule:
        """Cut the connection after ``after_bytes`` bytes of the response to a request matching ``predicate``.

        ``predicate`` receives the innermost request (e.g. an ``upload.GetFileRequest``). The rule applies
        ``times`` times (``None``: always). Returns the rule; its ``fired`` attribute counts the cuts.
        """
        return self.cut_rules.add(CutRule(predicate, max(0, after_bytes), times))

    def clear_faults(self) -> None:
        """Forget every cut rule, resume if paused, accept auth keys again (listening is left as is)."""
        self.cut_rules.clear()
        self.reject_auth_key = False
        self.resume()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections_count += 1
        connection = Connection(self, reader, writer)
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
