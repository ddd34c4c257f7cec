"""Comments read thread by thread, for a source without ``replies`` headers (the web preview's widget).

A :class:`~tgvault.sources.base.ThreadSource` cannot say which posts have new comments, so each thread
costs a request to look at: a sync reads the threads of the refresh window's posts (the newest posts and
the last days', where comments arrive), from the newest down to what is archived; the audit reads the
threads of every post whole. A thread read in the last :data:`REREAD_AFTER` is not read again (the audit
and the sync that follows it share their reads).

What a thread shows lands exactly where the Telegram source's comments land: the group as a channel of
kind ``discussion``, each comment a row of ``posts`` (edits become revisions), tied to its post in
``comments`` (the post's ``replies`` count set from the widget's, as the channel's page shows none),
its author in ``users`` (pseudonymous under ``comments_authors = "pseudonymous"``), its file
through the group's download queue, and the pages it was read from as WARC records of the group (not in a
pseudonymous archive: the pages name the commenters). Deletions are not recorded: the widget shows no
tombstones, and a comment it stops showing may only have been pushed out of its pages.

When the first thread read for a channel shows no discussion (comments off, a private group), the
channel's comments are reported as not available on the web, once, and its other threads are not asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Final

import structlog

from tgvault.domain import Channel, CommentLink, ThreadHeader
from tgvault.services.media_queue import MediaQueue
from tgvault.services.plans import ChannelPlan, MediaPolicy
from tgvault.services.tallies import Tally
from tgvault.sources.base import CommentThread, FetchedPost, ThreadSource
from tgvault.storage.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

REREAD_AFTER: Final = timedelta(minutes=10)
NOT_ON_THE_WEB: Final = "comments are not available on the web"

Keep = Callable[[UnitOfWork, Channel, Sequence[FetchedPost]], None]
Private = Callable[[ChannelPlan], Callable[[FetchedPost], FetchedPost] | None]


def _keeping(link: CommentLink, known: CommentLink | None) -> CommentLink:
    """A comment's link as the widget read it, keeping the author another source named (a Telegram id is
    worth more than the widget's name-based id)."""
    if known is None or known.author_id is None:
        return link
    return link.model_copy(update={"author_id": known.author_id})


class WidgetComments:
    """Keeps comments read thread by thread through a :class:`ThreadSource` (see the module)."""

    def __init__(
        self,
        source: ThreadSource,
        unit_of_work: Callable[[], UnitOfWork],
        *,
        clock: Callable[[], datetime],
        heartbeat: Callable[[UnitOfWork, Channel], None],
        queue_for: Callable[[Channel, MediaPolicy, Tally], MediaQueue],
        private_for: Private,
        keep_pages: Keep | None = None,
    ) -> None:
        """``keep_pages(uow, group, items)`` writes the pages items were read from (WARC records)."""
        self._source = source
        self._uow = unit_of_work
        self._clock = clock
        self._heartbeat = heartbeat
        self._queue = queue_for
        self._private = private_for
        self._keep = keep_pages
        self._read_at: dict[tuple[int, int], datetime] = {}
        self.unavailable: dict[int, str] = {}
        """Channels whose widget showed no discussion, with Telegram's words (this process)."""

    async def recent(self, channel: Channel, plan: ChannelPlan, tally: Tally) -> int:
        """Read the threads of the refresh window's posts down to what is archived; returns comments added."""
        now = self._clock()
        with self._uow() as uow:
            ids = uow.posts.ids_for_refresh(channel.id, plan.refresh.newest_posts, plan.refresh.since(now))
        return await self.read(channel, plan, ids, tally, whole=False)

    async def read(
        self,
        channel: Channel,
        plan: ChannelPlan,
        post_ids: Sequence[int],
        tally: Tally,
        *,
        whole: bool,
        pause: float = 0.0,
    ) -> int:
        """Read these posts' threads, newest first (``whole``: each to its first comment)."""
        if plan.comments is None:
            return 0
        private = self._private(plan)
        added = threads = 0
        for post_id in sorted(set(post_ids), reverse=True):
            last = self._read_at.get((channel.id, post_id))
            if last is not None and self._clock() - last < REREAD_AFTER:
                continue
            if threads and pause > 0:
                await asyncio.sleep(pause)
            stop_at = 0 if whole else self._archived_max(channel, post_id)
            thread = await self._source.read_thread(channel, post_id, stop_at=stop_at)
            self._read_at[(channel.id, post_id)] = self._clock()
            threads += 1
            if thread.group is None:
                if self._source.discussion_group(channel) is None and threads == 1:
                    self._report_unavailable(channel, plan, thread)
                    return added
                continue
            self.unavailable.pop(channel.id, None)
            items = [private(item) for item in thread.comments] if private else thread.comments
            added += await self._commit(channel, plan, thread, thread.group, items, tally)
        if threads:
            log.info("comment threads read from the web", channel=plan.key, threads=threads, added=added)
        return added

    def _report_unavailable(self, channel: Channel, plan: ChannelPlan, thread: CommentThread) -> None:
        reason = thread.unavailable or "the widget shows no discussion"
        if self.unavailable.get(channel.id) != reason:
            log.warning(NOT_ON_THE_WEB, channel=plan.key, post=thread.post_id, telegram_says=reason)
        self.unavailable[channel.id] = reason

    def _archived_max(self, channel: Channel, post_id: int) -> int:
        with self._uow() as uow:
            found = uow.discussions.comment_ids(channel.id, [post_id])
        return max((max(ids) for ids in found.values() if ids), default=0)

    async def _commit(
        self,
        channel: Channel,
        plan: ChannelPlan,
        thread: CommentThread,
        group: Channel,
        items: Sequence[FetchedPost],
        tally: Tally,
    ) -> int:
        assert plan.comments is not None
        queue = self._queue(group, plan.comments.media, tally)
        newest = max((item.post.message_id for item in items), default=0)
        header = ThreadHeader(
            channel_id=channel.id,
            post_id=thread.post_id,
            group_id=group.id,
            count=thread.count if thread.count is not None else len(items),
            max_id=newest,
        )

        def commit() -> tuple[int, list[int]]:
            now = self._clock()
            with self._uow() as uow:
                if uow.channels.get(group.id) is None:
                    uow.channels.upsert(group, now)  # a name the Telegram source gave is kept
                uow.discussions.save_authors([item.author for item in items if item.author], now)
                written = uow.posts.upsert_many([item.post for item in items], now)
                links = [item.comment for item in items if item.comment is not None]
                known = uow.discussions.group_links(group.id, [link.message_id for link in links])
                uow.discussions.link([_keeping(link, known.get(link.message_id)) for link in links])
                queued = queue.enqueue(uow, items)
                uow.discussions.note_headers([header], now)
                post = uow.posts.get(channel.id, thread.post_id)
                if post is not None and post.replies != header.count:
                    # the channel's page shows no comment count: the widget's is the post's ``replies``
                    uow.posts.upsert_many([post.model_copy(update={"replies": header.count})], now)
                uow.discussions.mark_fetched(channel.id, thread.post_id, newest, now)
                if written.added or written.edited:
                    uow.discussions.touch_posts(channel.id, [thread.post_id], now)
                if self._keep is not None:
                    self._keep(uow, group, items)
                self._heartbeat(uow, channel)
                uow.commit()
            return written.added, queued

        if not items:
            return 0
        added, queued = await asyncio.to_thread(commit)
        queue.wake(items, queued)
        return added
