"""How the Telegram source tells an account Telegram refuses from a channel's trouble and from a connection.

Telegram's answers come from the fake world through the real Telethon client (in-process at the sender
seam, or over the loopback MTProto server): an account that cannot be used is one typed
:class:`AccountError` naming the cause and the fix, never a per-channel "Telegram answered ..."; a
connection that closes or never answers is a :class:`SourceConnectionError` with a reason in words.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from telethon.tl import functions

from tgvault.daemon.health import check_health, health_document, write_health_file
from tgvault.errors import AccountError, HealthCheckError, SourceConnectionError, SourceError
from tgvault.services.archiver import Archiver
from tgvault.services.plans import ChannelPlan, MediaPolicy
from tgvault.sources.telegram import ClientOptions, TelegramSource, connected_client, translated_errors
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing import (
    FAKE_API_HASH,
    FAKE_API_ID,
    FakeTelegram,
    add_post,
    build_realistic_channel,
    document_media,
    fake_client,
)
from tgvault.testing.mtproto_server import ServerThread

UoW = Callable[[], UnitOfWork]
TELETHON_WORDING = ("caused by", "The key is not registered", "Telegram answered")


def with_source(world: FakeTelegram, action: Callable[[TelegramSource], Coroutine[Any, Any, Any]]) -> Any:
    async def go() -> Any:
        async with fake_client(world) as client:
            return await action(TelegramSource(client, request_delay=0))

    return asyncio.run(go())


def options(server: ServerThread, **changes: Any) -> ClientOptions:
    return ClientOptions(FAKE_API_ID, FAKE_API_HASH, session_string=server.session_string, **changes)


async def connect(choices: ClientOptions) -> None:
    async with connected_client(choices):
        pass


@pytest.mark.parametrize(
    ("code", "status", "fix"),
    [
        ("AUTH_KEY_UNREGISTERED", 401, "run `tgvault login`"),
        ("SESSION_REVOKED", 401, "run `tgvault login`"),
        ("SESSION_EXPIRED", 401, "run `tgvault login`"),
        ("AUTH_KEY_DUPLICATED", 406, "delete the session file"),
        ("USER_DEACTIVATED", 401, "log in with another account"),
        ("USER_DEACTIVATED_BAN", 401, "log in with another account"),
        ("PHONE_NUMBER_BANNED", 400, "log in with another account"),
        ("SOME_NEW_REASON", 401, "run `tgvault login`"),  # a 401 Telethon has no class for
    ],
)
def test_an_account_telegram_refuses_is_one_account_error_naming_the_cause_and_the_fix(
    world: FakeTelegram, code: str, status: int, fix: str
) -> None:
    build_realistic_channel(world, 3, seed=91, with_media=False, username="acctunit")
    world.fail_next(functions.contacts.ResolveUsernameRequest, code, status)

    with pytest.raises(AccountError) as raised:
        with_source(world, lambda source: source.resolve("@acctunit"))

    assert code == raised.value.cause
    message = str(raised.value)
    assert message.startswith("Telegram account: ") and f"({code}" in message
    assert fix in message and "acctunit" not in message, "the account's failure, not the channel's"
    assert not any(wording in message for wording in TELETHON_WORDING), message


def test_a_406_about_something_else_is_not_taken_for_the_account(world: FakeTelegram) -> None:
    """Telethon files every 406 under AuthKeyError; only AUTH_KEY_DUPLICATED is about the session."""
    build_realistic_channel(world, 3, seed=92, with_media=False, username="acctfileref")
    world.fail_next(functions.contacts.ResolveUsernameRequest, "FILEREF_UPGRADE_NEEDED", 406)

    with pytest.raises(SourceError) as raised:
        with_source(world, lambda source: source.resolve("@acctfileref"))

    assert not isinstance(raised.value, AccountError)
    assert str(raised.value).startswith("channel @acctfileref: ")


@pytest.mark.parametrize(
    ("failure", "said"),
    [
        (asyncio.IncompleteReadError(b"", 8), "the server closed the connection"),
        (TimeoutError(), "no answer in time"),
        (ConnectionResetError(104, "Connection reset by peer"), "Connection reset by peer"),
    ],
    ids=["closed", "timeout", "reset"],
)
def test_a_connection_that_fails_is_a_source_connection_error_in_words(failure: Exception, said: str) -> None:
    """What Telethon lets through when a connection fails (an IncompleteReadError is an EOFError, which
    click used to turn into a bare "Aborted!") becomes one readable SourceConnectionError."""
    with pytest.raises(SourceConnectionError) as raised, translated_errors("@somewhere"):
        raise failure

    assert f"channel @somewhere: cannot reach Telegram: {said}; check the network" in str(raised.value)


def test_connecting_with_a_revoked_session_names_the_cause(world: FakeTelegram, server: ServerThread) -> None:
    server.call(world.require_login)
    with pytest.raises(AccountError) as raised:
        asyncio.run(connect(options(server)))
    assert "AUTH_KEY_UNREGISTERED" == raised.value.cause

    server.call(lambda: setattr(world, "authorized", True))
    server.call(
        lambda: world.fail_next(functions.updates.GetStateRequest, "USER_DEACTIVATED_BAN", 401, times=2)
    )
    with pytest.raises(AccountError) as banned:
        asyncio.run(connect(options(server)))
    assert "USER_DEACTIVATED_BAN" == banned.value.cause
    assert "the account was banned by Telegram" in str(banned.value)


def test_connecting_to_a_telegram_that_never_answers_gives_up_after_the_timeout(server: ServerThread) -> None:
    server.pause()  # the connection is accepted, nothing is answered
    started = time.monotonic()
    with pytest.raises(SourceConnectionError) as raised:
        asyncio.run(connect(options(server, connect_timeout=1.0)))
    assert time.monotonic() - started < 15
    assert "cannot reach Telegram: no answer in time" in str(raised.value)
    server.resume()


def test_an_account_refused_mid_download_stops_the_run_and_spends_no_file_attempt(
    world: FakeTelegram, uow_factory: UoW, tmp_path: Path
) -> None:
    channel = world.add_channel("acctfiles")
    for seed in range(3):
        add_post(channel, f"file {seed}", media=document_media(channel, "file", size=4000, seed=seed))
    world.fail_next(functions.upload.GetFileRequest, "AUTH_KEY_UNREGISTERED", 401, times=10)
    plan = ChannelPlan(key="@acctfiles", media=MediaPolicy(max_size=10**9, retry_delay=timedelta(0)))

    async def sync(source: TelegramSource) -> Any:
        archiver = Archiver(source, uow_factory, LocalMediaStore(tmp_path / "media"), clock=world.now)
        return await archiver.sync(plan)

    with pytest.raises(AccountError):
        with_source(world, sync)

    with uow_factory() as uow:
        queued = uow.media_queue.due(channel.id, world.now() + timedelta(days=1))
        run = uow.runs.last(channel_key="@acctfiles")
    assert [0, 0, 0] == [item.attempts for item in queued], "no file was held responsible"
    assert run is not None and "failed" == run.status.value
    assert run.error is not None and "AUTH_KEY_UNREGISTERED" in run.error


def test_sync_many_stops_at_the_account_and_tries_no_other_channel(
    world: FakeTelegram, uow_factory: UoW, tmp_path: Path
) -> None:
    for seed, name in enumerate(("acctfirst", "acctsecond", "acctthird")):
        build_realistic_channel(world, 2, seed=93 + seed, with_media=False, username=name)
    world.fail_next(functions.contacts.ResolveUsernameRequest, "SESSION_REVOKED", 401, times=3)
    plans = [ChannelPlan(key=key) for key in ("@acctfirst", "@acctsecond", "@acctthird")]

    async def sync_many(source: TelegramSource) -> Any:
        archiver = Archiver(source, uow_factory, LocalMediaStore(tmp_path / "media"), clock=world.now)
        return await archiver.sync_many(plans)

    outcomes = with_source(world, sync_many)

    assert ["@acctfirst", "@acctsecond", "@acctthird"] == [outcome.key for outcome in outcomes]
    assert all(outcome.stopped for outcome in outcomes)
    assert 1 == len({outcome.error for outcome in outcomes}), "one error, the account's"
    assert 1 == world.count(functions.contacts.ResolveUsernameRequest)


def test_the_health_check_reports_an_unhealthy_service_with_its_problem(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    now = datetime.now(UTC)
    problem = "Telegram account (SESSION_REVOKED): the session was terminated; run `tgvault login`"

    def write(status: str, *, beat: datetime, problem: str | None) -> None:
        document = health_document(
            status=status, pid=42, host="box", started_at=now, heartbeat_at=beat, channels={}, problem=problem
        )
        write_health_file(path, document)

    write("running", beat=now, problem=problem)
    assert "unhealthy" == json.loads(path.read_text())["status"]
    with pytest.raises(HealthCheckError) as raised:
        check_health(path, timedelta(seconds=120), now)
    assert f"the service (pid 42 on box) is unhealthy: {problem}" in str(raised.value)

    write("running", beat=now - timedelta(minutes=10), problem=problem)
    with pytest.raises(HealthCheckError, match="s old"):  # a dead process says so first
        check_health(path, timedelta(seconds=120), now)

    write("running", beat=now, problem=None)
    assert 42 == check_health(path, timedelta(seconds=120), now).pid


def test_one_account_alert_stands_until_the_account_works_and_mass_deletions_stay(unit_of_work: UoW) -> None:
    """On SQLite and PostgreSQL: the same failure twice is one alert, another cause replaces it, and the
    account working again clears it and nothing else."""
    from tgvault.domain import AlertKind, ChannelAlert
    from tgvault.services.alerts import account_alert_key, clear_account_alerts, raise_account_alert

    now = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
    revoked = AccountError("Telegram account: the session was terminated (SESSION_REVOKED)")
    banned = AccountError("Telegram account: the account was banned by Telegram (USER_DEACTIVATED_BAN)")
    mass = ChannelAlert(
        channel_id=7,
        channel_key="@wiped",
        kind=AlertKind.MASS_DELETION,
        run_kind="sync",
        raised_at=now,
        checked=10,
        vanished=9,
        message="9 of 10 posts are gone",
    )
    with unit_of_work() as uow:
        uow.alerts.raise_alert(mass)
        uow.commit()
    reload = "then reload the service"

    first = raise_account_alert(unit_of_work, revoked, "service", now, then=reload)
    again = raise_account_alert(unit_of_work, revoked, "service", now + timedelta(minutes=1), then=reload)
    with unit_of_work() as uow:
        shown = [alert for alert in uow.alerts.open() if alert.kind is AlertKind.ACCOUNT]
    assert first is not None and again is None
    assert ["the session was terminated (SESSION_REVOKED); then reload the service"] == [
        a.message for a in shown
    ]
    assert ["Telegram account"] == [alert.channel_key for alert in shown]

    raise_account_alert(unit_of_work, banned, "run --once", now + timedelta(hours=1), then="then run again")
    with unit_of_work() as uow:
        shown = [alert.message for alert in uow.alerts.open() if alert.kind is AlertKind.ACCOUNT]
    assert ["the account was banned by Telegram (USER_DEACTIVATED_BAN); then run again"] == shown

    worker = account_alert_key("account-b")  # a worker with its own account has its own alert
    raise_account_alert(unit_of_work, revoked, "service", now + timedelta(hours=1), then=reload, key=worker)
    assert 1 == clear_account_alerts(unit_of_work, now + timedelta(hours=2))
    with unit_of_work() as uow:
        left = [(alert.kind, alert.channel_key) for alert in uow.alerts.open()]
    assert [(AlertKind.ACCOUNT, "Telegram account of worker session account-b")] == left[:1]
    assert [(AlertKind.MASS_DELETION, "@wiped")] == left[1:]
    assert 1 == clear_account_alerts(unit_of_work, now + timedelta(hours=2), key=worker)
    with unit_of_work() as uow:
        assert [AlertKind.MASS_DELETION] == [alert.kind for alert in uow.alerts.open()]
