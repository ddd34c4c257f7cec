"""Reading comments back: a post's thread with its authors, counts and texts for the site, the comments
of posts to re-read, what ties new group messages to posts (for live mode)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from tgvault.domain import Comment, CommentAuthor, CommentLink, MediaStatus, Post
from tgvault.storage.repositories.post_reads import PostReader
from tgvault.storage.repositories.rows import chunks, table
from tgvault.storage.tables import CommentRow, DiscussionThreadRow, MediaItemRow, PostRow, UserRow

# a comment's own row of ``posts`` (a message of the discussion group)
COMMENT_POST = (PostRow.channel_id == CommentRow.group_id) & (PostRow.message_id == CommentRow.message_id)


class DiscussionReader:
    """Comments, their threads and their authors as the archive holds them."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def comment_ids(
        self, channel_id: int, post_ids: Sequence[int], *, since: datetime | None = None
    ) -> dict[int, list[int]]:
        """The archived comments (group message ids) of these posts, not deleted, dated ``since`` or
        later, by group id."""
        found: dict[int, list[int]] = {}
        for chunk in chunks(post_ids):
            query = (
                select(CommentRow.group_id, CommentRow.message_id)
                .join(PostRow, COMMENT_POST)
                .where(
                    CommentRow.channel_id == channel_id,
                    CommentRow.post_id.in_(chunk),
                    PostRow.deleted_at.is_(None),
                )
                .order_by(CommentRow.group_id, CommentRow.message_id)
            )
            if since is not None:
                query = query.where(PostRow.date >= since)
            rows = self._session.execute(query)
            for group_id, message_id in rows:
                found.setdefault(group_id, []).append(message_id)
        return found

    def any_comments(self, channel_id: int) -> bool:
        """Whether the archive holds a comment (deleted or not) on any post of the channel."""
        comments = CommentRow.__table__.c  # Core columns: asked by every site build that renders cards
        query = select(comments.post_id).where(comments.channel_id == channel_id).limit(1)
        return self._session.execute(query).first() is not None

    def counts(self, channel_id: int, post_ids: Sequence[int] | None = None) -> dict[int, int]:
        """How many comments (not deleted) each post has in the archive, for posts that have any."""
        query = (
            select(CommentRow.post_id, func.count())
            .join(PostRow, COMMENT_POST)
            .where(CommentRow.channel_id == channel_id, PostRow.deleted_at.is_(None))
            .group_by(CommentRow.post_id)
        )
        if post_ids is None:
            return {post_id: count for post_id, count in self._session.execute(query)}
        found: dict[int, int] = {}
        for chunk in chunks(post_ids):
            for post_id, count in self._session.execute(query.where(CommentRow.post_id.in_(chunk))):
                found[post_id] = count
        return found

    def texts(self, channel_id: int, post_ids: Sequence[int]) -> dict[int, list[str]]:
        """The texts of these posts' comments (not deleted, not empty), oldest first, by post id."""
        found: dict[int, list[str]] = {}
        for chunk in chunks(post_ids):
            rows = self._session.execute(
                select(CommentRow.post_id, PostRow.text)
                .join(PostRow, COMMENT_POST)
                .where(
                    CommentRow.channel_id == channel_id,
                    CommentRow.post_id.in_(chunk),
                    PostRow.deleted_at.is_(None),
                    PostRow.text != "",
                )
                .order_by(CommentRow.post_id, CommentRow.message_id)
            )
            for post_id, text in rows:
                found.setdefault(post_id, []).append(text)
        return found

    def groups(self) -> dict[int, dict[int, int]]:
        """Every channel with a discussion group in the archive: channel id -> {group id: comments not
        deleted} (a group whose threads are known but whose comments are not archived yet counts 0)."""
        found: dict[int, dict[int, int]] = {}
        for channel_id, group_id in self._session.execute(
            select(DiscussionThreadRow.channel_id, DiscussionThreadRow.group_id).distinct()
        ):
            found.setdefault(channel_id, {}).setdefault(group_id, 0)
        counted = (
            select(CommentRow.channel_id, CommentRow.group_id, func.count())
            .join(PostRow, COMMENT_POST)
            .where(PostRow.deleted_at.is_(None))
            .group_by(CommentRow.channel_id, CommentRow.group_id)
        )
        for channel_id, group_id, count in self._session.execute(counted):
            found.setdefault(channel_id, {})[group_id] = int(count)
        return found

    def files(self, channel_id: int, post_ids: Sequence[int] | None = None) -> list[str]:
        """The stored files the channel's comments (of these posts; None: of every post) show: each
        downloaded file, else its preview image, once each, in path order."""
        # Core tables: every site build asks (no ORM compile state)
        comments, media = table(CommentRow), table(MediaItemRow)
        shown = case(
            (media.c.status == MediaStatus.DOWNLOADED.value, media.c.path),
            else_=media.c.thumbnail_path,
        )
        query = (
            select(shown)
            .select_from(comments)
            .join(
                media,
                (media.c.channel_id == comments.c.group_id) & (media.c.message_id == comments.c.message_id),
            )
            .where(comments.c.channel_id == channel_id)
        )
        if post_ids is None:
            return sorted({path for path in self._session.scalars(query) if path})
        found: set[str] = set()
        for chunk in chunks(post_ids):
            found.update(
                path for path in self._session.scalars(query.where(comments.c.post_id.in_(chunk))) if path
            )
        return sorted(found)

    def thread(self, channel_id: int, post_id: int) -> list[Comment]:
        """A post's comments, oldest first, with their authors (deleted ones carry their tombstone)."""
        return self.threads(channel_id, [post_id]).get(post_id, [])

    def threads(self, channel_id: int, post_ids: Sequence[int]) -> dict[int, list[Comment]]:
        """The comments of these posts (those that have any), each list oldest first, with authors."""
        links = [
            link_from_row(row)
            for chunk in chunks(post_ids)
            for row in self._session.scalars(
                select(CommentRow)
                .where(CommentRow.channel_id == channel_id, CommentRow.post_id.in_(chunk))
                .order_by(CommentRow.group_id, CommentRow.message_id)
            )
        ]
        authors = self.authors([link.author_id for link in links if link.author_id is not None])
        reader = PostReader(self._session)
        posts: dict[tuple[int, int], Post] = {}
        for group_id in {link.group_id for link in links}:
            ids = [link.message_id for link in links if link.group_id == group_id]
            for message_id, stored in reader.get_many(group_id, ids).items():
                posts[(group_id, message_id)] = stored
        found: dict[int, list[Comment]] = {}
        for link in links:
            post = posts.get((link.group_id, link.message_id))
            if post is None:
                continue
            author = authors.get(link.author_id) if link.author_id is not None else None
            found.setdefault(link.post_id, []).append(Comment(post=post, link=link, author=author))
        return found

    def posts_of_copies(self, channel_id: int, group_id: int, copy_ids: Sequence[int]) -> dict[int, int]:
        """Which channel posts these messages of the group are the copies of (as archived comments that
        answer them directly tell): copy id -> post id."""
        found: dict[int, int] = {}
        for chunk in chunks(copy_ids):
            rows = self._session.execute(
                select(PostRow.reply_to_message_id, CommentRow.post_id)
                .join(PostRow, COMMENT_POST)
                .where(
                    CommentRow.channel_id == channel_id,
                    CommentRow.group_id == group_id,
                    CommentRow.reply_to_comment_id.is_(None),
                    PostRow.reply_to_message_id.in_(chunk),
                )
                .distinct()
            )
            for copy_id, post_id in rows:
                if copy_id is not None:
                    found[copy_id] = post_id
        return found

    def posts_near(self, channel_id: int, start: datetime, end: datetime) -> list[tuple[int, datetime, str]]:
        """The channel's posts dated from ``start`` to ``end``: (id, date, text), by id (to find the post a
        discussion group's copy was forwarded from, when nothing else says)."""
        rows = self._session.execute(
            select(PostRow.message_id, PostRow.date, PostRow.text)
            .where(PostRow.channel_id == channel_id, PostRow.date >= start, PostRow.date <= end)
            .order_by(PostRow.message_id)
        )
        return [(message_id, date, text) for message_id, date, text in rows]

    def group_links(self, group_id: int, message_ids: Sequence[int]) -> dict[int, CommentLink]:
        """The archived comments among these messages of a discussion group, by message id."""
        found: dict[int, CommentLink] = {}
        for chunk in chunks(message_ids):
            rows = self._session.scalars(
                select(CommentRow).where(CommentRow.group_id == group_id, CommentRow.message_id.in_(chunk))
            )
            found.update((row.message_id, link_from_row(row)) for row in rows)
        return found

    def authors(self, ids: Sequence[int]) -> dict[int, CommentAuthor]:
        """Archived comment authors by id."""
        found: dict[int, CommentAuthor] = {}
        for chunk in chunks(sorted(set(ids))):
            for row in self._session.scalars(select(UserRow).where(UserRow.id.in_(chunk))):
                found[row.id] = CommentAuthor(id=row.id, kind=row.kind, name=row.name, username=row.username)
        return found


def link_from_row(row: CommentRow) -> CommentLink:
    """A ``comments`` row as its record."""
    return CommentLink(
        group_id=row.group_id,
        message_id=row.message_id,
        channel_id=row.channel_id,
        post_id=row.post_id,
        reply_to_comment_id=row.reply_to_comment_id,
        author_id=row.author_id,
    )
