"""The loopback MTProto server lets the real, unmodified Telethon client talk to a fake Telegram over TCP.

Every test here runs Telethon's own network stack (MTProtoSender, MTProtoState, the TCP transports)
against `LoopbackTelegramServer` on 127.0.0.1; nothing touches any other address.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from telethon import TelegramClient, connection, errors
from telethon.extensions import BinaryReader
from telethon.sessions import StringSession
from telethon.tl import functions, types

from tgvault.testing.mtproto_server import (
    LoopbackTelegramServer,
    innermost_request,
    request_name,
    rpc_error_wire,
)
from tgvault.testing.mtproto_server.rpc import _serialize_result

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
SELF_USER = types.User(
    id=777000111, is_self=True, access_hash=4242, first_name="Loop", last_name="Back", username="loopback"
)
BIG_FILE = os.urandom(1_300_000)  # more than 1 MB, so one answer is bigger than a megabyte


class MiniTelegram:
    """Just enough of Telegram for `connect()`, `get_me()`, file parts and a few errors."""

    def __init__(self) -> None:
        self.port = 0
        self.config_padding = 0  # extra dc options, to make a Config answer as big as wanted
        self.file = BIG_FILE

    async def handle(self, request: Any) -> Any:
        request = innermost_request(request)
        if isinstance(request, functions.help.GetConfigRequest):
            return self.config()
        if isinstance(request, functions.users.GetUsersRequest):
            return [SELF_USER]
        if isinstance(request, functions.updates.GetStateRequest):
            return types.updates.State(pts=1, qts=0, date=NOW, seq=0, unread_count=0)
        if isinstance(request, functions.updates.GetDifferenceRequest):
            return types.updates.DifferenceEmpty(date=NOW, seq=0)
        if isinstance(request, functions.help.GetNearestDcRequest):
            return types.NearestDc(country="NL", this_dc=2, nearest_dc=2)
        if isinstance(request, functions.upload.GetFileRequest):
            part = self.file[request.offset : request.offset + request.limit]
            return types.upload.File(type=types.storage.FileUnknown(), mtime=0, bytes=part)
        if isinstance(request, functions.contacts.ResolveUsernameRequest):
            if request.username == "flood":
                raise errors.FloodWaitError(request, capture=7)
            raise errors.UsernameNotOccupiedError(request)
        if isinstance(request, functions.channels.GetChannelsRequest):
            raise errors.ChannelPrivateError(request)
        if isinstance(request, functions.messages.GetMessagesViewsRequest):
            raise RuntimeError("a bug in the fake")
        raise errors.RPCError(request, "METHOD_NOT_FAKED", 400)

    def config(self) -> Any:
        options = [types.DcOption(id=2, ip_address="127.0.0.1", port=self.port)]
        options += [
            types.DcOption(id=1000 + i, ip_address="127.0.0.1", port=self.port, secret=bytes(200))
            for i in range(self.config_padding)
        ]
        return types.Config(
            date=NOW,
            expires=NOW + dt.timedelta(hours=1),
            test_mode=False,
            this_dc=2,
            dc_options=options,
            dc_txt_domain_name="localhost",
            chat_size_max=200,
            megagroup_size_max=200000,
            forwarded_count_max=100,
            online_update_period_ms=1,
            offline_blur_timeout_ms=1,
            offline_idle_timeout_ms=1,
            online_cloud_timeout_ms=1,
            notify_cloud_delay_ms=1,
            notify_default_delay_ms=1,
            push_chat_period_ms=1,
            push_chat_limit=1,
            edit_time_limit=1,
            revoke_time_limit=1,
            revoke_pm_time_limit=1,
            rating_e_decay=1,
            stickers_recent_limit=1,
            channels_read_media_period=1,
            call_receive_timeout_ms=1,
            call_ring_timeout_ms=1,
            call_connect_timeout_ms=1,
            call_packet_timeout_ms=1,
            me_url_prefix="https://t.me/",
            caption_length_max=1024,
            message_length_max=4096,
            webfile_dc_id=2,
        )


def make_client(server: LoopbackTelegramServer, **kwargs: Any) -> TelegramClient:
    options: dict[str, Any] = {
        "receive_updates": False,
        "request_retries": 3,
        "connection_retries": 3,
        "retry_delay": 0,
    }
    options.update(kwargs)
    return TelegramClient(StringSession(server.session_string()), api_id=1, api_hash="x", **options)


Scenario = Callable[[LoopbackTelegramServer, MiniTelegram], Awaitable[None]]


def run(scenario: Scenario, *, handler_may_fail: bool = False, **server_kwargs: Any) -> None:
    """Run ``scenario`` against a fresh server answering with a fresh MiniTelegram."""

    async def main() -> None:
        fake = MiniTelegram()
        async with LoopbackTelegramServer(fake.handle, **server_kwargs) as server:
            fake.port = server.port
            await asyncio.wait_for(scenario(server, fake), timeout=60)
            assert handler_may_fail or [] == server.handler_errors

    asyncio.run(main())


def test_session_string_carries_dc_address_port_and_key() -> None:
    """The session string is a plain Telethon StringSession for dc 2 at 127.0.0.1:<port> with our key."""

    async def scenario(server: LoopbackTelegramServer, fake: MiniTelegram) -> None:
        session = StringSession(server.session_string())
        assert (2, "127.0.0.1", server.port, server.auth_key) == (
            session.dc_id,
            session.server_address,
            session.port,
            session.auth_key.key,
        )

    run(scenario)


def test_real_client_connects_and_gets_me_without_key_exchange() -> None:
    """connect() + get_me() work; the server saw the connect sequence and no key exchange was needed."""

    async def scenario(server: LoopbackTelegramServer, fake: MiniTelegram) -> None:
        client = make_client(server)
        await client.connect()
        me = await client.get_me()
        assert (SELF_USER.id, "loopback", True) == (me.id, me.username, me.is_self)
        assert await client.is_user_authorized()
        await client.disconnect()
        assert "help.GetConfigRequest" == server.requests[0]
        assert "users.GetUsersRequest" in server.requests
        assert isinstance(server.received[0], functions.InvokeWithLayerRequest)
        assert (1, ["full"]) == (server.connections_count, server.transports)
        # Telethon starts with salt 0: corrected once by bad_server_salt, then one new session.
        assert (1, 1) == (server.salt_corrections, server.sessions_created)

    run(scenario)


def test_any_salt_mode_also_works() -> None:
    """With check_salt=False the first message (salt 0) is answered directly, without bad_server_salt."""

    async def scenario(server: LoopbackTelegramServer, fake: MiniTelegram) -> None:
        client = make_client(server)
        await client.connect()
        assert SELF_USER.id == (await client.get_me()).id
        await client.disconnect()
        assert (0, 1) == (server.salt_corrections, server.sessions_created)

    run(scenario, check_salt=False)


@pytest.mark.parametrize(
    "transport",
    [
        connection.ConnectionTcpFull,
        connection.ConnectionTcpIntermediate,
        connection.ConnectionTcpAbridged,
        connection.ConnectionTcpObfuscated,
    ],
)
def test_every_tcp_transport_telethon_offers_is_understood(transport: type) -> None:
    """Full, intermediate, abridged and obfuscated framings all carry a request and its answer."""

    async def scenario(server: LoopbackTelegramServer, fake: MiniTelegram) -> None:
        client = make_client(server, connection=transport)
        await client.connect()
        assert SELF_USER.id == (await client.get_me()).id
        await client.disconnect()
        assert 1 == len(server.transports)

    run(scenario)


def test_rpc_errors_surface_as_the_right_telethon_exception() -> None:
    """FloodWaitError keeps its seconds; CHANNEL_PRIVATE and USERNAME_NOT_OCCUPIED get their own classes."""

    async def scenario(server: LoopbackTelegramServer, fake: MiniTelegram) -> None:
        client = make_client(server)
        client.flood_sleep_threshold = 0  # raise instead of sleeping
        await client.connect()
        with pytest.raises(errors.FloodWaitError) as flood:
            await client(functions.contacts.ResolveUsernameRequest("flood"))
        assert 7 == flood.value.seconds
        with pytest.raises(errors.UsernameNotOccupiedError):
            await client(functions.contacts.ResolveUsernameRequest("nobody"))
        with pytest.raises(errors.ChannelPrivateError):
            await client(functions.channels.GetChannelsRequest([types.InputChannel(1, 2)]))
        with pytest.raises(errors.BadRequestError) as custom:
            await client(functions.help.GetAppConfigRequest(hash=0))
        assert ("METHOD_NOT_FAKED", 400) == (custom.value.message, custom.value.code)
        # The connection is still good after errors.
        assert SELF_USER.id == (await client.get_me()).id
        await client.disconnect()

    run(scenario)


async def _handler_bug_scenario(server: LoopbackTelegramServer, fake: MiniTelegram) -> None:
    client = make_client(server)
    await client.connect()
    with pytest.raises(errors.BadRequestError) as bug:
        await client(functions.messages.GetMessagesViewsRequest(types.InputPeerSelf(), [1], False))
    assert "LOOPBACK_HANDLER_ERROR" == bug.value.message
    assert ["RuntimeError"] == [type(e).__name__ for e in server.handler_errors]
    await client.disconnect()


def test_a_crashing_handler_gives_a_clear_error_and_is_recorded() -> None:
    """A non-RPC exception in the handler reaches the client as 400 LOOPBACK_HANDLER_ERROR, not a hang."""
    run(_handler_bug_scenario, handler_may_fail=True)


def test_every_telethon_error_class_round_trips_through_the_wire_message() -> None:
    """For each generated error class, the message we send makes Telethon build that same class."""
    checked = 0
    for message, cls in errors.rpc_errors_dict.items():
        code, wire = rpc_error_wire(cls(request=None))
        rebuilt = errors.rpc_message_to_error(types.RpcError(code, wire), None)
        if message != message.upper():
            # Telethon upper-cases before its look-up, so "Timeout"/"Timedout" only ever come back as
            # their base class (TimedOutError); no server message can do better.
            assert isinstance(rebuilt, cls.__mro__[1]), message
            continue
        assert type(rebuilt) is cls, message
        checked += 1
    for _pattern, cls in errors.rpc_errors_re:
        code, wire = rpc_error_wire(cls(request=None, capture=42))
        rebuilt = errors.rpc_message_to_error(types.RpcError(code, wire), None)
        assert (cls, 42) == (type(rebuilt), rebuilt.__reduce__()[1][1])
    assert (420, "FLOOD_WAIT_5") == rpc_error_wire(errors.FloodWaitError(None, capture=5))
    assert (400, "CHANNEL_PRIVATE") == rpc_error_wire(errors.ChannelPrivateError(None))
    assert (400, "FILE_REFERENCE_EXPIRED") == rpc_error_wire(errors.FileReferenceExpiredError(None))
    assert (-503, "Timeout") == rpc_error_wire(errors.RPCError(None, "Timeout", -503))
    assert checked > 500


def test_responses_bigger_than_a_megabyte_round_trip() -> None:
    """A 1.3 MB upload.File answer and a gzip-packed multi-megabyte Config both arrive intact."""

    async def scenario(server: LoopbackTelegramServer, fake: MiniTelegram) -> None:
        client = make_client(server)
        await client.connect()
        location = types.InputDocumentFileLocation(id=1, access_hash=2, file_reference=b"", thumb_size="")
        part = await client(functions.upload.GetFileRequest(location, offset=0, limit=len(BIG_FILE)))
        assert BIG_FILE == part.bytes
        fake.config_padding = 8000  # ~2 MB serialized
        config = await client(functions.help.GetConfigRequest())
        assert 8001 == len(config.dc_options)
        await client.disconnect()

    run(scenario)


def test_chunked_download_through_telethon() -> None:
    """Telethon's own download_file (several 512 KB upload.GetFile parts) reassembles the file."""

    async def scenario(server: LoopbackTelegramServer, fake: MiniTelegram) -> None:
        client = make_client(server)
        await client.connect()
        location = types.InputDocumentFileLocation(id=1, access_hash=2, file_reference=b"", thumb_size="")
        data = await client.download_file(location, bytes, file_size=len(BIG_FILE), part_size_kb=512)
        assert BIG_FILE == data
        assert 3 == server.requests.count("upload.GetFileRequest")
        await client.disconnect()

    run(scenario)


