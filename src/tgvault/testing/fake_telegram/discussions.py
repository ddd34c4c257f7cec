"""Linked discussion groups of the fake world: a channel's comments, as Telegram keeps them.

A discussion group is a supergroup linked to the channel (``linked_chat_id`` both ways). Each channel post
that gets comments has a copy in the group (forwarded automatically, ``fwd_from.saved_from_peer`` = the
channel); a comment is a group message replying to that copy (``reply_to_msg_id``), or to another comment
(``reply_to_msg_id`` = that comment, ``reply_to_top_id`` = the copy). The channel post's ``replies`` header
says how many comments it has, in which group, and the newest one's id: it is rewritten on every change.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime

from telethon.tl import types

from tgvault.testing.fake_telegram.channels import FakeChannel
from tgvault.testing.fake_telegram.rpc import TL

__all__ = ["FakeDiscussion"]


@dataclass(eq=False)
class FakeDiscussion:
    """A channel and its discussion group: the group's copy of each post and each post's thread."""

    channel: FakeChannel
    group: FakeChannel
    copies: dict[int, int] = field(default_factory=dict)
    """Channel post id -> the id of its copy in the group."""
    threads: dict[int, list[int]] = field(default_factory=dict)
    """Channel post id -> its comments' ids in the group, ascending."""
    posts: dict[int, int] = field(default_factory=dict)
    """A comment's id -> the channel post it comments on."""

    def copy_of(self, post_id: int) -> int:
        """The group's copy of a channel post, made the first time it is needed."""
        found = self.copies.get(post_id)
        if found is not None:
            return found
        post = self.channel.messages[post_id]
        copy_id = self.group.next_id()
        saved = types.PeerChannel(self.channel.id)
        self.group.add_message(
            types.Message(
                id=copy_id,
                peer_id=self.group.peer,
                date=max(post.date, self.group.last_date),
                message=post.message or "",
                entities=post.entities,
                from_id=saved,
                fwd_from=types.MessageFwdHeader(
                    date=post.date,
                    from_id=saved,
                    channel_post=post_id,
                    saved_from_peer=saved,
                    saved_from_msg_id=post_id,
                ),
            )
        )
        self.copies[post_id] = copy_id
        self.threads[post_id] = []
        return copy_id

    def add_comment(
        self,
        post_id: int,
        author: TL,
        text: str,
        *,
        date: datetime,
        reply_to: int | None = None,
        entities: list[TL] | None = None,
        media: TL = None,
    ) -> TL:
        """A new comment on ``post_id`` by ``author`` (a ``types.User``), replying to the comment
        ``reply_to`` if given; the post's header is updated. Returns the group message."""
        copy_id = self.copy_of(post_id)
        if reply_to is None:
            header = types.MessageReplyHeader(reply_to_msg_id=copy_id)
        else:
            if self.posts.get(reply_to) != post_id:
                raise ValueError(f"comment {reply_to} is not under post {post_id}")
            header = types.MessageReplyHeader(reply_to_msg_id=reply_to, reply_to_top_id=copy_id)
        message_id = self.group.next_id()
        message = types.Message(
            id=message_id,
            peer_id=self.group.peer,
            date=max(date, self.group.last_date),
            message=text,
            entities=entities,
            from_id=types.PeerUser(author.id),
            reply_to=header,
            media=media,
        )
        self.group.add_message(message)
        self.group.related_users[author.id] = author
        self.threads[post_id].append(message_id)
        self.posts[message_id] = post_id
        self.update_header(post_id)
        return message

    def remove_comment(self, message_id: int) -> int | None:
        """Forget a deleted comment's place in its thread; returns its post (None if it was not one)."""
        post_id = self.posts.pop(message_id, None)
        if post_id is None:
            return None
        thread = self.threads[post_id]
        del thread[bisect.bisect_left(thread, message_id)]
        self.update_header(post_id)
        return post_id

    def update_header(self, post_id: int) -> None:
        """Rewrite the channel post's ``replies`` header from its thread."""
        post = self.channel.messages.get(post_id)
        if post is None:
            return
        thread = self.threads.get(post_id, [])
        post.replies = types.MessageReplies(
            replies=len(thread),
            replies_pts=self.group.pts,
            comments=True,
            channel_id=self.group.id,
            max_id=thread[-1] if thread else None,
        )

    def thread_ids(self, post_id: int) -> list[int]:
        """The comments on a post, ascending (the channel's own list: never change it)."""
        return self.threads.get(post_id, [])
