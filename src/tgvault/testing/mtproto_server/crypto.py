"""Message encryption with the pre-shared auth key: MTProto 2.0's msg_key, key derivation and AES-IGE."""

from __future__ import annotations

import hashlib
import os

from telethon.crypto import AES

from tgvault.testing.mtproto_server.protocol import ProtocolError

__all__ = ["decrypt_message", "encrypt_message"]


def _kdf(auth_key: bytes, msg_key: bytes, x: int) -> tuple[bytes, bytes]:
    """MTProto 2.0 AES key and IV for a message (x=0 client to server, x=8 server to client)."""
    a = hashlib.sha256(msg_key + auth_key[x : x + 36]).digest()
    b = hashlib.sha256(auth_key[40 + x : 76 + x] + msg_key).digest()
    return a[:8] + b[8:24] + a[24:32], b[:8] + a[8:24] + b[24:32]


def encrypt_message(auth_key: bytes, key_id: bytes, plain: bytes) -> bytes:
    """A server-to-client packet: ``key_id``, ``msg_key`` and ``plain`` (padded) encrypted."""
    padded = plain + os.urandom(12 + (-(len(plain) + 12) % 16))
    msg_key = hashlib.sha256(auth_key[96:128] + padded).digest()[8:24]
    aes_key, aes_iv = _kdf(auth_key, msg_key, 8)
    encrypted: bytes = AES.encrypt_ige(padded, aes_key, aes_iv)
    return key_id + msg_key + encrypted


def decrypt_message(auth_key: bytes, packet: bytes) -> bytes:
    """The plain (still padded) message of a client-to-server packet, its ``msg_key`` checked."""
    msg_key = packet[8:24]
    encrypted = packet[24:]
    if len(encrypted) % 16 or len(encrypted) < 48:
        raise ProtocolError("encrypted payload is not a whole number of AES blocks")
    aes_key, aes_iv = _kdf(auth_key, msg_key, 0)
    plain: bytes = AES.decrypt_ige(encrypted, aes_key, aes_iv)
    if hashlib.sha256(auth_key[88:120] + plain).digest()[8:24] != msg_key:
        raise ProtocolError("msg_key does not match the decrypted message")
    return plain
