"""The service's pieces on their own: schedule -> trigger, jitter and backoff arithmetic, the health file,
the service lock and the service-state table (with its migration) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import inspect

from tgvault.config import CronSchedule, IntervalSchedule, parse_schedule
from tgvault.daemon.health import check_health, health_document, write_health_file
from tgvault.daemon.lock import ServiceLock
from tgvault.daemon.scheduling import (
    BACKOFF_CEILING,
    backoff_delay,
    first_run_at,
    jitter_seconds,
    period,
    trigger_for,
)
from tgvault.domain import ChannelServiceState, JobOutcome
from tgvault.errors import HealthCheckError, ServiceBusyError
from tgvault.storage.database import create_archive_engine
from tgvault.storage.schema import alembic_config, upgrade
from tgvault.storage.tables import ChannelLockRow
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]
BERLIN = ZoneInfo("Europe/Berlin")
# A Sunday, 12:00 UTC (13:00 in Berlin).
SUNDAY_NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def next_fire(schedule: str, now: datetime, tz: object = UTC) -> datetime:
    trigger = trigger_for(parse_schedule(schedule), tz, jitter=False)  # type: ignore[arg-type]
    fire: datetime = trigger.get_next_fire_time(None, now)
    return fire


# -- schedule -> trigger ----------------------------------------------------------------------------


def test_an_interval_becomes_an_interval_trigger_with_jitter() -> None:
    trigger = trigger_for(IntervalSchedule(600), UTC)
    assert isinstance(trigger, IntervalTrigger)
    assert timedelta(minutes=10) == trigger.interval
    assert 60 == trigger.jitter


def test_a_cron_expression_becomes_a_cron_trigger_in_the_given_timezone() -> None:
    trigger = trigger_for(CronSchedule("0 9 * * *"), BERLIN)
    assert isinstance(trigger, CronTrigger)
    assert BERLIN == trigger.timezone
    assert datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN) == next_fire("0 9 * * *", SUNDAY_NOON, BERLIN)


@pytest.mark.parametrize(
    ("expr", "weekday"),
    [
        ("0 9 * * 0", "Sun"),
        ("0 9 * * 7", "Sun"),
        ("0 9 * * 1", "Mon"),
        ("0 9 * * 6", "Sat"),
        ("0 9 * * sat", "Sat"),
        ("0 9 * * 5-7", "Fri"),
    ],
)
def test_cron_weekdays_are_numbered_as_in_crontab(expr: str, weekday: str) -> None:
    # From Sunday 12:00 UTC; 09:00 on Sunday is past, so "Sunday" means next Sunday.
    assert weekday == next_fire(expr, SUNDAY_NOON).strftime("%a")


def test_a_cron_schedule_follows_daylight_saving_time_in_the_site_timezone() -> None:
    # Berlin switches to summer time on 2026-03-29: 09:00 local is 08:00 UTC before and 07:00 UTC after.
    before = next_fire("0 9 * * *", datetime(2026, 3, 27, 12, tzinfo=UTC), BERLIN)
    after = next_fire("0 9 * * *", datetime(2026, 3, 29, 12, tzinfo=UTC), BERLIN)
    assert 8 == before.astimezone(UTC).hour
    assert 7 == after.astimezone(UTC).hour


def test_every_quarter_hour_fires_on_the_quarter() -> None:
    assert datetime(2026, 3, 1, 12, 15, tzinfo=UTC) == next_fire(
        "*/15 * * * *", SUNDAY_NOON + timedelta(seconds=1)
    )


# -- period, jitter ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("1h30m", timedelta(minutes=90)),
        ("*/15 * * * *", timedelta(minutes=15)),
        ("0 */6 * * *", timedelta(hours=6)),
        ("0 3 * * *", timedelta(days=1)),
    ],
)
def test_the_period_of_a_schedule(schedule: str, expected: timedelta) -> None:
    assert expected == period(parse_schedule(schedule), UTC, SUNDAY_NOON)


@pytest.mark.parametrize(
    ("schedule", "expected"), [("2s", 0.2), ("5m", 30.0), ("1h", 60.0), ("0 3 * * *", 60.0)]
)
def test_jitter_is_a_tenth_of_the_period_at_most_a_minute(schedule: str, expected: float) -> None:
    assert expected == pytest.approx(jitter_seconds(parse_schedule(schedule), UTC, SUNDAY_NOON))


# -- backoff ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        (0, timedelta(minutes=10)),
        (1, timedelta(minutes=20)),
        (2, timedelta(minutes=40)),
        (3, timedelta(minutes=80)),
        (5, timedelta(minutes=320)),
        (6, BACKOFF_CEILING),
        (1000, BACKOFF_CEILING),
    ],
)
def test_backoff_doubles_from_the_interval_up_to_six_hours(failures: int, expected: timedelta) -> None:
    assert expected == backoff_delay(failures, timedelta(minutes=10))


def test_a_schedule_slower_than_the_ceiling_never_waits_more_than_one_period() -> None:
    assert timedelta(days=1) == backoff_delay(3, timedelta(days=1))


def test_the_ceiling_can_be_chosen() -> None:
    assert timedelta(seconds=5) == backoff_delay(4, timedelta(seconds=1), ceiling=timedelta(seconds=5))


# -- first run after a start ------------------------------------------------------------------------


def test_an_interval_channel_resumes_one_interval_after_its_last_run() -> None:
    last = SUNDAY_NOON - timedelta(minutes=4)
    due = first_run_at(SUNDAY_NOON, IntervalSchedule(600), last_run_at=last, backoff_until=None)
    assert last + timedelta(minutes=10) == due


def test_an_overdue_interval_channel_runs_at_once_plus_its_stagger() -> None:
    last = SUNDAY_NOON - timedelta(days=3)
    due = first_run_at(SUNDAY_NOON, IntervalSchedule(600), last_run_at=last, backoff_until=None, stagger=2.5)
    assert SUNDAY_NOON + timedelta(seconds=2.5) == due


def test_a_backoff_outlives_a_restart_but_an_expired_one_does_not() -> None:
    until = SUNDAY_NOON + timedelta(hours=2)
    assert until == first_run_at(SUNDAY_NOON, IntervalSchedule(600), last_run_at=None, backoff_until=until)
    assert until == first_run_at(
        SUNDAY_NOON, CronSchedule("0 3 * * *"), last_run_at=None, backoff_until=until
    )
    past = SUNDAY_NOON - timedelta(hours=2)
    assert first_run_at(SUNDAY_NOON, CronSchedule("0 3 * * *"), last_run_at=None, backoff_until=past) is None


# -- health file ------------------------------------------------------------------------------------


def state(name: str, failures: int = 0) -> ChannelServiceState:
    return ChannelServiceState(
        channel_key=name.lstrip("@"),
        name=name,
        schedule="every 10m",
        last_outcome=JobOutcome.FAILED if failures else JobOutcome.OK,
        consecutive_failures=failures,
        updated_at=SUNDAY_NOON,
    )


def write(path: Path, *, status: str = "running", beat: datetime = SUNDAY_NOON) -> None:
    write_health_file(
        path,
        health_document(
            status=status,
            pid=4242,
            host="archive-1",
            started_at=SUNDAY_NOON - timedelta(hours=1),
            heartbeat_at=beat,
            channels={"@ok": state("@ok"), "@bad": state("@bad", failures=3)},
        ),
    )


def test_a_fresh_heartbeat_is_healthy_and_counts_failing_channels(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    write(path)
    report = check_health(path, timedelta(seconds=120), SUNDAY_NOON + timedelta(seconds=30))
    assert (4242, "archive-1", 2, 1) == (report.pid, report.host, report.channels, report.failing)
    document = json.loads(path.read_text())
    assert 3 == document["channels"]["@bad"]["consecutive_failures"]
    assert [] == [p.name for p in tmp_path.iterdir() if p.name != "health.json"], "no temporary file left"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda path: None, "no health file"),
        (lambda path: path.write_text("{not json"), "not a tgvault health file"),
        (lambda path: write(path, beat=SUNDAY_NOON - timedelta(minutes=5)), "s old"),
        (lambda path: write(path, status="stopped"), "has stopped"),
    ],
)
def test_a_missing_broken_stale_or_stopped_health_file_is_unhealthy(
    tmp_path: Path, setup: Callable[[Path], None], message: str
) -> None:
    path = tmp_path / "health.json"
    setup(path)
    with pytest.raises(HealthCheckError, match=message):
        check_health(path, timedelta(seconds=120), SUNDAY_NOON)


def test_the_health_command_exits_0_when_fresh_and_1_when_stale(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    write(path, beat=datetime.now(UTC))
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    healthy = subprocess.run(
        [sys.executable, "-m", "tgvault", "health", "--file", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert 0 == healthy.returncode, healthy.stderr
    assert "healthy: pid 4242 on archive-1" in healthy.stdout
    write(path, beat=datetime.now(UTC) - timedelta(seconds=200))
    stale = subprocess.run(
        [sys.executable, "-m", "tgvault", "health", "--max-age", "120"],
        env={**env, "TGVAULT_HEALTH_FILE": str(path)},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert 1 == stale.returncode
    assert "s old (more than 120 s)" in stale.stderr
    assert "Traceback" not in stale.stderr


# -- the service lock and the state table, on both databases -----------------------------------------


def test_a_second_service_is_refused_naming_the_holder(unit_of_work: UoW) -> None:
    first = ServiceLock(unit_of_work, stale_after=timedelta(minutes=2))
    first.acquire()
    second = ServiceLock(unit_of_work, stale_after=timedelta(minutes=2))
    with pytest.raises(ServiceBusyError, match=rf"pid {os.getpid()} on ") as raised:
        second.acquire()
    assert os.getpid() == raised.value.pid
    assert first.renew() is None, "the holder renews its own lock"
    first.release()
    second.acquire()


def test_a_lock_left_by_a_dead_process_or_gone_stale_is_taken_over(unit_of_work: UoW) -> None:
    import socket

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    with unit_of_work() as uow:
        now = datetime.now(UTC)
        uow.locks._session.add(  # a lock row as a killed process on this host left it
            ChannelLockRow(
                channel_key="service:run",
                owner="killed",
                host=socket.gethostname(),
                pid=dead_pid,
                acquired_at=now,
                heartbeat_at=now,
            )
        )
        uow.commit()
    ServiceLock(unit_of_work, stale_after=timedelta(minutes=2)).acquire()
    with unit_of_work() as uow:
        uow.locks._session.query(ChannelLockRow).delete()
        long_ago = datetime.now(UTC) - timedelta(minutes=10)
        uow.locks._session.add(  # another host's service that stopped renewing its lock
            ChannelLockRow(
                channel_key="service:run",
                owner="elsewhere",
                host="another-host",
                pid=1,
                acquired_at=long_ago,
                heartbeat_at=long_ago,
            )
        )
        uow.commit()
    ServiceLock(unit_of_work, stale_after=timedelta(minutes=2)).acquire()


def test_service_state_is_saved_listed_and_pruned(unit_of_work: UoW) -> None:
    until = SUNDAY_NOON + timedelta(hours=1)
    failing = state("@bad", failures=2).model_copy(update={"backoff_until": until, "last_error": "gone"})
    with unit_of_work() as uow:
        uow.service_state.save(state("@ok"))
        uow.service_state.save(failing)
        uow.commit()
    with unit_of_work() as uow:
        assert [failing, state("@ok")] == uow.service_state.all()
        uow.service_state.save(failing.model_copy(update={"consecutive_failures": 3}))
        assert 1 == uow.service_state.keep_only(["bad"])
        uow.commit()
    with unit_of_work() as uow:
        stored = uow.service_state.get("bad")
        assert stored is not None and 3 == stored.consecutive_failures and until == stored.backoff_until
        assert uow.service_state.get("ok") is None


def test_migration_0003_adds_and_drops_the_service_state_table(database_url: str) -> None:
    engine = create_archive_engine(database_url)
    try:
        upgrade(engine, "0002")
        assert "service_state" not in inspect(engine).get_table_names()
        upgrade(engine, "0003")
        columns = {column["name"] for column in inspect(engine).get_columns("service_state")}
        assert {
            "channel_key",
            "next_run_at",
            "consecutive_failures",
            "backoff_until",
            "last_error",
        } <= columns
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0002")
        assert "service_state" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_status_lists_archived_and_configured_channels_with_their_newest_run(unit_of_work: UoW) -> None:
    from tgvault.domain import Channel, RunCounts, RunStatus
    from tgvault.services.status import archive_status

    now = datetime.now(UTC)
    with unit_of_work() as uow:
        uow.channels.upsert(Channel(id=42, username="Archived", title="Archived"), now)
        ok = uow.runs.start("@Archived", "sync", now - timedelta(hours=2))
        uow.runs.finish(ok, status=RunStatus.OK, counts=RunCounts(posts_added=3), channel_id=42)
        gone = uow.runs.start("@Archived", "sync", now - timedelta(minutes=5))  # renamed: never resolved
        uow.runs.finish(
            gone, status=RunStatus.FAILED, counts=RunCounts(), error="no channel has this username"
        )
        ghost = uow.runs.start("@ghost", "sync", now - timedelta(minutes=1))
        uow.runs.finish(ghost, status=RunStatus.FAILED, counts=RunCounts(), error="is private")
        uow.service_state.save(
            state("@Archived", failures=1).model_copy(update={"channel_key": "archived", "channel_id": 42})
        )
        uow.service_state.save(state("@ghost", failures=4).model_copy(update={"last_error": "is private"}))
        uow.commit()
    report = archive_status(unit_of_work, now)
    assert report.service is None and not report.service_running
    lines = {line.name: line for line in report.channels}
    assert ["Archived (@Archived)", "@ghost"] == list(lines)
    archived = lines["Archived (@Archived)"]
    assert archived.summary is not None and archived.service is not None
    assert archived.last_run is not None and RunStatus.FAILED == archived.last_run.status, "newest run wins"
    assert lines["@ghost"].summary is None
    assert lines["@ghost"].last_run is not None and "is private" == lines["@ghost"].last_run.error
    ServiceLock(unit_of_work, stale_after=timedelta(minutes=2)).acquire()
    assert archive_status(unit_of_work, now + timedelta(seconds=5)).service_running
