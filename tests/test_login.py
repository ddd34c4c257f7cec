"""`tgvault login`: the fake's account-login mode in-process, then the real CLI in a subprocess.

The loopback server has one pre-shared auth key and does no key exchange, so a login cannot start from an
empty session (Telethon would dial Telegram's real DC 2). The tests start from a session that already
points at the loopback server and carries its key, exactly as a fresh session looks after Telethon's key
exchange: `tgvault login` gets a session file pre-seeded with the server address and key (Telethon's
``SQLiteSession.set_dc`` + ``auth_key``), `tgvault login --string` starts from the server's session string in
TGVAULT_TELEGRAM__SESSION_STRING (which it already supports). ``world.require_login()`` makes the fake
treat that key as not signed in until ``auth.signIn`` (and ``auth.checkPassword``) succeed.
"""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from telethon import errors, functions, types
from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession, StringSession

from tgvault.testing import FAKE_API_HASH, FAKE_API_ID, FakeTelegram, build_realistic_channel, fake_client
from tgvault.testing.mtproto_server import ServerThread

PHONE = "+1 555 000 1111"  # the fake account's phone (self_user.phone is 15550001111)
CODE = "24680"
TIMEOUT = 120  # seconds, per subprocess

T = TypeVar("T")


# -- the fake's login mode, in-process ------------------------------------------------------------------


def run(coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coroutine, timeout)

    return asyncio.run(bounded())


def test_the_default_world_is_logged_in_and_login_mode_is_opt_in() -> None:
    world = FakeTelegram()

    async def go() -> object:
        async with fake_client(world, receive_updates=False) as client:
            return await client.get_me()

    me = run(go())
    assert world.authorized
    assert getattr(me, "id", None) == world.self_user.id


def test_a_logged_out_world_answers_auth_key_unregistered_until_signed_in() -> None:
    world = FakeTelegram()
    world.require_login(code=CODE)
    build_realistic_channel(world, 3, seed=1, with_media=False, username="quiet")

    async def go() -> None:
        async with fake_client(world, receive_updates=False) as client:
            assert await client.get_me() is None
            assert not await client.is_user_authorized()
            with pytest.raises(errors.AuthKeyUnregisteredError):
                await client(functions.contacts.ResolveUsernameRequest("quiet"))
            sent = await client.send_code_request(PHONE)
            assert len(CODE) == sent.type.length
            with pytest.raises(errors.PhoneCodeInvalidError):
                await client.sign_in(PHONE, code="13579")
            me = await client.sign_in(PHONE, code=CODE)
            assert me.id == world.self_user.id
            assert await client.get_entity("quiet")

    run(go())
    assert world.authorized


def test_two_step_verification_is_checked_with_srp() -> None:
    world = FakeTelegram()
    world.require_login(code=CODE, password="correct horse", hint="the usual")

    async def go() -> None:
        async with fake_client(world, receive_updates=False) as client:
            await client.send_code_request(PHONE)
            with pytest.raises(errors.SessionPasswordNeededError):
                await client.sign_in(PHONE, code=CODE)
            assert not world.authorized
            password = await client(functions.account.GetPasswordRequest())
            assert password.has_password and password.hint == "the usual"
            with pytest.raises(errors.PasswordHashInvalidError):
                await client.sign_in(password="battery staple")
            assert not world.authorized
            me = await client.sign_in(password="correct horse")
            assert me.id == world.self_user.id

    run(go())
    assert world.authorized


def test_an_unknown_phone_needs_a_sign_up_and_wrong_api_credentials_are_refused() -> None:
    world = FakeTelegram()
    world.require_login(code=CODE)

    async def go() -> None:
        async with fake_client(world, receive_updates=False) as client:
            await client.send_code_request("+44 20 7946 0000")
            with pytest.raises(errors.PhoneNumberUnoccupiedError):
                await client.sign_in("+44 20 7946 0000", code=CODE)
            with pytest.raises(errors.ApiIdInvalidError):
                await client(functions.auth.SendCodeRequest("15550001111", 1, "0" * 32, types.CodeSettings()))

    run(go())
    assert not world.authorized


