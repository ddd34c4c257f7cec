"""Test doubles shipped with tgvault: a fake Telegram that real Telethon code can talk to.

- :class:`FakeTelegram` — channels, messages and files, answering TL requests like Telegram, with faults.
- :func:`fake_client` / :func:`connect_fake_client` — a real ``TelegramClient`` wired to it in-process.
- :func:`build_realistic_channel`, :func:`add_post`, ... — realistic posts of every shape.

``tgvault.testing.mtproto_server`` serves the same fake over a loopback MTProto socket.
"""

from tgvault.testing.content import (
    DOCUMENT_KINDS,
    POST_KINDS,
    TextBuilder,
    add_post,
    build_realistic_channel,
    document_media,
    photo_media,
    utf16_len,
)
from tgvault.testing.fake_telegram import (
    DEFAULT_NOW,
    FAKE_API_HASH,
    FAKE_API_ID,
    FAKE_AUTH_KEY,
    SESSION_DC_ID,
    FakeChannel,
    FakeFile,
    FakeSender,
    FakeTelegram,
    UnsupportedRequestError,
    connect_fake_client,
    fake_client,
    media_objects,
    rpc_error,
    serialize_result,
)

__all__ = [
    "DEFAULT_NOW",
    "DOCUMENT_KINDS",
    "FAKE_API_HASH",
    "FAKE_API_ID",
    "FAKE_AUTH_KEY",
    "POST_KINDS",
    "SESSION_DC_ID",
    "FakeChannel",
    "FakeFile",
    "FakeSender",
    "FakeTelegram",
    "TextBuilder",
    "UnsupportedRequestError",
    "add_post",
    "build_realistic_channel",
    "connect_fake_client",
    "document_media",
    "fake_client",
    "media_objects",
    "photo_media",
    "rpc_error",
    "serialize_result",
    "utf16_len",
]
