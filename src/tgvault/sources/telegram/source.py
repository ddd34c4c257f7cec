"""The Telegram :class:`~tgvault.sources.base.PostSource`: history, re-reads, live updates, downloads."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import replace
from datetime import datetime
from typing import Any

import structlog
from telethon import TelegramClient, errors, events, functions, types

from tgvault.domain import Channel, ChannelKind, Post
from tgvault.errors import ChannelUnavailableError, MediaUnavailableError, SourceError
from tgvault.sources.base import ByteSink, ChannelUpdate, FetchedPost, HistoryPage
from tgvault.sources.telegram.channels import channel_to_record
from tgvault.sources.telegram.discussions import (
    comment_author,
    comment_link,
    linked_group,
    reply_pages,
    thread_header,
)
from tgvault.sources.telegram.failures import NO_SUCH_USERNAME, translated_errors
from tgvault.sources.telegram.kept_raw import NOT_UNDERSTOOD, Mapper, map_or_keep_raw
from tgvault.sources.telegram.posts import message_to_post

PAGE_SIZE = 100  # Telegram's limit for messages.getHistory
PREFETCH_PAGES = 1  # pages read from Telegram ahead of the one being stored (see TelegramSource._pages)
RESUME_ALIGN = 512 * 1024
"""Documents are fetched in parts of this size; a resumed download restarts on such a boundary."""

log = structlog.get_logger("tgvault.sources.telegram")  # the package's name, as log lines always said

_LINK = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me)/(?:s/)?(?P<name>[A-Za-z0-9_]+)/?(?:\d+)?$"
)


def parse_channel_key(key: str) -> str | int:
    """Turn ``@name``, ``t.me/name``, ``https://t.me/s/name`` or a numeric id into what Telethon resolves."""
    text = key.strip()
    match = _LINK.match(text)
    if match:
        return match.group("name")
    if text.startswith("@"):
        return text[1:]
    if re.fullmatch(r"-?\d+", text):
        number = int(text)
        if number < 0 and str(number).startswith("-100"):
            return int(str(number)[4:])
        return abs(number)
    return text


