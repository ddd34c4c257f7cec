"""A post's comments read the way Telegram's discussion widget reads them, page by page.

The first request is the widget itself (``/<channel>/<post>?embed=1&discussion=1&comments_limit=100``,
the newest 100 comments at most); each further one is what the widget's script sends when "show more" is
clicked: a POST of the widget's form to its API URL with ``before_id`` (the API URL comes from the page, so
the client checks where it goes like any other URL). Every answer is kept as a capture (WARC), paced and
retried by the same client as the channel's pages. Reading stops at the first comment at or below
``stop_at`` (what is archived already), when no "show more" follows, or after :data:`MAX_PAGES` pages.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final
from urllib.parse import quote

import structlog

from tgvault.domain import Channel, ChannelKind, PageCapture
from tgvault.errors import PageLayoutError, RefusedURLError, SourceError
from tgvault.sources.base import CommentThread, FetchedPost
from tgvault.sources.webpreview.client import WebClient, WebResponse
from tgvault.sources.webpreview.comment_blocks import Thread
from tgvault.sources.webpreview.discussion import WidgetPage, parse_more_answer, parse_widget_page

log = structlog.get_logger("tgvault.sources.webpreview")

COMMENTS_LIMIT: Final = 100
"""Comments the widget is asked to show on its first page (the most it serves at once)."""
MAX_PAGES: Final = 50
"""Pages read of one thread in one go (5,000 comments at most); the rest waits for a later read."""


def widget_url(base: str, name: str, post_id: int) -> str:
    """The discussion widget of a post."""
    return f"{base}/{quote(name)}/{post_id}?embed=1&discussion=1&comments_limit={COMMENTS_LIMIT}"


def group_record(group_id: int, channel: Channel) -> Channel:
    """The discussion group as the widget names it: its id only (title and name come from elsewhere)."""
    return Channel(id=group_id, title=f"{channel.title} — comments", kind=ChannelKind.DISCUSSION)


def _text(response: WebResponse) -> str:
    return response.body.decode(response.charset or "utf-8", errors="replace")


def _captured(items: list[FetchedPost], capture: PageCapture | None) -> list[FetchedPost]:
    return [replace(item, capture=capture) for item in items]


class ThreadReader:
    """Reads comment threads through one client (see the module's docstring)."""

    def __init__(self, client: WebClient, base: str) -> None:
        self._client = client
        self._base = base
        self.groups: dict[int, Channel] = {}
        """Discussion groups the widgets named, by channel id."""

    async def read(self, channel: Channel, post_id: int, *, stop_at: int = 0) -> CommentThread:
        """The comments of one post (see :meth:`~tgvault.sources.base.ThreadSource.read_thread`)."""
        if channel.username is None:
            raise SourceError(f"channel {channel.id} has no @username, so it has no discussion widget")
        url = widget_url(self._base, channel.username, post_id)
        response = await self._client.get(url)
        if response.status != 200:
            raise SourceError(f"the comments of post {post_id}: {url} answered HTTP {response.status}")
        page = parse_widget_page(_text(response), url=url, channel_id=channel.id, post_id=post_id)
        if page.group_id is None:
            return CommentThread(post_id, None, [], unavailable=page.unavailable)
        group = self.groups.get(channel.id)
        if group is None or group.id != page.group_id:
            group = self.groups[channel.id] = group_record(page.group_id, channel)
        comments = _captured(page.comments, response.capture)
        skipped = list(page.skipped)
        complete = await self._older(page, channel, post_id, stop_at, comments, skipped)
        if skipped:
            log.warning(
                "comments the widget showed could not be read",
                channel=channel.username,
                post=post_id,
                count=len(skipped),
                first=skipped[0],
            )
        ordered = sorted({item.post.message_id: item for item in comments}.items())
        return CommentThread(
            post_id, group, [item for _, item in ordered], count=page.count, complete=complete
        )

    async def _older(
        self,
        page: WidgetPage,
        channel: Channel,
        post_id: int,
        stop_at: int,
        comments: list[FetchedPost],
        skipped: list[str],
    ) -> bool:
        """Follow "show more" down the thread; True when its first comment was reached."""
        assert page.group_id is not None  # read() returned already for a page without a discussion
        before, more = page.before, page.load_more
        thread = Thread(channel.id, post_id, page.group_id, page.top_id)
        for _ in range(MAX_PAGES - 1):
            shown = [item.post.message_id for item in comments]
            if before is None:
                return True
            if shown and min(shown) <= stop_at:
                return False
            if more is None:
                log.info(
                    "older comments are not offered by the widget", channel=channel.username, post=post_id
                )
                return False
            try:
                response = await self._client.post_form(more.api_url, more.form(before))
            except RefusedURLError as exc:
                log.warning(
                    "older comments not asked for", channel=channel.username, post=post_id, why=str(exc)
                )
                return False
            if response.status != 200:
                raise SourceError(
                    f"older comments of post {post_id}: the widget's API answered HTTP {response.status}"
                )
            answer = parse_more_answer(_text(response), url=response.url, thread=thread)
            lowest = min(shown) if shown else before + 1
            if answer.comments and min(item.post.message_id for item in answer.comments) >= lowest:
                raise PageLayoutError(response.url, f"before_id={before} gave no comment older than {lowest}")
            comments.extend(_captured(answer.comments, response.capture))
            skipped.extend(answer.skipped)
            if not answer.comments:
                return answer.before is None
            before = answer.before
        return before is None
