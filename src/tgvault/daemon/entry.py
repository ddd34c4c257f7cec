"""``tgvault run`` and ``tgvault run --once``: archive opened and locked, sources shared, signals handled."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from tgvault.config import Settings
from tgvault.daemon.account import TelegramAccount
from tgvault.daemon.lock import ServiceLock, locked_archive
from tgvault.daemon.options import ServiceOptions
from tgvault.daemon.orchestrator import Service
from tgvault.daemon.shared_sources import SharedSources
from tgvault.services.archiver import ChannelOutcome

if TYPE_CHECKING:
    from tgvault.app import Archive
    from tgvault.daemon.workers import WorkerLeases

# The service's events keep the logger name they have always had (log filters and alerts match on it).
log = structlog.get_logger("tgvault.service")


def _service(
    settings: Settings,
    archive: Archive,
    sources: SharedSources,
    lock: ServiceLock | None,
    *,
    reload_settings: Callable[[], Settings] | None,
    health_file: Path | None,
    options: ServiceOptions,
    leases: WorkerLeases | None = None,
) -> Service:
    """The service over ``sources``: it shares their Telegram account, and a reload retries a failed one."""
    from tgvault.app import ledger_stamper, plan_for, site_rebuilder

    return Service(
        settings,
        archive.unit_of_work,
        sources,
        plan_for=plan_for,
        # Workers leave the site to `tgvault export site` (one builder, not one per worker); they only
        # timestamp the ledger heads their runs moved.
        rebuilder=ledger_stamper(settings, archive)
        if leases is not None
        else site_rebuilder(settings, archive),
        reload_settings=reload_settings,
        lock=lock,
        health_file=health_file,
        options=options,
        leases=leases,
        updates=sources.update_feed,
        account=sources.account,
        reconnect=sources.reconnect_telegram,
    )


async def sync_once(settings: Settings, *, options: ServiceOptions | None = None) -> list[ChannelOutcome]:
    """``tgvault run --once``: hold the service lock, sync every configured channel once, rebuild the site.

    Every channel is tried whatever another one's failure: a Telegram account that cannot be used, or a
    Telegram that cannot be reached, is met once and each Telegram channel's outcome is ``stopped`` with it.
    """
    options = options or ServiceOptions()
    async with locked_archive(settings, options) as (archive, lock):
        sources = SharedSources(
            archive, settings, close_timeout=options.disconnect_timeout, account=TelegramAccount(), once=True
        )
        try:
            await sources.open_for(settings)
            service = _service(
                settings, archive, sources, lock, reload_settings=None, health_file=None, options=options
            )
            return await service.run_once()
        finally:
            await sources.aclose()


async def serve(
    settings: Settings,
    *,
    reload_settings: Callable[[], Settings] | None = None,
    health_file: Path | None = None,
    force_exit: Callable[[], None] | None = None,
    options: ServiceOptions | None = None,
    worker: bool = False,
) -> None:
    """``tgvault run``: serve the archive until SIGTERM/SIGINT (SIGHUP reloads the config).

    With ``worker`` this process is one of several sharing the archive: it serves the channels whose
    leases it holds (see :mod:`tgvault.daemon.workers`) instead of taking the single-service lock.

    Raises :class:`ServiceBusyError` when another process serves the archive. After the first stop
    signal, a second one ends the process at once: it calls ``force_exit`` (the CLI exits with 130), or,
    if the event loop is stuck, the signal's default action kills the process.
    """
    options = options or ServiceOptions()
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    service: Service | None = None

    def on_stop(signum: int) -> None:
        if stopped.is_set():
            log.warning("second stop signal; exiting at once", signal=signal.Signals(signum).name)
            if force_exit is not None:
                force_exit()
            return
        log.info(
            "stop signal; interrupting the running syncs (send it again to exit at once)",
            signal=signal.Signals(signum).name,
        )
        stopped.set()
        # From now on SIGTERM/SIGINT kill the process outright, even if the event loop is stuck
        # (e.g. waiting for a locked database) and could not run a handler.
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop_signal, signal.SIG_DFL)
        if service is not None:
            service.stop()

    def on_reload() -> None:
        if service is None or service.stopping:
            log.info("config reload requested before the service started; ignored")
            return
        service.reload()

    if worker:
        options = replace(options, heartbeat_seconds=settings.workers.renew_seconds)
    installed = _install_signals(loop, on_stop, on_reload)
    try:
        async with locked_archive(settings, options, worker=worker) as (archive, lock):
            leases = _worker_leases(settings, archive) if worker else None
            sources = SharedSources(
                archive,
                settings,
                close_timeout=options.disconnect_timeout,
                owner=leases.worker_id if leases is not None else None,
            )
            try:
                opened = await _unless_stopped(sources.open_for(settings), stopped)
                if not opened or stopped.is_set():
                    return
                service = _service(
                    settings,
                    archive,
                    sources,
                    lock,
                    reload_settings=reload_settings,
                    health_file=health_file,
                    options=options,
                    leases=leases,
                )
                await service.run_forever()
            finally:
                await sources.aclose()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def _worker_leases(settings: Settings, archive: Archive) -> WorkerLeases:
    from tgvault.daemon.workers import WorkerLeases

    return WorkerLeases(
        archive.unit_of_work,
        settings.workers.session,
        lease_for=timedelta(seconds=settings.workers.lease_seconds),
    )


async def _unless_stopped(awaitable: Awaitable[None], stopped: asyncio.Event) -> bool:
    """Await ``awaitable`` unless ``stopped`` is set first (then cancel it); True when it completed."""
    work = asyncio.ensure_future(awaitable)
    waiter = asyncio.ensure_future(stopped.wait())
    try:
        await asyncio.wait({work, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if work.done():
        work.result()
        return True
    work.cancel()
    await asyncio.gather(work, return_exceptions=True)
    return False


def _install_signals(
    loop: asyncio.AbstractEventLoop, on_stop: Callable[[int], None], on_reload: Callable[[], None]
) -> Sequence[int]:
    installed = []
    handlers: list[tuple[int, Callable[..., None], tuple[Any, ...]]] = [
        (signal.SIGTERM, on_stop, (signal.SIGTERM,)),
        (signal.SIGINT, on_stop, (signal.SIGINT,)),
    ]
    if hasattr(signal, "SIGHUP"):
        handlers.append((signal.SIGHUP, on_reload, ()))
    for signum, handler, args in handlers:
        try:
            loop.add_signal_handler(signum, handler, *args)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on this platform
            continue
        installed.append(signum)
    return installed
