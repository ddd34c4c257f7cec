"""A fake Telegram: server state that answers real TL requests with real TL objects, and an in-process sender.

:class:`FakeTelegram` holds channels, their messages (real ``telethon.tl.types.Message`` objects) and the
contents of their files, and answers requests with Telegram's semantics in :meth:`FakeTelegram.handle`. It
knows nothing about transports: :class:`FakeSender` plugs it into a real ``TelegramClient`` in-process
(requests and answers still go through TL serialization), and ``tgvault.testing.mtproto_server`` serves the
same ``handle`` over a loopback MTProto socket.

Typical use::

    world = FakeTelegram()
    channel = build_realistic_channel(world, 250, seed=1)
    async with fake_client(world) as client:          # a real, connected TelegramClient
        posts = [m async for m in client.iter_messages(channel.username, wait_time=0)]
    assert world.count(functions.messages.GetHistoryRequest) == 3

Faults are plain method calls on the world (:meth:`FakeTelegram.flood_wait`, :meth:`~FakeTelegram.fail_next`,
:meth:`~FakeTelegram.vanish_channel`, :meth:`~FakeTelegram.expire_file_reference`,
:meth:`~FakeTelegram.edit_message`, :meth:`~FakeTelegram.delete_messages`, ...).

By default the account is already logged in. :meth:`FakeTelegram.require_login` logs it out: requests that
need an account answer ``AUTH_KEY_UNREGISTERED`` until ``auth.sendCode`` + ``auth.signIn`` (and, with a
2FA password, ``account.getPassword`` + ``auth.checkPassword`` with real SRP) sign in again.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import functools
import hashlib
import hmac
import itertools
import re
import secrets
import struct
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from telethon import TelegramClient, errors
from telethon.crypto import AuthKey
from telethon.extensions import BinaryReader
from telethon.sessions import StringSession
from telethon.tl import functions, types

__all__ = [
    "DEFAULT_LOGIN_CODE",
    "DEFAULT_NOW",
    "FAKE_API_HASH",
    "FAKE_API_ID",
    "FAKE_AUTH_KEY",
    "SESSION_DC_ID",
    "FakeChannel",
    "FakeFile",
    "FakeSender",
    "FakeTelegram",
    "UnsupportedRequestError",
    "connect_fake_client",
    "fake_client",
    "media_objects",
    "rpc_error",
    "serialize_result",
]

TL = Any
"""A Telethon TL object (Telethon ships no type hints)."""

SESSION_DC_ID = 2
"""The data center every fake session lives in; all fake media carries this ``dc_id``."""

FAKE_API_ID = 20_250_101
FAKE_API_HASH = "7467766175c7466616b65617069686173"
FAKE_AUTH_KEY = hashlib.shake_256(b"tgvault fake telegram auth key").digest(256)
"""The pre-shared 256-byte auth key fake sessions carry."""

DEFAULT_NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
"""The fake world's clock starts here (deterministic; advance it with :meth:`FakeTelegram.advance`)."""

DEFAULT_LOGIN_CODE = "12345"
"""The login code the fake "sends" to the account's other apps (see :meth:`FakeTelegram.require_login`)."""

_MIB = 1024 * 1024
_BLOCK = 64 * 1024
_VECTOR = 0x1CB5C415
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_REFERENCE = struct.Struct("<qIq4x")  # media id, generation, access hash, padding: 28 bytes after 0x02
_USERNAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{3,30}[a-zA-Z0-9]$")
_WRAPPERS: Any = (
    functions.InvokeWithLayerRequest,
    functions.InitConnectionRequest,
    functions.InvokeWithoutUpdatesRequest,
    functions.InvokeAfterMsgRequest,
    functions.InvokeWithTakeoutRequest,
)
_OWN_UPDATES: Any = (
    types.Updates,
    types.UpdatesCombined,
    types.UpdateShort,
    types.UpdateShortMessage,
    types.UpdateShortChatMessage,
    types.UpdateShortSentMessage,
)
_MAGIC: dict[str, bytes] = {
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/gif": b"GIF89a",
    "image/webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    "video/mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
    "video/quicktime": b"\x00\x00\x00\x14ftypqt  ",
    "audio/ogg": b"OggS\x00\x02\x00\x00",
    "audio/mpeg": b"ID3\x04\x00\x00\x00\x00",
    "application/pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    "application/zip": b"PK\x03\x04",
}
_STORAGE_TYPES: dict[str, Callable[[], TL]] = {
    "image/jpeg": types.storage.FileJpeg,
    "image/png": types.storage.FilePng,
    "image/gif": types.storage.FileGif,
    "image/webp": types.storage.FileWebp,
    "video/mp4": types.storage.FileMp4,
    "video/quicktime": types.storage.FileMov,
    "audio/mpeg": types.storage.FileMp3,
    "application/pdf": types.storage.FilePdf,
}


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