def test_drop_connections_makes_telethon_reconnect_by_itself() -> None:
    """After the server resets every socket, the next request succeeds over a new connection."""

    async def scenario(server: LoopbackTelegramServer, fake: MiniTelegram) -> None:
        client = make_client(server)
        await client.connect()
        await client.get_me()
        assert 1 == await server.drop_connections()
        assert 0 == server.open_connections
        users = await client(functions.users.GetUsersRequest([types.InputUserSelf()]))
        assert SELF_USER.id == users[0].id
        # Telethon starts a new MTProto session on the new connection but keeps the salt it learnt.
        assert (2, 2, 1) == (server.connections_count, server.sessions_created, server.salt_corrections)
        await client.disconnect()

    run(scenario)


def test_telethon_retries_until_the_server_listens_again() -> None:
    """Connections refused for a while (server not listening) end when it listens again on the same port."""

    async def scenario(server: LoopbackTelegramServer, fake: MiniTelegram) -> None:
        client = make_client(server, connection_retries=20, retry_delay=0.1)
        await client.connect()
        port = server.port
        server.stop_listening()
        await server.drop_connections()
        asyncio.get_running_loop().call_later(0.5, lambda: asyncio.ensure_future(server.start_listening()))
        users = await client(functions.users.GetUsersRequest([types.InputUserSelf()]))
        assert SELF_USER.id == users[0].id
        assert (port, 2) == (server.port, server.connections_count)
        await client.disconnect()

    with quiet_telethon():
        run(scenario)


