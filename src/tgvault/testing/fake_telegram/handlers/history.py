"""Message requests: ``messages.getHistory``, ``channels.getMessages``, ``messages.getMessages`` and the
views and reactions of posts."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from datetime import UTC, datetime

from telethon.tl import functions, types

from tgvault.testing.fake_telegram.channels import FakeChannel
from tgvault.testing.fake_telegram.defaults import EPOCH
from tgvault.testing.fake_telegram.handlers.peers import channel_of, referenced
from tgvault.testing.fake_telegram.references import ReferenceRotations
from tgvault.testing.fake_telegram.rpc import TL, RequestHandler, UnsupportedRequestError, rpc_error
from tgvault.testing.fake_telegram.world import FakeWorld

__all__ = ["HistoryRequests"]


def _utc(value: datetime | None) -> datetime | None:
    """``None`` for a missing date (Telethon sends ``None`` as the epoch)."""
    if value is None or value <= EPOCH:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def history_window(ids: list[int], request: TL, date_of: Callable[[int], datetime]) -> list[int]:
    """The ids a history-like request (``getHistory``, ``getReplies``) answers from ``ids`` (ascending):
    newest first; start strictly below ``offset_id`` (or before ``offset_date`` when ``offset_id`` is 0),
    shift by ``add_offset``, at most 100, only ids in ``(min_id, max_id)`` when those are set (the range
    is applied before the offsets)."""
    lo = bisect.bisect_right(ids, request.min_id) if request.min_id > 0 else 0
    hi = bisect.bisect_left(ids, request.max_id) if request.max_id > 0 else len(ids)
    hi = max(hi, lo)
    offset_date = _utc(request.offset_date)
    if request.offset_id > 0:
        skipped = hi - max(lo, bisect.bisect_left(ids, request.offset_id, lo, hi))
    elif offset_date is not None:
        first = bisect.bisect_left(ids, offset_date, lo, hi, key=date_of)
        skipped = hi - first
    else:
        skipped = 0
    limit = min(max(request.limit, 0), 100)
    start = skipped + request.add_offset
    end = start + limit
    start, end = max(start, 0), min(end, hi - lo)
    return [ids[hi - 1 - position] for position in range(start, end)]


class HistoryRequests:
    """Answers reads of channel posts; each read hands out current file references."""

    def __init__(self, world: FakeWorld, references: ReferenceRotations) -> None:
        """Answer for ``world``, whose file references ``references`` rotates."""
        self.world = world
        self.references = references

    def handlers(self) -> dict[type, RequestHandler]:
        """The requests answered here, by type."""
        return {
            functions.messages.GetHistoryRequest: self.get_history,
            functions.channels.GetMessagesRequest: self.get_channel_messages,
            functions.messages.GetMessagesRequest: self.get_messages,
            functions.messages.GetMessagesViewsRequest: self.get_messages_views,
            functions.messages.GetMessagesReactionsRequest: self.get_messages_reactions,
        }

    def get_history(self, request: TL) -> TL:
        """``messages.getHistory``: newest first; start strictly below ``offset_id`` (or before
        ``offset_date`` when ``offset_id`` is 0), shift by ``add_offset``, at most 100 messages, and only ids
        in ``(min_id, max_id)`` when those are set (the range is applied before the offsets)."""
        ch = channel_of(self.world, request, request.peer)
        ids = ch.sorted_ids
        messages = [ch.messages[i] for i in history_window(ids, request, lambda i: ch.messages[i].date)]
        return self._channel_messages(ch, messages, count=len(ids))

    def get_channel_messages(self, request: TL) -> TL:
        """``channels.getMessages``: posts by id (``MessageEmpty`` for missing ones) or the pinned post."""
        ch = channel_of(self.world, request, request.channel)
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

    def get_messages(self, request: TL) -> TL:
        """``messages.getMessages``: the account's common message box, always empty here."""
        # Only channels exist in the fake, so ids in the account's common message box are all empty.
        empties = [types.MessageEmpty(getattr(item, "id", 0)) for item in request.id]
        return types.messages.Messages(messages=empties, topics=[], chats=[], users=[])

    def _channel_messages(self, ch: FakeChannel, messages: list[TL], *, count: int) -> TL:
        self.references.refresh(ch, messages, strict=self.world.strict_file_references)
        chats, users = referenced(self.world, ch, messages)
        return types.messages.ChannelMessages(
            pts=ch.pts, count=count, messages=messages, topics=[], chats=chats, users=users
        )

    def get_messages_views(self, request: TL) -> TL:
        """``messages.getMessagesViews``: views, forwards and replies (views counted up on ``increment``)."""
        ch = channel_of(self.world, request, request.peer)
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

    def get_messages_reactions(self, request: TL) -> TL:
        """``messages.getMessagesReactions``: one ``updateMessageReactions`` per existing post."""
        ch = channel_of(self.world, request, request.peer)
        updates = []
        for msg_id in request.id:
            message = ch.messages.get(msg_id)
            if message is None:
                continue
            reactions = getattr(message, "reactions", None) or types.MessageReactions(results=[])
            updates.append(types.UpdateMessageReactions(peer=ch.peer, msg_id=msg_id, reactions=reactions))
        return types.Updates(updates=updates, users=[], chats=[ch.to_tl()], date=self.world.clock, seq=0)
