"""Discussion requests: ``messages.getReplies``, the comments under a channel post (or a group message)."""

from __future__ import annotations

from telethon.tl import functions, types

from tgvault.testing.fake_telegram.handlers.history import history_window
from tgvault.testing.fake_telegram.handlers.peers import channel_of, referenced
from tgvault.testing.fake_telegram.references import ReferenceRotations
from tgvault.testing.fake_telegram.rpc import TL, RequestHandler, rpc_error
from tgvault.testing.fake_telegram.world import FakeWorld

__all__ = ["DiscussionRequests"]


class DiscussionRequests:
    """Answers reads of comment threads from the world's linked discussion groups."""

    def __init__(self, world: FakeWorld, references: ReferenceRotations) -> None:
        """Answer for ``world``, whose file references ``references`` rotates."""
        self.world = world
        self.references = references

    def handlers(self) -> dict[type, RequestHandler]:
        """The requests answered here, by type."""
        return {functions.messages.GetRepliesRequest: self.get_replies}

    def get_replies(self, request: TL) -> TL:
        """``messages.getReplies``: the comments of the channel post ``msg_id`` (or of the group's copy of
        it), paged like ``getHistory`` (newest first, ``offset_id``, ``add_offset``, ``limit`` up to 100,
        ``min_id``/``max_id``); ``count`` is the thread's size. A post without comments answers
        ``MSG_ID_INVALID`` as Telegram does."""
        ch = channel_of(self.world, request, request.peer)
        discussion = self.world.discussions.get(ch.id)
        if discussion is None:
            raise rpc_error(request, "MSG_ID_INVALID")
        post_id = request.msg_id
        if ch is discussion.group:
            found = next((post for post, copy in discussion.copies.items() if copy == request.msg_id), None)
            if found is None:
                raise rpc_error(request, "MSG_ID_INVALID")
            post_id = found
        elif post_id not in discussion.channel.messages:
            raise rpc_error(request, "MSG_ID_INVALID")
        group = discussion.group
        if group.vanished:
            raise rpc_error(request, "CHANNEL_PRIVATE")
        ids = discussion.thread_ids(post_id)
        chosen = history_window(ids, request, lambda i: group.messages[i].date)
        messages = [group.messages[i] for i in chosen]
        self.references.refresh(group, messages, strict=self.world.strict_file_references)
        chats, users = referenced(self.world, group, messages)
        if all(chat.id != discussion.channel.id for chat in chats):
            chats.append(discussion.channel.to_tl())
        return types.messages.ChannelMessages(
            pts=group.pts, count=len(ids), messages=messages, topics=[], chats=chats, users=users
        )
