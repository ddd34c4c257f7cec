"""The service's site rebuilds: one build at a time, the changes arriving meanwhile gathered into the next."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

import structlog

from tgvault.errors import TgvaultError
from tgvault.services.site_hook import NoSiteRebuild, SiteRebuilder

# The service's events keep the logger name they have always had (log filters and alerts match on it).
log = structlog.get_logger("tgvault.service")


class RebuildQueue:
    """The channels whose archive changed, rebuilt on the site by ``rebuilder`` (nothing without one)."""

    def __init__(self, rebuilder: SiteRebuilder | None = None) -> None:
        self._rebuilder = rebuilder or NoSiteRebuild()
        self._pending: set[int] = set()
        self._task: asyncio.Task[None] | None = None
        self._deferred = False

    def defer(self) -> None:
        """Gather every change into one build, run by :meth:`finish` (``tgvault run --once``)."""
        self._deferred = True

    def queue(self, channel_id: int) -> None:
        """Ask for a rebuild of the channel's pages (started at once unless deferred or one is running)."""
        if isinstance(self._rebuilder, NoSiteRebuild):
            return  # no site exporter plugged in
        self._pending.add(channel_id)
        if self._deferred:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="tgvault-site-rebuild")

    async def _loop(self) -> None:
        """Rebuild the site for the changed channels, one build at a time; changes arriving meanwhile
        are gathered into the next build."""
        while self._pending:
            ids = frozenset(self._pending)
            self._pending.clear()
            try:
                await _in_daemon_thread(self._rebuilder.rebuild, ids)
            except asyncio.CancelledError:
                raise
            except TgvaultError as error:
                log.error("site rebuild failed", channel_ids=sorted(ids), error=str(error))
            except Exception:
                log.exception("site rebuild crashed", channel_ids=sorted(ids))
            else:
                log.info("site rebuilt", channel_ids=sorted(ids))

    async def finish(self) -> None:
        """Wait for the running build, then build what is still pending."""
        if self._task is not None:
            await self._task
        await self._loop()

    async def cancel(self) -> None:
        """Stop the running build (its thread finishes on its own)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def _in_daemon_thread(function: Callable[[frozenset[int]], None], argument: frozenset[int]) -> None:
    """Run a blocking call in a daemon thread (a long site build never holds up the process's exit)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if done.done():
            return
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)

    def target() -> None:
        error: BaseException | None = None
        try:
            function(argument)
        except BaseException as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop closed while the build ran
            loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=target, name="tgvault-site-rebuild", daemon=True).start()
    await done
