"""What a service is asked to do for one channel, independent of how the config spells it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tgvault.domain import MediaItem, MediaKind

ALL_MEDIA_KINDS = frozenset(MediaKind)
DEFAULT_MAX_MEDIA_SIZE = 50 * 1024 * 1024


@dataclass(frozen=True)
class MediaPolicy:
    """Which files to download (kinds, a size ceiling; 0 = none at all) and how downloads are retried.

    ``concurrency`` downloads run at once. A failed download is tried again after ``retry_delay``,
    doubling each time; after ``max_attempts`` it is marked failed and waits ``failed_retry_after``.
    """

    kinds: frozenset[MediaKind] = ALL_MEDIA_KINDS
    max_size: int = DEFAULT_MAX_MEDIA_SIZE
    concurrency: int = 3
    max_attempts: int = 5
    retry_delay: timedelta = timedelta(seconds=10)
    failed_retry_after: timedelta = timedelta(hours=6)

    def refusal(self, media: MediaItem) -> str | None:
        """Why this file is not to be downloaded, or None when it is."""
        if self.max_size <= 0:
            return "media downloads are off for this channel"
        if media.kind not in self.kinds:
            return f"{media.kind.value} is not in the channel's media_kinds"
        if media.size is not None and media.size > self.max_size:
            return f"{media.size} bytes is over the channel's media_max_size ({self.max_size})"
        return None


NO_MEDIA = MediaPolicy(max_size=0)


@dataclass(frozen=True)
class RefreshWindow:
    """Which archived posts a sync re-reads for edits, deletions and counters."""

    newest_posts: int = 200
    days: int = 7

    def since(self, now: datetime) -> datetime:
        """The oldest post date inside the window."""
        return now - timedelta(days=self.days)


COMMENTS_MEDIA = MediaPolicy(kinds=frozenset({MediaKind.PHOTO}), max_size=10_000_000)
"""Files of comments downloaded by default: photos up to 10 MB."""


@dataclass(frozen=True)
class CommentsPlan:
    """Archive the comments of the channel's linked discussion group, with their own media policy."""

    media: MediaPolicy = COMMENTS_MEDIA
    pseudonymous: bool = False
    """``comments_authors = "pseudonymous"``: commenters kept under this archive's stable pseudonyms only."""


@dataclass(frozen=True)
class ChannelPlan:
    """One channel to archive: how it is named, from when, and its media policy."""

    key: str
    since: datetime | None = None
    until: datetime | None = None
    media: MediaPolicy = field(default_factory=MediaPolicy)
    refresh: RefreshWindow = field(default_factory=RefreshWindow)
    mass_deletion_share: float = 0.5
    """A run that sees more than this share of the posts it re-read vanish raises an alert."""
    comments: CommentsPlan | None = None
    """Archive the channel's comments (None: leave them)."""
