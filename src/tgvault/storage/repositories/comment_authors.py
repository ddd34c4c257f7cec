"""Rewriting comments archived under ``comments_authors = "keep"`` when the channel switches to
``"pseudonymous"``: their authors, user ids and names replaced in place (rows, revisions, raw TL).

The service decides what each comment becomes (:mod:`tgvault.services.comment_authors`); this repository
reads the comments a page at a time, writes them back in the caller's transaction and keeps the ledger
true: the ledger is append-only, so a comment whose hashed state changes (a mention's user id in its
entities) gets new ``revision`` entries, each rewritten earlier state first and its current state last.
How far a channel's rewrite has come is kept in ``archive_keys`` (``comment_authors:<channel id>``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from tgvault.domain import CommentAuthor, CommentLink, Post, PostRevision
from tgvault.storage.ledger_records import REVISION, Draft, record_hash, revision_record
from tgvault.storage.repositories.discussion_reads import DiscussionReader, link_from_row
from tgvault.storage.repositories.ledger import LedgerRepository
from tgvault.storage.repositories.post_reads import PostReader, revision_from_row
from tgvault.storage.repositories.rows import chunks, entities_json
from tgvault.storage.tables import ArchiveKeyRow, CommentRow, PostRevisionRow, PostRow, UserRow

_MARK = "comment_authors:{}"
DONE = "done"
"""The mark of a channel whose archived comments are all pseudonymous."""


@dataclass(frozen=True)
class ArchivedComment:
    """A comment as archived: what ties it to its post, its message (with raw TL), its earlier states
    (with raw TL) and its author."""

    link: CommentLink
    post: Post
    revisions: tuple[PostRevision, ...]
    author: CommentAuthor | None


class CommentAuthorRepository:
    """Reads a channel's archived comments page by page and writes rewritten ones back."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # -- how far the rewrite is ----------------------------------------------------------------

    def mark(self, channel_id: int) -> str | None:
        """``"done"``, the last comment rewritten (``"<group id>:<message id>"``), or None (not begun)."""
        row = self._session.get(ArchiveKeyRow, _MARK.format(channel_id))
        return None if row is None else row.value

    def set_mark(self, channel_id: int, value: str, now: datetime) -> None:
        """Record how far the channel's rewrite is (in the transaction of the comments rewritten)."""
        row = self._session.get(ArchiveKeyRow, _MARK.format(channel_id))
        if row is None:
            self._session.add(ArchiveKeyRow(name=_MARK.format(channel_id), value=value, created_at=now))
        else:
            row.value = value
        self._session.flush()

    def clear_mark(self, channel_id: int) -> None:
        """Forget the rewrite (the channel keeps authors again: a later switch rewrites anew)."""
        self._session.execute(delete(ArchiveKeyRow).where(ArchiveKeyRow.name == _MARK.format(channel_id)))

    # -- reading and writing -------------------------------------------------------------------

    def page(self, channel_id: int, after: tuple[int, int], limit: int) -> list[ArchivedComment]:
        """The channel's comments after ``(group id, message id)``, in that order, at most ``limit``."""
        rows = self._session.scalars(
            select(CommentRow)
            .where(
                CommentRow.channel_id == channel_id,
                tuple_(CommentRow.group_id, CommentRow.message_id) > tuple_(*after),
            )
            .order_by(CommentRow.group_id, CommentRow.message_id)
            .limit(limit)
        )
        links = [link_from_row(row) for row in rows]
        authors = DiscussionReader(self._session).authors(
            [link.author_id for link in links if link.author_id is not None]
        )
        reader = PostReader(self._session)
        found: list[ArchivedComment] = []
        for group_id in sorted({link.group_id for link in links}):
            ids = [link.message_id for link in links if link.group_id == group_id]
            posts = reader.get_many(group_id, ids)
            revisions: dict[int, list[PostRevision]] = {}
            for chunk in chunks(ids):
                for row in self._session.scalars(
                    select(PostRevisionRow)
                    .where(PostRevisionRow.channel_id == group_id, PostRevisionRow.message_id.in_(chunk))
                    .order_by(PostRevisionRow.message_id, PostRevisionRow.revision)
                ):
                    revisions.setdefault(row.message_id, []).append(revision_from_row(row))
            for link in links:
                post = posts.get(link.message_id)
                if link.group_id != group_id or post is None:
                    continue
                author = authors.get(link.author_id) if link.author_id is not None else None
                found.append(ArchivedComment(link, post, tuple(revisions.get(link.message_id, ())), author))
        return found

    def rewrite(self, comments: Sequence[ArchivedComment], now: datetime) -> int:
        """Write rewritten comments back in place: their rows of ``posts`` (entities, forward, signature,
        raw TL), their earlier states and their authors' ids; a changed state is appended to the group's
        ledger. Returns how many comments changed."""
        changed = 0
        drafts: dict[int, list[Draft]] = {}
        for comment in comments:
            post = comment.post
            group_id, message_id = post.channel_id, post.message_id
            row = self._session.get(PostRow, (group_id, message_id))
            if row is None:
                continue
            states: list[str] = []
            revisions = {r.revision: r for r in comment.revisions}
            stored = (
                ()
                if not revisions
                else self._session.scalars(
                    select(PostRevisionRow)
                    .where(PostRevisionRow.channel_id == group_id, PostRevisionRow.message_id == message_id)
                    .order_by(PostRevisionRow.revision)
                )
            )
            for kept in stored:
                new = revisions.get(kept.revision)
                if new is None:
                    continue
                before = _state(
                    group_id, message_id, kept.text, kept.entities, kept.edit_date, kept.poll, kept.web_page
                )
                entities = entities_json(new.entities)
                if (kept.entities, kept.raw) != (entities, new.raw):
                    kept.entities, kept.raw = entities, new.raw
                    after = _state(
                        group_id, message_id, kept.text, entities, kept.edit_date, kept.poll, kept.web_page
                    )
                    if after != before:
                        states.append(after)
            before = _state(
                group_id, message_id, row.text, row.entities, row.edit_date, row.poll, row.web_page
            )
            values = {
                "entities": entities_json(post.entities),
                "forward": None
                if post.forward is None
                else post.forward.model_dump(mode="json", exclude_defaults=True),
                "author": post.author,
                "raw": post.raw,
            }
            moved = any(getattr(row, name) != value for name, value in values.items())
            for name, value in values.items():
                setattr(row, name, value)
            after = _state(
                group_id, message_id, row.text, row.entities, row.edit_date, row.poll, row.web_page
            )
            if states or after != before:
                states.append(after)  # the current state is the last the ledger records
                drafts.setdefault(group_id, []).extend(Draft(REVISION, message_id, now, s) for s in states)
            current = self._session.get(CommentRow, (group_id, message_id))
            if current is not None and current.author_id != comment.link.author_id:
                current.author_id = comment.link.author_id
                moved = True
            if moved or states:
                row.updated_at = now
                changed += 1
        self._session.flush()
        ledger = LedgerRepository(self._session)
        for group_id, items in drafts.items():
            ledger.append(group_id, items)
        return changed

    def drop_unused_authors(self, ids: Sequence[int]) -> None:
        """Delete these authors where no archived comment names them any more."""
        for chunk in chunks(sorted(set(ids))):
            used = set(
                self._session.scalars(
                    select(CommentRow.author_id).where(CommentRow.author_id.in_(chunk)).distinct()
                )
            )
            gone = [author_id for author_id in chunk if author_id not in used]
            if gone:
                self._session.execute(delete(UserRow).where(UserRow.id.in_(gone)))


def _state(
    channel_id: int,
    message_id: int,
    text: str,
    entities: object,
    edit_date: datetime | None,
    poll: dict[str, Any] | None,
    web_page: dict[str, Any] | None,
) -> str:
    """The ledger hash of a post's state, as :mod:`tgvault.storage.repositories.post_writes` hashes it."""
    return record_hash(revision_record(channel_id, message_id, text, entities, edit_date, poll, web_page))  # type: ignore[arg-type]
