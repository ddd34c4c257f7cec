"""Who works on a channel now: each channel's turn, the sync slots the channels share, the running jobs."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

# The service's events keep the logger name they have always had (log filters and alerts match on it).
log = structlog.get_logger("tgvault.service")


class ChannelTurns:
    """The service's jobs in flight: a channel's syncs and audit slices take its turn in order (so neither
    finds it busy), at most ``slots`` of them run at once, and the running ones can be interrupted."""

    def __init__(self) -> None:
        self.running: dict[str, asyncio.Task[Any]] = {}
        """The task of each job running now, by job id (a channel's key, or its audit job's id)."""
        self.syncing: set[str] = set()
        """The channels syncing now (a worker never gives their leases away)."""
        self.slots: asyncio.Semaphore | None = None
        self._turns: dict[str, asyncio.Lock] = {}

    def open_slots(self, count: int) -> None:
        """Let ``count`` jobs run at the same time."""
        self.slots = asyncio.Semaphore(count)

    def turn(self, key: str) -> asyncio.Lock:
        """The channel's turn: its syncs and audit slices take it in order, so neither finds it busy."""
        return self._turns.setdefault(key, asyncio.Lock())

    async def interrupt(self, timeout: float) -> None:
        """Cancel the running jobs and give them ``timeout`` seconds to record themselves as interrupted."""
        tasks = [task for task in self.running.values() if not task.done()]
        if tasks:
            log.info("interrupting running syncs", channels=sorted(self.running))
            for task in tasks:
                task.cancel()
            _done, pending = await asyncio.wait(tasks, timeout=timeout)
            if pending:
                log.warning("some syncs did not stop in time", count=len(pending))
