"""``tgvault demo``: archive a built-in sample channel from a local stand-in for Telegram.

The stand-in is :mod:`tgvault.testing.demo_server` in a child process (production code never imports
``tgvault.testing``): the fake Telegram behind the loopback MTProto server, which the real Telethon client
reaches over a socket. :class:`SampleTelegram` starts it, reads the address it serves on, asks it for the
channel's later changes, and always stops it. :func:`archive_sample` is the demo's use case: read the
channel, let it change (an edit, a deletion), read it again — the same backfill and sync as any channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from tgvault.domain import RunCounts
from tgvault.errors import SourceError
from tgvault.services.archiver import Archiver
from tgvault.services.plans import ChannelPlan
from tgvault.storage.unit_of_work import UnitOfWork

__all__ = ["DemoReport", "SampleTelegram", "SampleTelegramAddress", "archive_sample"]

SERVER_MODULE = "tgvault.testing.demo_server"
_START_TIMEOUT = 60.0  # seconds for the child to import Telethon and listen (a loaded 2-core machine)
_ANSWER_TIMEOUT = 30.0
_STOP_TIMEOUT = 5.0


@dataclass(frozen=True)
class SampleTelegramAddress:
    """Where the stand-in listens, as a Telethon session string, and the channels it serves."""

    session: str
    api_id: int
    api_hash: str
    channels: tuple[str, ...]


class SampleTelegram:
    """The stand-in for Telegram in a child process; ``async with SampleTelegram(log) as sample``.

    The child's stderr goes to ``log_file``. Leaving the block (normally, on an error or on Ctrl-C) closes
    the child's stdin, which stops it; one that does not stop within seconds is terminated, then killed.
    """

    def __init__(self, log_file: Path, python: str = sys.executable) -> None:
        """Prepare (not start) the stand-in; ``python`` runs the child."""
        self._log_file = log_file
        self._python = python
        self._process: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None
        self.address: SampleTelegramAddress | None = None

    async def __aenter__(self) -> SampleTelegram:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _start(self) -> None:
        self._log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = self._log_file.open("wb")
        self._process = await asyncio.create_subprocess_exec(
            self._python,
            "-m",
            SERVER_MODULE,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._log,
            start_new_session=True,  # Ctrl-C in the terminal reaches tgvault, which stops the child
        )
        hello = await self._answer(_START_TIMEOUT, "start")
        try:
            self.address = SampleTelegramAddress(
                session=str(hello["session"]),
                api_id=int(hello["api_id"]),
                api_hash=str(hello["api_hash"]),
                channels=tuple(str(name) for name in hello["channels"]),
            )
        except (KeyError, TypeError, ValueError):
            raise self._failure("start", "it announced no address") from None

    async def _answer(self, timeout: float, step: str) -> dict[str, Any]:
        """The child's next JSON line."""
        assert self._process is not None and self._process.stdout is not None
        try:
            line = await asyncio.wait_for(self._process.stdout.readline(), timeout)
        except TimeoutError:
            raise self._failure(step, f"no answer within {timeout:.0f} s") from None
        if not line:
            raise self._failure(step, "it exited")
        try:
            answer = json.loads(line)
        except ValueError:
            raise self._failure(step, "it answered something else than JSON") from None
        if not isinstance(answer, dict):
            raise self._failure(step, "it answered something else than a JSON object")
        return answer

    def _failure(self, step: str, what: str) -> SourceError:
        return SourceError(
            f"the demo's stand-in for Telegram ({SERVER_MODULE}) failed to {step}: {what}; "
            f"its messages are in {self._log_file}"
        )

    async def apply_changes(self) -> None:
        """Ask the stand-in to apply the sample channel's later changes (an edit, a deletion)."""
        process = self._process
        if process is None or process.stdin is None:
            raise RuntimeError("the stand-in is not running")
        try:
            process.stdin.write(b"changes\n")
            await process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            raise self._failure("apply the channel's changes", "it exited") from None
        answer = await self._answer(_ANSWER_TIMEOUT, "apply the channel's changes")
        if answer.get("done") != "changes":
            raise self._failure("apply the channel's changes", str(answer.get("error", answer)))

    async def stop(self) -> None:
        """Stop the child (close its stdin; terminate, then kill, one that lingers); safe to call twice."""
        process, self._process = self._process, None
        if process is not None:
            try:
                if process.stdin is not None:
                    process.stdin.close()
                try:
                    await asyncio.wait_for(process.wait(), _STOP_TIMEOUT)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        process.terminate()
                    try:
                        await asyncio.wait_for(process.wait(), _STOP_TIMEOUT)
                    except TimeoutError:
                        with contextlib.suppress(ProcessLookupError):
                            process.kill()
                        await process.wait()
            except BaseException:
                # Interrupted while waiting (a second Ctrl-C): never leave the child behind.
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                raise
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass(frozen=True)
class DemoReport:
    """What the demo did: a first read and the changes after it, or a refresh of an earlier demo."""

    refreshed: bool
    """True when the archive already held the sample channels (an earlier demo): only syncs ran."""
    first_read: RunCounts
    changes: RunCounts


async def archive_sample(
    archiver: Archiver,
    plans: Sequence[ChannelPlan],
    sample: SampleTelegram,
    unit_of_work: Callable[[], UnitOfWork],
) -> DemoReport:
    """Archive the sample channels: a backfill of each, then the channels change, then a sync records
    the edit and the deletion. Channels the archive already holds (an earlier demo) are not read twice:
    the changes are applied and the sync refreshes them (nothing new: the sample is the same every time)."""
    with unit_of_work() as uow:
        unread = [plan for plan in plans if uow.channels.find(plan.key) is None]
    first_read = RunCounts()
    for plan in unread:
        first_read += await archiver.backfill(plan)
    await sample.apply_changes()
    changes = RunCounts()
    for plan in plans:
        changes += await archiver.sync(plan)
    return DemoReport(refreshed=not unread, first_read=first_read, changes=changes)