class TelegramSource:
    """A :class:`~tgvault.sources.base.PostSource` over a connected Telethon client."""

    resumes_downloads = True
    """``download_media`` continues a document after the bytes its sink already holds."""

    def __init__(
        self, client: TelegramClient, *, request_delay: float = 1.0, mapper: Mapper = message_to_post
    ) -> None:
        self._client = client
        self._mapper = mapper
        self._request_delay = request_delay
        self._entities: dict[int, Any] = {}
        self._groups: dict[int, Channel] = {}
        self._reconnecting = asyncio.Lock()

    async def ensure_connected(self) -> None:
        """Connect again if Telethon gave up reconnecting (a long network outage in a long-running service)."""
        if self._client.is_connected():
            return
        async with self._reconnecting:
            if not self._client.is_connected():
                with translated_errors(None):
                    await self._client.connect()

    async def resolve(self, key: str) -> Channel:
        """Look the channel up and read its description and subscriber count."""
        target = parse_channel_key(key)
        with translated_errors(key):
            try:
                if isinstance(target, int):
                    entity = await self._client.get_entity(types.PeerChannel(target))
                else:
                    entity = await self._client.get_entity(target)
            except ValueError as exc:
                if isinstance(exc.__cause__, (errors.UsernameNotOccupiedError, errors.UsernameInvalidError)):
                    raise ChannelUnavailableError(key, NO_SUCH_USERNAME) from exc
                raise ChannelUnavailableError(key, f"cannot be found ({exc})") from exc
            if not isinstance(entity, types.Channel):
                raise ChannelUnavailableError(key, "is a user or a basic group, not a channel")
            if getattr(entity, "left", False) and getattr(entity, "username", None) is None:
                raise ChannelUnavailableError(key, "is private and this account is not a member")
            full = await self._client(functions.channels.GetFullChannelRequest(entity))
        record = channel_to_record(entity, full)
        self._entities[record.id] = entity
        group = linked_group(full) if record.kind is ChannelKind.CHANNEL else None
        if group is not None:
            self._groups[record.id] = group[0]
            self._entities[group[0].id] = group[1]
        else:
            self._groups.pop(record.id, None)
        return record

    def discussion_group(self, channel: Channel) -> Channel | None:
        """The channel's linked discussion group, as ``channels.getFullChannel`` named it in :meth:`resolve`."""
        return self._groups.get(channel.id)

    async def replies(
        self, channel: Channel, group: Channel, post_id: int, *, min_id: int, until_id: int = 0
    ) -> AsyncIterator[HistoryPage]:
        """The comments on a post above ``min_id``, oldest first: ``messages.getReplies``, 100 a request.

        A page shorter than 100 that reaches ``until_id`` (the post's newest comment, as its header said)
        is the last: no request is spent to learn that nothing follows.
        """
        thread = (channel.id, post_id)
        async for page in reply_pages(
            self._client,
            self._entity(channel),
            post_id,
            min_id=min_id,
            until_id=until_id,
            request_delay=self._request_delay,
            label=channel.username or str(channel.id),
            to_item=lambda message, senders: self._fetched(message, group.id, thread, senders),
        ):
            yield page

    def _entity(self, channel: Channel) -> Any:
        entity = self._entities.get(channel.id)
        if entity is None:
            raise SourceError(f"channel {channel.id} was not resolved first")
        return entity

    async def _pages(self, channel: Channel, **kwargs: Any) -> AsyncIterator[HistoryPage]:
        """Pages of ``iter_messages``, read one page ahead.

        A task fetches the next page from Telegram while the caller maps and stores the current one, so
        Telegram's (or the network's) time overlaps with tgvault's own work instead of adding to it. At
        most ``PREFETCH_PAGES`` pages wait; nothing is archived by reading ahead (the caller commits
        pages in order), and leaving the loop early cancels the read.
        """
        iterator = self._client.iter_messages(self._entity(channel), wait_time=self._request_delay, **kwargs)
        label = channel.username or str(channel.id)
        batches: asyncio.Queue[list[Any] | BaseException | None] = asyncio.Queue(maxsize=PREFETCH_PAGES)

        async def read_ahead() -> None:
            try:
                batch: list[Any] = []
                async for message in iterator:
                    batch.append(message)
                    if len(batch) >= PAGE_SIZE:
                        await batches.put(batch)
                        batch = []
                if batch:
                    await batches.put(batch)
                await batches.put(None)
            except Exception as exc:  # handed to the reader, which raises it (translated) in its place
                await batches.put(exc)

        reader = asyncio.create_task(read_ahead())
        try:
            while (batch := await batches.get()) is not None:
                if isinstance(batch, BaseException):
                    with translated_errors(label):
                        raise batch
                page = []
                for message in batch:
                    item = self._fetched(message, channel.id, None)
                    if item is not None:
                        page.append(item)
                if page:
                    yield HistoryPage(page, getattr(iterator, "total", None))
        finally:
            reader.cancel()
            with suppress(asyncio.CancelledError):
                await reader

    def _fetched(
        self,
        message: Any,
        channel_id: int,
        thread: tuple[int, int] | None,
        senders: Mapping[int, Any] | None = None,
    ) -> FetchedPost | None:
        """A message as a fetched post; a channel post with its thread header, a comment (``thread``: the
        channel and post it comments on) with its author (named by ``senders``, else by Telethon) and link."""
        post = self._map(message, channel_id)
        if post is None:
            return None
        if thread is None:
            return FetchedPost(post, message, thread=thread_header(message, channel_id))
        author = comment_author(message, senders)
        link = comment_link(message, channel_id, thread[0], thread[1], author)
        return FetchedPost(post, message, author=author, comment=link)

    def _map(self, message: Any, channel_id: int) -> Post | None:
        """Map a message; one the mapping fails on is kept raw with a parse error (it never blocks)."""
        post = map_or_keep_raw(self._mapper, message, channel_id)
        if post is not None and post.parse_error and post.parse_error.startswith(NOT_UNDERSTOOD):
            log.warning(
                "message kept raw: not understood",
                channel_id=channel_id,
                message_id=post.message_id,
                error=post.parse_error,
            )
        return post

    def older(
        self, channel: Channel, *, offset_id: int = 0, offset_date: datetime | None = None
    ) -> AsyncIterator[HistoryPage]:
        """Pages below ``offset_id`` or before ``offset_date``, newest first."""
        return self._pages(channel, offset_id=offset_id, offset_date=offset_date)

    def newer(self, channel: Channel, *, min_id: int) -> AsyncIterator[HistoryPage]:
        """Pages above ``min_id``, oldest first."""
        return self._pages(channel, min_id=min_id, reverse=True)

    async def get_posts(self, channel: Channel, message_ids: Sequence[int]) -> dict[int, FetchedPost | None]:
        """Re-read posts (``channels.getMessages``); a ``MessageEmpty`` answer means deleted (None)."""
        label = channel.username or str(channel.id)
        found: dict[int, FetchedPost | None] = {}
        for start in range(0, len(message_ids), PAGE_SIZE):
            chunk = list(message_ids[start : start + PAGE_SIZE])
            with translated_errors(label):
                messages = await self._client.get_messages(self._entity(channel), ids=chunk)
            for message_id, message in zip(chunk, messages, strict=True):
                found[message_id] = None if message is None else self._fetched(message, channel.id, None)
        return found

    async def follow(
        self,
        channels: Sequence[Channel],
        on_update: Callable[[ChannelUpdate], Awaitable[None]],
        on_reconnect: Callable[[], Awaitable[None]],
    ) -> Callable[[], None]:
        """Live mode: pass new, edited and deleted posts of ``channels`` (and messages of their discussion
        groups, as updates of the group) to ``on_update`` as Telegram pushes them (the client must receive updates, and the account must have joined the channels);
        ``on_reconnect`` runs after Telethon reconnected by itself. Returns the function that stops."""
        followed = {channel.id for channel in channels}
        groups = {self._groups[channel.id].id for channel in channels if channel.id in self._groups}
        followed |= groups
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Future[None]] = set()

        def keep(task: asyncio.Future[None]) -> None:
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        async def handler(update: Any) -> None:
            change = _channel_update(update, followed, self._map)
            if change is not None and change.channel_id in groups:  # a discussion group's: name the authors
                posts = (FetchedPost(i.post, i.handle, author=comment_author(i.handle)) for i in change.posts)
                change = replace(change, posts=tuple(posts))
            if change is not None:
                await on_update(change)

        def reconnected() -> None:
            keep(asyncio.ensure_future(on_reconnect(), loop=loop))

        event = events.Raw(types=list(_LIVE_UPDATES))
        self._client.add_event_handler(handler, event)
        callbacks: list[Callable[[], None]] | None = getattr(self._client, "on_reconnect", None)
        if callbacks is not None:
            callbacks.append(reconnected)

        def stop() -> None:
            self._client.remove_event_handler(handler, event)
            if callbacks is not None and reconnected in callbacks:
                callbacks.remove(reconnected)
            for task in list(tasks):
                task.cancel()

        return stop

    def disconnected(self) -> Awaitable[None]:
        """Resolves when the client disconnected for good (Telethon gave up reconnecting, or it was closed)."""
        future: Awaitable[None] = self._client.disconnected
        return future

    async def download_media(self, channel: Channel, fetched: FetchedPost, sink: ByteSink) -> None:
        """Download the post's file; an expired file reference is refreshed by re-reading the post once.

        A document continues after the ``sink.size`` bytes the sink already holds (an interrupted
        download resumes there); anything else starts again from byte 0.
        """
        label = channel.username or str(channel.id)
        message = fetched.handle
        if message is None:
            refreshed = await self.get_posts(channel, [fetched.post.message_id])
            again = refreshed.get(fetched.post.message_id)
            if again is None:
                raise MediaUnavailableError(f"post {fetched.post.message_id} no longer exists")
            message = again.handle
        try:
            await self._download(label, message, sink)
        except _FileReferenceExpired:
            refreshed = await self.get_posts(channel, [fetched.post.message_id])
            again = refreshed.get(fetched.post.message_id)
            if again is None or again.handle is None:
                raise MediaUnavailableError(f"post {fetched.post.message_id} no longer exists") from None
            await self._download(label, again.handle, sink)

    async def download_thumbnail(self, channel: Channel, fetched: FetchedPost, sink: ByteSink) -> bool:
        """Telegram serves every file itself, so no thumbnail stands in for one."""
        return False

    async def _download(self, label: str, message: Any, sink: ByteSink) -> None:
        document = _document_of(message)
        try:
            with translated_errors(label):
                try:
                    if document is not None:
                        await self._download_from(document, sink)
                        return
                    if getattr(sink, "size", 0) and hasattr(sink, "restart"):
                        sink.restart()
                    result = await self._client.download_media(message, file=sink)
                except (errors.FileReferenceExpiredError, errors.FileReferenceInvalidError) as exc:
                    raise _FileReferenceExpired() from exc
        except _FileReferenceExpired:
            raise
        if result is None:
            raise MediaUnavailableError("the post has no downloadable file")

    async def _download_from(self, document: Any, sink: ByteSink) -> None:
        """Stream a document into ``sink`` from the bytes it already holds (offset download)."""
        offset = int(getattr(sink, "size", 0))
        if offset % RESUME_ALIGN and hasattr(sink, "restart"):
            sink.restart()
            offset = 0
        size = int(document.size)
        if offset >= size:
            return
        stream = self._client.iter_download(
            document, offset=offset, request_size=RESUME_ALIGN, file_size=size
        )
        async for chunk in stream:
            sink.write(bytes(chunk))


