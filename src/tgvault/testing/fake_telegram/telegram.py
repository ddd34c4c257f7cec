"""A fake Telegram: server state that answers real TL requests with real TL objects, and an in-process sender.

:class:`FakeTelegram` holds channels, their messages (real ``telethon.tl.types.Message`` objects) and the
contents of their files, and answers requests with Telegram's semantics in :meth:`FakeTelegram.handle`. It
knows nothing about transports: :class:`FakeSender` plugs it into a real ``TelegramClient`` in-process
(requests and answers still go through TL serialization), and ``tgvault.testing.mtproto_server`` serves the
same ``handle`` over a loopback MTProto socket.

Typical use::

    world = FakeTelegram()
    channel = build_realistic_channel(world, 250, seed=1)
    async with fake_client(world) as client:          # a real, connected TelegramClient
        posts = [m async for m in client.iter_messages(channel.username, wait_time=0)]
    assert world.count(functions.messages.GetHistoryRequest) == 3

Faults are plain method calls on the world (:meth:`FakeTelegram.flood_wait`, :meth:`~FakeTelegram.fail_next`,
:meth:`~FakeTelegram.vanish_channel`, :meth:`~FakeTelegram.expire_file_reference`,
:meth:`~FakeTelegram.edit_message`, :meth:`~FakeTelegram.delete_messages`, ...).

By default the account is already logged in. :meth:`FakeTelegram.require_login` logs it out: requests that
need an account answer ``AUTH_KEY_UNREGISTERED`` until ``auth.sendCode`` + ``auth.signIn`` (and, with a
2FA password, ``account.getPassword`` + ``auth.checkPassword`` with real SRP) sign in again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from telethon.tl import types

from tgvault.testing.fake_telegram.channels import FakeChannel
from tgvault.testing.fake_telegram.defaults import DEFAULT_LOGIN_CODE, DEFAULT_NOW, EPOCH, SESSION_DC_ID
from tgvault.testing.fake_telegram.handlers.account import AccountRequests
from tgvault.testing.fake_telegram.handlers.channels import ChannelRequests
from tgvault.testing.fake_telegram.handlers.discussions import DiscussionRequests
from tgvault.testing.fake_telegram.handlers.history import HistoryRequests
from tgvault.testing.fake_telegram.handlers.login import LOGIN_FREE, LoginRequests
from tgvault.testing.fake_telegram.handlers.updates import UpdateRequests
from tgvault.testing.fake_telegram.handlers.uploads import UploadRequests
from tgvault.testing.fake_telegram.references import ReferenceRotations
from tgvault.testing.fake_telegram.rpc import TL, RequestHandler, UnsupportedRequestError, rpc_error, unwrap
from tgvault.testing.fake_telegram.world import FakeWorld

__all__ = ["FakeTelegram"]


class FakeTelegram(FakeWorld):
    """The state of a fake Telegram server and the request handler (transport-agnostic).

    ``handle(request)`` answers real TL requests with real TL objects; errors are raised as Telethon's
    ``RPCError`` subclasses (what a server turns into ``rpc_error``). Everything handled is appended to
    ``requests`` (the innermost query, wrappers such as ``InvokeWithLayer`` stripped).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 443,
        dc_id: int = SESSION_DC_ID,
        now: datetime = DEFAULT_NOW,
        latency: float = 0.0,
    ) -> None:
        """A world with no channels; ``host``/``port`` is where ``help.getConfig`` says every DC lives."""
        super().__init__(host=host, port=port, dc_id=dc_id, now=now)
        self.latency = latency
        self.push_updates = False
        """When true, new, edited and deleted channel posts are pushed to every subscriber (connected clients)
        as Telegram pushes them to an account that joined the channel; see :meth:`subscribe`."""
        self._listeners: list[Callable[[TL], None]] = []
        self._faults: dict[type, deque[tuple[int, str]]] = {}
        self._references = ReferenceRotations()
        self._login = LoginRequests(self)
        self._account = AccountRequests(self)
        self._handlers: dict[type, RequestHandler] = {}
        for area in (
            self._account,
            UpdateRequests(self),
            ChannelRequests(self),
            HistoryRequests(self, self._references),
            DiscussionRequests(self, self._references),
            UploadRequests(self),
            self._login,
        ):
            self._handlers.update(area.handlers())

    # -- the account's login -----------------------------------------------------------------------------

    def require_login(
        self, *, code: str = DEFAULT_LOGIN_CODE, password: str | None = None, hint: str | None = None
    ) -> None:
        """Log the account out, so that it has to sign in again as ``tgvault login`` does.

        Until then, every request but ``help.getConfig``, ``auth.sendCode``, ``auth.signIn``,
        ``account.getPassword`` and ``auth.checkPassword`` answers ``AUTH_KEY_UNREGISTERED`` (401), so
        ``get_me()`` is ``None`` and ``is_user_authorized()`` false. ``auth.signIn`` with the phone of
        :attr:`self_user` and ``code`` signs in (another phone: sign-up required); a wrong code answers
        ``PHONE_CODE_INVALID``. With ``password`` (see :meth:`set_password`) the right code answers
        ``SESSION_PASSWORD_NEEDED`` and ``auth.checkPassword`` must prove the password (SRP) to sign in.
        The world has a single auth key, so signing in authorizes every session string of the world.
        """
        self.authorized = False
        self.login_code = code
        self._login.forget_codes()
        self.set_password(password, hint=hint)

    def set_password(self, password: str | None, *, hint: str | None = None) -> None:
        """Turn two-step verification on with ``password`` (stored as an SRP verifier only), or off."""
        self._login.set_password(password, hint=hint)

    # -- changes and faults ----------------------------------------------------------------------------

    def edit_message(
        self,
        channel: FakeChannel | int | str,
        msg_id: int,
        text: str | None = None,
        entities: list[TL] | None = None,
        *,
        media: TL = None,
        edit_date: datetime | None = None,
    ) -> TL:
        """Edit a post in place: new text (and entities), optionally new media; sets ``edit_date``.

        ``entities=None`` with new text clears them. The message keeps its id; ``pts`` advances.
        """
        ch = self.channel(channel)
        message = ch.messages[msg_id]
        if text is not None:
            message.message = text
            message.entities = entities or None
        elif entities is not None:
            message.entities = entities or None
        if media is not None:
            message.media = media
        if edit_date is None:
            edit_date = max(self.clock, message.date + timedelta(seconds=1), (message.edit_date or EPOCH))
            self.advance(1)
        message.edit_date = edit_date
        message.edit_hide = False
        ch.pts += 1
        self._push(ch, types.UpdateEditChannelMessage(message=message, pts=ch.pts, pts_count=1))
        return message

    def delete_messages(self, channel: FakeChannel | int | str, ids: Iterable[int]) -> None:
        """Delete posts: they vanish from history and ``channels.getMessages`` answers ``MessageEmpty``."""
        ch = self.channel(channel)
        removed = [msg_id for msg_id in ids if ch.remove_message(msg_id) is not None]
        discussion = self.discussions.get(ch.id)
        if discussion is not None and discussion.group is ch:
            for msg_id in removed:
                discussion.remove_comment(msg_id)
        if removed:
            self._push(
                ch,
                types.UpdateDeleteChannelMessages(
                    channel_id=ch.id, messages=removed, pts=ch.pts, pts_count=len(removed)
                ),
            )

    def vanish_channel(self, channel: FakeChannel | int | str) -> None:
        """The channel goes private/banned: its username stops resolving, and any use of its access hash
        (history, messages, full info) raises ``ChannelPrivateError``; ``getChannels`` gives
        ``ChannelForbidden``; its files answer ``FILE_REFERENCE_EXPIRED``."""
        self.channel(channel).vanished = True

    def restore_channel(self, channel: FakeChannel | int | str) -> None:
        """Undo :meth:`vanish_channel`."""
        self.channel(channel).vanished = False

    def rename_channel(self, channel: FakeChannel | int | str, username: str | None) -> None:
        """Change (or drop, with ``None``) the channel's username; the old one stops resolving."""
        self.channel(channel).username = username

    def fail_next(self, request_type: type, message: str, code: int = 400, *, times: int = 1) -> None:
        """The next ``times`` requests of ``request_type`` fail with ``rpc_error(code, message)``.

        E.g. ``fail_next(GetHistoryRequest, "CHANNEL_PRIVATE")`` or ``fail_next(GetFileRequest,
        "INTERDC_2_CALL_ERROR", 500)``. Faults queue up in order.
        """
        queue = self._faults.setdefault(request_type, deque())
        queue.extend([(code, message)] * times)

    def flood_wait(self, request_type: type, seconds: int, *, times: int = 1) -> None:
        """The next ``times`` requests of ``request_type`` raise ``FloodWaitError(seconds=seconds)``."""
        self.fail_next(request_type, f"FLOOD_WAIT_{int(seconds)}", 420, times=times)

    def expire_file_reference(self, channel: FakeChannel | int | str, msg_id: int) -> list[int]:
        """Expire the file references of a post's media: downloads with any reference handed out so far
        raise ``FileReferenceExpiredError`` until the message is read again (``channels.getMessages`` or
        ``messages.getHistory``), which hands out a fresh, working reference. Returns the media ids."""
        ch = self.channel(channel)
        return self._references.expire(ch, ch.messages[msg_id])

    # -- pushed updates --------------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[TL], None]) -> Callable[[], None]:
        """Call ``listener(updates)`` with each ``types.Updates`` pushed while :attr:`push_updates` is on;
        returns the function that unsubscribes. Senders and the loopback server subscribe their clients."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    def publish(self, channel: FakeChannel | int | str, message: TL) -> TL:
        """Push a post already added to the channel (e.g. by ``add_post``) as ``updateNewChannelMessage``."""
        ch = self.channel(channel)
        self._push(ch, types.UpdateNewChannelMessage(message=message, pts=ch.pts, pts_count=1))
        return message

    def _push(self, ch: FakeChannel, update: TL) -> None:
        if not self.push_updates or not self._listeners:
            return
        envelope = types.Updates(updates=[update], users=[], chats=[ch.to_tl()], date=self.clock, seq=0)
        for listener in list(self._listeners):
            listener(envelope)

    # -- request handling ------------------------------------------------------------------------------

    async def handle(self, request: TL) -> TL:
        """Answer one TL request like Telegram would (a TL object, or a list for ``Vector`` results).

        Raises ``telethon.errors.RPCError`` subclasses for Telegram errors and
        :class:`UnsupportedRequestError` for requests the fake does not know.
        """
        query = unwrap(request)
        self.requests.append(query)
        if self.latency:
            await asyncio.sleep(self.latency)
        queue = self._faults.get(type(query))
        if queue:
            code, message = queue.popleft()
            raise rpc_error(query, message, code)
        if not self.authorized and not isinstance(query, LOGIN_FREE):
            raise rpc_error(query, "AUTH_KEY_UNREGISTERED", 401)
        handler = self._handlers.get(type(query))
        if handler is None:
            raise UnsupportedRequestError(query)
        return handler(query)

    def config(self) -> TL:
        """A realistic ``types.Config``: every DC (1-5) at ``host:port``, ``this_dc`` = the session's DC."""
        return self._account.config()
