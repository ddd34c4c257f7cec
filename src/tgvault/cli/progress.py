"""Showing progress to a person: a rich bar on a terminal, periodic log lines anywhere else."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Self

import structlog
from rich.console import Console
from rich.filesize import decimal
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

log = structlog.get_logger(__name__)


class BarProgress:
    """A rich progress display: a posts bar (count, rate, ETA when Telegram gave a total) and a media line."""

    def __init__(self, console: Console) -> None:
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._posts_task: TaskID | None = None
        self._media_task: TaskID | None = None
        self._started = time.monotonic()
        self._count = 0
        self._total: int | None = None
        self._files = 0
        self._bytes = 0

    def __enter__(self) -> Self:
        self._bar.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bar.stop()

    def started(self, channel: str, total_posts: int | None) -> None:
        """Add (or re-label) the channel's bars."""
        self._started = time.monotonic()
        self._count, self._total = 0, total_posts
        if self._posts_task is None:
            self._posts_task = self._bar.add_task(channel, total=total_posts, detail="")
            self._media_task = self._bar.add_task("  media", total=None, detail="0 files")
        else:
            self._bar.update(self._posts_task, description=channel, total=total_posts, completed=0)

    def posts(self, count: int) -> None:
        """Advance the posts bar."""
        if self._posts_task is None:
            return
        self._count += count
        elapsed = max(time.monotonic() - self._started, 1e-6)
        of_total = f"/{self._total:,}" if self._total else ""
        detail = f"{self._count:,}{of_total} posts · {self._count / elapsed:,.0f}/s"
        self._bar.update(self._posts_task, advance=count, detail=detail)

    def media(self, files: int, size: int) -> None:
        """Advance the media line (files and bytes stored)."""
        if self._media_task is None:
            return
        self._files += files
        self._bytes += size
        self._bar.update(self._media_task, detail=f"{self._files:,} files · {decimal(self._bytes)}")

    def finished(self) -> None:
        """Nothing to do: the bars stay visible until the command ends."""


class LogProgress:
    """Progress as a log line every ``interval`` seconds (for services and redirected output)."""

    def __init__(self, interval: float = 10.0) -> None:
        self._interval = interval
        self._channel = ""
        self._total: int | None = None
        self._posts = 0
        self._files = 0
        self._bytes = 0
        self._started = time.monotonic()
        self._last = self._started

    def started(self, channel: str, total_posts: int | None) -> None:
        """Remember the channel and total."""
        self._channel, self._total = channel, total_posts
        self._started = self._last = time.monotonic()

    def _maybe_log(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self._interval:
            return
        self._last = now
        elapsed = max(now - self._started, 1e-6)
        log.info(
            "progress",
            channel=self._channel,
            posts=self._posts,
            total=self._total,
            posts_per_second=round(self._posts / elapsed, 1),
            media_files=self._files,
            media_bytes=self._bytes,
        )

    def posts(self, count: int) -> None:
        """Count posts; log when the interval passed."""
        self._posts += count
        self._maybe_log()

    def media(self, files: int, size: int) -> None:
        """Count media; log when the interval passed."""
        self._files += files
        self._bytes += size
        self._maybe_log()

    def finished(self) -> None:
        """Log the final figures."""
        if self._posts or self._files:
            self._maybe_log(force=True)
