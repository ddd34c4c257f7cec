"""Comments in a Desktop-shaped export: each channel post's ``"tgvault": {"comments": [...]}``, and the
authors of a discussion group's messages when the group is exported on its own.

A comment is a Desktop message of the discussion group (``id`` in the group, ``type``, ``date``,
``date_unixtime``, ``from``, ``from_id``, ``text``, ``text_entities``, ``reply_to_message_id`` only when
it answers another comment, ``edited``/``edited_unixtime``, media fields) with its own ``"tgvault"``
object (``deleted``, ``deleted_at``, ``revisions``, ``reactions``, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import Any

from tgvault.domain import Channel, Comment, CommentAuthor
from tgvault.export.desktop_json.media_files import MediaFiles
from tgvault.export.desktop_json.messages import MessageWriter
from tgvault.storage.unit_of_work import UnitOfWork

__all__ = ["CommentWriter", "author_fields", "group_senders"]


def author_fields(author: CommentAuthor | None) -> tuple[str | None, str | None]:
    """Desktop's ``from`` and ``from_id`` for a comment's author (``user123`` or ``channel123``)."""
    if author is None:
        return None, None
    return author.name or None, f"{author.kind}{author.id}"


class CommentWriter:
    """Builds the comments of channel posts as Desktop messages; their files go where the posts' go."""

    def __init__(self, uow: UnitOfWork, channel: Channel, zone: tzinfo, files: MediaFiles) -> None:
        self._uow = uow
        self._channel = channel
        self._zone = zone
        self._files = files
        self._writers: dict[int, MessageWriter] = {}

    def for_posts(self, post_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        """The comments of these posts (those that have any), oldest first, by post id."""
        threads = self._uow.discussions.threads(self._channel.id, post_ids)
        found: dict[int, list[dict[str, Any]]] = {}
        for post_id, comments in threads.items():
            found[post_id] = [self._message(comment) for comment in comments]
        return found

    def _message(self, comment: Comment) -> dict[str, Any]:
        group_id = comment.link.group_id
        writer = self._writers.get(group_id)
        if writer is None:
            group = self._uow.channels.get(group_id) or Channel(id=group_id, title=f"Discussion {group_id}")
            writer = self._writers[group_id] = MessageWriter(self._uow, group, self._zone, self._files)
        revisions = self._uow.posts.revisions(group_id, comment.post.message_id)
        message = writer.message(comment.post, revisions)
        message["from"], message["from_id"] = author_fields(comment.author)
        message.pop("reply_to_message_id", None)
        if comment.link.reply_to_comment_id is not None:
            message["reply_to_message_id"] = comment.link.reply_to_comment_id
        message["tgvault"]["reactions"] = [
            reaction.model_dump(exclude_defaults=True) for reaction in comment.post.reactions
        ]
        return message


def group_senders(
    uow: UnitOfWork, group: Channel, message_ids: Sequence[int]
) -> dict[int, tuple[Any, Any, dict[str, int]]]:
    """``from``/``from_id`` of a discussion group's messages that are archived comments, and the post each
    comments on (``"tgvault": {"comment_on": {"channel_id": ..., "post_id": ...}}``, read back by an
    import with ``--comments-of``: Desktop's own export says it through the group's copies of posts)."""
    links = uow.discussions.group_links(group.id, message_ids)
    authors = uow.discussions.authors(
        [link.author_id for link in links.values() if link.author_id is not None]
    )
    return {
        message_id: (
            *author_fields(authors.get(link.author_id) if link.author_id is not None else None),
            {"channel_id": link.channel_id, "post_id": link.post_id},
        )
        for message_id, link in links.items()
    }
