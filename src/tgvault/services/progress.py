"""How services report progress: the CLI shows a bar on a terminal and log lines elsewhere."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receives progress events from a long-running service."""

    def started(self, channel: str, total_posts: int | None) -> None:
        """A channel's walk begins; ``total_posts`` is Telegram's count when known."""
        ...

    def posts(self, count: int) -> None:
        """``count`` more posts were committed."""
        ...

    def media(self, files: int, size: int) -> None:
        """``files`` more files (``size`` bytes) were stored."""
        ...

    def finished(self) -> None:
        """The channel's walk ended."""
        ...


class SilentProgress:
    """Progress that goes nowhere (tests, the scheduler)."""

    def started(self, channel: str, total_posts: int | None) -> None:
        """Ignore."""

    def posts(self, count: int) -> None:
        """Ignore."""

    def media(self, files: int, size: int) -> None:
        """Ignore."""

    def finished(self) -> None:
        """Ignore."""
