"""Discussion comments: the conversation under a channel's posts, kept from its linked discussion group.

The group is a second chat in the same archive (a ``channels`` row of kind ``discussion``); its messages
are stored as posts of the group, with the same revisions, tombstones, raw TL, reactions and media queue,
and each is tied to the channel post it comments on.

What it costs: every channel post Telegram hands over carries a ``replies`` header (how many comments,
the newest comment's id). The header is noted in the same transaction as the post, so a thread whose
newest comment is above what is archived is known to have news even after a crash. Only those threads
are asked for (``messages.getReplies``, from the newest archived comment on, 100 a request): a sync
where nothing changed asks for none. The headers come from whatever reads posts — new posts, the
refresh window, the audit — so new comments on a year-old post are found when the audit re-reads it.
Edits and deletions of comments are found by re-reading archived comments by id (``channels.getMessages``
on the group, 100 a request): the refresh window's recent comments on each sync, all of them in the audit.

A source without headers that reads threads whole (the web preview's discussion widget) is handed to
:mod:`tgvault.services.widget_comments`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from tgvault.domain import Channel
from tgvault.errors import ChannelUnavailableError
from tgvault.services.comment_authors import keep_authors, pseudonymize_archived
from tgvault.services.media_queue import MediaQueue
from tgvault.services.plans import ChannelPlan, MediaPolicy
from tgvault.services.pseudonyms import Pseudonyms
from tgvault.services.tallies import Tally
from tgvault.services.widget_comments import Keep, WidgetComments
from tgvault.sources.base import DiscussionSource, FetchedPost, HistoryPage, PostSource, ThreadSource
from tgvault.storage.repositories import PendingThread
from tgvault.storage.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

Reread = Callable[..., Awaitable[object]]


@dataclass
class CommentCounts:
    """What one pass over a channel's comments did."""

    threads: int = 0
    comments: int = 0
    requests: int = 0


