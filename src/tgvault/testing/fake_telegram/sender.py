"""The in-process sender seam: :class:`FakeSender` stands in for Telethon's ``MTProtoSender``."""

from __future__ import annotations

import asyncio
from typing import Any

from telethon import errors
from telethon.crypto import AuthKey
from telethon.extensions import BinaryReader
from telethon.tl import types

from tgvault.testing.fake_telegram.rpc import TL, serialize_result
from tgvault.testing.fake_telegram.telegram import FakeTelegram

__all__ = ["FakeSender"]

_OWN_UPDATES: Any = (
    types.Updates,
    types.UpdatesCombined,
    types.UpdateShort,
    types.UpdateShortMessage,
    types.UpdateShortChatMessage,
    types.UpdateShortSentMessage,
)


class FakeSender:
    """An in-process stand-in for Telethon's ``MTProtoSender`` (``TelegramClient._sender``).

    Each request is serialized to bytes and parsed back before :meth:`FakeTelegram.handle` sees it, and each
    answer is serialized and read with the request's own ``read_result`` — exactly what crosses a socket —
    so the client gets fresh objects and malformed fakes fail loudly. Telegram errors are re-raised as the
    same Telethon exception class, carrying the client's original request.
    """

    def __init__(self, world: FakeTelegram, *, auth_key: TL = None, updates_queue: TL = None) -> None:
        """Serve ``world``; ``updates_queue`` is the client's, for updates that come back as answers."""
        self.world = world
        self.auth_key = auth_key if auth_key is not None else AuthKey(world.auth_key)
        self.dc_id = world.dc_id
        self._updates_queue = updates_queue
        self._connection: TL = None
        self._user_connected = False
        self._disconnected_future: asyncio.Future[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending: set[asyncio.Future[Any]] = set()
        world.subscribe(self._pushed)

    def _pushed(self, updates: TL) -> None:
        """An update the world pushes reaches the client as one read from the socket would."""
        if self._user_connected and self._updates_queue is not None:
            self._updates_queue.put_nowait(BinaryReader(bytes(updates)).tgread_object())

    async def connect(self, connection: TL) -> bool:
        """Mark connected (the connection object is kept but never opened); ``False`` if already connected."""
        if self._user_connected:
            return False
        self._connection = connection
        self._user_connected = True
        self._disconnected_future = asyncio.get_running_loop().create_future()
        return True

    def is_connected(self) -> bool:
        """Whether the user connected and has not disconnected."""
        return self._user_connected

    def _transport_connected(self) -> bool:
        return self._user_connected

    def _keepalive_ping(self, rnd_id: int) -> None:
        if not self._user_connected:
            raise ConnectionError("Cannot send requests while disconnected")

    async def disconnect(self) -> None:
        """Cancel requests in flight and resolve :attr:`disconnected`."""
        if not self._user_connected:
            return
        self._user_connected = False
        for future in list(self._pending):
            future.cancel()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._disconnected_future is not None and not self._disconnected_future.done():
            self._disconnected_future.set_result(None)

    @property
    def disconnected(self) -> asyncio.Future[None]:
        """A real future that resolves when the sender disconnects (shielded, like Telethon's)."""
        if self._disconnected_future is None:
            self._disconnected_future = asyncio.get_running_loop().create_future()
            self._disconnected_future.set_result(None)
        return asyncio.shield(self._disconnected_future)

    def send(self, request: TL, ordered: bool = False) -> TL:
        """Queue a request (or a list of them, answered in order); returns a future (or a list of them)."""
        if not self._user_connected:
            raise ConnectionError("Cannot send requests while disconnected")
        single = not isinstance(request, list | tuple)
        requests = [request] if single else list(request)
        loop = asyncio.get_running_loop()
        items = []
        for item in requests:
            payload = bytes(item)  # struct errors surface here, as in the real sender
            future: asyncio.Future[Any] = loop.create_future()
            self._pending.add(future)
            future.add_done_callback(self._pending.discard)
            items.append((item, payload, future))
        task = loop.create_task(self._serve(items))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        futures = [future for _, _, future in items]
        return futures[0] if single else futures

    async def _serve(self, items: list[tuple[TL, bytes, asyncio.Future[Any]]]) -> None:
        for request, payload, future in items:
            if future.done():
                continue
            try:
                value = await self._answer(request, payload)
            except asyncio.CancelledError:
                if not future.done():
                    future.cancel()
                raise
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(value)

    async def _answer(self, request: TL, payload: bytes) -> TL:
        with BinaryReader(payload) as reader:
            received = reader.tgread_object()
        try:
            result = await self.world.handle(received)
        except errors.RPCError as exc:
            cls, args = exc.__reduce__()[:2]
            raise cls(request, *args[1:]) from None
        with BinaryReader(serialize_result(result)) as reader:
            value = request.read_result(reader)
        if self._updates_queue is not None and isinstance(value, _OWN_UPDATES):
            value._self_outgoing = True
            self._updates_queue.put_nowait(value)
        return value
