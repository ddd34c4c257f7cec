"""Channel requests: ``contacts.resolveUsername``, ``channels.getChannels`` and ``channels.getFullChannel``."""

from __future__ import annotations

import re

from telethon.tl import functions, types

from tgvault.testing.fake_telegram.handlers.peers import channel_of
from tgvault.testing.fake_telegram.rpc import TL, RequestHandler, UnsupportedRequestError, rpc_error
from tgvault.testing.fake_telegram.world import FakeWorld

__all__ = ["ChannelRequests"]

_USERNAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{3,30}[a-zA-Z0-9]$")


class ChannelRequests:
    """Answers what the world's channels are: by username, by id, in full."""

    def __init__(self, world: FakeWorld) -> None:
        """Answer for ``world``."""
        self.world = world

    def handlers(self) -> dict[type, RequestHandler]:
        """The requests answered here, by type."""
        return {
            functions.contacts.ResolveUsernameRequest: self.resolve_username,
            functions.channels.GetChannelsRequest: self.get_channels,
            functions.channels.GetFullChannelRequest: self.get_full_channel,
        }

    def resolve_username(self, request: TL) -> TL:
        """``contacts.resolveUsername``: a visible channel, or a user, with that (case-insensitive) name."""
        world = self.world
        name = request.username.lstrip("@")
        if not _USERNAME_RE.match(name):
            raise rpc_error(request, "USERNAME_INVALID")
        lowered = name.lower()
        for ch in world.channels.values():
            if ch.username and ch.username.lower() == lowered and not ch.vanished:
                return types.contacts.ResolvedPeer(peer=ch.peer, chats=[ch.to_tl()], users=[])
        for user in [world.self_user, *world.users.values()]:
            if user.username and user.username.lower() == lowered:
                return types.contacts.ResolvedPeer(peer=types.PeerUser(user.id), chats=[], users=[user])
        raise rpc_error(request, "USERNAME_NOT_OCCUPIED")

    def get_channels(self, request: TL) -> TL:
        """``channels.getChannels``: each channel (``ChannelForbidden`` once vanished)."""
        chats = []
        for item in request.id:
            if not isinstance(item, types.InputChannel):
                raise UnsupportedRequestError(request, f"got {type(item).__name__}")
            ch = self.world.channels.get(item.channel_id)
            if ch is None or ch.access_hash != item.access_hash:
                raise rpc_error(request, "CHANNEL_INVALID")
            if ch.vanished:
                chats.append(types.ChannelForbidden(ch.id, ch.access_hash, ch.title, broadcast=True))
            else:
                chats.append(ch.to_tl())
        return types.messages.Chats(chats=chats)

    def get_full_channel(self, request: TL) -> TL:
        """``channels.getFullChannel``: about, counts, pinned post, reactions allowed."""
        ch = channel_of(self.world, request, request.channel)
        ids = ch.sorted_ids
        top = ids[-1] if ids else 0
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
            linked_chat_id=ch.linked_chat_id,
        )
        chats = [ch.to_tl()]
        linked = self.world.channels.get(ch.linked_chat_id) if ch.linked_chat_id else None
        if linked is not None and not linked.vanished:
            chats.append(linked.to_tl())
        return types.messages.ChatFull(full_chat=full, chats=chats, users=[])
