"""Comments on Telegram: the pages of a post's comments (``messages.getReplies``), a post's ``replies``
header, the linked discussion group, a comment's author and its place in the thread. Reading any of
these never fails a page: an unexpected shape is None."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from telethon import functions, types
from telethon import utils as tl_utils

from tgvault.domain import Channel, ChannelKind, CommentAuthor, CommentLink, ThreadHeader
from tgvault.sources.base import FetchedPost, HistoryPage
from tgvault.sources.telegram.channels import channel_to_record
from tgvault.sources.telegram.failures import translated_errors
from tgvault.sources.telegram.reading import MappingError

PAGE_SIZE = 100  # Telegram's limit for messages.getReplies


def thread_header(message: Any, channel_id: int) -> ThreadHeader | None:
    """The post's comment thread as its ``replies`` header tells it (count, group, newest comment id)."""
    replies = getattr(message, "replies", None)
    if not isinstance(replies, types.MessageReplies) or not replies.comments:
        return None
    group_id, post_id = replies.channel_id, getattr(message, "id", None)
    if not isinstance(group_id, int) or not isinstance(post_id, int) or group_id <= 0:
        return None
    count = replies.replies if isinstance(replies.replies, int) else 0
    max_id = replies.max_id if isinstance(replies.max_id, int) else 0
    try:
        return ThreadHeader(
            channel_id=channel_id, post_id=post_id, group_id=group_id, count=count, max_id=max_id
        )
    except ValueError:
        return None


def linked_group(full: Any) -> tuple[Channel, Any] | None:
    """The channel's linked discussion group (its record and Telethon entity) from ``GetFullChannel``'s
    answer, which lists it among its chats; None when the channel has none or it is not readable."""
    full_chat = getattr(full, "full_chat", None)
    linked = getattr(full_chat, "linked_chat_id", None)
    if not isinstance(linked, int) or linked <= 0:
        return None
    for chat in getattr(full, "chats", None) or ():
        if isinstance(chat, types.Channel) and chat.id == linked and chat.megagroup:
            try:
                record = channel_to_record(chat)
            except (MappingError, ValueError):
                return None
            return record.model_copy(update={"kind": ChannelKind.DISCUSSION}), chat
    return None


def comment_author(message: Any, senders: Mapping[int, Any] | None = None) -> CommentAuthor | None:
    """Who wrote a group message: the user (or channel) of ``from_id``, named as the answer's users say
    (``senders``: the answer's users and chats by peer id; None: the ``sender`` Telethon filled in)."""
    peer = getattr(message, "from_id", None)
    if senders is None:
        sender = getattr(message, "sender", None)
    else:
        sender = (
            senders.get(tl_utils.get_peer_id(peer))
            if isinstance(peer, types.PeerUser | types.PeerChannel)
            else None
        )
    try:
        if isinstance(peer, types.PeerUser):
            if isinstance(sender, types.User) and sender.id == peer.user_id:
                name = " ".join(part for part in (sender.first_name, sender.last_name) if part)
                return CommentAuthor(id=peer.user_id, name=name, username=sender.username or None)
            return CommentAuthor(id=peer.user_id)
        if isinstance(peer, types.PeerChannel):
            if isinstance(sender, types.Channel) and sender.id == peer.channel_id:
                return CommentAuthor(
                    id=peer.channel_id, kind="channel", name=sender.title or "", username=sender.username
                )
            return CommentAuthor(id=peer.channel_id, kind="channel")
    except ValueError:
        return None
    return None


def comment_link(
    message: Any, group_id: int, channel_id: int, post_id: int, author: CommentAuthor | None
) -> CommentLink | None:
    """Ties a comment to its post; a reply to another comment names it (``reply_to_top_id`` is then the
    group's copy of the post, and ``reply_to_msg_id`` the comment answered)."""
    message_id = getattr(message, "id", None)
    if not isinstance(message_id, int):
        return None
    reply = getattr(message, "reply_to", None)
    parent = None
    if isinstance(reply, types.MessageReplyHeader) and reply.reply_to_top_id:
        parent = reply.reply_to_msg_id if isinstance(reply.reply_to_msg_id, int) else None
    try:
        return CommentLink(
            group_id=group_id,
            message_id=message_id,
            channel_id=channel_id,
            post_id=post_id,
            reply_to_comment_id=parent,
            author_id=author.id if author is not None else None,
        )
    except ValueError:
        return None


async def reply_pages(
    client: Any,
    entity: Any,
    post_id: int,
    *,
    min_id: int,
    until_id: int,
    request_delay: float,
    label: str,
    to_item: Callable[[Any, Mapping[int, Any]], FetchedPost | None],
) -> AsyncIterator[HistoryPage]:
    """The comments on a channel post above ``min_id``, oldest first, 100 a request.

    Telethon's own reverse walk always asks once more for an empty page; here a page shorter than 100
    that reaches ``until_id`` (the post's newest comment, as its header said) is the last. ``to_item`` is
    handed each message with the answer's users and chats by peer id (its author's name is there).
    """
    offset = min_id
    while True:
        if request_delay:  # every request paced, between threads too (a thread is often one page)
            await asyncio.sleep(request_delay)
        request = functions.messages.GetRepliesRequest(
            peer=entity,
            msg_id=post_id,
            offset_id=offset + 1,
            offset_date=None,
            add_offset=-PAGE_SIZE,
            limit=PAGE_SIZE,
            max_id=0,
            min_id=0,
            hash=0,
        )
        with translated_errors(label):
            answer = await client(request)
        known = {tl_utils.get_peer_id(item): item for item in (*answer.users, *answer.chats)}
        messages = sorted(
            (
                message
                for message in answer.messages
                if isinstance(message, types.Message | types.MessageService) and message.id > offset
            ),
            key=lambda message: int(message.id),
        )
        page = []
        for message in messages:
            item = to_item(message, known)
            if item is not None:
                page.append(item)
        if page:
            yield HistoryPage(page, getattr(answer, "count", None))
        if not messages:
            return
        offset = int(messages[-1].id)
        if len(answer.messages) < PAGE_SIZE and offset >= until_id:
            return
