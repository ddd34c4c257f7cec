"""The fake world's state: its channels, users, account and clock, how to build it and how to inspect it.

:class:`FakeWorld` is what request handlers read and change; :class:`~tgvault.testing.FakeTelegram` is a
world that also answers requests, applies changes and faults, and pushes updates.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from telethon.crypto import AuthKey
from telethon.sessions import StringSession
from telethon.tl import types

from tgvault.testing.fake_telegram.channels import FakeChannel
from tgvault.testing.fake_telegram.defaults import (
    DEFAULT_LOGIN_CODE,
    DEFAULT_NOW,
    FAKE_AUTH_KEY,
    SESSION_DC_ID,
)
from tgvault.testing.fake_telegram.discussions import FakeDiscussion
from tgvault.testing.fake_telegram.files import FakeFile
from tgvault.testing.fake_telegram.hashes import hash64
from tgvault.testing.fake_telegram.media import media_objects
from tgvault.testing.fake_telegram.rpc import TL

__all__ = ["FakeWorld"]


class FakeWorld:
    """The state of a fake Telegram: channels, users, the signed-in account, the clock, requests seen."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 443,
        dc_id: int = SESSION_DC_ID,
        now: datetime = DEFAULT_NOW,
    ) -> None:
        """A world with no channels; ``host``/``port`` is where ``help.getConfig`` says every DC lives."""
        self.host = host
        self.port = port
        self.dc_id = dc_id
        self.clock = now
        self.auth_key = FAKE_AUTH_KEY
        self.channels: dict[int, FakeChannel] = {}
        self.users: dict[int, TL] = {}
        self.discussions: dict[int, FakeDiscussion] = {}
        """Linked discussion groups, by the id of the channel and by the id of the group."""
        self.self_user: TL = types.User(
            id=777_000_111,
            is_self=True,
            access_hash=hash64("user", 777_000_111),
            first_name="Archive",
            last_name="Keeper",
            username="tgvault_keeper",
            phone="15550001111",
            status=types.UserStatusRecently(),
        )
        self.requests: list[TL] = []
        self.authorized = True
        """Whether the (single, pre-shared) auth key is signed in; see :meth:`FakeTelegram.require_login`."""
        self.login_code = DEFAULT_LOGIN_CODE
        self.strict_file_references = False
        """When true, every read of a message issues new file references and the older ones expire."""
        self.account_pts = 1
        self._channel_ids = itertools.count(1_300_000_007, 104_729)
        self._user_ids = itertools.count(5_100_000_003, 7_919)

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
            access_hash=hash64("channel", cid),
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
            access_hash=hash64("user", uid),
            first_name=first_name,
            last_name=last_name or None,
            username=username,
            status=types.UserStatusRecently(),
        )
        self.users[uid] = user
        return user

    def add_discussion_group(
        self, channel: FakeChannel | int | str, title: str | None = None, *, username: str | None = None
    ) -> FakeDiscussion:
        """Give a channel a linked discussion group (a supergroup); returns the pair, to add comments to."""
        ch = self.channel(channel)
        group = self.add_channel(username, title or f"{ch.title} Chat", date=ch.date)
        group.megagroup = True
        group.linked_chat_id, ch.linked_chat_id = ch.id, group.id
        discussion = FakeDiscussion(ch, group)
        self.discussions[ch.id] = self.discussions[group.id] = discussion
        return discussion

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
