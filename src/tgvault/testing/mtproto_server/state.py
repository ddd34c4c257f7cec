"""What the connections of a loopback MTProto server share: the key, the salt, sessions, msg_ids, the
handler with the request logs and counters, and the faults in force."""

from __future__ import annotations

import os
import struct
from typing import Any

from telethon.crypto import AuthKey

from tgvault.testing.mtproto_server.faults import CutRules, PauseSwitch
from tgvault.testing.mtproto_server.rpc import ORDERING_WRAPPERS, Handler, request_name, run_handler
from tgvault.testing.mtproto_server.sessions import MsgIds, Sessions

__all__ = ["ServerState"]


class ServerState:
    """The state a :class:`~tgvault.testing.mtproto_server.LoopbackTelegramServer` shares with its
    connections, and how they run an RPC (:meth:`invoke`)."""

    def __init__(
        self, handler: Handler, *, auth_key: bytes | None, check_salt: bool, gzip_responses: bool
    ) -> None:
        """State for a server answering with ``handler``; ``auth_key`` is 256 bytes, random when omitted."""
        key = os.urandom(256) if auth_key is None else bytes(auth_key)
        if len(key) != 256:
            raise ValueError("an MTProto auth key is 256 bytes")
        self._handler = handler
        self._auth_key = key
        self.key_id = struct.pack("<Q", AuthKey(key).key_id)
        """The 8 bytes that start every packet encrypted with the auth key."""
        self.check_salt = check_salt
        self.gzip_responses = gzip_responses
        self.salt = struct.unpack("<q", os.urandom(8))[0]
        self.reject_auth_key = False
        """When True every encrypted packet gets transport error -404 (Telethon: ``AuthKeyNotFound``)."""

        self.requests: list[str] = []
        self.received: list[Any] = []
        self.handler_errors: list[BaseException] = []
        self.connections_count = 0
        self.sessions_created = 0
        self.salt_corrections = 0
        self.pings = 0
        self.transports: list[str] = []

        self.sessions = Sessions()
        self.msg_ids = MsgIds()
        self.cut_rules = CutRules()
        self.pause_switch = PauseSwitch()

    @property
    def auth_key(self) -> bytes:
        """The pre-shared 256-byte auth key."""
        return self._auth_key

    async def invoke(self, request: Any) -> bytes:
        """Run the handler; return the ``result`` field of the ``rpc_result`` to send."""
        while isinstance(request, ORDERING_WRAPPERS):
            request = request.query  # requests on a connection run in order anyway
        self.requests.append(request_name(request))
        self.received.append(request)
        return await run_handler(
            self._handler, request, self.handler_errors, gzip_responses=self.gzip_responses
        )
