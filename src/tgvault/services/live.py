"""Live mode: write the changes Telegram pushes (new, edited, deleted posts) into the archive at once.

Changes go through the same repositories as a sync: a new post is inserted, an edit keeps the earlier
state as a revision, changed counters add a point to their time series, a deletion is a tombstone like
any other. Live writes never move the sync checkpoints: the next sync still walks every id above its
checkpoint, so a post missed while the connection was down is fetched then, and the files of posts that
arrived live are downloaded by that sync too. Comments pushed by a followed channel's discussion group
are kept the same way (:meth:`LiveWriter.apply_comments`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from tgvault.domain import CommentLink, RunCounts
from tgvault.services.comment_authors import pseudonymize_archived
from tgvault.services.plans import ChannelPlan
from tgvault.services.pseudonyms import Pseudonyms
from tgvault.sources.base import ChannelUpdate, FetchedPost
from tgvault.storage.tables import utcnow
from tgvault.storage.unit_of_work import UnitOfWork


class LiveWriter:
    """Applies pushed channel updates to the archive, one transaction per update."""

    def __init__(
        self, unit_of_work: Callable[[], UnitOfWork], *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._uow = unit_of_work
        self._clock = clock

    def apply(self, update: ChannelUpdate, plan: ChannelPlan) -> RunCounts:
        """Store the update's posts (those in the plan's date range) and tombstones; returns what changed."""
        posts = [item.post for item in update.posts if plan.since is None or item.post.date >= plan.since]
        now = self._clock()
        with self._uow() as uow:
            outcome = uow.posts.upsert_many(posts, now)
            deleted = uow.posts.mark_deleted(update.channel_id, update.deleted_ids, now)
            uow.commit()
        return RunCounts(posts_added=outcome.added, posts_edited=outcome.edited, posts_deleted=deleted)

    def apply_comments(self, update: ChannelUpdate, plan: ChannelPlan, channel_id: int) -> bool:
        """Store a pushed update of the channel's discussion group: edits and deletions of archived
        comments, and new messages that answer an archived comment or a post whose copy in the group is
        known (the first comment of a thread waits for the next sync, which its post's header sends it
        to). Messages that are no comments are left out. True when a comment changed."""
        comments = plan.comments
        if comments is None:
            return False
        group_id, now = update.channel_id, self._clock()
        if comments.pseudonymous:  # comments archived under "keep" are rewritten first (once)
            pseudonymize_archived(self._uow, channel_id, self._clock)
        with self._uow() as uow:
            items = list(update.posts)
            if comments.pseudonymous:
                private = Pseudonyms(uow.discussions.pseudonym_key(now))
                items = [private.item(item) for item in items]
            known = uow.discussions.group_links(group_id, [item.post.message_id for item in items])
            answered = [item.post.reply_to_message_id for item in items if item.post.reply_to_message_id]
            parents = uow.discussions.group_links(group_id, answered)
            copies = uow.discussions.posts_of_copies(channel_id, group_id, answered)
            kept, links = [], []
            for item in items:
                link = known.get(item.post.message_id) or _placed(item, channel_id, parents, copies)
                if link is None:
                    continue
                kept.append(item)
                links.append(link)
            gone = uow.discussions.group_links(group_id, update.deleted_ids)
            uow.discussions.save_authors([item.author for item in kept if item.author is not None], now)
            uow.posts.upsert_many([item.post for item in kept], now)
            uow.discussions.link(links)
            uow.posts.mark_deleted(group_id, list(gone), now)
            touched = {link.post_id for link in links} | {link.post_id for link in gone.values()}
            uow.discussions.touch_posts(channel_id, sorted(touched), now)
            uow.commit()
        return bool(touched)


def _placed(
    item: FetchedPost, channel_id: int, parents: Mapping[int, CommentLink], copies: Mapping[int, int]
) -> CommentLink | None:
    """Where a new group message belongs: under the comment it answers, or under the post whose copy it
    answers; None when neither is known."""
    answered = item.post.reply_to_message_id
    if answered is None:
        return None
    author_id = item.author.id if item.author is not None else None
    parent = parents.get(answered)
    if parent is not None:
        return CommentLink(
            group_id=parent.group_id,
            message_id=item.post.message_id,
            channel_id=channel_id,
            post_id=parent.post_id,
            reply_to_comment_id=answered,
            author_id=author_id,
        )
    if answered in copies:
        return CommentLink(
            group_id=item.post.channel_id,
            message_id=item.post.message_id,
            channel_id=channel_id,
            post_id=copies[answered],
            author_id=author_id,
        )
    return None
