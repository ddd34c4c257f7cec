"""A fake Telegram that real Telethon code can talk to: the world's state (channels, messages, files, the
account), its TL request handlers by area, the faults and changes tests apply, the in-process sender seam
(:class:`FakeSender`) and client factories; ``tgvault.testing.mtproto_server`` serves the same fake over a
loopback MTProto socket."""

from tgvault.testing.fake_telegram.channels import FakeChannel
from tgvault.testing.fake_telegram.clients import connect_fake_client, fake_client
from tgvault.testing.fake_telegram.defaults import (
    DEFAULT_LOGIN_CODE,
    DEFAULT_NOW,
    FAKE_API_HASH,
    FAKE_API_ID,
    FAKE_AUTH_KEY,
    SESSION_DC_ID,
)
from tgvault.testing.fake_telegram.files import FakeFile
from tgvault.testing.fake_telegram.media import media_objects
from tgvault.testing.fake_telegram.rpc import UnsupportedRequestError, rpc_error, serialize_result
from tgvault.testing.fake_telegram.sender import FakeSender
from tgvault.testing.fake_telegram.telegram import FakeTelegram

__all__ = [
    "DEFAULT_LOGIN_CODE",
    "DEFAULT_NOW",
    "FAKE_API_HASH",
    "FAKE_API_ID",
    "FAKE_AUTH_KEY",
    "SESSION_DC_ID",
    "FakeChannel",
    "FakeFile",
    "FakeSender",
    "FakeTelegram",
    "UnsupportedRequestError",
    "connect_fake_client",
    "fake_client",
    "media_objects",
    "rpc_error",
    "serialize_result",
]
