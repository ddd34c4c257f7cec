"""A channel of the fake world: its metadata, its messages (real TL objects) in id order and its files."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from telethon.tl import types

from tgvault.testing.fake_telegram.defaults import SESSION_DC_ID
from tgvault.testing.fake_telegram.files import FakeFile
from tgvault.testing.fake_telegram.media import build_document, build_photo
from tgvault.testing.fake_telegram.rpc import TL

__all__ = ["FakeChannel"]


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
    megagroup: bool = False
    """A supergroup (a discussion group) rather than a broadcast channel."""
    linked_chat_id: int | None = None
    """The linked chat: a channel's discussion group, or a discussion group's channel."""
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
    def sorted_ids(self) -> list[int]:
        """The channel's own ascending list of message ids, not a copy (request handlers read it; never
        change it)."""
        return self._ids

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
            broadcast=not self.megagroup,
            megagroup=self.megagroup,
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
        file, photo = build_photo(
            self._new_media_id(),
            size=size,
            w=w,
            h=h,
            seed=seed,
            date=date or self.last_date,
            progressive=progressive,
            data=data,
            dc_id=self.dc_id,
        )
        self.files[file.id] = file
        return photo

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
        file, document = build_document(
            self._new_media_id(),
            mime_type=mime_type,
            size=size,
            attributes=attributes,
            seed=seed,
            date=date or self.last_date,
            thumb=thumb,
            data=data,
            dc_id=self.dc_id,
        )
        self.files[file.id] = file
        return document
