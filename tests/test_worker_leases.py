"""Channel leases among workers (`tgvault.daemon.workers`), on real SQLite and PostgreSQL: fair shares, pinned
channels, takeover after expiry, and a single `tgvault run` refusing an archive that workers share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from tests.clocks import HandClock

from tgvault.config import Settings
from tgvault.daemon.lock import _refuse_if_workers
from tgvault.daemon.options import ServiceOptions
from tgvault.daemon.workers import WorkerLeases, fair_share
from tgvault.errors import ServiceBusyError
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]
LEASE = timedelta(seconds=30)


def Clock() -> HandClock:
    """A hand-moved clock at this file's start time."""
    return HandClock(datetime(2026, 1, 1, 12, 0, tzinfo=UTC))


def settings(count: int, pinned: dict[int, str] | None = None) -> Settings:
    pinned = pinned or {}
    channels = [{"name": f"@chan{n:02d}", "session": pinned.get(n)} for n in range(count)]
    return Settings(channels=channels)


def worker(unit_of_work: UoW, clock: Clock, name: str, session: str | None = None) -> WorkerLeases:
    return WorkerLeases(unit_of_work, session, lease_for=LEASE, clock=clock, worker_id=name)


def holders(unit_of_work: UoW) -> dict[str, str | None]:
    with unit_of_work() as uow:
        return {lease.channel_key: lease.owner for lease in uow.leases.all()}


def test_fair_share_rounds_up() -> None:
    assert [20, 10, 7, 5] == [fair_share(20, workers) for workers in (1, 2, 3, 4)]
    assert 0 == fair_share(0, 3)


def test_workers_that_join_split_the_channels_evenly_and_never_share_one(unit_of_work: UoW) -> None:
    clock = Clock()
    config = settings(20)
    first, second, third = (worker(unit_of_work, clock, name) for name in ("w1", "w2", "w3"))

    first.rebalance(config)
    assert 20 == len(first.held), "alone, a worker serves every channel"
    second.register()
    third.register()
    for _round in range(3):
        for each in (first, second, third):
            each.rebalance(config)

    assert [6, 7, 7] == sorted(len(each.held) for each in (first, second, third))
    assert set() == (first.held & second.held) | (first.held & third.held) | (second.held & third.held)
    owners = holders(unit_of_work)
    for each in (first, second, third):
        assert each.held == {key for key, owner in owners.items() if owner == each.worker_id}


def test_a_busy_channel_is_not_released_while_it_syncs(unit_of_work: UoW) -> None:
    clock = Clock()
    config = settings(4)
    first, second = worker(unit_of_work, clock, "w1"), worker(unit_of_work, clock, "w2")
    first.rebalance(config)
    second.register()

    change = first.rebalance(config, busy=set(first.held))

    assert 4 == len(first.held) and not change.released
    change = first.rebalance(config, busy={"chan00"})
    assert "chan00" in first.held and 2 == len(first.held)
    assert {"chan00"}.isdisjoint(change.released)


def test_a_pinned_channel_goes_only_to_its_session(unit_of_work: UoW) -> None:
    clock = Clock()
    config = settings(6, pinned={0: "private-account"})
    plain, private = (
        worker(unit_of_work, clock, "plain"),
        worker(unit_of_work, clock, "private", "private-account"),
    )

    plain.rebalance(config)
    assert "chan00" not in plain.held and 5 == len(plain.held)
    private.rebalance(config)
    plain.rebalance(config)
    private.rebalance(config)

    assert "chan00" in private.held
    assert "chan00" not in plain.held
    assert 6 == len(plain.held | private.held)


def test_a_dead_workers_channels_are_taken_once_its_leases_expire(unit_of_work: UoW) -> None:
    clock = Clock()
    config = settings(6)
    dead, alive = worker(unit_of_work, clock, "dead"), worker(unit_of_work, clock, "alive")
    dead.rebalance(config)
    alive.register()
    dead.rebalance(config)
    alive.rebalance(config)
    assert (3, 3) == (len(dead.held), len(alive.held))
    orphaned = set(dead.held)

    clock.now += LEASE / 2
    alive.rebalance(config)
    assert 3 == len(alive.held), "leases still valid are respected"
    clock.now += LEASE
    change = alive.rebalance(config)

    assert orphaned == set(change.gained)
    assert 6 == len(alive.held)
    lost = dead.rebalance(config).lost
    assert orphaned == set(lost), "a worker that comes back learns it lost them"


def test_a_stopping_worker_hands_its_channels_over_at_once(unit_of_work: UoW) -> None:
    clock = Clock()
    config = settings(4)
    first, second = worker(unit_of_work, clock, "w1"), worker(unit_of_work, clock, "w2")
    first.rebalance(config)
    second.rebalance(config)
    first.rebalance(config)

    first.stop()
    second.rebalance(config)

    assert 4 == len(second.held)
    assert {"w2"} == set(holders(unit_of_work).values())


def test_a_single_service_refuses_an_archive_served_by_workers(unit_of_work: UoW) -> None:
    class Archive:
        def __init__(self) -> None:
            self.unit_of_work = unit_of_work

    live = WorkerLeases(unit_of_work, None, lease_for=LEASE, worker_id="w1")
    live.register()

    with pytest.raises(ServiceBusyError, match="--worker"):
        _refuse_if_workers(Archive(), ServiceOptions())  # type: ignore[arg-type]

    live.stop()
    _refuse_if_workers(Archive(), ServiceOptions())  # type: ignore[arg-type]
