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

from sqlalchemy import select, update

from tgvault.domain import CommentAuthor, CommentLink, ThreadHeader
from tgvault.storage.repositories.discussion_reads import COMMENT_POST, DiscussionReader
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


class DiscussionRepository(DiscussionReader):
    """Comment threads, comment links and comment authors: written here, read by :class:`DiscussionReader`."""

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

    def touch_commented(self, group_id: int, message_ids: Sequence[int], now: datetime) -> None:
        """Mark the channel posts these messages of a discussion group comment on as changed (a comment's
        file arrived, say), so what shows them is written again."""
        posts: dict[int, set[int]] = {}
        for chunk in chunks(sorted(set(message_ids))):
            rows = self._session.execute(
                select(CommentRow.channel_id, CommentRow.post_id).where(
                    CommentRow.group_id == group_id, CommentRow.message_id.in_(chunk)
                )
            )
            for channel_id, post_id in rows:
                posts.setdefault(channel_id, set()).add(post_id)
        for channel_id, post_ids in posts.items():
            self.touch_posts(channel_id, sorted(post_ids), now)

    def posts_with_comments_changed(self, channel_id: int, group_id: int, since: datetime) -> list[int]:
        """The channel posts with a comment in ``group_id`` written (edited, deleted, ...) since ``since``."""
        query = (
            select(CommentRow.post_id)
            .join(PostRow, COMMENT_POST)
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
                elif not author.name and author.username is None:
                    continue  # seen without a name (a pushed update): what is known stays
                elif (row.kind, row.name, row.username) != (author.kind, author.name, author.username):
                    row.kind, row.name, row.username = author.kind, author.name, author.username
                    row.updated_at = now
        self._session.flush()
