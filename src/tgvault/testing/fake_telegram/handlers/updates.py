"""Updates asked for: ``updates.getState``, ``updates.getDifference`` and ``updates.getChannelDifference``."""

from __future__ import annotations

from telethon.tl import functions, types

from tgvault.testing.fake_telegram.handlers.peers import channel_of, referenced
from tgvault.testing.fake_telegram.rpc import TL, RequestHandler
from tgvault.testing.fake_telegram.world import FakeWorld

__all__ = ["UpdateRequests"]


class UpdateRequests:
    """Answers the account's and the channels' update state and differences."""

    def __init__(self, world: FakeWorld) -> None:
        """Answer for ``world``."""
        self.world = world

    def handlers(self) -> dict[type, RequestHandler]:
        """The requests answered here, by type."""
        return {
            functions.updates.GetStateRequest: self.get_state,
            functions.updates.GetDifferenceRequest: self.get_difference,
            functions.updates.GetChannelDifferenceRequest: self.get_channel_difference,
        }

    def get_state(self, request: TL) -> TL:
        """``updates.getState``: the account's ``pts`` at the world's time."""
        return types.updates.State(
            pts=self.world.account_pts, qts=0, date=self.world.clock, seq=1, unread_count=0
        )

    def get_difference(self, request: TL) -> TL:
        """``updates.getDifference``: nothing new for the account (channel news come per channel)."""
        return types.updates.DifferenceEmpty(date=self.world.clock, seq=1)

    def get_channel_difference(self, request: TL) -> TL:
        """``updates.getChannelDifference``: empty when up to date, else "too long" with the newest post."""
        ch = channel_of(self.world, request, request.channel)
        if request.pts >= ch.pts:
            return types.updates.ChannelDifferenceEmpty(pts=ch.pts, final=True, timeout=30)
        ids = ch.sorted_ids
        top = ch.messages[ids[-1]] if ids else None
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
        chats, users = referenced(self.world, ch, messages)
        return types.updates.ChannelDifferenceTooLong(
            dialog=dialog, messages=messages, chats=chats, users=users, final=True, timeout=30
        )
