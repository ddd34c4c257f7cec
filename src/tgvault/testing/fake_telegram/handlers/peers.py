"""What a request names and what an answer mentions: the channel behind an input peer, the chats and users
a list of messages refers to."""

from __future__ import annotations

from telethon.tl import types

from tgvault.testing.fake_telegram.channels import FakeChannel
from tgvault.testing.fake_telegram.rpc import TL, UnsupportedRequestError, rpc_error
from tgvault.testing.fake_telegram.world import FakeWorld

__all__ = ["channel_of", "referenced"]


def channel_of(world: FakeWorld, request: TL, peer: TL) -> FakeChannel:
    """The channel an ``InputPeerChannel``/``InputChannel`` names, checking its access hash."""
    if not isinstance(peer, types.InputPeerChannel | types.InputChannel):
        raise UnsupportedRequestError(request, f"only channels are faked, got {type(peer).__name__}")
    ch = world.channels.get(peer.channel_id)
    if ch is None or ch.access_hash != peer.access_hash:
        raise rpc_error(request, "CHANNEL_INVALID")
    if ch.vanished:
        raise rpc_error(request, "CHANNEL_PRIVATE")
    return ch


def referenced(world: FakeWorld, ch: FakeChannel, messages: list[TL]) -> tuple[list[TL], list[TL]]:
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
                other = world.channels.get(peer.channel_id)
                chat = other.to_tl() if other is not None else ch.related_chats.get(peer.channel_id)
                if chat is not None:
                    chats[peer.channel_id] = chat
            elif isinstance(peer, types.PeerUser) and peer.user_id not in users:
                user = world.users.get(peer.user_id) or ch.related_users.get(peer.user_id)
                if user is not None:
                    users[peer.user_id] = user
    return list(chats.values()), list(users.values())