def _hash64(*parts: object) -> int:
    """A deterministic signed 64-bit number (access hashes, ids) from ``parts``."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def _mix64(value: int) -> int:
    """A cheap deterministic signed 64-bit scramble of ``value`` (splitmix64's finalizer)."""
    z = (value + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    z ^= z >> 31
    return z - (1 << 64) if z >= 1 << 63 else z


def _unwrap(request: TL) -> TL:
    while isinstance(request, _WRAPPERS):
        request = request.query
    return request


def _utc(value: datetime | None) -> datetime | None:
    """``None`` for a missing date (Telethon sends ``None`` as the epoch)."""
    if value is None or value <= _EPOCH:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _generate(seed: int, key: str, size: int, header: bytes, offset: int, limit: int) -> bytes:
    """Bytes ``[offset, offset + limit)`` of a deterministic pseudo-random file of ``size`` bytes."""
    end = min(size, offset + limit)
    if offset >= end:
        return b""
    first, last = offset // _BLOCK, (end - 1) // _BLOCK
    prefix = f"{seed}:{key}:".encode()
    blob = b"".join(
        hashlib.shake_256(prefix + str(block).encode()).digest(_BLOCK) for block in range(first, last + 1)
    )
    data = blob[offset - first * _BLOCK : end - first * _BLOCK]
    if offset < len(header):
        head = header[offset : min(len(header), end)]
        data = head + data[len(head) :]
    return data


@dataclass(eq=False, slots=True)
class FakeFile:
    """The contents of one photo or document, generated lazily from a seed (or given explicitly).

    ``sizes`` maps a location's ``thumb_size`` to its byte length: ``""`` is a document itself, ``"m"``,
    ``"x"``, ``"y"``... are photo sizes and document thumbnails. ``main`` is what ``download_media`` fetches
    by default. File references have generations: only generations ``>= valid_from`` are accepted.
    """

    id: int
    access_hash: int
    kind: str  # "photo" or "document"
    mime_type: str
    date: datetime
    sizes: dict[str, int]
    main: str
    seed: int
    dc_id: int = SESSION_DC_ID
    data: dict[str, bytes] | None = None
    generation: int = 0
    valid_from: int = 0
    needs_new_reference: bool = False

    def reference_for(self, generation: int) -> bytes:
        """The file reference handed out in the given generation (29 opaque-looking bytes, like real ones)."""
        return b"\x02" + _REFERENCE.pack(self.id, generation, self.access_hash)

    @property
    def file_reference(self) -> bytes:
        """The current file reference."""
        return self.reference_for(self.generation)

    def reference_state(self, reference: bytes) -> str:
        """``"valid"``, ``"expired"`` (issued once, no longer accepted) or ``"invalid"`` (never issued)."""
        if len(reference) != 1 + _REFERENCE.size or reference[0] != 2:
            return "invalid"
        media_id, generation, access_hash = _REFERENCE.unpack(reference[1:])
        if media_id != self.id or access_hash != self.access_hash or not 0 <= generation <= self.generation:
            return "invalid"
        return "valid" if generation >= self.valid_from else "expired"

    def rotate_reference(self, *, invalidate_older: bool) -> None:
        """Issue a new file reference (a message carrying this file was read again)."""
        self.generation += 1
        self.needs_new_reference = False
        if invalidate_older:
            self.valid_from = self.generation

    def read(self, thumb_size: str, offset: int, limit: int) -> bytes:
        """Bytes ``[offset, offset + limit)`` of the given size (``""`` = the document itself)."""
        if self.data is not None and thumb_size in self.data:
            return self.data[thumb_size][offset : offset + limit]
        size = self.sizes[thumb_size]
        mime = "image/jpeg" if self.kind == "photo" or thumb_size else self.mime_type
        return _generate(self.seed, thumb_size, size, _MAGIC.get(mime, b""), offset, limit)

    def content(self, thumb_size: str | None = None) -> bytes:
        """The whole content of a size (default: :attr:`main`, what ``download_media`` fetches)."""
        key = self.main if thumb_size is None else thumb_size
        return self.read(key, 0, self.sizes[key])

    def storage_type(self, thumb_size: str) -> TL:
        """The ``storage.FileType`` Telegram reports in ``upload.File``."""
        mime = "image/jpeg" if self.kind == "photo" or thumb_size else self.mime_type
        return _STORAGE_TYPES.get(mime, types.storage.FileUnknown)()


_STRIPPED_TAIL = hashlib.shake_256(b"stripped").digest(40)
_STRIPPED_PHOTO = types.PhotoStrippedSize("i", b"\x01\x28\x1e" + _STRIPPED_TAIL)
_STRIPPED_THUMB = types.PhotoStrippedSize("i", b"\x01\x16\x28" + _STRIPPED_TAIL)
_PHOTO_STEPS = (("m", 320), ("x", 800), ("y", 1280), ("w", 2560))


@functools.lru_cache(maxsize=256)
def _photo_layout(w: int, h: int) -> tuple[tuple[str, int, int], ...]:
    """Telegram's photo sizes for a ``w`` x ``h`` photo: ``(type, width, height)``, largest last."""
    scale = max(w, h, 1)
    layout = [(kind, w * px // scale, h * px // scale) for kind, px in _PHOTO_STEPS if px < scale]
    main = next((kind for kind, px in _PHOTO_STEPS if px >= scale), "w")
    return (*layout, (main, w, h))


@dataclass(eq=False)
class FakeChannel:
    """A broadcast channel of the fake world: its metadata, messages (real TL objects) and file contents."""

    id: int
    access_hash: int
    username: str | None
    title: str
    about: str = ""
    participants_count: int = 1000
    date: datetime = datetime(2016, 1, 1, tzinfo=UTC)
    signatures: bool = False
    dc_id: int = SESSION_DC_ID
    messages: dict[int, TL] = field(default_factory=dict)
    files: dict[int, FakeFile] = field(default_factory=dict)
    related_chats: dict[int, TL] = field(default_factory=dict)
    """Other chats (TL ``Channel`` objects) referenced by this channel's posts, e.g. forward sources."""
    related_users: dict[int, TL] = field(default_factory=dict)
    """Users (TL ``User`` objects) referenced by this channel's posts, e.g. forward sources."""
    pts: int = 1
    pinned_msg_id: int | None = None
    vanished: bool = False
    deleted_ids: set[int] = field(default_factory=set)
    _ids: list[int] = field(default_factory=list, repr=False)
    _max_id: int = field(default=0, repr=False)
    _media_counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    # -- ids and messages ------------------------------------------------------------------------------

    @property
    def ids(self) -> list[int]:
        """Ids of the messages currently in the channel, ascending (a copy)."""
        return list(self._ids)

    @property
    def top_id(self) -> int:
        """The highest message id ever used (deleted ones count, as on Telegram)."""
        return self._max_id

    def next_id(self) -> int:
        """The id the next post will get."""
        return self.top_id + 1

    @property
    def last_date(self) -> datetime:
        """Date of the newest message (the channel's creation date when empty)."""
        return self.messages[self._ids[-1]].date if self._ids else self.date

    def add_message(self, message: TL) -> TL:
        """Store a ``Message``/``MessageService`` (its ``peer_id`` must be this channel); returns it."""
        peer = message.peer_id
        if not isinstance(peer, types.PeerChannel) or peer.channel_id != self.id:
            raise ValueError(f"message {message.id} belongs to {peer!r}, not to channel {self.id}")
        if message.id <= 0:
            raise ValueError("message ids start at 1")
        if message.id not in self.messages:
            if not self._ids or message.id > self._ids[-1]:
                self._ids.append(message.id)
            else:
                bisect.insort(self._ids, message.id)
        self.messages[message.id] = message
        self._max_id = max(self._max_id, message.id)
        self.deleted_ids.discard(message.id)
        self.pts += 1
        return message

    def remove_message(self, msg_id: int) -> TL | None:
        """Delete one message (no-op when absent); returns what was removed."""
        message = self.messages.pop(msg_id, None)
        if message is not None:
            del self._ids[bisect.bisect_left(self._ids, msg_id)]
            self.deleted_ids.add(msg_id)
            self.pts += 1
        return message

    # -- TL views --------------------------------------------------------------------------------------

    @property
    def peer(self) -> TL:
        """``PeerChannel`` of this channel."""
        return types.PeerChannel(self.id)

    @property
    def input_peer(self) -> TL:
        """``InputPeerChannel`` with the channel's access hash."""
        return types.InputPeerChannel(self.id, self.access_hash)

    @property
    def input_channel(self) -> TL:
        """``InputChannel`` with the channel's access hash."""
        return types.InputChannel(self.id, self.access_hash)

    def to_tl(self) -> TL:
        """The ``types.Channel`` Telegram would send for this channel now."""
        return types.Channel(
            id=self.id,
            title=self.title,
            photo=types.ChatPhotoEmpty(),
            date=self.date,
            broadcast=True,
            signatures=self.signatures,
            access_hash=self.access_hash,
            username=self.username,
            participants_count=self.participants_count,
        )

    # -- media -----------------------------------------------------------------------------------------

    def _new_media_id(self) -> int:
        return 6_100_000_000_000_000_000 + (self.id % 10**8) * 10**9 + next(self._media_counter)

    def new_photo(
        self,
        *,
        size: int = 48_000,
        w: int = 1280,
        h: int = 960,
        seed: int = 0,
        date: datetime | None = None,
        progressive: bool = False,
        data: bytes | None = None,
    ) -> TL:
        """Register a photo whose largest size has ``size`` bytes (or exactly ``data``); returns a ``Photo``.

        Sizes are like Telegram's: a stripped ``i`` preview, ``m`` (320 px), ``x`` (800 px) and, for large
        photos, the largest as ``y`` (a ``PhotoSizeProgressive`` when ``progressive``).
        """
        media_id = self._new_media_id()
        size = len(data) if data is not None else max(16, size)
        layout = _photo_layout(w, h)
        thumbs: list[TL] = [_STRIPPED_PHOTO]
        sizes: dict[str, int] = {}
        last = len(layout) - 1
        for index, (kind, sw, sh) in enumerate(layout):
            byte_size = size if index == last else max(8, size * (index + 1) // (len(layout) * 4))
            sizes[kind] = byte_size
            if index == last and progressive:
                steps = [byte_size * k // 5 for k in (1, 2, 3, 4)] + [byte_size]
                thumbs.append(types.PhotoSizeProgressive(kind, sw, sh, steps))
            else:
                thumbs.append(types.PhotoSize(kind, sw, sh, byte_size))
        main = layout[-1][0]
        file = FakeFile(
            id=media_id,
            access_hash=_mix64(media_id),
            kind="photo",
            mime_type="image/jpeg",
            date=date or self.last_date,
            sizes=sizes,
            main=main,
            seed=seed,
            dc_id=self.dc_id,
            data={main: data} if data is not None else None,
        )
        self.files[media_id] = file
        return types.Photo(
            id=media_id,
            access_hash=file.access_hash,
            file_reference=file.file_reference,
            date=file.date,
            sizes=thumbs,
            dc_id=self.dc_id,
            has_stickers=False,
            video_sizes=[],
        )

    def new_document(
        self,
        *,
        mime_type: str,
        size: int,
        attributes: Iterable[TL] = (),
        seed: int = 0,
        date: datetime | None = None,
        thumb: bool = False,
        data: bytes | None = None,
    ) -> TL:
        """Register a document of ``size`` bytes (or exactly ``data``); returns ``types.Document``.

        With ``thumb``, it gets a stripped preview and a 320 px ``m`` JPEG thumbnail, like videos and PDFs.
        """
        media_id = self._new_media_id()
        size = len(data) if data is not None else max(1, size)
        sizes = {"": size}
        thumbs: list[TL] | None = None
        if thumb:
            thumb_size = 2_000 + seed % 6_000
            sizes["m"] = thumb_size
            thumbs = [_STRIPPED_THUMB, types.PhotoSize("m", 320, 180, thumb_size)]
        file = FakeFile(
            id=media_id,
            access_hash=_mix64(media_id ^ 0x5A5A),
            kind="document",
            mime_type=mime_type,
            date=date or self.last_date,
            sizes=sizes,
            main="",
            seed=seed,
            dc_id=self.dc_id,
            data={"": data} if data is not None else None,
        )
        self.files[media_id] = file
        return types.Document(
            id=media_id,
            access_hash=file.access_hash,
            file_reference=file.file_reference,
            date=file.date,
            mime_type=mime_type,
            size=size,
            dc_id=self.dc_id,
            attributes=list(attributes),
            thumbs=thumbs,
            video_thumbs=None,
        )


def media_objects(media: TL) -> Iterator[TL]:
    """The ``Photo``/``Document`` objects carried by a ``MessageMedia`` (including web page previews)."""
    if media is None:
        return
    for name in ("photo", "document", "video_cover"):
        value = getattr(media, name, None)
        if isinstance(value, types.Photo | types.Document):
            yield value
    for value in getattr(media, "alt_documents", None) or ():
        if isinstance(value, types.Document):
            yield value
    webpage = getattr(media, "webpage", None)
    if isinstance(webpage, types.WebPage):
        yield from media_objects(webpage)


# -- two-step verification (SRP) ----------------------------------------------------------------------------
#
# The server side of Telegram's SRP-2048 password check (https://core.telegram.org/api/srp), written from
# the spec: the account stores only the verifier v = g^x mod p, where x = PH2(password, salt1, salt2);
# account.getPassword hands out B = k*v + g^b with a fresh b per srp_id, and auth.checkPassword recomputes
# S = (A * v^u)^b, K = H(S) and M1 = H(H(p) xor H(g) | H(salt1) | H(salt2) | A | B | K).

_SRP_P = int(
    "C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F"
    "48198A0AA7C14058229493D22530F4DBFA336F6E0AC925139543AED44CCE7C37"
    "20FD51F69458705AC68CD4FE6B6B13ABDC9746512969328454F18FAF8C595F64"
    "2477FE96BB2A941D5BCD1D4AC8CC49880708FA9B378E3C4F3A9060BEE67CF9A4"
    "A4A695811051907E162753B56B0F6B410DBA74D8A84B2A14B3144E0EF1284754"
    "FD17ED950D5965B4B9DD46582DB1178D169C6BC465B0D6FF9CA3928FEF5B9AE4"
    "E418FC15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850CE929851F"
    "0D8115F635B105EE2E4E15D04B2454BF6F4FADF034B10403119CD8E3B92FCC5B",
    16,
)
"""The 2048-bit safe prime Telegram uses for SRP (and for DH key exchange); ``g = 3``."""
_SRP_G = 3
_SRP_BYTES = 256
_SRP_MIN_BITS = 2048 - 64  # "g^a, g^b must be at least 2^(2048-64) and at most p - 2^(2048-64)"


def _srp_pad(number: int) -> bytes:
    return number.to_bytes(_SRP_BYTES, "big")


def _srp_h(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()


def _srp_good_power(value: int) -> bool:
    return value.bit_length() >= _SRP_MIN_BITS and (_SRP_P - value).bit_length() >= _SRP_MIN_BITS


def _srp_password_hash(password: str, salt1: bytes, salt2: bytes) -> int:
    """``x = PH2(password, salt1, salt2)`` as a number: SH(data, salt) = H(salt | data | salt),
    PH1 = SH(SH(password, salt1), salt2), PH2 = SH(pbkdf2(sha512, PH1, salt1, 100000), salt2)."""
    ph1 = _srp_h(salt2, _srp_h(salt1, password.encode(), salt1), salt2)
    ph2 = _srp_h(salt2, hashlib.pbkdf2_hmac("sha512", ph1, salt1, 100_000), salt2)
    return int.from_bytes(ph2, "big")


@dataclass(eq=False)
class _SrpPassword:
    """What the server keeps for an account's 2FA password: the salts and the verifier, never the password."""

    salt1: bytes
    salt2: bytes
    verifier: int
    hint: str | None
    pending: dict[int, tuple[int, bytes]] = field(default_factory=dict)
    """``srp_id`` -> ``(b, B)`` handed out by ``account.getPassword`` and not used yet."""

    @classmethod
    def create(cls, password: str, hint: str | None) -> _SrpPassword:
        salt1, salt2 = secrets.token_bytes(40), secrets.token_bytes(16)
        x = _srp_password_hash(password, salt1, salt2)
        return cls(salt1, salt2, pow(_SRP_G, x, _SRP_P), hint)

    @property
    def algo(self) -> TL:
        return types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
            salt1=self.salt1, salt2=self.salt2, g=_SRP_G, p=_srp_pad(_SRP_P)
        )

    def _k(self) -> int:
        return int.from_bytes(_srp_h(_srp_pad(_SRP_P), _srp_pad(_SRP_G)), "big")

    def challenge(self) -> tuple[int, bytes]:
        """A new ``(srp_id, B)``: ``B = k*v + g^b mod p`` with a fresh secret ``b``."""
        while True:
            b = int.from_bytes(secrets.token_bytes(_SRP_BYTES), "big")
            g_b = pow(_SRP_G, b, _SRP_P)
            if not _srp_good_power(g_b):
                continue
            big_b = (self._k() * self.verifier + g_b) % _SRP_P
            if big_b != 0:
                break
        srp_id = secrets.randbits(63)
        encoded = _srp_pad(big_b)
        self.pending[srp_id] = (b, encoded)
        return srp_id, encoded

    def check(self, srp_id: int, a_bytes: bytes, m1: bytes) -> str | None:
        """``None`` when the client proved it knows the password, else the Telegram error to answer."""
        issued = self.pending.pop(srp_id, None)
        if issued is None:
            return "SRP_ID_INVALID"
        b, b_bytes = issued
        big_a = int.from_bytes(a_bytes, "big")
        if len(a_bytes) != _SRP_BYTES or not _srp_good_power(big_a):
            return "PASSWORD_HASH_INVALID"
        u = int.from_bytes(_srp_h(a_bytes, b_bytes), "big")
        shared = pow(big_a * pow(self.verifier, u, _SRP_P) % _SRP_P, b, _SRP_P)
        key = _srp_h(_srp_pad(shared))
        hp, hg = _srp_h(_srp_pad(_SRP_P)), _srp_h(_srp_pad(_SRP_G))
        expected = _srp_h(
            bytes(x ^ y for x, y in zip(hp, hg, strict=True)),
            _srp_h(self.salt1),
            _srp_h(self.salt2),
            a_bytes,
            b_bytes,
            key,
        )
        return None if hmac.compare_digest(expected, m1) else "PASSWORD_HASH_INVALID"


_LOGIN_FREE: Any = (
    functions.help.GetConfigRequest,
    functions.help.GetNearestDcRequest,
    functions.auth.SendCodeRequest,
    functions.auth.SignInRequest,
    functions.auth.CheckPasswordRequest,
    functions.account.GetPasswordRequest,
)
"""Requests Telegram answers for an auth key that is not signed in yet."""


class FakeTelegram:
    """The state of a fake Telegram server and the request handler (transport-agnostic).

    ``handle(request)`` answers real TL requests with real TL objects; errors are raised as Telethon's
    ``RPCError`` subclasses (what a server turns into ``rpc_error``). Everything handled is appended to
    ``requests`` (the innermost query, wrappers such as ``InvokeWithLayer`` stripped).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 443,
        dc_id: int = SESSION_DC_ID,
        now: datetime = DEFAULT_NOW,
        latency: float = 0.0,
    ) -> None:
        """A world with no channels; ``host``/``port`` is where ``help.getConfig`` says every DC lives."""
        self.host = host
        self.port = port
        self.dc_id = dc_id
        self.clock = now
        self.latency = latency
        self.auth_key = FAKE_AUTH_KEY
        self.channels: dict[int, FakeChannel] = {}
        self.users: dict[int, TL] = {}
        self.self_user: TL = types.User(
            id=777_000_111,
            is_self=True,
            access_hash=_hash64("user", 777_000_111),
            first_name="Archive",
            last_name="Keeper",
            username="tgvault_keeper",
            phone="15550001111",
            status=types.UserStatusRecently(),
        )
        self.requests: list[TL] = []
        self.authorized = True
        """Whether the (single, pre-shared) auth key is signed in; see :meth:`require_login`."""
        self.login_code = DEFAULT_LOGIN_CODE
        self._password: _SrpPassword | None = None
        self._code_hashes: dict[str, str] = {}
        self._awaiting_password = False
        self.strict_file_references = False
        """When true, every read of a message issues new file references and the older ones expire."""
        self.account_pts = 1
        self.push_updates = False
        """When true, new, edited and deleted channel posts are pushed to every subscriber (connected clients)
        as Telegram pushes them to an account that joined the channel; see :meth:`subscribe`."""
        self._listeners: list[Callable[[TL], None]] = []
        self._faults: dict[type, deque[tuple[int, str]]] = {}
        self._pending_rotations = 0
        self._channel_ids = itertools.count(1_300_000_007, 104_729)
        self._user_ids = itertools.count(5_100_000_003, 7_919)
        self._handlers: dict[type, Callable[[TL], TL]] = {
            functions.help.GetConfigRequest: self._get_config,
            functions.users.GetUsersRequest: self._get_users,
            functions.updates.GetStateRequest: self._get_state,
            functions.updates.GetDifferenceRequest: self._get_difference,
            functions.updates.GetChannelDifferenceRequest: self._get_channel_difference,
            functions.contacts.ResolveUsernameRequest: self._resolve_username,
            functions.channels.GetChannelsRequest: self._get_channels,
            functions.channels.GetFullChannelRequest: self._get_full_channel,
            functions.messages.GetHistoryRequest: self._get_history,
            functions.channels.GetMessagesRequest: self._get_channel_messages,
            functions.messages.GetMessagesRequest: self._get_messages,
            functions.messages.GetMessagesViewsRequest: self._get_messages_views,
            functions.messages.GetMessagesReactionsRequest: self._get_messages_reactions,
            functions.upload.GetFileRequest: self._get_file,
            functions.auth.SendCodeRequest: self._send_code,
            functions.auth.SignInRequest: self._sign_in,
            functions.account.GetPasswordRequest: self._get_password,
            functions.auth.CheckPasswordRequest: self._check_password,
        }

    # -- world building --------------------------------------------------------------------------------

    def add_channel(
        self,
        username: str | None,
        title: str | None = None,
        *,
        about: str = "",
        participants_count: int = 1000,
        date: datetime | None = None,
        signatures: bool = False,
        channel_id: int | None = None,
    ) -> FakeChannel:
        """Create an empty broadcast channel (``username=None`` for a private one)."""
        cid = channel_id if channel_id is not None else next(self._channel_ids)
        if cid in self.channels:
            raise ValueError(f"channel {cid} already exists")
        channel = FakeChannel(
            id=cid,
            access_hash=_hash64("channel", cid),
            username=username,
            title=title or (username or f"Channel {cid}").replace("_", " ").title(),
            about=about,
            participants_count=participants_count,
            date=date or datetime(2016, 1, 1, tzinfo=UTC),
            signatures=signatures,
            dc_id=self.dc_id,
        )
        self.channels[cid] = channel
        return channel

    def add_user(
        self, first_name: str, last_name: str = "", *, username: str | None = None, user_id: int | None = None
    ) -> TL:
        """Create a user (e.g. the author of a forwarded post); returns ``types.User``."""
        uid = user_id if user_id is not None else next(self._user_ids)
        user = types.User(
            id=uid,
            access_hash=_hash64("user", uid),
            first_name=first_name,
            last_name=last_name or None,
            username=username,
            status=types.UserStatusRecently(),
        )
        self.users[uid] = user
        return user

    def channel(self, ref: FakeChannel | int | str) -> FakeChannel:
        """Find a channel by object, id or (case-insensitive, ``@`` optional) username."""
        if isinstance(ref, FakeChannel):
            return ref
        if isinstance(ref, int):
            return self.channels[ref]
        name = ref.lstrip("@").lower()
        for channel in self.channels.values():
            if channel.username and channel.username.lower() == name:
                return channel
        raise KeyError(ref)

    def now(self) -> datetime:
        """The world's current time."""
        return self.clock

    def advance(self, seconds: float) -> datetime:
        """Move the world's clock forward; returns the new time."""
        self.clock += timedelta(seconds=seconds)
        return self.clock

    def session_string(self, port: int | None = None) -> str:
        """A Telethon ``StringSession`` string: DC 2 at ``host:port`` with the pre-shared auth key."""
        session = StringSession()
        session.set_dc(self.dc_id, self.host, self.port if port is None else port)
        session.auth_key = AuthKey(self.auth_key)
        result: str = session.save()
        return result

    # -- the account's login -----------------------------------------------------------------------------

    def require_login(
        self, *, code: str = DEFAULT_LOGIN_CODE, password: str | None = None, hint: str | None = None
    ) -> None:
        """Log the account out, so that it has to sign in again as ``tgvault login`` does.

        Until then, every request but ``help.getConfig``, ``auth.sendCode``, ``auth.signIn``,
        ``account.getPassword`` and ``auth.checkPassword`` answers ``AUTH_KEY_UNREGISTERED`` (401), so
        ``get_me()`` is ``None`` and ``is_user_authorized()`` false. ``auth.signIn`` with the phone of
        :attr:`self_user` and ``code`` signs in (another phone: sign-up required); a wrong code answers
        ``PHONE_CODE_INVALID``. With ``password`` (see :meth:`set_password`) the right code answers
        ``SESSION_PASSWORD_NEEDED`` and ``auth.checkPassword`` must prove the password (SRP) to sign in.
        The world has a single auth key, so signing in authorizes every session string of the world.
        """
        self.authorized = False
        self.login_code = code
        self._code_hashes.clear()
        self._awaiting_password = False
        self.set_password(password, hint=hint)

    def set_password(self, password: str | None, *, hint: str | None = None) -> None:
        """Turn two-step verification on with ``password`` (stored as an SRP verifier only), or off."""
        self._password = None if password is None else _SrpPassword.create(password, hint)

    # -- changes and faults ----------------------------------------------------------------------------

    def edit_message(
        self,
        channel: FakeChannel | int | str,
        msg_id: int,
        text: str | None = None,
        entities: list[TL] | None = None,
        *,
        media: TL = None,
        edit_date: datetime | None = None,
    ) -> TL:
        """Edit a post in place: new text (and entities), optionally new media; sets ``edit_date``.

        ``entities=None`` with new text clears them. The message keeps its id; ``pts`` advances.
        """
        ch = self.channel(channel)
        message = ch.messages[msg_id]
        if text is not None:
            message.message = text
            message.entities = entities or None
        elif entities is not None:
            message.entities = entities or None
        if media is not None:
            message.media = media
        if edit_date is None:
            edit_date = max(self.clock, message.date + timedelta(seconds=1), (message.edit_date or _EPOCH))
            self.advance(1)
        message.edit_date = edit_date
        message.edit_hide = False
        ch.pts += 1
        self._push(ch, types.UpdateEditChannelMessage(message=message, pts=ch.pts, pts_count=1))
        return message

    def delete_messages(self, channel: FakeChannel | int | str, ids: Iterable[int]) -> None:
        """Delete posts: they vanish from history and ``channels.getMessages`` answers ``MessageEmpty``."""
        ch = self.channel(channel)
        removed = [msg_id for msg_id in ids if ch.remove_message(msg_id) is not None]
        if removed:
            self._push(
                ch,
                types.UpdateDeleteChannelMessages(
                    channel_id=ch.id, messages=removed, pts=ch.pts, pts_count=len(removed)
                ),
            )

    # -- pushed updates --------------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[TL], None]) -> Callable[[], None]:
        """Call ``listener(updates)`` with each ``types.Updates`` pushed while :attr:`push_updates` is on;
        returns the function that unsubscribes. Senders and the loopback server subscribe their clients."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    def publish(self, channel: FakeChannel | int | str, message: TL) -> TL:
        """Push a post already added to the channel (e.g. by ``add_post``) as ``updateNewChannelMessage``."""
        ch = self.channel(channel)
        self._push(ch, types.UpdateNewChannelMessage(message=message, pts=ch.pts, pts_count=1))
        return message

    def _push(self, ch: FakeChannel, update: TL) -> None:
        if not self.push_updates or not self._listeners:
            return
        envelope = types.Updates(updates=[update], users=[], chats=[ch.to_tl()], date=self.clock, seq=0)
        for listener in list(self._listeners):
            listener(envelope)

    def vanish_channel(self, channel: FakeChannel | int | str) -> None:
        """The channel goes private/banned: its username stops resolving, and any use of its access hash
        (history, messages, full info) raises ``ChannelPrivateError``; ``getChannels`` gives
        ``ChannelForbidden``; its files answer ``FILE_REFERENCE_EXPIRED``."""
        self.channel(channel).vanished = True

    def restore_channel(self, channel: FakeChannel | int | str) -> None:
        """Undo :meth:`vanish_channel`."""
        self.channel(channel).vanished = False

    def rename_channel(self, channel: FakeChannel | int | str, username: str | None) -> None:
        """Change (or drop, with ``None``) the channel's username; the old one stops resolving."""
        self.channel(channel).username = username

    def fail_next(self, request_type: type, message: str, code: int = 400, *, times: int = 1) -> None:
        """The next ``times`` requests of ``request_type`` fail with ``rpc_error(code, message)``.

        E.g. ``fail_next(GetHistoryRequest, "CHANNEL_PRIVATE")`` or ``fail_next(GetFileRequest,
        "INTERDC_2_CALL_ERROR", 500)``. Faults queue up in order.
        """
        queue = self._faults.setdefault(request_type, deque())
        queue.extend([(code, message)] * times)

    def flood_wait(self, request_type: type, seconds: int, *, times: int = 1) -> None:
        """The next ``times`` requests of ``request_type`` raise ``FloodWaitError(seconds=seconds)``."""
        self.fail_next(request_type, f"FLOOD_WAIT_{int(seconds)}", 420, times=times)

    def expire_file_reference(self, channel: FakeChannel | int | str, msg_id: int) -> list[int]:
        """Expire the file references of a post's media: downloads with any reference handed out so far
        raise ``FileReferenceExpiredError`` until the message is read again (``channels.getMessages`` or
        ``messages.getHistory``), which hands out a fresh, working reference. Returns the media ids."""
        ch = self.channel(channel)
        expired = []
        for obj in media_objects(getattr(ch.messages[msg_id], "media", None)):
            file = ch.files.get(obj.id)
            if file is None:
                continue
            file.valid_from = file.generation + 1
            if not file.needs_new_reference:
                file.needs_new_reference = True
                self._pending_rotations += 1
            expired.append(obj.id)
        return expired

    # -- inspection ------------------------------------------------------------------------------------

    def count(self, request_type: type) -> int:
        """How many requests of ``request_type`` were handled (wrappers stripped)."""
        return sum(1 for request in self.requests if isinstance(request, request_type))

    def find_file(self, media_id: int) -> tuple[FakeChannel, FakeFile]:
        """The channel and stored file of a photo/document id."""
        for channel in self.channels.values():
            file = channel.files.get(media_id)
            if file is not None:
                return channel, file
        raise KeyError(media_id)

    def file_bytes(self, media: TL, thumb_size: str | None = None) -> bytes:
        """The stored bytes of a message's media (what ``download_media`` should return by default).

        ``media`` may be a ``Message``, ``MessageMedia*``, ``Photo``, ``Document`` or a media id.
        """
        media_id = media if isinstance(media, int) else None
        if media_id is None:
            target = getattr(media, "media", media)
            found = next(media_objects(target), None)
            if found is None and isinstance(target, types.Photo | types.Document):
                found = target
            if found is None:
                raise ValueError(f"{type(media).__name__} carries no photo or document")
            media_id = found.id
        return self.find_file(media_id)[1].content(thumb_size)

    # -- request handling ------------------------------------------------------------------------------

    async def handle(self, request: TL) -> TL:
        """Answer one TL request like Telegram would (a TL object, or a list for ``Vector`` results).

        Raises ``telethon.errors.RPCError`` subclasses for Telegram errors and
        :class:`UnsupportedRequestError` for requests the fake does not know.
        """
        query = _unwrap(request)
        self.requests.append(query)
        if self.latency:
            await asyncio.sleep(self.latency)
        queue = self._faults.get(type(query))
        if queue:
            code, message = queue.popleft()
            raise rpc_error(query, message, code)
        if not self.authorized and not isinstance(query, _LOGIN_FREE):
            raise rpc_error(query, "AUTH_KEY_UNREGISTERED", 401)
        handler = self._handlers.get(type(query))
        if handler is None:
            raise UnsupportedRequestError(query)
        return handler(query)

    # connection and account

    def config(self) -> TL:
        """A realistic ``types.Config``: every DC (1-5) at ``host:port``, ``this_dc`` = the session's DC."""
        options = [types.DcOption(id=dc, ip_address=self.host, port=self.port) for dc in range(1, 6)]
        options += [
            types.DcOption(id=dc, ip_address=self.host, port=self.port, media_only=True) for dc in (2, 4)
        ]
        return types.Config(
            date=self.clock,
            expires=self.clock + timedelta(hours=1),
            test_mode=False,
            this_dc=self.dc_id,
            dc_options=options,
            dc_txt_domain_name="apv3.stel.com",
            chat_size_max=200,
            megagroup_size_max=200_000,
            forwarded_count_max=100,
            online_update_period_ms=210_000,
            offline_blur_timeout_ms=5_000,
            offline_idle_timeout_ms=30_000,
            online_cloud_timeout_ms=300_000,
            notify_cloud_delay_ms=30_000,
            notify_default_delay_ms=1_500,
            push_chat_period_ms=60_000,
            push_chat_limit=2,
            edit_time_limit=172_800,
            revoke_time_limit=2_147_483_647,
            revoke_pm_time_limit=2_147_483_647,
            rating_e_decay=2_419_200,
            stickers_recent_limit=200,
            channels_read_media_period=604_800,
            call_receive_timeout_ms=20_000,
            call_ring_timeout_ms=90_000,
            call_connect_timeout_ms=30_000,
            call_packet_timeout_ms=10_000,
            me_url_prefix="https://t.me/",
            caption_length_max=1024,
            message_length_max=4096,
            webfile_dc_id=4,
            default_p2p_contacts=True,
            revoke_pm_inbox=True,
            tmp_sessions=None,
            gif_search_username="gif",
            venue_search_username="foursquare",
            img_search_username="pic",
            reactions_default=types.ReactionEmoji("👍"),
        )

    def _get_config(self, request: TL) -> TL:
        return self.config()

    def _get_users(self, request: TL) -> TL:
        found = []
        for item in request.id:
            if isinstance(item, types.InputUserSelf) or getattr(item, "user_id", None) == self.self_user.id:
                found.append(self.self_user)
            elif isinstance(item, types.InputUser) and item.user_id in self.users:
                user = self.users[item.user_id]
                if user.access_hash != item.access_hash:
                    raise rpc_error(request, "USER_ID_INVALID")
                found.append(user)
        return found

    def _get_state(self, request: TL) -> TL:
        return types.updates.State(pts=self.account_pts, qts=0, date=self.clock, seq=1, unread_count=0)

    def _get_difference(self, request: TL) -> TL:
        return types.updates.DifferenceEmpty(date=self.clock, seq=1)

    # login

    def _phone_of(self, request: TL, phone: str) -> str:
        digits = phone.lstrip("+")
        if not digits.isdigit() or not 5 <= len(digits) <= 15:
            raise rpc_error(request, "PHONE_NUMBER_INVALID")
        return digits

    def _send_code(self, request: TL) -> TL:
        if request.api_id != FAKE_API_ID or request.api_hash != FAKE_API_HASH:
            raise rpc_error(request, "API_ID_INVALID")
        phone = self._phone_of(request, request.phone_number)
        code_hash = secrets.token_hex(9)
        self._code_hashes[phone] = code_hash
        return types.auth.SentCode(
            type=types.auth.SentCodeTypeApp(length=len(self.login_code)), phone_code_hash=code_hash
        )

    def _sign_in(self, request: TL) -> TL:
        phone = self._phone_of(request, request.phone_number)
        if not request.phone_code_hash:
            raise rpc_error(request, "PHONE_CODE_HASH_EMPTY")
        if self._code_hashes.get(phone) != request.phone_code_hash:
            raise rpc_error(request, "PHONE_CODE_EXPIRED")
        if not request.phone_code:
            raise rpc_error(request, "PHONE_CODE_EMPTY")
        if request.phone_code != self.login_code:
            raise rpc_error(request, "PHONE_CODE_INVALID")
        del self._code_hashes[phone]
        if phone != self.self_user.phone:
            return types.auth.AuthorizationSignUpRequired()
        if self._password is not None:
            self._awaiting_password = True
            raise rpc_error(request, "SESSION_PASSWORD_NEEDED", 401)
        return self._signed_in()

    def _signed_in(self) -> TL:
        self.authorized = True
        self._awaiting_password = False
        return types.auth.Authorization(user=self.self_user)

    def _get_password(self, request: TL) -> TL:
        new_algo = types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
            salt1=secrets.token_bytes(8), salt2=secrets.token_bytes(16), g=_SRP_G, p=_srp_pad(_SRP_P)
        )
        secure_algo = types.SecurePasswordKdfAlgoPBKDF2HMACSHA512iter100000(salt=secrets.token_bytes(8))
        stored = self._password
        if stored is None:
            return types.account.Password(
                new_algo=new_algo, new_secure_algo=secure_algo, secure_random=secrets.token_bytes(32)
            )
        srp_id, srp_b = stored.challenge()
        return types.account.Password(
            new_algo=new_algo,
            new_secure_algo=secure_algo,
            secure_random=secrets.token_bytes(32),
            has_password=True,
            current_algo=stored.algo,
            srp_B=srp_b,
            srp_id=srp_id,
            hint=stored.hint,
        )

    def _check_password(self, request: TL) -> TL:
        stored = self._password
        if stored is None or not (self._awaiting_password or self.authorized):
            raise rpc_error(request, "AUTH_KEY_UNREGISTERED", 401)
        check = request.password
        if not isinstance(check, types.InputCheckPasswordSRP):
            raise rpc_error(request, "PASSWORD_HASH_INVALID")
        problem = stored.check(check.srp_id, check.A, check.M1)
        if problem is not None:
            raise rpc_error(request, problem)
        return self._signed_in()

    def _get_channel_difference(self, request: TL) -> TL:
        ch = self._channel_of(request, request.channel)
        if request.pts >= ch.pts:
            return types.updates.ChannelDifferenceEmpty(pts=ch.pts, final=True, timeout=30)
        top = ch.messages[ch._ids[-1]] if ch._ids else None
        dialog = types.Dialog(
            peer=ch.peer,
            top_message=top.id if top is not None else 0,
            read_inbox_max_id=top.id if top is not None else 0,
            read_outbox_max_id=0,
            unread_count=0,
            unread_mentions_count=0,
            unread_reactions_count=0,
            unread_poll_votes_count=0,
            notify_settings=types.PeerNotifySettings(),
            pts=ch.pts,
        )
        messages = [top] if top is not None else []
        chats, users = self._referenced(ch, messages)
        return types.updates.ChannelDifferenceTooLong(
            dialog=dialog, messages=messages, chats=chats, users=users, final=True, timeout=30
        )

    # channels

    def _channel_of(self, request: TL, peer: TL) -> FakeChannel:
        """The channel an ``InputPeerChannel``/``InputChannel`` names, checking its access hash."""
        if not isinstance(peer, types.InputPeerChannel | types.InputChannel):
            raise UnsupportedRequestError(request, f"only channels are faked, got {type(peer).__name__}")
        ch = self.channels.get(peer.channel_id)
        if ch is None or ch.access_hash != peer.access_hash:
            raise rpc_error(request, "CHANNEL_INVALID")
        if ch.vanished:
            raise rpc_error(request, "CHANNEL_PRIVATE")
        return ch

    def _resolve_username(self, request: TL) -> TL:
        name = request.username.lstrip("@")
        if not _USERNAME_RE.match(name):
            raise rpc_error(request, "USERNAME_INVALID")
        lowered = name.lower()
        for ch in self.channels.values():
            if ch.username and ch.username.lower() == lowered and not ch.vanished:
                return types.contacts.ResolvedPeer(peer=ch.peer, chats=[ch.to_tl()], users=[])
        for user in [self.self_user, *self.users.values()]:
            if user.username and user.username.lower() == lowered:
                return types.contacts.ResolvedPeer(peer=types.PeerUser(user.id), chats=[], users=[user])
        raise rpc_error(request, "USERNAME_NOT_OCCUPIED")

    def _get_channels(self, request: TL) -> TL:
        chats = []
        for item in request.id:
            if not isinstance(item, types.InputChannel):
                raise UnsupportedRequestError(request, f"got {type(item).__name__}")
            ch = self.channels.get(item.channel_id)
            if ch is None or ch.access_hash != item.access_hash:
                raise rpc_error(request, "CHANNEL_INVALID")
            if ch.vanished:
                chats.append(types.ChannelForbidden(ch.id, ch.access_hash, ch.title, broadcast=True))
            else:
                chats.append(ch.to_tl())
        return types.messages.Chats(chats=chats)

    def _get_full_channel(self, request: TL) -> TL:
        ch = self._channel_of(request, request.channel)
        top = ch._ids[-1] if ch._ids else 0
        full = types.ChannelFull(
            id=ch.id,
            about=ch.about,
            read_inbox_max_id=top,
            read_outbox_max_id=0,
            unread_count=0,
            chat_photo=types.PhotoEmpty(0),
            notify_settings=types.PeerNotifySettings(),
            bot_info=[],
            pts=ch.pts,
            participants_count=ch.participants_count,
            pinned_msg_id=ch.pinned_msg_id,
            available_reactions=types.ChatReactionsAll(allow_custom=True),
        )
        return types.messages.ChatFull(full_chat=full, chats=[ch.to_tl()], users=[])

    # messages

    def _get_history(self, request: TL) -> TL:
        """``messages.getHistory``: newest first; start strictly below ``offset_id`` (or before
        ``offset_date`` when ``offset_id`` is 0), shift by ``add_offset``, at most 100 messages, and only ids
        in ``(min_id, max_id)`` when those are set (the range is applied before the offsets)."""
        ch = self._channel_of(request, request.peer)
        ids = ch._ids
        lo = bisect.bisect_right(ids, request.min_id) if request.min_id > 0 else 0
        hi = bisect.bisect_left(ids, request.max_id) if request.max_id > 0 else len(ids)
        hi = max(hi, lo)
        offset_date = _utc(request.offset_date)
        if request.offset_id > 0:
            skipped = hi - max(lo, bisect.bisect_left(ids, request.offset_id, lo, hi))
        elif offset_date is not None:
            first = bisect.bisect_left(ids, offset_date, lo, hi, key=lambda i: ch.messages[i].date)
            skipped = hi - first
        else:
            skipped = 0
        limit = min(max(request.limit, 0), 100)
        start = skipped + request.add_offset
        end = start + limit
        start, end = max(start, 0), min(end, hi - lo)
        messages = [ch.messages[ids[hi - 1 - position]] for position in range(start, end)]
        return self._channel_messages(ch, messages, count=len(ids))

    def _get_channel_messages(self, request: TL) -> TL:
        ch = self._channel_of(request, request.channel)
        if not request.id:
            raise rpc_error(request, "MESSAGE_IDS_EMPTY")
        messages = []
        for item in request.id:
            if isinstance(item, types.InputMessageID):
                msg_id = item.id
            elif isinstance(item, types.InputMessagePinned):
                msg_id = ch.pinned_msg_id or 0
            else:
                raise UnsupportedRequestError(request, f"got {type(item).__name__}")
            message = ch.messages.get(msg_id)
            messages.append(message if message is not None else types.MessageEmpty(msg_id, ch.peer))
        return self._channel_messages(ch, messages, count=len(messages))

    def _get_messages(self, request: TL) -> TL:
        # Only channels exist in the fake, so ids in the account's common message box are all empty.
        empties = [types.MessageEmpty(getattr(item, "id", 0)) for item in request.id]
        return types.messages.Messages(messages=empties, topics=[], chats=[], users=[])

    def _channel_messages(self, ch: FakeChannel, messages: list[TL], *, count: int) -> TL:
        self._refresh_file_references(ch, messages)
        chats, users = self._referenced(ch, messages)
        return types.messages.ChannelMessages(
            pts=ch.pts, count=count, messages=messages, topics=[], chats=chats, users=users
        )

    def _refresh_file_references(self, ch: FakeChannel, messages: list[TL]) -> None:
        """Reading a message hands out current file references (new ones after an expiry)."""
        strict = self.strict_file_references
        if not strict and self._pending_rotations == 0:
            return
        for message in messages:
            for obj in media_objects(getattr(message, "media", None)):
                file = ch.files.get(obj.id)
                if file is None:
                    continue
                if strict or file.needs_new_reference:
                    if file.needs_new_reference:
                        self._pending_rotations -= 1
                    file.rotate_reference(invalidate_older=strict)
                obj.file_reference = file.file_reference

    def _referenced(self, ch: FakeChannel, messages: list[TL]) -> tuple[list[TL], list[TL]]:
        """The chats and users a list of messages mentions (forward sources, authors, reply peers)."""
        chats: dict[int, TL] = {ch.id: ch.to_tl()}
        users: dict[int, TL] = {}
        for message in messages:
            fwd = getattr(message, "fwd_from", None)
            reply = getattr(message, "reply_to", None)
            for peer in (
                getattr(fwd, "from_id", None),
                getattr(message, "from_id", None),
                getattr(reply, "reply_to_peer_id", None),
            ):
                if isinstance(peer, types.PeerChannel) and peer.channel_id not in chats:
                    other = self.channels.get(peer.channel_id)
                    chat = other.to_tl() if other is not None else ch.related_chats.get(peer.channel_id)
                    if chat is not None:
                        chats[peer.channel_id] = chat
                elif isinstance(peer, types.PeerUser) and peer.user_id not in users:
                    user = self.users.get(peer.user_id) or ch.related_users.get(peer.user_id)
                    if user is not None:
                        users[peer.user_id] = user
        return list(chats.values()), list(users.values())

    def _get_messages_views(self, request: TL) -> TL:
        ch = self._channel_of(request, request.peer)
        views = []
        for msg_id in request.id:
            message = ch.messages.get(msg_id)
            if message is None or not isinstance(message, types.Message):
                views.append(types.MessageViews())
                continue
            if request.increment and message.views is not None:
                message.views += 1
            views.append(
                types.MessageViews(views=message.views, forwards=message.forwards, replies=message.replies)
            )
        return types.messages.MessageViews(views=views, chats=[ch.to_tl()], users=[])

    def _get_messages_reactions(self, request: TL) -> TL:
        ch = self._channel_of(request, request.peer)
        updates = []
        for msg_id in request.id:
            message = ch.messages.get(msg_id)
            if message is None:
                continue
            reactions = getattr(message, "reactions", None) or types.MessageReactions(results=[])
            updates.append(types.UpdateMessageReactions(peer=ch.peer, msg_id=msg_id, reactions=reactions))
        return types.Updates(updates=updates, users=[], chats=[ch.to_tl()], date=self.clock, seq=0)

    # files

    def _get_file(self, request: TL) -> TL:
        location = request.location
        if isinstance(location, types.InputPhotoFileLocation | types.InputDocumentFileLocation):
            thumb_size = location.thumb_size or ""
        else:
            raise UnsupportedRequestError(request, f"location {type(location).__name__}")
        try:
            ch, file = self.find_file(location.id)
        except KeyError:
            raise rpc_error(request, "FILE_ID_INVALID") from None
        if file.access_hash != location.access_hash:
            raise rpc_error(request, "FILE_ID_INVALID")
        if not location.file_reference:
            raise rpc_error(request, "FILE_REFERENCE_EMPTY")
        if ch.vanished:
            raise rpc_error(request, "FILE_REFERENCE_EXPIRED")
        state = file.reference_state(location.file_reference)
        if state == "expired":
            raise rpc_error(request, "FILE_REFERENCE_EXPIRED")
        if state == "invalid":
            raise rpc_error(request, "FILE_REFERENCE_INVALID")
        if thumb_size not in file.sizes:
            raise rpc_error(request, "LOCATION_INVALID")
        offset, limit = request.offset, request.limit
        unit = 1024 if request.precise else 4096
        if limit <= 0 or limit % unit or limit > _MIB or (not request.precise and _MIB % limit):
            raise rpc_error(request, "LIMIT_INVALID")
        crosses_mib = offset // _MIB != (offset + limit - 1) // _MIB
        if offset < 0 or offset % unit or (not request.precise and crosses_mib):
            raise rpc_error(request, "OFFSET_INVALID")
        data = file.read(thumb_size, offset, limit)
        return types.upload.File(
            type=file.storage_type(thumb_size), mtime=int(file.date.timestamp()), bytes=data
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


async def connect_fake_client(
    world: FakeTelegram, *, flood_sleep_threshold: int = 60, **client_kwargs: Any
) -> TelegramClient:
    """A real ``TelegramClient`` on a ``StringSession`` (DC 2 at 127.0.0.1, pre-shared key), with its sender
    replaced by a :class:`FakeSender` on ``world``, connected and logged in. Await ``client.disconnect()``
    when done, or use :func:`fake_client`. Extra keyword arguments go to ``TelegramClient``."""
    client = TelegramClient(
        StringSession(world.session_string()),
        FAKE_API_ID,
        FAKE_API_HASH,
        flood_sleep_threshold=flood_sleep_threshold,
        **client_kwargs,
    )
    client._sender = FakeSender(world, auth_key=client.session.auth_key, updates_queue=client._updates_queue)
    await client.connect()
    return client


@contextlib.asynccontextmanager
async def fake_client(
    world: FakeTelegram, *, flood_sleep_threshold: int = 60, **client_kwargs: Any
) -> AsyncIterator[TelegramClient]:
    """``async with fake_client(world) as client:`` — :func:`connect_fake_client`, disconnected on exit."""
    client = await connect_fake_client(world, flood_sleep_threshold=flood_sleep_threshold, **client_kwargs)
    try:
        yield client
    finally:
        await client.disconnect()
