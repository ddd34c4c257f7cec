"""What a site build is asked to do (:class:`SiteOptions`) and what it did (:class:`SiteBuildReport`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tgvault.errors import TgvaultError


class SiteError(TgvaultError):
    """The site cannot be built as asked (bad options, a path clash, an unwritable folder)."""


class Order(StrEnum):
    """Which posts a timeline shows first."""

    NEWEST = "newest"
    OLDEST = "oldest"


class MediaMode(StrEnum):
    """How media files get from the archive's store into the site's ``media/`` folder."""

    HARDLINK = "hardlink"  # falls back to a copy when the store is on another file system
    COPY = "copy"
    SYMLINK = "symlink"


@dataclass(frozen=True)
class SiteOptions:
    """Options of a static site build.

    ``timezone`` (an IANA name) decides every date shown and every grouping: month pages, day anchors,
    statistics. ``templates_dir`` holds Jinja templates that override the defaults by name.
    """

    out_dir: Path
    title: str = "tgvault archive"
    base_url: str | None = None
    timezone: str = "UTC"
    templates_dir: Path | None = None
    order: Order = Order.NEWEST
    posts_per_page: int = 50
    media_mode: MediaMode = MediaMode.HARDLINK
    feed_size: int = 50
    latest_on_channel_page: int = 10
    channel_ids: tuple[int, ...] | None = None
    post_pages: bool = True  # False: posts are linked as anchors on their month pages, no page of their own
    workers: int | None = None  # processes rendering the month pages (None: one per core)
    comments_hidden: tuple[
        str, ...
    ] = ()  # channels (@username lowercased, or id) whose comments are not shown

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise SiteError("the site title is empty")
        if self.posts_per_page < 1:
            raise SiteError(f"posts_per_page must be at least 1, not {self.posts_per_page}")
        if self.feed_size < 1:
            raise SiteError(f"feed_size must be at least 1, not {self.feed_size}")
        if self.workers is not None and self.workers < 1:
            raise SiteError(f"workers must be at least 1, not {self.workers}")
        if self.latest_on_channel_page < 0:
            raise SiteError("latest_on_channel_page cannot be negative")
        if self.base_url is not None:
            split = urlsplit(self.base_url)
            if split.scheme not in ("http", "https") or not split.netloc or split.query or split.fragment:
                raise SiteError(
                    f"base_url {self.base_url!r} is not an http(s) URL like https://example.org/archive"
                )
        self.zone()
        object.__setattr__(self, "order", Order(self.order))
        object.__setattr__(self, "media_mode", MediaMode(self.media_mode))

    def zone(self) -> ZoneInfo:
        """The configured timezone; raises :class:`SiteError` for an unknown name."""
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise SiteError(
                f"{self.timezone!r} is not a known IANA timezone such as 'Europe/Berlin'"
            ) from None

    def worker_count(self) -> int:
        """How many processes render month pages: ``workers``, or one per core."""
        return self.workers if self.workers is not None else max(1, os.cpu_count() or 1)

    @property
    def absolute_base(self) -> str | None:
        """The base URL without a trailing slash, or None when the site is not published anywhere."""
        return None if self.base_url is None else self.base_url.rstrip("/")


@dataclass
class SiteBuildReport:
    """What a build did: pages written, left unchanged and removed; media linked or copied."""

    written: int = 0
    unchanged: int = 0
    removed: int = 0
    rendered: int = 0
    media_written: int = 0
    media_unchanged: int = 0
    media_removed: int = 0
    media_missing: int = 0
    channels: int = 0
    posts: int = 0
    seconds: float = 0.0
    incremental: bool = False  # planned from the last build's plan and the posts written since
    changed_posts: int = 0  # posts read again because they were written since the last build
    written_paths: list[str] = field(default_factory=list)
    removed_paths: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        """Pages the site has after the build."""
        return self.written + self.unchanged
