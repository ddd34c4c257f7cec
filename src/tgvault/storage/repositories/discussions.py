"""Discussion comments: the comment threads of channel posts, comments tied to posts, and their authors.

A comment itself is a row of ``posts`` under its discussion group's id (so it has revisions, tombstones,
raw TL, media and reactions like a post); this repository keeps what ties it to the channel post it
comments on (``comments``), the ``replies`` header of each post and how far its comments are archived
(``discussion_threads``), and who wrote them (``users``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tgvault.domain import Comment, CommentAuthor, CommentLink, Post, ThreadHeader
from tgvault.storage.repositories.post_reads import PostReader
from tgvault.storage.repositories.rows import chunks
from tgvault.storage.tables import ArchiveKeyRow, CommentRow, DiscussionThreadRow, PostRow, UserRow, utcnow

PSEUDONYM_KEY = "comment_pseudonyms"


@dataclass(frozen=True)
class PendingThread:
    """A post whose comments changed since they were last archived: fetch its group's replies above
    ``fetched_max_id`` (up to at least ``max_id``)."""

    channel_id: int
    post_id: int
    group_id: int
    max_id: int
    fetched_max_id: int


class DiscussionRepository:
    """Comment threads, comment links and comment authors."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # -- threads -------------------------------------------------------------------------------

    def note_headers(self, headers: Sequence[ThreadHeader], now: datetime | None = None) -> int:
        """Record the ``replies`` headers of posts just read; returns how many threads now have news."""
        now = now or utcnow()
        news = 0
        by_channel: dict[int, list[ThreadHeader]] = {}
        for header in headers:
            by_channel.setdefault(header.channel_id, []).append(header)
        for channel_id, items in by_channel.items():
            for chunk in chunks(items):
                rows = {
                    row.post_id: row
                    for row in self._session.scalars(
                        select(DiscussionThreadRow).where(
                            DiscussionThreadRow.channel_id == channel_id,
                            DiscussionThreadRow.post_id.in_([item.post_id for item in chunk]),
                        )
                    )
                }
                for header in chunk:
                    row = rows.get(header.post_id)
                    if row is None:
                        row = DiscussionThreadRow(
                            channel_id=channel_id,
                            post_id=header.post_id,
                            group_id=header.group_id,
                            replies=header.count,
                            max_id=header.max_id,
                            fetched_max_id=0,
                            updated_at=now,
                        )
                        self._session.add(row)
                    elif (row.group_id, row.replies, row.max_id) != (
                        header.group_id,
                        header.count,
                        header.max_id,
                    ):
                        if row.group_id != header.group_id:
                            row.fetched_max_id = 0  # another group: its ids start over
                        row.group_id, row.replies, row.max_id = header.group_id, header.count, header.max_id
                        row.updated_at = now
                    if row.max_id > row.fetched_max_id:
                        news += 1
        self._session.flush()
        return news

    def pending(self, channel_id: int, group_id: int) -> list[PendingThread]:
        """The channel's threads in ``group_id`` whose newest comment is above what is archived."""
        rows = self._session.scalars(
            select(DiscussionThreadRow)
            .where(
                DiscussionThreadRow.channel_id == channel_id,
                DiscussionThreadRow.group_id == group_id,
                DiscussionThreadRow.max_id > DiscussionThreadRow.fetched_max_id,
            )
            .order_by(DiscussionThreadRow.post_id)
        )
        return [
            PendingThread(row.channel_id, row.post_id, row.group_id, row.max_id, row.fetched_max_id)
            for row in rows
        ]

    def mark_fetched(self, channel_id: int, post_id: int, fetched_max_id: int, now: datetime) -> None:
        """The thread's comments are archived up to ``fetched_max_id`` (it never moves down)."""
        row = self._session.get(DiscussionThreadRow, (channel_id, post_id))
        if row is not None and fetched_max_id > row.fetched_max_id:
            row.fetched_max_id = fetched_max_id
            row.updated_at = now
            self._session.flush()

    # -- comments ------------------------------------------------------------------------------

    def touch_posts(self, channel_id: int, post_ids: Sequence[int], now: datetime) -> None:
        """Mark channel posts as changed (their comments did), so what shows them is written again."""
        for chunk in chunks(sorted(set(post_ids))):
            self._session.execute(
                update(PostRow)
                .where(PostRow.channel_id == channel_id, PostRow.message_id.in_(chunk))
                .values(updated_at=now)
            )

    def posts_with_comments_changed(self, channel_id: int, group_id: int, since: datetime) -> list[int]:
        """The channel posts with a comment in ``group_id`` written (edited, deleted, ...) since ``since``."""
        query = (
            select(CommentRow.post_id)
            .join(
                PostRow,
                (PostRow.channel_id == CommentRow.group_id) & (PostRow.message_id == CommentRow.message_id),
            )
            .where(
                CommentRow.channel_id == channel_id,
                CommentRow.group_id == group_id,
                PostRow.updated_at >= since,
            )
            .distinct()
        )
        return sorted(self._session.scalars(query))

    def link(self, links: Sequence[CommentLink]) -> None:
        """Tie group messages (already stored as posts of the group) to the channel posts they comment on."""
        for chunk in chunks(links):
            group_ids = {link.group_id for link in chunk}
            existing = {
                (row.group_id, row.message_id): row
                for row in self._session.scalars(
                    select(CommentRow).where(
                        CommentRow.group_id.in_(group_ids),
                        CommentRow.message_id.in_([link.message_id for link in chunk]),
                    )
                )
            }
            for link in chunk:
                values = link.model_dump()
                row = existing.get((link.group_id, link.message_id))
                if row is None:
                    self._session.add(CommentRow(**values))
                else:
                    for key, value in values.items():
                        setattr(row, key, value)
        self._session.flush()

    def comment_ids(
        self, channel_id: int, post_ids: Sequence[int], *, since: datetime | None = None
    ) -> dict[int, list[int]]:
        """The archived comments (group message ids) of these posts, not deleted, dated ``since`` or
        later, by group id."""
        found: dict[int, list[int]] = {}
        for chunk in chunks(post_ids):
            query = (
                select(CommentRow.group_id, CommentRow.message_id)
                .join(
                    PostRow,
                    (PostRow.channel_id == CommentRow.group_id)
                    & (PostRow.message_id == CommentRow.message_id),
                )
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

    def counts(self, channel_id: int, post_ids: Sequence[int] | None = None) -> dict[int, int]:
        """How many comments (not deleted) each post has in the archive, for posts that have any."""
        query = (
            select(CommentRow.post_id, func.count())
            .join(
                PostRow,
                (PostRow.channel_id == CommentRow.group_id) & (PostRow.message_id == CommentRow.message_id),
            )
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
                .join(
                    PostRow,
                    (PostRow.channel_id == CommentRow.group_id)
                    & (PostRow.message_id == CommentRow.message_id),
                )
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

    def thread(self, channel_id: int, post_id: int) -> list[Comment]:
        """A post's comments, oldest first, with their authors (deleted ones carry their tombstone)."""
        return self.threads(channel_id, [post_id]).get(post_id, [])

    def threads(self, channel_id: int, post_ids: Sequence[int]) -> dict[int, list[Comment]]:
        """The comments of these posts (those that have any), each list oldest first, with authors."""
        links = [
            _link_from_row(row)
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

    def group_links(self, group_id: int, message_ids: Sequence[int]) -> dict[int, CommentLink]:
        """The archived comments among these messages of a discussion group, by message id."""
        found: dict[int, CommentLink] = {}
        for chunk in chunks(message_ids):
            rows = self._session.scalars(
                select(CommentRow).where(CommentRow.group_id == group_id, CommentRow.message_id.in_(chunk))
            )
            found.update((row.message_id, _link_from_row(row)) for row in rows)
        return found

    # -- authors -------------------------------------------------------------------------------

    def pseudonym_key(self, now: datetime | None = None) -> bytes:
        """This archive's key for commenters' pseudonyms: 32 random bytes, made on first use and kept."""
        row = self._session.get(ArchiveKeyRow, PSEUDONYM_KEY)
        if row is None:
            row = ArchiveKeyRow(name=PSEUDONYM_KEY, value=secrets.token_hex(32), created_at=now or utcnow())
            self._session.add(row)
            self._session.flush()
        return bytes.fromhex(row.value)

    def save_authors(self, authors: Sequence[CommentAuthor], now: datetime | None = None) -> None:
        """Insert authors seen for the first time; update the name and @username of those who changed."""
        now = now or utcnow()
        unique = {author.id: author for author in authors}
        for chunk in chunks(list(unique.values())):
            rows = {
                row.id: row
                for row in self._session.scalars(
                    select(UserRow).where(UserRow.id.in_([author.id for author in chunk]))
                )
            }
            for author in chunk:
                row = rows.get(author.id)
                if row is None:
                    self._session.add(
                        UserRow(
                            id=author.id,
                            kind=author.kind,
                            name=author.name,
                            username=author.username,
                            first_seen_at=now,
                            updated_at=now,
                        )
                    )
                elif (row.kind, row.name, row.username) != (author.kind, author.name, author.username):
                    row.kind, row.name, row.username = author.kind, author.name, author.username
                    row.updated_at = now
        self._session.flush()

    def authors(self, ids: Sequence[int]) -> dict[int, CommentAuthor]:
        """Archived comment authors by id."""
        found: dict[int, CommentAuthor] = {}
        for chunk in chunks(sorted(set(ids))):
            for row in self._session.scalars(select(UserRow).where(UserRow.id.in_(chunk))):
                found[row.id] = CommentAuthor(id=row.id, kind=row.kind, name=row.name, username=row.username)
        return found


def _link_from_row(row: CommentRow) -> CommentLink:
    return CommentLink(
        group_id=row.group_id,
        message_id=row.message_id,
        channel_id=row.channel_id,
        post_id=row.post_id,
        reply_to_comment_id=row.reply_to_comment_id,
        author_id=row.author_id,
    )
