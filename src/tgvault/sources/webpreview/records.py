"""What a parsed web preview page holds: its kind, its channel header, its posts and where their files are."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from tgvault.domain import PageCapture, Post

RAW_KEY = "webpreview"


class PageKind(Enum):
    """What a page served for a channel name is."""

    CHANNEL = "channel"  # the channel's web preview
    NO_PREVIEW = "no_preview"  # the landing page of a name that exists but has no public preview
    UNKNOWN_NAME = "unknown_name"  # the landing page Telegram shows for a name nobody has
    OTHER = "other"  # none of these: the layout changed


@dataclass(frozen=True)
class WebMedia:
    """Where the preview serves a post's file: an http(s) ``url``, or why it serves none.

    ``thumbnail`` is the URL of the preview image shown for a file the page does not offer (a document,
    a video too large to play), so the archive keeps at least that.
    """

    url: str | None
    unavailable: str | None = None
    thumbnail: str | None = None


@dataclass(frozen=True)
class ParsedPost:
    """A post read from a page, with where its file can be downloaded (``None``: it has none)."""

    post: Post
    media: WebMedia | None = None


@dataclass(frozen=True)
class ChannelHeader:
    """The channel header of a preview page. ``counters`` are as shown (``{"subscriber": 53000}``)."""

    title: str
    username: str | None
    description: str | None
    photo_url: str | None
    subscribers: int | None
    counters: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PreviewPage:
    """One page of a channel's preview: its header, its channel id (when it shows posts), its posts.

    ``posts`` are newest first; album items are separate posts.
    """

    url: str
    header: ChannelHeader
    channel_id: int | None
    posts: tuple[ParsedPost, ...]
    capture: PageCapture | None = None
    """The exchange the page was read from (request, response, exact bytes), when it was fetched."""

    @property
    def ids(self) -> list[int]:
        """Message ids on the page, newest first."""
        return [item.post.message_id for item in self.posts]