class CommentKeeper:
    """Keeps the comments of channels' discussion groups, through one source into one archive."""

    def __init__(
        self,
        source: PostSource,
        unit_of_work: Callable[[], UnitOfWork],
        *,
        clock: Callable[[], datetime],
        heartbeat: Callable[[UnitOfWork, Channel], None],
        queue_for: Callable[[Channel, MediaPolicy, Tally], MediaQueue],
        reread: Reread,
        keep_pages: Keep | None = None,
    ) -> None:
        """``reread(group, plan, ids, tally, pause=...)`` re-reads archived messages by id (the archiver's);
        ``keep_pages(uow, group, items)`` keeps the pages comments were read from (WARC)."""
        self._source = source
        self._uow = unit_of_work
        self._clock = clock
        self._heartbeat = heartbeat
        self._queue = queue_for
        self._reread = reread
        self.widgets: WidgetComments | None = None
        """Threads read whole (the web preview's discussion widget), when the source reads them so."""
        if isinstance(source, ThreadSource) and not isinstance(source, DiscussionSource):
            self.widgets = WidgetComments(
                source,
                unit_of_work,
                clock=clock,
                heartbeat=heartbeat,
                queue_for=queue_for,
                private_for=self._private,
                keep_pages=keep_pages,
            )

    def group_of(self, channel: Channel, plan: ChannelPlan | None) -> Channel | None:
        """The channel's discussion group when its comments are to be kept (``plan`` None: whatever the
        plan says) and the source can read them."""
        if plan is not None and plan.comments is None:
            return None
        if not isinstance(self._source, DiscussionSource | ThreadSource):
            return None
        return self._source.discussion_group(channel)

    def note(
        self, uow: UnitOfWork, channel: Channel, plan: ChannelPlan, items: Sequence[FetchedPost]
    ) -> None:
        """In the transaction storing these channel posts: record their ``replies`` headers."""
        group = self.group_of(channel, plan)
        if group is None:
            return
        headers = [
            item.thread for item in items if item.thread is not None and item.thread.group_id == group.id
        ]
        if headers:
            uow.discussions.note_headers(headers, self._clock())

    async def catch_up(self, channel: Channel, plan: ChannelPlan, tally: Tally) -> CommentCounts:
        """Fetch the new comments of every thread whose header says it has some (none asked otherwise)."""
        counts = CommentCounts()
        if self.widgets is not None:
            counts.comments = await self.widgets.recent(channel, plan, tally)
            return counts
        group = self.group_of(channel, plan)
        if group is None or plan.comments is None:
            return counts
        await self._settle_authors(channel, plan)
        with self._uow() as uow:
            uow.channels.upsert(group, self._clock())
            pending = uow.discussions.pending(channel.id, group.id)
            uow.commit()
        queue = self._queue(group, plan.comments.media, tally)
        private = self._private(plan)
        try:
            for thread in pending:
                counts.threads += 1
                async for page in self._source_replies(channel, group, thread):
                    counts.requests += 1
                    items = [private(item) for item in page.posts] if private is not None else page.posts
                    counts.comments += await self._commit_page(channel, thread, items, queue)
                with self._uow() as uow:
                    # the header's newest id is covered even when that comment is gone (deleted meanwhile)
                    uow.discussions.mark_fetched(channel.id, thread.post_id, thread.max_id, self._clock())
                    uow.commit()
        except ChannelUnavailableError as error:
            # the group went private (or this account cannot read it): the channel's own sync stands;
            # what was fetched is kept, and the next run continues from there
            log.warning(
                "comments cannot be read now; they are fetched by a later run",
                channel=plan.key,
                group_id=group.id,
                error=str(error),
                threads_left=len(pending) - counts.threads + 1,
            )
        if counts.threads:
            log.info(
                "comments archived",
                channel=plan.key,
                threads=counts.threads,
                comments=counts.comments,
                group_id=group.id,
            )
        return counts

    async def reread(
        self,
        channel: Channel,
        plan: ChannelPlan,
        post_ids: Sequence[int],
        *,
        since: datetime | None = None,
        pause: float = 0.0,
    ) -> None:
        """Re-read the archived comments of these posts (dated ``since`` or later) for edits and deletions.

        Threads read whole (the web source) are read here by the audit only (``since`` None); a sync reads
        its refresh window's threads in :meth:`catch_up`."""
        if self.widgets is not None:
            if since is None:
                await self.widgets.read(channel, plan, post_ids, Tally(), whole=True, pause=pause)
            return
        group = self.group_of(channel, plan)
        if group is None or plan.comments is None or not post_ids:
            return
        await self._settle_authors(channel, plan)
        with self._uow() as uow:
            ids = uow.discussions.comment_ids(channel.id, post_ids, since=since).get(group.id, [])
        if ids:
            group_plan = ChannelPlan(key=f"{plan.key} comments", media=plan.comments.media)
            started = self._clock()
            # comment edits and deletions are not the channel's: they stay out of the run's post counts
            await self._reread(group, group_plan, ids, Tally(), pause=pause, transform=self._private(plan))
            with self._uow() as uow:
                changed = uow.discussions.posts_with_comments_changed(channel.id, group.id, started)
                uow.discussions.touch_posts(channel.id, changed, self._clock())
                uow.commit()

    async def _settle_authors(self, channel: Channel, plan: ChannelPlan) -> None:
        """Before any comment is read: under ``comments_authors = "pseudonymous"``, rewrite the comments
        archived while authors were kept (:mod:`tgvault.services.comment_authors`; at once when done)."""
        if plan.comments is None:
            return
        if not plan.comments.pseudonymous:
            await asyncio.to_thread(keep_authors, self._uow, channel.id)
            return
        changed = await asyncio.to_thread(pseudonymize_archived, self._uow, channel.id, self._clock)
        if changed:
            log.info(
                "comments archived with their authors made pseudonymous", channel=plan.key, comments=changed
            )

    def _source_replies(
        self, channel: Channel, group: Channel, thread: PendingThread
    ) -> AsyncIterator[HistoryPage]:
        assert isinstance(self._source, DiscussionSource)
        return self._source.replies(
            channel, group, thread.post_id, min_id=thread.fetched_max_id, until_id=thread.max_id
        )

    def _private(self, plan: ChannelPlan) -> Callable[[FetchedPost], FetchedPost] | None:
        """What makes a comment pseudonymous under this plan (None: authors are kept)."""
        if plan.comments is None or not plan.comments.pseudonymous:
            return None
        with self._uow() as uow:
            key = uow.discussions.pseudonym_key(self._clock())
            uow.commit()
        return Pseudonyms(key).item

    async def _commit_page(
        self,
        channel: Channel,
        thread: PendingThread,
        items: Sequence[FetchedPost],
        queue: MediaQueue,
    ) -> int:
        if not items:
            return 0

        def commit() -> tuple[int, list[int]]:
            with self._uow() as uow:
                uow.discussions.save_authors(
                    [item.author for item in items if item.author is not None], self._clock()
                )
                written = uow.posts.upsert_many([item.post for item in items], self._clock())
                uow.discussions.link([item.comment for item in items if item.comment is not None])
                queued = queue.enqueue(uow, items)
                newest = max(item.post.message_id for item in items)
                uow.discussions.mark_fetched(channel.id, thread.post_id, newest, self._clock())
                uow.discussions.touch_posts(channel.id, [thread.post_id], self._clock())
                self._heartbeat(uow, channel)
                uow.commit()
            return written.added, queued

        added, queued = await asyncio.to_thread(commit)
        queue.wake(items, queued)
        return added
