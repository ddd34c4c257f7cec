"""Live mode: write the changes Telegram pushes (new, edited, deleted posts) into the archive at once.

Changes go through the same repositories as a sync: a new post is inserted, an edit keeps the earlier
state as a revision, changed counters add a point to their time series, a deletion is a tombstone like
any other. Live writes never move the sync checkpoints: the next sync still walks every id above its
checkpoint, so a post missed while the connection was down is fetched then, and the files of posts that
arrived live are downloaded by that sync too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tgvault.domain import RunCounts
from tgvault.services.plans import ChannelPlan
from tgvault.sources.base import ChannelUpdate
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
