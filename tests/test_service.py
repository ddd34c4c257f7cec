"""The service in-process: real Telethon against the fake Telegram, real SQLite, real APScheduler.

Every wait is bounded (``eventually``), so a broken service fails a test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from service_support import FAST, OneArchiver, UoW, eventually
from tgvault.app import plan_for
from tgvault.config import ChannelConfig, Settings
from tgvault.daemon.lock import ServiceLock
from tgvault.daemon.options import ServiceOptions
from tgvault.daemon.orchestrator import Service
from tgvault.domain import JobOutcome, RunStatus
from tgvault.errors import ServiceBusyError
from tgvault.services.archiver import Archiver
from tgvault.sources.telegram import TelegramSource
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.tables import utcnow
from tgvault.testing import FakeTelegram, add_post, build_realistic_channel, fake_client


class RecordingRebuilder:
    """A hand-written fake site rebuilder: remembers every call."""

    def __init__(self) -> None:
        self.calls: list[frozenset[int]] = []
        self.threads: list[str] = []

    def rebuild(self, changed_channel_ids: frozenset[int]) -> None:
        self.calls.append(changed_channel_ids)
        self.threads.append(threading.current_thread().name)


def settings_for(tmp_path: Path, *channels: tuple[str, str], timezone: str = "UTC") -> Settings:
    return Settings(
        database={"url": f"sqlite:///{tmp_path / 'archive.db'}"},
        media={"dir": tmp_path / "media"},
        site={"timezone": timezone},
        channels=[ChannelConfig(name=name, schedule=schedule) for name, schedule in channels],
    )


def with_service(
    world: FakeTelegram,
    uow: UoW,
    settings: Settings,
    body: Callable[[Service], Awaitable[None]],
    *,
    rebuilder: Any = None,
    reload_settings: Callable[[], Settings] | None = None,
    health_file: Path | None = None,
    options: ServiceOptions = FAST,
    lock: ServiceLock | None = None,
) -> Service:
    """Run the service while ``body`` drives the world, then stop it; the whole test is bounded."""

    async def go() -> Service:
        async with fake_client(world) as client:
            source = TelegramSource(client, request_delay=0)
            archiver = Archiver(source, uow, LocalMediaStore(settings.media.dir))
            service = Service(
                settings,
                uow,
                OneArchiver(archiver),
                plan_for=plan_for,
                rebuilder=rebuilder,
                reload_settings=reload_settings,
                health_file=health_file,
                options=options,
                lock=lock,
            )
            running = asyncio.create_task(service.run_forever())
            try:
                await asyncio.wait_for(body(service), 40)
            finally:
                service.stop()
                await asyncio.wait_for(running, 10)
            return service

    return asyncio.run(go())


def archived_ids(uow: UoW, channel_id: int) -> list[int]:
    with uow() as unit:
        return unit.posts.ids(channel_id, include_deleted=True)


def runs_of(uow: UoW, key: str) -> list[Any]:
    with uow() as unit:
        return [run for run in unit.runs.recent(500) if run.channel_key == key]


def test_the_service_picks_up_posts_added_while_it_runs_and_rebuilds_the_site(
    uow_factory: UoW, tmp_path: Path
) -> None:
    world = FakeTelegram()
    channel = build_realistic_channel(world, 30, seed=3, with_media=False, username="livechan")
    rebuilder = RecordingRebuilder()

    async def body(service: Service) -> None:
        await eventually(lambda: len(archived_ids(uow_factory, channel.id)) == 30, what="first sync")
        await eventually(lambda: rebuilder.calls != [], what="first rebuild")
        add_post(channel, "posted while the service runs")
        await eventually(lambda: len(archived_ids(uow_factory, channel.id)) == 31, what="the new post")
        await eventually(lambda: len(rebuilder.calls) >= 2, what="second rebuild")
        ok_runs = len(runs_of(uow_factory, "@livechan"))
        await eventually(lambda: len(runs_of(uow_factory, "@livechan")) >= ok_runs + 2, what="more runs")

    with_service(world, uow_factory, settings_for(tmp_path, ("@livechan", "1s")), body, rebuilder=rebuilder)
    assert sorted(channel.messages) == archived_ids(uow_factory, channel.id)
    assert [frozenset({channel.id})] * 2 == rebuilder.calls, "only syncs that changed something rebuild"
    assert all(name == "tgvault-site-rebuild" for name in rebuilder.threads), "builds run off the loop"
    with uow_factory() as uow:
        state = uow.service_state.get("livechan")
    assert state is not None
    assert state.last_outcome in (JobOutcome.OK, JobOutcome.INTERRUPTED)  # stopped between runs or in one
    assert 0 == state.consecutive_failures
    assert channel.id == state.channel_id
    assert "every 1s" == state.schedule


def test_a_failing_channel_backs_off_while_another_keeps_its_schedule(
    uow_factory: UoW, tmp_path: Path
) -> None:
    world = FakeTelegram()
    build_realistic_channel(world, 5, seed=1, with_media=False, username="steadychan")
    doomed = build_realistic_channel(world, 5, seed=2, with_media=False, username="doomedchan")

    async def body(service: Service) -> None:
        await eventually(lambda: len(runs_of(uow_factory, "@doomedchan")) >= 1, what="doomed synced once")
        world.vanish_channel(doomed)
        await eventually(
            lambda: service.states["doomedchan"].consecutive_failures >= 2, timeout=20, what="two failures"
        )
        failed_at = len(runs_of(uow_factory, "@doomedchan"))
        steady_before = len(runs_of(uow_factory, "@steadychan"))
        await asyncio.sleep(3)
        assert failed_at == len(runs_of(uow_factory, "@doomedchan")), "backing off: no attempt for 4 s"
        assert len(runs_of(uow_factory, "@steadychan")) >= steady_before + 2, "the other channel went on"

    service = with_service(
        world, uow_factory, settings_for(tmp_path, ("@steadychan", "1s"), ("@doomedchan", "1s")), body
    )
    state = service.states["doomedchan"]
    assert JobOutcome.FAILED == state.last_outcome
    assert state.backoff_until is not None and state.last_run_at is not None
    # Two failures in a row: 1 s * 2**2 = 4 s after the failure.
    assert 2 == state.consecutive_failures
    assert timedelta(seconds=3.5) < state.backoff_until - state.last_run_at < timedelta(seconds=7)
    assert "no channel has this username" in (state.last_error or "")
    with uow_factory() as uow:
        stored = uow.service_state.get("doomedchan")
    assert stored is not None and stored.backoff_until == state.backoff_until
    assert 0 == service.states["steadychan"].consecutive_failures


def test_stopping_mid_sync_records_the_run_as_interrupted_and_a_rerun_completes_it(
    uow_factory: UoW, tmp_path: Path
) -> None:
    world = FakeTelegram(latency=0.02)
    channel = build_realistic_channel(world, 1500, seed=4, with_media=False, username="bigchan")

    async def body(service: Service) -> None:
        await eventually(lambda: len(archived_ids(uow_factory, channel.id)) >= 200, what="a few pages")

    with_service(world, uow_factory, settings_for(tmp_path, ("@bigchan", "1h")), body)  # stops within 10 s
    runs = runs_of(uow_factory, "@bigchan")
    assert [RunStatus.INTERRUPTED] == [run.status for run in runs]
    assert len(archived_ids(uow_factory, channel.id)) < 1500
    assert 0 == len(archived_ids(uow_factory, channel.id)) % 100, "only whole pages were committed"
    with uow_factory() as uow:
        assert uow.service_state.lock_holder(f"channel:{channel.id}") is None, "the channel lock was released"

    world.latency = 0
    rebuilder = RecordingRebuilder()

    async def once() -> None:
        async with fake_client(world) as client:
            source = TelegramSource(client, request_delay=0)
            archiver = Archiver(source, uow_factory, LocalMediaStore(tmp_path / "media"))
            service = Service(
                settings_for(tmp_path, ("@bigchan", "1h")),
                uow_factory,
                OneArchiver(archiver),
                plan_for=plan_for,
                rebuilder=rebuilder,
                options=FAST,
            )
            outcomes = await asyncio.wait_for(service.run_once(), 60)
            assert [True] == [outcome.ok for outcome in outcomes]

    asyncio.run(once())
    assert sorted(channel.messages) == archived_ids(uow_factory, channel.id)
    assert [frozenset({channel.id})] == rebuilder.calls


def test_a_reload_adds_removes_and_reschedules_channels_and_a_bad_config_is_kept_out(
    uow_factory: UoW, tmp_path: Path
) -> None:
    world = FakeTelegram()
    first = build_realistic_channel(world, 3, seed=5, with_media=False, username="firstchan")
    second = build_realistic_channel(world, 4, seed=6, with_media=False, username="secondchan")
    configs: list[Settings | Exception] = []

    def reload_settings() -> Settings:
        value = configs.pop(0)
        if isinstance(value, Exception):
            raise value
        return value

    async def body(service: Service) -> None:
        from tgvault.errors import ConfigError

        await eventually(lambda: len(archived_ids(uow_factory, first.id)) == 3, what="first synced")
        await eventually(lambda: service.states["firstchan"].last_outcome is not None, what="first run over")
        configs.append(settings_for(tmp_path, ("@firstchan", "1h"), ("@secondchan", "1s")))
        service.reload()
        await eventually(lambda: len(archived_ids(uow_factory, second.id)) == 4, what="second added")
        assert "every 1h" == service.states["firstchan"].schedule
        job_next = service.states["firstchan"].next_run_at
        assert job_next is not None and job_next > utcnow() + timedelta(minutes=50)
        configs.append(ConfigError("tgvault.toml: channels[0].schedule: 'soon' is not a schedule"))
        service.reload()
        assert {"firstchan", "secondchan"} == set(service.states)
        configs.append(settings_for(tmp_path, ("@secondchan", "1s")))
        service.reload()
        assert {"secondchan"} == set(service.states)

    service = with_service(
        world,
        uow_factory,
        settings_for(tmp_path, ("@firstchan", "1s")),
        body,
        reload_settings=reload_settings,
    )
    assert ["@secondchan"] == [channel.name for channel in service.settings.channels]
    with uow_factory() as uow:
        assert ["secondchan"] == [state.channel_key for state in uow.service_state.all()]


def test_the_health_file_is_kept_fresh_and_says_stopped_at_the_end(uow_factory: UoW, tmp_path: Path) -> None:
    import json

    world = FakeTelegram()
    build_realistic_channel(world, 2, seed=8, with_media=False, username="healthychan")
    health = tmp_path / "run" / "health.json"
    beats: list[str] = []

    async def body(service: Service) -> None:
        await eventually(health.exists, what="health file")
        await eventually(
            lambda: json.loads(health.read_text())["channels"]["@healthychan"]["last_outcome"] == "ok",
            what="a job outcome in the health file",
        )
        for _ in range(3):
            beats.append(json.loads(health.read_text())["heartbeat_at"])
            await asyncio.sleep(0.3)

    with_service(world, uow_factory, settings_for(tmp_path, ("@healthychan", "1h")), body, health_file=health)
    assert len(set(beats)) == 3, "the heartbeat moves"
    document = json.loads(health.read_text())
    assert "stopped" == document["status"]
    assert {"version", "status", "problem", "pid", "host", "started_at", "heartbeat_at", "channels"} == set(
        document
    )
    assert document["problem"] is None


def test_the_service_lock_is_renewed_and_a_takeover_stops_the_service(
    uow_factory: UoW, tmp_path: Path
) -> None:
    world = FakeTelegram()
    build_realistic_channel(world, 2, seed=9, with_media=False, username="lockedchan")
    lock = ServiceLock(uow_factory, stale_after=timedelta(seconds=1))
    lock.acquire()
    thief = ServiceLock(uow_factory, stale_after=timedelta(seconds=1))

    async def body(service: Service) -> None:
        with pytest.raises(ServiceBusyError):
            thief.acquire()
        await asyncio.sleep(1.5)  # renewed every 0.2 s, so never stale
        with pytest.raises(ServiceBusyError):
            thief.acquire()
        with uow_factory() as uow:  # another host takes it over as if it were stale
            uow.locks.release("service:run", lock.owner)
            uow.commit()
        thief.acquire()
        await eventually(lambda: service.stopping, what="the service noticing")

    with pytest.raises(ServiceBusyError, match=r"pid \d+ on "):
        with_service(world, uow_factory, settings_for(tmp_path, ("@lockedchan", "1h")), body, lock=lock)


def test_a_cron_channel_waits_for_its_time_and_is_shown_in_the_site_timezone(
    uow_factory: UoW, tmp_path: Path
) -> None:
    world = FakeTelegram()
    build_realistic_channel(world, 2, seed=10, with_media=False, username="nightlychan")
    settings = settings_for(tmp_path, ("@nightlychan", "0 3 * * *"), timezone="Europe/Berlin")

    async def body(service: Service) -> None:
        await eventually(lambda: service.states["nightlychan"].next_run_at is not None, what="scheduled")

    service = with_service(world, uow_factory, settings, body)
    state = service.states["nightlychan"]
    assert state.next_run_at is not None
    local = state.next_run_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert (3, 0) == (local.hour, local.minute)
    assert "0 3 * * * (Europe/Berlin)" == state.schedule
    assert [] == runs_of(uow_factory, "@nightlychan"), "a cron channel does not run at start"
    assert isinstance(state.updated_at, datetime)