def test_a_cut_file_part_is_fetched_again_after_reconnecting() -> None:
    """Cutting the connection 1000 bytes into the second file part: Telethon reconnects and finishes."""

    async def scenario(server: LoopbackTelegramServer, fake: MiniTelegram) -> None:
        client = make_client(server)
        await client.connect()

        def second_part(request: Any) -> bool:
            return isinstance(request, functions.upload.GetFileRequest) and request.offset == 524288

        rule = server.cut_after_response(second_part, after_bytes=1000)
        location = types.InputDocumentFileLocation(id=1, access_hash=2, file_reference=b"", thumb_size="")
        data = await client.download_file(location, bytes, file_size=len(BIG_FILE), part_size_kb=512)
        assert BIG_FILE == data
        assert 1 == rule.fired
        inner = [innermost_request(r) for r in server.received]
        offsets = [r.offset for r in inner if isinstance(r, functions.upload.GetFileRequest)]
        assert [0, 524288, 524288, 1048576] == offsets  # the cut part was asked for again
        assert 2 == server.connections_count
        await client.disconnect()

    run(scenario)


def test_pause_holds_answers_until_resume() -> None:
    """While paused nothing is answered; after resume the waiting request completes."""

    async def scenario(server: LoopbackTelegramServer, fake: MiniTelegram) -> None:
        client = make_client(server)
        await client.connect()
        server.pause()
        pending = asyncio.ensure_future(client.get_me())
        await asyncio.sleep(0.3)
        assert (False, 1) == (pending.done(), server.requests.count("users.GetUsersRequest"))
        server.resume()
        assert SELF_USER.id == (await pending).id
        await client.disconnect()

    run(scenario)


