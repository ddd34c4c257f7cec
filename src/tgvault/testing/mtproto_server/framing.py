"""Transport framing: the MTProto TCP transports Telethon offers (full, intermediate, padded intermediate,
abridged, and their obfuscated forms), told apart by a connection's first bytes."""

from __future__ import annotations

import asyncio
import os
import struct
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from telethon.crypto import AESModeCTR

from tgvault.testing.mtproto_server.protocol import ProtocolError

__all__ = ["Framing", "Intermediate", "Read", "detect_transport"]

_MAX_PACKET = 32 * 1024 * 1024

Read = Callable[[int], Awaitable[bytes]]


class Framing:
    """Packet framing of one MTProto TCP transport."""

    name = "?"

    async def read_packet(self, read: Read) -> bytes:
        """The next packet's payload, read with ``read(n)``."""
        raise NotImplementedError

    def encode_packet(self, payload: bytes) -> bytes:
        """``payload`` framed as one packet."""
        raise NotImplementedError


class _Full(Framing):
    name = "full"

    def __init__(self, first_header: bytes) -> None:
        self._pending = first_header
        self._recv_seq = 0
        self._send_seq = 0

    async def read_packet(self, read: Read) -> bytes:
        head, self._pending = (self._pending or await read(8)), b""
        length, seq = struct.unpack("<ii", head)
        if not 12 <= length <= _MAX_PACKET:
            raise ProtocolError(f"bad full-transport length {length}")
        rest = await read(length - 8)
        body, (checksum,) = rest[:-4], struct.unpack("<I", rest[-4:])
        if zlib.crc32(head + body) != checksum:
            raise ProtocolError("bad crc32")
        if seq != self._recv_seq:
            raise ProtocolError(f"transport seq {seq}, expected {self._recv_seq}")
        self._recv_seq += 1
        return body

    def encode_packet(self, payload: bytes) -> bytes:
        data = struct.pack("<ii", len(payload) + 12, self._send_seq) + payload
        self._send_seq += 1
        return data + struct.pack("<I", zlib.crc32(data))


class Intermediate(Framing):
    """The intermediate transport: a 4-byte length before each packet."""

    name = "intermediate"

    async def read_packet(self, read: Read) -> bytes:
        (length,) = struct.unpack("<I", await read(4))
        length &= 0x7FFFFFFF  # the top bit asks for a quick ack, which we do not send
        if length > _MAX_PACKET:
            raise ProtocolError(f"bad intermediate length {length}")
        return await read(length)

    def encode_packet(self, payload: bytes) -> bytes:
        return struct.pack("<i", len(payload)) + payload


class _PaddedIntermediate(Intermediate):
    name = "padded-intermediate"

    async def read_packet(self, read: Read) -> bytes:
        packet = await super().read_packet(read)
        extra = len(packet) % 4  # 0-3 random bytes appended by the sender
        return packet[: len(packet) - extra]

    def encode_packet(self, payload: bytes) -> bytes:
        return super().encode_packet(payload + os.urandom(int.from_bytes(os.urandom(1), "little") % 4))


class _Abridged(Framing):
    name = "abridged"

    async def read_packet(self, read: Read) -> bytes:
        length = (await read(1))[0] & 0x7F
        if length == 0x7F:
            length = int.from_bytes(await read(3), "little")
        if length << 2 > _MAX_PACKET:
            raise ProtocolError("abridged packet too long")
        return await read(length << 2)

    def encode_packet(self, payload: bytes) -> bytes:
        words = len(payload) >> 2
        head = bytes([words]) if words < 0x7F else b"\x7f" + words.to_bytes(3, "little")
        return head + payload


_TAGGED: dict[bytes, type[Framing]] = {
    b"\xef\xef\xef\xef": _Abridged,
    b"\xee\xee\xee\xee": Intermediate,
    b"\xdd\xdd\xdd\xdd": _PaddedIntermediate,
}


async def detect_transport(reader: asyncio.StreamReader) -> tuple[Framing, Any, Any]:
    """The framing a new connection uses, told by its first bytes, with the ``(decryptor, encryptor)`` of
    an obfuscated stream (``None`` for plain transports)."""
    first = await reader.readexactly(1)
    if first == b"\xef":
        return _Abridged(), None, None
    head = first + await reader.readexactly(3)
    if head in (b"\xee\xee\xee\xee", b"\xdd\xdd\xdd\xdd"):
        return _TAGGED[head](), None, None
    head += await reader.readexactly(4)
    if head[4:8] == b"\0\0\0\0":  # a full-transport packet starts with its length and seq_no 0
        return _Full(head), None, None
    header = head + await reader.readexactly(56)  # obfuscated2: 64 random bytes
    reverse = header[55:7:-1]
    decryptor = AESModeCTR(bytes(header[8:40]), bytes(header[40:56]))
    encryptor = AESModeCTR(bytes(reverse[:32]), bytes(reverse[32:48]))
    tag = decryptor.encrypt(header)[56:60]
    framing = _TAGGED.get(tag)
    if framing is None:
        raise ProtocolError(f"unknown transport (obfuscated tag {tag.hex()})")
    detected = framing()
    detected.name = f"obfuscated-{detected.name}"
    return detected, decryptor, encryptor
