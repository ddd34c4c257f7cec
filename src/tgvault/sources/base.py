"""What services need from a source of channel posts (Telegram via Telethon, the web preview, ...)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from tgvault.domain import Channel, CommentAuthor, CommentLink, PageCapture, Post, ThreadHeader


@dataclass(frozen=True)
class FetchedPost:
    """A post as read from a source, with an opaque handle the source can use to fetch its media."""

    post: Post
    handle: object | None = None
    thread: ThreadHeader | None = None
    """A channel post's ``replies`` header (its comments in the linked discussion group), when it has one."""
    author: CommentAuthor | None = None
    """Who wrote a discussion group's message (a comment), when the source says."""
    comment: CommentLink | None = None
    """What a discussion group's message comments on (its channel post, the comment it replies to)."""
    capture: PageCapture | None = None
    """The page the post was read from, as fetched (the web source), so it can be kept as WARC records."""


@dataclass(frozen=True)
class HistoryPage:
    """One page of history as Telegram returned it, and the channel's total post count if known."""

    posts: list[FetchedPost]
    total: int | None = None


class ByteSink(Protocol):
    """Where downloaded bytes go (a media store's pending file)."""

    def write(self, chunk: bytes) -> int:
        """Append bytes."""
        ...


class PostSource(Protocol):
    """A source of a channel's posts, newest first, paged like Telegram's history."""

    async def resolve(self, key: str) -> Channel:
        """Look a channel up by @username, t.me link or id.

        Raises :class:`tgvault.errors.ChannelUnavailableError` when it is private, renamed, banned or
        does not exist.
        """
        ...

    def older(
        self, channel: Channel, *, offset_id: int = 0, offset_date: datetime | None = None
    ) -> AsyncIterator[HistoryPage]:
        """Pages of posts below ``offset_id`` (0 = the newest) or before ``offset_date``, newest first."""
        ...

    def newer(self, channel: Channel, *, min_id: int) -> AsyncIterator[HistoryPage]:
        """Pages of posts above ``min_id``, oldest first."""
        ...

    async def get_posts(self, channel: Channel, message_ids: Sequence[int]) -> dict[int, FetchedPost | None]:
        """Re-read posts by id; ``None`` for an id Telegram no longer has (deleted).

        A source that cannot tell for some id (the web preview, at the edge of what a page shows) leaves
        that id out of the result: unknown is never reported as deleted.
        """
        ...

    async def download_media(self, channel: Channel, fetched: FetchedPost, sink: ByteSink) -> None:
        """Write the post's file into ``sink``; an expired file reference is refreshed by re-reading."""
        ...

    async def download_thumbnail(self, channel: Channel, fetched: FetchedPost, sink: ByteSink) -> bool:
        """Write a preview image of a file the source cannot offer into ``sink``; False when it has none."""
        ...


@runtime_checkable
class DiscussionSource(Protocol):
    """A source that also reads a channel's comments, from its linked discussion group."""

    def discussion_group(self, channel: Channel) -> Channel | None:
        """The channel's linked discussion group as seen when the channel was resolved (no request), or
        None when it has none (or the source cannot read it)."""
        ...

    def replies(
        self, channel: Channel, group: Channel, post_id: int, *, min_id: int, until_id: int = 0
    ) -> AsyncIterator[HistoryPage]:
        """Pages of the comments on ``post_id`` above ``min_id`` (group messages), oldest first;
        ``until_id`` is the newest comment the post's header named (what the pages are expected to reach)."""
        ...


@dataclass(frozen=True)
class CommentThread:
    """A post's comments as one read of a public page shows them (the web preview's discussion widget).

    ``group`` is the discussion group the page names (None: the page shows no discussion, and
    ``unavailable`` says why in Telegram's words). ``comments`` are oldest first; ``count`` is the number of
    comments the page says the post has; ``complete`` is False when the reading stopped before the thread's
    first comment (at the archived ones, or at the page limit).
    """

    post_id: int
    group: Channel | None
    comments: list[FetchedPost]
    unavailable: str | None = None
    count: int | None = None
    complete: bool = True


@runtime_checkable
class ThreadSource(Protocol):
    """A source that reads a post's comments thread by thread, without headers saying which changed."""

    def discussion_group(self, channel: Channel) -> Channel | None:
        """The channel's discussion group as the pages read so far named it (no request), or None."""
        ...

    async def read_thread(self, channel: Channel, post_id: int, *, stop_at: int = 0) -> CommentThread:
        """The comments of ``post_id``, newest pages first, down to the first comment at or below
        ``stop_at`` (0: the whole thread, as far as the pages go)."""
        ...


@dataclass(frozen=True)
class ChannelUpdate:
    """A change Telegram pushed for a followed channel: new or edited posts, or ids deleted."""

    channel_id: int
    posts: tuple[FetchedPost, ...] = ()
    deleted_ids: tuple[int, ...] = ()
    edited: bool = False


class UpdateFeed(Protocol):
    """A source that pushes changes as they happen (Telegram, over the connection syncs use too)."""

    async def resolve(self, key: str) -> Channel:
        """Look a channel up (as :meth:`PostSource.resolve`)."""
        ...

    async def follow(
        self,
        channels: Sequence[Channel],
        on_update: Callable[[ChannelUpdate], Awaitable[None]],
        on_reconnect: Callable[[], Awaitable[None]],
    ) -> Callable[[], None]:
        """Call ``on_update`` for each change of these channels, and ``on_reconnect`` after the connection
        was lost and came back (changes may have been missed meanwhile); returns the function that stops."""
        ...