def test_a_stalled_connection_can_be_dropped_and_the_request_is_resent() -> None:
    """Pause (a stall), drop the connection, resume: Telethon resends the unanswered request."""

    async def scenario(server: LoopbackTelegramServer, fake: MiniTelegram) -> None:
        client = make_client(server)
        await client.connect()
        server.pause()
        pending = asyncio.ensure_future(client(functions.users.GetUsersRequest([types.InputUserSelf()])))
        await asyncio.sleep(0.2)
        assert 1 == await asyncio.wait_for(server.drop_connections(), timeout=5)
        server.resume()
        assert SELF_USER.id == (await pending)[0].id
        assert 2 == server.connections_count
        await client.disconnect()

    with quiet_telethon():
        run(scenario)


def test_service_messages_ping_future_salts_and_destroy_session() -> None:
    """ping → pong, get_future_salts → future_salts (starting with the current salt), destroy_session."""

    async def scenario(server: LoopbackTelegramServer, fake: MiniTelegram) -> None:
        client = make_client(server)
        await client.connect()
        pong = await client(functions.PingRequest(ping_id=99))
        assert 99 == pong.ping_id
        salts = await client(functions.GetFutureSaltsRequest(num=3))
        assert 3 == len(salts.salts)
        assert server.salt == salts.salts[0].salt
        pong = await client(functions.PingDelayDisconnectRequest(ping_id=5, disconnect_delay=75))
        assert 5 == pong.ping_id
        gone = await client(functions.DestroySessionRequest(session_id=12345))
        assert isinstance(gone, types.DestroySessionNone)
        assert 2 == server.pings
        assert "PingRequest" not in server.requests  # service messages never reach the handler
        await client.disconnect()

    run(scenario)


