"""What the service tests share: quick service options, one archiver for every channel, waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from tgvault.config import ChannelConfig, Settings
from tgvault.daemon.options import ServiceOptions
from tgvault.services.archiver import Archiver
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]
FAST = ServiceOptions(heartbeat_seconds=0.2, stop_timeout=3.0, min_misfire_grace=5.0, startup_spread=0.1)


class OneArchiver:
    """Every channel synced by one archiver (what SharedSources does for channels of one source)."""

    def __init__(self, archiver: Archiver) -> None:
        self.archiver = archiver

    async def archiver_for(self, settings: Settings, channel: ChannelConfig) -> Archiver:
        return self.archiver


async def eventually(condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> float:
    """Wait for ``condition`` (polled every 20 ms); returns the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - started