# -- the real CLI against the loopback server ---------------------------------------------------------


@pytest.fixture
def world() -> FakeTelegram:
    world = FakeTelegram()
    world.require_login(code=CODE)
    build_realistic_channel(world, 12, seed=3, with_media=False, username="somechannel")
    return world


def cli_env(tmp_path: Path, session_string: str | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    env.update(
        TGVAULT_TELEGRAM__API_ID=str(FAKE_API_ID),
        TGVAULT_TELEGRAM__API_HASH=FAKE_API_HASH,
        TGVAULT_TELEGRAM__SESSION_FILE=str(tmp_path / "data" / "tgvault.session"),
        TGVAULT_TELEGRAM__REQUEST_DELAY="0",
        TGVAULT_DATABASE__URL=f"sqlite:///{tmp_path / 'archive.db'}",
    )
    if session_string is not None:
        env["TGVAULT_TELEGRAM__SESSION_STRING"] = session_string
    return env


def tgvault(
    tmp_path: Path, env: dict[str, str], *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run the real command; a new session means no controlling terminal, so prompts read stdin."""
    return subprocess.run(
        [sys.executable, "-m", "tgvault", "--log-format", "json", *args],
        cwd=tmp_path,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        start_new_session=True,
    )


def seed_session_file(path: Path, session_string: str) -> None:
    """A session file as Telethon leaves it after the key exchange: server address and auth key, no login."""
    source = StringSession(session_string)
    path.parent.mkdir(parents=True, exist_ok=True)
    session = SQLiteSession(str(path))
    try:
        session.set_dc(source.dc_id, source.server_address, source.port)
        session.auth_key = AuthKey(source.auth_key.key)
        session.save()
    finally:
        session.close()


def authorized(server: ServerThread, world: FakeTelegram) -> bool:
    return server.call(lambda: world.authorized)


def count(server: ServerThread, world: FakeTelegram, request_type: type) -> int:
    return server.call(lambda: world.count(request_type))


@pytest.mark.slow
def test_login_writes_a_private_session_file_that_sync_then_uses(
    world: FakeTelegram, server: ServerThread, tmp_path: Path
) -> None:
    session_file = tmp_path / "data" / "tgvault.session"
    seed_session_file(session_file, server.session_string)
    session_file.chmod(0o644)
    env = cli_env(tmp_path)

    result = tgvault(tmp_path, env, "login", stdin=f"{PHONE}\n{CODE}\n")

    assert 0 == result.returncode, result.stderr
    assert f"logged in; session saved to {session_file} (mode 0600)" in result.stdout
    assert "Phone number" in result.stderr and "Login code" in result.stderr
    assert "signed in as Archive Keeper (@tgvault_keeper)" in result.stderr
    assert "Traceback" not in result.stderr
    assert 0o600 == stat.S_IMODE(session_file.stat().st_mode)
    assert authorized(server, world)
    assert 1 == count(server, world, functions.auth.SendCodeRequest)
    assert 1 == count(server, world, functions.auth.SignInRequest)

    synced = tgvault(tmp_path, env, "sync", "@somechannel")
    assert 0 == synced.returncode, synced.stderr
    assert "@somechannel: 12 new" in synced.stdout
    assert 0o600 == stat.S_IMODE(session_file.stat().st_mode)

    again = tgvault(tmp_path, env, "login")
    assert 0 == again.returncode, again.stderr
    assert "already logged in as Archive Keeper" in again.stderr
    assert 1 == count(server, world, functions.auth.SendCodeRequest), "no second code was requested"


@pytest.mark.slow
def test_login_string_prints_only_a_session_string_that_sync_accepts(
    world: FakeTelegram, server: ServerThread, tmp_path: Path
) -> None:
    before = tgvault(tmp_path, cli_env(tmp_path, server.session_string), "sync", "@somechannel")
    assert 1 == before.returncode
    assert "not logged in" in before.stderr and "tgvault login" in before.stderr

    result = tgvault(
        tmp_path, cli_env(tmp_path, server.session_string), "login", "--string", stdin=f"{PHONE}\n{CODE}\n"
    )

    assert 0 == result.returncode, result.stderr
    printed = result.stdout.strip()
    assert 1 == len(result.stdout.splitlines()), "stdout holds the session string and nothing else"
    session = StringSession(printed)
    assert (session.server_address, session.port) == ("127.0.0.1", server.port)
    assert printed not in result.stderr
    assert "TGVAULT_TELEGRAM__SESSION_STRING" in result.stderr
    assert authorized(server, world)
    assert not (tmp_path / "data" / "tgvault.session").exists(), "--string writes no session file"

    synced = tgvault(tmp_path, cli_env(tmp_path, printed), "sync", "@somechannel")
    assert 0 == synced.returncode, synced.stderr
    assert "@somechannel: 12 new" in synced.stdout
    assert printed not in synced.stderr + synced.stdout


@pytest.mark.slow
def test_login_retries_a_wrong_code_and_a_wrong_two_step_password(
    world: FakeTelegram, server: ServerThread, tmp_path: Path
) -> None:
    server.call(lambda: world.set_password("correct horse", hint="the usual"))
    answers = [PHONE, "11111", CODE, "battery staple", "correct horse"]

    result = tgvault(
        tmp_path,
        cli_env(tmp_path, server.session_string),
        "login",
        "--string",
        stdin="\n".join(answers) + "\n",
    )

    assert 0 == result.returncode, result.stderr
    assert "that login code is wrong; try again" in result.stderr
    assert "two-step verification" in result.stderr
    assert "that password is wrong; try again" in result.stderr
    assert "correct horse" not in result.stderr + result.stdout
    assert authorized(server, world)
    assert 2 == count(server, world, functions.auth.CheckPasswordRequest)
    synced = tgvault(tmp_path, cli_env(tmp_path, result.stdout.strip()), "sync", "@somechannel")
    assert 0 == synced.returncode, synced.stderr


@pytest.mark.slow
@pytest.mark.parametrize("as_string", [False, True], ids=["file", "string"])
def test_a_wrong_code_fails_clearly_without_a_traceback(
    world: FakeTelegram, server: ServerThread, tmp_path: Path, as_string: bool
) -> None:
    session_file = tmp_path / "data" / "tgvault.session"
    args: tuple[str, ...]
    if as_string:
        env, args = cli_env(tmp_path, server.session_string), ("login", "--string")
    else:
        seed_session_file(session_file, server.session_string)
        env, args = cli_env(tmp_path), ("login",)

    result = tgvault(tmp_path, env, *args, stdin=f"{PHONE}\n00000\n99999\n00000\n")

    assert 1 == result.returncode
    assert "tgvault: error: login failed: the login code was wrong 3 times" in result.stderr
    assert 2 == result.stderr.count("that login code is wrong; try again")
    assert "Traceback" not in result.stderr
    assert "" == result.stdout
    assert not authorized(server, world)
    if not as_string:
        assert 0o600 == stat.S_IMODE(session_file.stat().st_mode)


@pytest.mark.slow
def test_login_without_answers_stops_without_a_traceback(
    world: FakeTelegram, server: ServerThread, tmp_path: Path
) -> None:
    result = tgvault(tmp_path, cli_env(tmp_path, server.session_string), "login", "--string", stdin="")
    assert 0 != result.returncode
    assert "Traceback" not in result.stderr
    assert "" == result.stdout
    assert 0 == count(server, world, functions.auth.SendCodeRequest)
