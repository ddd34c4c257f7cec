"""A loopback MTProto server, so that the real, unmodified Telethon client talks to a fake Telegram over
TCP: transport framing, message encryption with a pre-shared auth key, sessions and msg_ids, request
dispatch to an async handler (such as :meth:`tgvault.testing.FakeTelegram.handle`), fault injection and
the server object, also runnable in a background thread for subprocess clients."""

from tgvault.testing.mtproto_server.faults import CutRule
from tgvault.testing.mtproto_server.rpc import Handler, innermost_request, request_name, rpc_error_wire
from tgvault.testing.mtproto_server.server import LoopbackTelegramServer, ServerThread

__all__ = [
    "CutRule",
    "Handler",
    "LoopbackTelegramServer",
    "ServerThread",
    "innermost_request",
    "request_name",
    "rpc_error_wire",
]