def test_unknown_auth_key_is_refused_like_telegram_does() -> None:
    """A key the server does not know gets transport error -404, which Telethon reports as AuthKeyNotFound."""

    async def scenario(server: LoopbackTelegramServer, fake: MiniTelegram) -> None:
        server.reject_auth_key = True
        client = make_client(server)
        with pytest.raises(errors.AuthKeyNotFound):
            await client.connect()
        with pytest.raises(errors.AuthKeyNotFound):
            await client.disconnected  # Telethon's sender ended with the same error
        await client.disconnect()
        assert [] == server.requests

    with quiet_telethon():
        run(scenario)


def test_request_name_is_the_qualified_innermost_query() -> None:
    """Wrappers are looked through and the TL namespace is kept (messages.X vs channels.X)."""
    wrapped = functions.InvokeWithLayerRequest(
        1,
        functions.InvokeWithoutUpdatesRequest(
            functions.channels.GetMessagesRequest(types.InputChannel(1, 2), [])
        ),
    )
    assert "channels.GetMessagesRequest" == request_name(wrapped)
    assert "PingRequest" == request_name(functions.PingRequest(1))


def test_bool_and_vector_results_are_serialized_the_way_telethon_reads_them() -> None:
    """A handler may return True/False, TL lists, or int lists (Vector<int> or Vector<long> as needed)."""
    assert True is _roundtrip(functions.account.UpdateStatusRequest(offline=False), True)
    assert False is _roundtrip(functions.account.UpdateStatusRequest(offline=False), False)
    assert [3, 2**40] == _roundtrip(functions.photos.DeletePhotosRequest(id=[]), [3, 2**40])  # Vector<long>
    assert [3, 4] == _roundtrip(functions.contacts.GetContactIDsRequest(hash=0), [3, 4])  # Vector<int>
    users = _roundtrip(functions.users.GetUsersRequest([types.InputUserSelf()]), [SELF_USER])
    assert [SELF_USER.id] == [u.id for u in users]


def _roundtrip(request: Any, result: Any) -> Any:
    return request.read_result(BinaryReader(_serialize_result(request, result)))


def test_clean_shutdown_with_a_connected_client_leaves_no_tasks() -> None:
    """Closing the server while a client is still connected ends every server task."""

    async def main() -> None:
        fake = MiniTelegram()
        server = LoopbackTelegramServer(fake.handle)
        await server.start()
        fake.port = server.port
        client = make_client(server, connection_retries=0, auto_reconnect=False)
        await client.connect()
        await client.get_me()
        await server.close()
        await client.disconnect()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert [] == [t for t in others if "mtproto_server" in repr(t.get_coro())]

    with quiet_telethon():
        asyncio.run(main())


def test_threaded_server_with_a_client_in_a_subprocess() -> None:
    """The real cross-process path: a Python subprocess connects with the session string and calls get_me."""
    fake = MiniTelegram()
    with LoopbackTelegramServer.start_in_thread(fake.handle) as running:
        fake.port = running.port
        script = textwrap.dedent(
            """
            import asyncio, sys
            from telethon import TelegramClient
            from telethon.sessions import StringSession

            async def main():
                client = TelegramClient(StringSession(sys.argv[1]), api_id=1, api_hash="x",
                                        receive_updates=False)
                await client.connect()
                me = await client.get_me()
                print(me.id, me.username)
                await client.disconnect()

            asyncio.run(main())
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script, running.session_string],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert 0 == done.returncode, done.stderr
        assert f"{SELF_USER.id} loopback" == done.stdout.strip()
        assert "users.GetUsersRequest" in running.requests
        assert 1 == running.connections_count
        assert 0 == running.drop_connections()  # the subprocess already hung up
    assert running.session_string.startswith("1")


@contextlib.contextmanager
def quiet_telethon() -> Iterator[None]:
    """Silence Telethon's expected reconnect warnings in fault tests."""
    telethon_logger = logging.getLogger("telethon")
    level = telethon_logger.level
    telethon_logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        telethon_logger.setLevel(level)
