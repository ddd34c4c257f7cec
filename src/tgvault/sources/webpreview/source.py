"""Public channels without an account: Telegram's web preview, ``https://t.me/s/<channel>``.

A :class:`~tgvault.sources.base.PostSource` over the pages Telegram serves to browsers, so the
:class:`~tgvault.services.archiver.Archiver` drives backfill, sync and the refresh window unchanged:

- **Pages.** ``/s/<name>`` shows the newest posts (about 20), ``/s/<name>?before=<id>`` the ones below
  ``<id>``. :meth:`WebPreviewSource.older` follows ``?before=`` down to the first post.
  :meth:`WebPreviewSource.newer` walks *upward* from what is archived in windows of about 100 posts
  (reading each window's pages downward with ``?before=``), so every window it yields is contiguous with
  the archive and a stopped sync loses at most one window.
- **Identity.** The numeric channel id comes from the posts' ``data-view`` tokens, so posts land under
  the same ``(channel_id, message_id)`` as the Telethon source's and the two merge in one archive.
- **Deletions.** :meth:`WebPreviewSource.get_posts` reports an id as deleted (``None``) only when one
  page shows posts both above and below it and not the id itself. An id the pages cannot prove either
  way (the newest post of the channel, or the edge of a page) is left out of the result: unknown, not
  deleted.
- **Files.** Photos, videos the page can play, voice notes and stickers are downloaded from the URL the
  page gives — only from the preview's own host or Telegram's, never from a private address, and at most
  the ``limit`` the sink carries (the channel's ``media_max_size``); see
  :mod:`~tgvault.sources.webpreview.client`. A URL is never used as a path. Documents, and videos shown
  only as a thumbnail, have no file on the page: their download fails with
  :class:`~tgvault.errors.MediaUnavailableError` saying why (the file stays recorded as not downloaded,
  with the name and size shown, so a later Telegram sync can fetch it), and the thumbnail the page shows
  is stored instead (:meth:`WebPreviewSource.download_thumbnail`).
- **Comments.** :meth:`WebPreviewSource.read_thread` reads a post's comments from Telegram's discussion
  widget, newest first, following its "show more" (:mod:`.threads`); a channel without a public discussion
  gets a thread with ``unavailable`` saying why. The widget names no user ids (:mod:`.comment_blocks`).
- **Politeness.** One request at a time per host, ``request_delay`` seconds between two requests to
  one host, a clear User-Agent, and retries with exponential backoff on 429 and 5xx that honour
  ``Retry-After`` (a wait longer than ``max_wait`` ends the run with
  :class:`~tgvault.errors.FloodWaitTooLongError`). A host that cannot be reached is reported once and
  skipped for a while (:class:`~tgvault.errors.HostUnreachableError`): its files stay queued.
- **Errors.** An unknown name raises :class:`~tgvault.errors.ChannelNotFoundError`, a name without a
  public preview :class:`~tgvault.errors.NoWebPreviewError`, a page whose layout changed
  :class:`~tgvault.errors.PageLayoutError` — never "0 posts".
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Final
from urllib.parse import quote, urlsplit

from tgvault.domain import Channel, ChannelKind
from tgvault.errors import (
    ChannelNotFoundError,
    ChannelUnavailableError,
    MediaUnavailableError,
    NoWebPreviewError,
    PageLayoutError,
    RefusedURLError,
    SourceError,
)
from tgvault.sources.base import ByteSink, CommentThread, FetchedPost, HistoryPage
from tgvault.sources.webpreview.client import WebClient, WebResponse
from tgvault.sources.webpreview.pages import page_kind, parse_preview_page
from tgvault.sources.webpreview.records import PageKind, PreviewPage, WebMedia
from tgvault.sources.webpreview.threads import ThreadReader

EXPIRED_STATUSES: Final = frozenset({403, 404, 410})
MAX_PHOTO_BYTES: Final = 10 * 1024 * 1024  # a channel's photo, fetched outside any channel's media policy
WINDOW_POSTS: Final = 100  # posts per window of an upward walk (about five pages)
REFRESH_MARGIN: Final = 3  # ids above the highest wanted one, so a deletion there can be proven

_NAME: Final = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_LINK: Final = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/(?:s/)?(?P<name>[A-Za-z0-9_]+)/?(?:\d+/?)?$",
    re.IGNORECASE,
)


def parse_web_channel_key(key: str) -> str:
    """The @username in ``@name``, ``name``, ``t.me/name`` or ``https://t.me/s/name``.

    Raises :class:`ChannelUnavailableError` for a numeric id (the preview knows channels only by name)
    or anything that is not a username.
    """
    text = key.strip()
    match = _LINK.match(text)
    name = match.group("name") if match else text.removeprefix("@")
    if re.fullmatch(r"-?\d+", name):
        raise ChannelUnavailableError(
            key, "the web preview finds channels by @username only; use the name, or the telegram source"
        )
    if not _NAME.match(name):
        raise ChannelUnavailableError(key, "is not a @username (letters, digits and _ only)")
    return name


class WebPreviewSource:
    """A :class:`~tgvault.sources.base.PostSource` over ``t.me/s/<channel>`` pages."""

    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._base = client.options.base_url.rstrip("/")
        self._newest: dict[int, PreviewPage] = {}
        self._threads = ThreadReader(client, self._base)

    # -- pages ----------------------------------------------------------------------------------------

    def _url(self, name: str, before: int | None) -> str:
        url = f"{self._base}/s/{quote(name)}"
        return url if before is None else f"{url}?before={before}"

    async def _page(self, key: str, name: str, before: int | None) -> PreviewPage:
        url = self._url(name, before)
        response = await self._client.get(url)
        if response.status == 404:
            raise ChannelNotFoundError(key, "no channel has this @username")
        if response.status != 200:
            raise SourceError(f"channel {key}: {url} answered HTTP {response.status}")
        html = response.body.decode(response.charset or "utf-8", errors="replace")
        kind, detail = page_kind(html)
        redirected = "/s/" not in urlsplit(response.url).path
        if kind is PageKind.UNKNOWN_NAME:
            raise ChannelNotFoundError(key, "no channel has this @username (renamed or deleted?)")
        if kind is PageKind.NO_PREVIEW or (redirected and kind is not PageKind.CHANNEL):
            shown = f" (Telegram shows: {detail})" if detail else ""
            raise NoWebPreviewError(
                key,
                "has no public web preview: it is a private channel, a group, a user or a bot, or its owner "
                f"turned the preview off{shown}; only the telegram source can archive it",
            )
        if kind is PageKind.OTHER:
            raise PageLayoutError(url, "neither a channel preview nor Telegram's page for a name")
        return replace(parse_preview_page(html, url=url), capture=response.capture)

    async def _history(self, channel: Channel, before: int | None) -> PreviewPage:
        """A page of the channel's history, checked to belong to this channel."""
        if before is None:
            cached = self._newest.pop(channel.id, None)
            if cached is not None:
                return cached
        name = self._name(channel)
        page = await self._page(f"@{name}", name, before)
        if page.channel_id is not None and page.channel_id != channel.id:
            raise ChannelUnavailableError(
                f"@{name}",
                f"the username now belongs to another channel (id {page.channel_id}, archived as "
                f"{channel.id}); archive that one under its own name",
            )
        return page

    @staticmethod
    def _name(channel: Channel) -> str:
        if channel.username is None:
            raise SourceError(f"channel {channel.id} has no @username, so it has no web preview")
        return channel.username

    @staticmethod
    def _fetched(page: PreviewPage) -> list[FetchedPost]:
        return [FetchedPost(item.post, item.media, capture=page.capture) for item in page.posts]

    # -- PostSource ------------------------------------------------------------------------------------

    async def resolve(self, key: str) -> Channel:
        """Read the channel's newest page: its header and, from its posts, the numeric channel id."""
        name = parse_web_channel_key(key)
        page = await self._page(key, name, None)
        if page.channel_id is None:
            raise ChannelUnavailableError(
                key,
                "its web preview shows no posts, so its numeric channel id cannot be read; "
                "there is nothing to archive yet",
            )
        header = page.header
        channel = Channel(
            id=page.channel_id,
            username=header.username or name,
            title=header.title,
            description=header.description,
            subscribers=header.subscribers,
            kind=ChannelKind.CHANNEL,
        )
        self._newest[channel.id] = page
        return channel

    def older(
        self, channel: Channel, *, offset_id: int = 0, offset_date: datetime | None = None
    ) -> AsyncIterator[HistoryPage]:
        """Pages below ``offset_id`` (0 = the newest), newest first, down to the channel's first post.

        With ``offset_date`` the walk starts at the newest page and skips posts from that moment on.
        """
        return self._older(channel, offset_id, offset_date)

    async def _older(
        self, channel: Channel, offset_id: int, offset_date: datetime | None
    ) -> AsyncIterator[HistoryPage]:
        before = offset_id if offset_id > 0 else None
        while True:
            page = await self._history(channel, before)
            if not page.posts:
                return
            lowest = min(page.ids)
            if before is not None and lowest >= before:
                raise PageLayoutError(page.url, f"?before={before} showed no post older than {before}")
            wanted = self._fetched(page)
            if offset_date is not None:
                wanted = [item for item in wanted if item.post.date < offset_date]
            if wanted:
                yield HistoryPage(wanted)
            if lowest <= 1:
                return
            before = lowest

    def newer(self, channel: Channel, *, min_id: int) -> AsyncIterator[HistoryPage]:
        """Pages of posts above ``min_id``, oldest first, each contiguous with what came before."""
        return self._newer(channel, min_id)

    async def _newer(self, channel: Channel, min_id: int) -> AsyncIterator[HistoryPage]:
        newest = await self._history(channel, None)
        if not newest.posts:
            return
        ids = newest.ids
        top = max(ids)
        ids_per_post = max(1.0, (top - min(ids) + 1) / len(ids))
        cursor = min_id  # everything up to here is archived
        while cursor < top:
            window_end = min(top, cursor + math.ceil(ids_per_post * WINDOW_POSTS))
            collected: dict[int, FetchedPost] = {}
            before = window_end + 1
            while True:
                page = newest if before > top else await self._history(channel, before)
                for item in page.posts:
                    if cursor < item.post.message_id <= window_end:
                        collected[item.post.message_id] = FetchedPost(
                            item.post, item.media, capture=page.capture
                        )
                if not page.posts:
                    break
                lowest = min(page.ids)
                if lowest <= cursor + 1:
                    break
                if lowest >= before:
                    raise PageLayoutError(page.url, f"?before={before} showed no post older than {before}")
                before = lowest
            if collected:
                yield HistoryPage([collected[key] for key in sorted(collected)])
            cursor = window_end

    async def get_posts(self, channel: Channel, message_ids: Sequence[int]) -> dict[int, FetchedPost | None]:
        """Re-read posts by id.

        Present posts map to their new state; an id maps to ``None`` (deleted) only when a page shows
        posts above and below it but not the id; ids no page can prove either way are left out.
        """
        remaining = sorted(set(message_ids), reverse=True)
        found: dict[int, FetchedPost | None] = {}
        before = remaining[0] + 1 + REFRESH_MARGIN if remaining else 0
        while remaining:
            page = await self._history(channel, before)
            if not page.posts:
                break  # nothing at or below these ids is shown: unknown, not deleted
            shown = {item.post.message_id: item for item in page.posts}
            highest, lowest = max(shown), min(shown)
            if lowest >= before:
                raise PageLayoutError(page.url, f"?before={before} showed no post older than {before}")
            for message_id in remaining:
                if message_id < lowest:
                    break
                item = shown.get(message_id)
                if item is not None:
                    found[message_id] = FetchedPost(item.post, item.media, capture=page.capture)
                elif lowest < message_id < highest:
                    found[message_id] = None
            remaining = [message_id for message_id in remaining if message_id < lowest]
            if remaining:
                before = min(remaining[0] + 1 + REFRESH_MARGIN, before - 1)  # always further down
        return found

    # -- comments (ThreadSource) --------------------------------------------------------------------

    def discussion_group(self, channel: Channel) -> Channel | None:
        """The channel's discussion group as the widgets read so far named it (no request), or None."""
        return self._threads.groups.get(channel.id)

    async def read_thread(self, channel: Channel, post_id: int, *, stop_at: int = 0) -> CommentThread:
        """A post's comments as Telegram's discussion widget shows them (:mod:`.threads`)."""
        return await self._threads.read(channel, post_id, stop_at=stop_at)

    async def download_media(self, channel: Channel, fetched: FetchedPost, sink: ByteSink) -> None:
        """Download the post's file from the URL its page gives; a stale URL is re-read once."""
        message_id = fetched.post.message_id
        media = fetched.handle if isinstance(fetched.handle, WebMedia) else None
        if media is None and channel.kind is ChannelKind.DISCUSSION:
            raise MediaUnavailableError(
                "a comment's file is offered only by its thread's widget; it is fetched when the thread "
                "is read again (the refresh window or the audit)"
            )
        if media is None:
            media = await self._fresh_media(channel, message_id)
        for attempt in range(2):
            if media.url is None:
                raise MediaUnavailableError(
                    media.unavailable or "the web preview offers no file for this post"
                )
            response = await self._download(media.url, sink, f"the file of post {message_id}")
            if response.status == 200:
                keep = getattr(sink, "keep_exchange", None)  # kept as WARC beside the file, when asked
                if callable(keep) and response.capture is not None:
                    keep(response.capture)
                return
            if (
                response.status in EXPIRED_STATUSES
                and attempt == 0
                and channel.kind is not ChannelKind.DISCUSSION
            ):
                media = await self._fresh_media(channel, message_id)
                continue
            raise MediaUnavailableError(f"the file of post {message_id} answered HTTP {response.status}")

    async def download_thumbnail(self, channel: Channel, fetched: FetchedPost, sink: ByteSink) -> bool:
        """Download the preview image the page shows for a file it does not offer; False when none."""
        media = fetched.handle if isinstance(fetched.handle, WebMedia) else None
        if media is None or media.thumbnail is None:
            return False
        response = await self._download(media.thumbnail, sink, "the thumbnail")
        return response.status == 200

    async def _download(self, url: str, sink: ByteSink, what: str, limit: int | None = None) -> WebResponse:
        """Download into ``sink`` at most its ``limit`` (when it carries one); a refused URL is no file."""
        if limit is None:
            carried = getattr(sink, "limit", None)
            limit = carried if isinstance(carried, int) else None
        try:
            return await self._client.download(url, sink, limit=limit)
        except RefusedURLError as exc:
            raise MediaUnavailableError(f"{what} was not fetched: {exc}") from exc

    async def _fresh_media(self, channel: Channel, message_id: int) -> WebMedia:
        again = (await self.get_posts(channel, [message_id])).get(message_id)
        if again is None or not isinstance(again.handle, WebMedia):
            raise MediaUnavailableError(f"post {message_id} is no longer shown by the web preview")
        return again.handle

    async def channel_photo(self, channel: Channel, sink: ByteSink) -> bool:
        """Download the channel's photo shown in its header into ``sink``; False when it has none."""
        page = await self._history(channel, None)
        if page.header.photo_url is None:
            return False
        response = await self._download(page.header.photo_url, sink, "the channel photo", MAX_PHOTO_BYTES)
        return response.status == 200
