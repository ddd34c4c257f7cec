"""The service's collaborators on their own (each built from what it needs, no Service around it): the
site rebuild queue, the channels' turns, the channel states, the timetable, reload diffs, the health
writer."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from service_support import FAST, UoW
from tgvault.config import ChannelConfig, Settings
from tgvault.daemon.channel_states import ChannelStates
from tgvault.daemon.health import HealthWriter, check_health
from tgvault.daemon.rebuilds import RebuildQueue
from tgvault.daemon.reloads import channel_changes, restart_sections
from tgvault.daemon.timetable import Timetable, audit_job_id
from tgvault.daemon.turns import ChannelTurns
from tgvault.domain import ChannelServiceState, JobOutcome
from tgvault.errors import TgvaultError

NOW = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)


def settings_of(*channels: ChannelConfig, timezone: str = "UTC") -> Settings:
    return Settings(
        database={"url": "sqlite:///unused.db"}, site={"timezone": timezone}, channels=list(channels)
    )


class Builds:
    """A site rebuilder that records each build (and fails the first when asked to)."""

    def __init__(self, fail_first: bool = False) -> None:
        self.builds: list[frozenset[int]] = []
        self.fail_first = fail_first

    def rebuild(self, changed_channel_ids: frozenset[int]) -> None:
        self.builds.append(changed_channel_ids)
        if self.fail_first and len(self.builds) == 1:
            raise TgvaultError("the first build fails")


def test_a_deferred_rebuild_queue_gathers_every_change_into_one_build_at_the_end() -> None:
    builds = Builds()
    queue = RebuildQueue(builds)

    async def go() -> None:
        queue.defer()
        for channel_id in (3, 1, 3, 2):
            queue.queue(channel_id)
        assert [] == builds.builds
        await queue.finish()

    asyncio.run(go())
    assert [frozenset({1, 2, 3})] == builds.builds


def test_the_rebuild_queue_builds_at_once_and_carries_on_after_a_failed_build() -> None:
    builds = Builds(fail_first=True)
    queue = RebuildQueue(builds)

    async def go() -> None:
        queue.queue(1)
        await queue.finish()
        queue.queue(2)
        await queue.finish()

    asyncio.run(go())
    assert [frozenset({1}), frozenset({2})] == builds.builds


def test_without_a_rebuilder_nothing_is_queued() -> None:
    async def go() -> None:
        queue = RebuildQueue()
        queue.queue(1)
        await queue.finish()
        await queue.cancel()

    asyncio.run(go())


def test_a_channels_turn_is_one_lock_and_interrupting_cancels_the_running_jobs() -> None:
    turns = ChannelTurns()

    async def go() -> None:
        assert turns.turn("a") is turns.turn("a")
        assert turns.turn("a") is not turns.turn("b")
        turns.open_slots(1)
        assert turns.slots is not None
        job = asyncio.create_task(asyncio.sleep(60))
        turns.running["a"] = job
        await asyncio.sleep(0)
        await turns.interrupt(timeout=1.0)
        assert job.cancelled()

    asyncio.run(go())


def test_channel_states_are_kept_saved_and_loaded_for_the_configured_channels(uow_factory: UoW) -> None:
    first = ChannelConfig(name="@firstchan", schedule="10m")
    second = ChannelConfig(name="@secondchan", schedule="0 9 * * *")
    settings = settings_of(first, second, timezone="Europe/Berlin")
    states = ChannelStates(lambda: settings, uow_factory, clock=lambda: NOW)
    assert states.channel(first.key) == first
    assert states.channel("gone") is None
    assert "every 10m" == states.state(first).schedule
    assert "0 9 * * * (Europe/Berlin)" == states.state(second).schedule
    states.update(first.key, last_outcome=JobOutcome.FAILED, consecutive_failures=2)
    states.update("gone", consecutive_failures=5)  # not configured: ignored
    states.save_all(lambda key: key == first.key)  # a worker saves only what it serves
    assert {"@firstchan", "@secondchan"} == set(states.by_name())

    rebuilds: list[int] = []
    reloaded = ChannelStates(lambda: settings, uow_factory, clock=lambda: NOW)
    reloaded.load(rebuilds.append)
    assert 2 == reloaded.states[first.key].consecutive_failures
    assert 0 == reloaded.states[second.key].consecutive_failures
    assert [] == rebuilds
    with uow_factory() as uow:
        assert [first.key] == [state.channel_key for state in uow.service_state.all()]


def test_the_timetable_adds_moves_and_drops_a_channels_sync_and_audit_jobs(uow_factory: UoW) -> None:
    channel = ChannelConfig(name="@timedchan", schedule="1h")
    settings = settings_of(channel)
    states = ChannelStates(lambda: settings, uow_factory, clock=lambda: NOW)
    timetable = Timetable(lambda: settings, states, ChannelTurns(), uow_factory, options=FAST)
    assert not timetable.active
    assert timetable.next_run(channel.key) is None
    timetable.back_off(channel.key, NOW)  # no scheduler: nothing to move
    timetable.drop(channel.key)

    async def job(key: str) -> None:
        raise AssertionError("never due in this test")

    async def go() -> None:
        timetable.start(sync_job=job, audit_job=job)
        try:
            now = datetime.now(UTC)
            states.states[channel.key] = ChannelServiceState(
                channel_key=channel.key, name=channel.name, schedule="", last_run_at=now, updated_at=now
            )
            timetable.schedule(channel, now=now)
            first = timetable.next_run(channel.key)
            assert first is not None and first >= now + timedelta(minutes=59)
            assert first == states.states[channel.key].next_run_at
            assert "every 1h" == states.states[channel.key].schedule
            later = now + timedelta(hours=5)
            timetable.back_off(channel.key, later)
            assert later == timetable.next_run(channel.key)
            timetable.drop(channel.key)
            assert timetable.next_run(channel.key) is None
            timetable.drop(channel.key)  # gone already: nothing to do
        finally:
            timetable.pause()
            timetable.shutdown()
        assert not timetable.active

    asyncio.run(go())
    assert "audit:timedchan" == audit_job_id(channel.key)


def test_a_reload_diff_names_added_removed_rescheduled_and_changed_channels() -> None:
    kept = ChannelConfig(name="@keptchan", schedule="1h")
    moved = ChannelConfig(name="@movedchan", schedule="1h")
    audited = ChannelConfig(name="@auditedchan", schedule="1h")
    gone = ChannelConfig(name="@gonechan", schedule="1h")
    old = settings_of(kept, moved, audited, gone)
    new = settings_of(
        ChannelConfig(name="@keptchan", schedule="1h", live=True),
        ChannelConfig(name="@movedchan", schedule="2h"),
        ChannelConfig(name="@auditedchan", schedule="1h", audit_schedule="2h"),
        ChannelConfig(name="@newchan", schedule="1h"),
    )
    changes = channel_changes(old, new)
    assert ["@newchan"] == changes["added"]
    assert ["@gonechan"] == changes["removed"]
    assert ["@auditedchan", "@movedchan"] == sorted(changes["rescheduled"])
    assert ["@keptchan"] == changes["changed"]
    assert ["live"] == restart_sections(old, new)
    assert [] == restart_sections(old, old)
    assert {"added": [], "removed": [], "rescheduled": [], "changed": []} == channel_changes(old, old)


def test_the_health_writer_writes_what_check_health_reads_and_nothing_without_a_file(tmp_path: Path) -> None:
    state = ChannelServiceState(
        channel_key="a", name="@a", schedule="every 1h", consecutive_failures=1, updated_at=NOW
    )
    path = tmp_path / "run" / "health.json"
    writer = HealthWriter(
        path, pid=42, host="archive-1", started_at=NOW, clock=lambda: NOW, channels=lambda: {"@a": state}
    )
    writer.write("running")
    report = check_health(path, timedelta(minutes=2), NOW + timedelta(seconds=5))
    assert (42, "archive-1", 1, 1) == (report.pid, report.host, report.channels, report.failing)
    writer.write("stopped")
    assert "stopped" == json.loads(path.read_text(encoding="utf-8"))["status"]

    HealthWriter(
        None, pid=42, host="archive-1", started_at=NOW, clock=lambda: NOW, channels=lambda: {}
    ).write("running")
    blocked = tmp_path / "file"
    blocked.write_text("", encoding="utf-8")
    HealthWriter(  # a health file that cannot be written is logged, never raised
        blocked / "health.json", pid=1, host="h", started_at=NOW, clock=lambda: NOW, channels=lambda: {}
    ).write("running")
