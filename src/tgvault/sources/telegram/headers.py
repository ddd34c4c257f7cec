"""A message's headers: the reply it answers, where it was forwarded from, its reactions and reply count."""

from __future__ import annotations

from typing import Any

from telethon.tl import types

from tgvault.domain import Forward, Reaction
from tgvault.sources.telegram.reading import (
    Reader,
    Unexpected,
    nonempty,
    opt_int,
    opt_str,
    req_int,
    type_name,
    utc,
)


def reply_fields(reply_to: Any, reader: Reader) -> dict[str, Any]:
    """Post fields for the message a post replies to (in this channel or another one)."""
    if reply_to is None or isinstance(reply_to, types.MessageReplyStoryHeader):
        return {}
    if not isinstance(reply_to, types.MessageReplyHeader):
        raise Unexpected(f"unexpected {type_name(reply_to)}")
    message_id = opt_int(reply_to.reply_to_msg_id, "reply_to_msg_id")
    peer = reply_to.reply_to_peer_id
    if peer is None:
        return {"reply_to_message_id": message_id}
    if isinstance(peer, types.PeerChannel):
        channel = opt_int(peer.channel_id, "channel_id")
        return {"reply_to_message_id": message_id, "reply_to_channel_id": channel}
    # A reply to a message in a user's or a basic group's chat: its id means nothing in this channel.
    reader.note("reply_to", f"reply to a message in {type_name(peer)} is kept in raw only")
    return {}


def forward_of(header: Any, reader: Reader) -> Forward | None:
    """Where a forwarded message comes from, or None when it is not forwarded."""
    if header is None:
        return None
    if not isinstance(header, types.MessageFwdHeader):
        raise Unexpected(f"unexpected {type_name(header)}")
    origin = header.from_id
    channel_id = user_id = None
    if isinstance(origin, types.PeerChannel):
        channel_id = opt_int(origin.channel_id, "channel_id")
    elif isinstance(origin, types.PeerUser):
        user_id = opt_int(origin.user_id, "user_id")
    elif origin is not None:
        reader.note("forward", f"origin {type_name(origin)} is kept in raw only")
    return Forward(
        from_channel_id=channel_id,
        from_user_id=user_id,
        from_name=nonempty(header.from_name, "from_name"),
        from_message_id=opt_int(header.channel_post, "channel_post"),
        date=utc(header.date, "date"),
        post_author=nonempty(header.post_author, "post_author"),
    )


def _reaction(counted: Any) -> Reaction | None:
    if not isinstance(counted, types.ReactionCount):
        raise Unexpected(f"unexpected {type_name(counted)}")
    count = req_int(counted.count, "count")
    reaction = counted.reaction
    if isinstance(reaction, types.ReactionEmoji):
        return Reaction(emoji=opt_str(reaction.emoticon, "emoticon"), count=count)
    if isinstance(reaction, types.ReactionCustomEmoji):
        return Reaction(custom_emoji_id=opt_int(reaction.document_id, "document_id"), count=count)
    if isinstance(reaction, types.ReactionPaid):
        return Reaction(paid=True, count=count)
    if isinstance(reaction, types.ReactionEmpty):
        return None
    raise Unexpected(f"unexpected {type_name(reaction)}")


def reactions_of(reactions: Any, reader: Reader) -> tuple[Reaction, ...]:
    """The reaction counts of a message; one that cannot be read is left out and noted."""
    if reactions is None:
        return ()
    if not isinstance(reactions, types.MessageReactions):
        raise Unexpected(f"unexpected {type_name(reactions)}")
    return reader.each("reactions", reactions.results, _reaction)


def reply_count(replies: Any) -> int | None:
    """How many comments (replies) a channel post has, when Telegram says."""
    if replies is None:
        return None
    if not isinstance(replies, types.MessageReplies):
        raise Unexpected(f"unexpected {type_name(replies)}")
    return opt_int(replies.replies, "replies")