def _document_of(message: Any) -> Any:
    """The document of a message's media (downloaded with offsets), or None for photos and the rest."""
    media = getattr(message, "media", None)
    if isinstance(media, types.MessageMediaDocument) and isinstance(media.document, types.Document):
        return media.document
    return None


_LIVE_UPDATES = (
    types.UpdateNewChannelMessage,
    types.UpdateEditChannelMessage,
    types.UpdateDeleteChannelMessages,
)


def _channel_update(
    update: Any, followed: set[int], mapper: Callable[[Any, int], Post | None]
) -> ChannelUpdate | None:
    """The domain form of a Telethon channel update for a followed channel (None for anything else)."""
    if isinstance(update, types.UpdateDeleteChannelMessages):
        if update.channel_id not in followed:
            return None
        return ChannelUpdate(update.channel_id, deleted_ids=tuple(update.messages))
    message = update.message
    peer = getattr(message, "peer_id", None)
    if not isinstance(peer, types.PeerChannel) or peer.channel_id not in followed:
        return None
    post = mapper(message, peer.channel_id)
    if post is None:
        return None
    edited = isinstance(update, types.UpdateEditChannelMessage)
    return ChannelUpdate(peer.channel_id, posts=(FetchedPost(post, message),), edited=edited)


class _FileReferenceExpired(Exception):
    """Internal: Telegram rejected the file reference; re-read the message and try again."""
