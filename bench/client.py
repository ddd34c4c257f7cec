"""One measured workload in a fresh process: ``python -m bench.client < spec.json`` prints one JSON line.

Every workload runs in its own process so its peak RSS is its own (``VmHWM`` of the process) and no
run warms a cache for the next. The clock starts after imports, the database schema and the connection
to the (loopback) Telegram, and stops when the work is done; the floor and tgvault are timed alike.

Workloads (``spec["kind"]``):

* ``floor`` — plain Telethon: resolve the channel, ``iter_messages(wait_time=0)`` over all of it, nothing
  done with the messages (``spec["wait_time"]`` paces it as Telethon does by default for long histories).
* ``backfill`` / ``sync`` — tgvault's archiver (the same composition root as the CLI:
  ``open_archive`` + ``telegram_source`` + ``make_archiver`` + ``plan_for``), with or without media.
* ``media_floor`` — plain Telethon ``download_media`` of every file of a channel, one after another.
* ``export`` — tgvault's static site build (``build_site``), full or incremental.
* ``tdesktop_import`` — tgvault's import of a Telegram Desktop export (``import_tdesktop``, as ``tgvault
  import tdesktop`` runs it) into a new archive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class Stopwatch:
    """Wall-clock and CPU time (this process, all threads) of a block: ``with Stopwatch() as watch:``."""

    seconds = 0.0
    cpu_seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu_seconds = time.process_time() - self._cpu

    def result(self, **extra: Any) -> dict[str, Any]:
        return {"seconds": self.seconds, "cpu_seconds": self.cpu_seconds, **extra}


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    Read from ``VmHWM`` in ``/proc/self/status``: ``ru_maxrss`` is no good here, since Linux carries the
    parent's peak into a child started with vfork (as :mod:`subprocess` does) across ``exec``, so a big
    bench parent would be counted in every workload.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@contextlib.contextmanager
def profiled(target: str | None) -> Iterator[None]:
    """Profile the block with pyinstrument (when installed) and write a text report to ``target``."""
    if not target:
        yield
        return
    from pyinstrument import Profiler  # not a dependency: pip install pyinstrument to profile

    profiler = Profiler(interval=0.0005, async_mode="enabled")
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        Path(target).write_text(profiler.output_text(unicode=True, color=False, show_all=False))


async def floor(spec: dict[str, Any]) -> dict[str, Any]:
    from telethon import TelegramClient
    from telethon.sessions import StringSession

    from tgvault.testing import FAKE_API_HASH, FAKE_API_ID

    client = TelegramClient(StringSession(spec["session"]), FAKE_API_ID, FAKE_API_HASH, receive_updates=False)
    await client.connect()
    try:
        with profiled(spec.get("profile")), Stopwatch() as watch:
            entity = await client.get_entity(spec["channel"])
            count = 0
            async for _message in client.iter_messages(entity, wait_time=spec.get("wait_time", 0)):
                count += 1
    finally:
        await client.disconnect()
    return watch.result(posts=count)


def _settings(spec: dict[str, Any]) -> Any:
    from tgvault.config import Settings
    from tgvault.testing import FAKE_API_HASH, FAKE_API_ID

    return Settings(
        database={"url": spec["database_url"]},
        media={"dir": spec["media_dir"], "concurrency": spec.get("concurrency", 3)},
        telegram={
            "api_id": FAKE_API_ID,
            "api_hash": FAKE_API_HASH,
            "session_string": spec.get("session") or None,
            "request_delay": spec.get("request_delay", 0),
        },
    )


async def archive(spec: dict[str, Any]) -> dict[str, Any]:
    from tgvault.app import make_archiver, open_archive, plan_for, telegram_source

    settings = _settings(spec)
    archive = open_archive(settings)
    try:
        plan = plan_for(settings, spec["channel"], media=spec.get("media", False))
        async with telegram_source(settings) as source:
            archiver = make_archiver(archive, source)
            with profiled(spec.get("profile")), Stopwatch() as watch:
                if spec["kind"] == "backfill":
                    counts = await archiver.backfill(plan)
                else:
                    counts = await archiver.sync(plan)
    finally:
        archive.close()
    return watch.result(counts=counts.model_dump())


async def media_floor(spec: dict[str, Any]) -> dict[str, Any]:
    from telethon import TelegramClient
    from telethon.sessions import StringSession

    from tgvault.testing import FAKE_API_HASH, FAKE_API_ID

    out = Path(spec["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    client = TelegramClient(StringSession(spec["session"]), FAKE_API_ID, FAKE_API_HASH, receive_updates=False)
    await client.connect()
    try:
        with Stopwatch() as watch:
            entity = await client.get_entity(spec["channel"])
            files = size = 0
            async for message in client.iter_messages(entity, wait_time=0):
                if message.media is None:
                    continue
                path = await client.download_media(message, file=str(out / f"{message.id}.bin"))
                files += 1
                size += Path(path).stat().st_size
    finally:
        await client.disconnect()
    return watch.result(files=files, bytes=size)


def export(spec: dict[str, Any]) -> dict[str, Any]:
    from tgvault.app import open_archive
    from tgvault.export.site import SiteOptions, build_site

    settings = _settings(spec)
    archive = open_archive(settings)
    try:
        options = SiteOptions(out_dir=Path(spec["out_dir"]), title="bench")
        with profiled(spec.get("profile")), Stopwatch() as watch:
            report = build_site(archive.unit_of_work, archive.media_store, options, full=spec["full"])
    finally:
        archive.close()
    return watch.result(
        **{
            "pages": report.pages,
            "written": report.written,
            "unchanged": report.unchanged,
            "rendered": report.rendered,
            "posts": report.posts,
        }
    )


def tdesktop_import(spec: dict[str, Any]) -> dict[str, Any]:
    import logging

    import structlog

    from tgvault.app import open_archive
    from tgvault.services.tdesktop_import import import_tdesktop

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    settings = _settings(spec)
    archive = open_archive(settings)
    try:
        with profiled(spec.get("profile")), Stopwatch() as watch:
            summary = import_tdesktop(Path(spec["export"]), archive.unit_of_work, archive.media_store)
    finally:
        archive.close()
    import ijson

    return watch.result(
        ijson_backend=ijson.backend,
        messages=sum(channel.messages for channel in summary.channels),
        added=summary.posts_added,
        files_stored=summary.files_stored,
    )


def main() -> None:
    spec = json.loads(sys.stdin.read())
    kind = spec["kind"]
    if kind == "floor":
        result = asyncio.run(floor(spec))
    elif kind in ("backfill", "sync"):
        result = asyncio.run(archive(spec))
    elif kind == "media_floor":
        result = asyncio.run(media_floor(spec))
    elif kind == "export":
        result = export(spec)
    elif kind == "tdesktop_import":
        result = tdesktop_import(spec)
    else:
        raise SystemExit(f"unknown workload {kind!r}")
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
