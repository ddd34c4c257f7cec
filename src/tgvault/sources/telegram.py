"""Telegram through Telethon: the only module that talks to a live ``TelegramClient``.

It turns Telethon's objects into domain records (through :mod:`tgvault.sources.telegram_mapping`) and
Telethon's errors into tgvault's typed exceptions, so services never see Telethon.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import structlog
from telethon import TelegramClient, errors, events, functions, types
from telethon.sessions import SQLiteSession, StringSession

from tgvault.domain import Channel, Post
from tgvault.errors import (
    ChannelUnavailableError,
    FloodWaitTooLongError,
    MediaUnavailableError,
    NotLoggedInError,
    SourceError,
)
from tgvault.sources.base import ByteSink, ChannelUpdate, FetchedPost, HistoryPage
from tgvault.sources.telegram_mapping import channel_to_record, message_to_post
from tgvault.sources.telegram_raw import NOT_UNDERSTOOD, Mapper, map_or_keep_raw

PAGE_SIZE = 100
PREFETCH_PAGES = 1  # pages read from Telegram ahead of the one being stored (see TelegramSource._pages)
RESUME_ALIGN = 512 * 1024
"""Documents are fetched in parts of this size; a resumed download restarts on such a boundary."""
_NO_SUCH_USERNAME = (
    "no channel has this username (renamed or deleted?)"  # Telegram's limit for messages.getHistory
)

T = TypeVar("T")
log = structlog.get_logger(__name__)

_LINK = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me)/(?:s/)?(?P<name>[A-Za-z0-9_]+)/?(?:\d+)?$"
)


@dataclass(frozen=True)
class ClientOptions:
    """How to build a Telegram client: credentials, session and pacing."""

    api_id: int
    api_hash: str
    session_string: str | None = None
    session_file: Path | None = None
    flood_sleep_threshold: int = 60
    request_retries: int = 5
    receive_updates: bool = False
    """True for live mode: the connection also receives the updates of the channels the account joined."""


def parse_channel_key(key: str) -> str | int:
    """Turn ``@name``, ``t.me/name``, ``https://t.me/s/name`` or a numeric id into what Telethon resolves."""
    text = key.strip()
    match = _LINK.match(text)
    if match:
        return match.group("name")
    if text.startswith("@"):
        return text[1:]
    if re.fullmatch(r"-?\d+", text):
        number = int(text)
        if number < 0 and str(number).startswith("-100"):
            return int(str(number)[4:])
        return abs(number)
    return text


def make_session(options: ClientOptions) -> StringSession | SQLiteSession:
    """The Telethon session named by the options: a session string wins over a session file."""
    if options.session_string:
        try:
            return StringSession(options.session_string)
        except Exception as exc:  # Telethon raises ValueError or binascii errors for a bad string
            raise NotLoggedInError(
                "TGVAULT_TELEGRAM__SESSION_STRING is not a valid Telethon session string; "
                "create one with `tgvault login --string`"
            ) from exc
    if options.session_file is None:
        raise NotLoggedInError("no Telegram session configured: run `tgvault login` first")
    options.session_file.parent.mkdir(parents=True, exist_ok=True)
    session = SQLiteSession(str(options.session_file))
    _restrict_permissions(options.session_file)
    return session


def _restrict_permissions(session_file: Path) -> None:
    for candidate in (session_file, Path(f"{session_file}.session")):
        if candidate.exists():
            candidate.chmod(0o600)


class ReconnectingClient(TelegramClient):  # type: ignore[misc]  # Telethon is untyped
    """A ``TelegramClient`` that says when it reconnected on its own, since updates may have been missed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_reconnect: list[Callable[[], None]] = []

    async def _handle_auto_reconnect(self) -> None:
        await super()._handle_auto_reconnect()
        for callback in list(self.on_reconnect):
            callback()


def build_client(options: ClientOptions) -> TelegramClient:
    """A Telethon client for the configured account (not yet connected)."""
    client = ReconnectingClient(
        make_session(options),
        options.api_id,
        options.api_hash,
        flood_sleep_threshold=options.flood_sleep_threshold,
        request_retries=options.request_retries,
        receive_updates=options.receive_updates,
    )
    return client


@asynccontextmanager
async def connected_client(options: ClientOptions) -> AsyncIterator[TelegramClient]:
    """Connect, make sure the session is logged in, and disconnect on leaving."""
    client = build_client(options)
    try:
        with translated_errors("(connecting)"):
            await client.connect()
            if not await client.is_user_authorized():
                raise NotLoggedInError(
                    "the Telegram session is not logged in: run `tgvault login` "
                    "(or set TGVAULT_TELEGRAM__SESSION_STRING from `tgvault login --string`)"
                )
        yield client
    finally:
        await client.disconnect()
        if options.session_file is not None and not options.session_string:
            _restrict_permissions(options.session_file)


async def interactive_login(
    options: ClientOptions,
    *,
    as_string: bool,
    phone: Callable[[], str],
    code: Callable[[], str],
    password: Callable[[], str],
    notify: Callable[[str], None] | None = None,
    attempts: int = 3,
) -> str | None:
    """Log in with phone, code and (if set) the 2FA password; ``attempts`` tries for each answer.

    Writes the session file (mode 0600), or with ``as_string`` returns a StringSession to keep in
    TGVAULT_TELEGRAM__SESSION_STRING. A session that is already logged in is kept as it is. With
    ``as_string`` the login starts from ``options.session_string`` when one is set (same data center and
    auth key), else from a fresh session. ``notify`` receives progress and retry messages for the user.
    The session string is a secret: never log it. Failures raise :class:`NotLoggedInError` (wrong code or
    password too often, unknown phone, ...) or :class:`SourceError`, never Telethon's exceptions.
    """
    say = notify if notify is not None else _ignore
    session: StringSession | SQLiteSession
    if as_string:
        session = StringSession(options.session_string) if options.session_string else StringSession()
    else:
        session = make_session(
            ClientOptions(options.api_id, options.api_hash, session_file=options.session_file)
        )
    client = TelegramClient(session, options.api_id, options.api_hash, receive_updates=False)
    try:
        with _login_errors():
            await client.connect()
            me = await client.get_me()
            if me is None:
                me = await _sign_in(client, phone, code, password, say, max(1, attempts))
                say(f"signed in as {_display_name(me)}")
            else:
                say(f"this session is already logged in as {_display_name(me)}")
        return session.save() if as_string else None
    finally:
        await client.disconnect()
        if not as_string and options.session_file is not None:
            _restrict_permissions(options.session_file)


def _ignore(message: str) -> None:
    """The default ``notify``: say nothing."""


def _display_name(user: Any) -> str:
    name = " ".join(part for part in (user.first_name, user.last_name) if part) or str(user.id)
    return f"{name} (@{user.username})" if user.username else name


def _delivery(sent: Any) -> str:
    kind = getattr(sent, "type", None)
    if isinstance(kind, types.auth.SentCodeTypeApp):
        return "to your Telegram app (a message from Telegram)"
    if isinstance(kind, types.auth.SentCodeTypeSms):
        return "by SMS"
    if isinstance(kind, types.auth.SentCodeTypeCall | types.auth.SentCodeTypeFlashCall):
        return "by a phone call"
    return "(see your Telegram apps, SMS or e-mail)"


def _phone_number(text: str) -> str | None:
    """Digits of an international phone number (``+1 555-000 1111`` -> ``15550001111``), or None."""
    digits = re.sub(r"[+()\s.-]", "", text)
    return digits if digits.isdigit() and 5 <= len(digits) <= 15 else None


async def _sign_in(
    client: TelegramClient,
    phone: Callable[[], str],
    code: Callable[[], str],
    password: Callable[[], str],
    say: Callable[[str], None],
    attempts: int,
) -> Any:
    """Telegram's sign-in dialogue (send code, check it, then the 2FA password if needed); the user."""
    number = None
    for _ in range(attempts):
        number = _phone_number(phone())
        if number is not None:
            break
        say("that is not a phone number; use the international format, e.g. +1 555 000 1111")
    if number is None:
        raise NotLoggedInError(f"login failed: no valid phone number after {attempts} attempts")
    sent = await client.send_code_request(number)
    say(f"Telegram sent a login code {_delivery(sent)}")
    for attempt in range(1, attempts + 1):
        value = re.sub(r"[\s-]", "", code())
        failure: Exception | None = None
        if value:
            try:
                return await client.sign_in(number, code=value)
            except errors.SessionPasswordNeededError:
                break
            except (errors.PhoneCodeInvalidError, errors.PhoneCodeEmptyError) as exc:
                failure = exc
        if attempt == attempts:
            raise NotLoggedInError(
                f"login failed: the login code was wrong {attempts} times; run `tgvault login` again"
            ) from failure
        say("that login code is wrong; try again")
    say("this account has two-step verification")
    for attempt in range(1, attempts + 1):
        secret = password()
        failure = None
        if secret:
            try:
                return await client.sign_in(password=secret)
            except errors.PasswordHashInvalidError as exc:
                failure = exc
            except ValueError as exc:  # Telethon refuses the server's SRP parameters
                raise NotLoggedInError(f"login failed: cannot check the 2FA password ({exc})") from exc
        if attempt == attempts:
            raise NotLoggedInError(
                f"login failed: the two-step verification password was wrong {attempts} times"
            ) from failure
        say("that password is wrong; try again")
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def _login_errors() -> Any:
    """Turn Telethon's errors during login into tgvault's, with what to do about them."""
    try:
        yield
    except errors.FloodWaitError as exc:
        raise NotLoggedInError(
            f"Telegram asks to wait {int(exc.seconds)} s before the next login attempt"
        ) from exc
    except (errors.ApiIdInvalidError, errors.ApiIdPublishedFloodError) as exc:
        raise NotLoggedInError(
            f"Telegram refused telegram.api_id / api_hash ({exc}); check them at https://my.telegram.org"
        ) from exc
    except (errors.PhoneNumberInvalidError, errors.PhoneNumberBannedError) as exc:
        raise NotLoggedInError(f"login failed: Telegram refused the phone number ({exc})") from exc
    except errors.PhoneNumberUnoccupiedError as exc:
        raise NotLoggedInError(
            "login failed: no Telegram account uses this phone number; sign up in a Telegram app first"
        ) from exc
    except (errors.PhoneCodeExpiredError, errors.PhoneCodeHashEmptyError) as exc:
        raise NotLoggedInError("login failed: the login code expired; run `tgvault login` again") from exc
    except errors.RPCError as exc:
        raise SourceError(f"login: Telegram answered {exc}") from exc
    except ConnectionError as exc:
        raise SourceError(f"login: cannot reach Telegram ({exc})") from exc


@contextmanager
def translated_errors(channel: str) -> Any:
    """Turn Telethon's errors into tgvault's, naming the channel."""
    try:
        yield
    except errors.FloodWaitError as exc:
        raise FloodWaitTooLongError(int(exc.seconds)) from exc
    except (
        errors.ChannelPrivateError,
        errors.ChannelInvalidError,
        errors.ChannelPublicGroupNaError,
        errors.ChatForbiddenError,
    ) as exc:
        raise ChannelUnavailableError(channel, "is private, or this account was banned from it") from exc
    except (errors.UsernameNotOccupiedError, errors.UsernameInvalidError) as exc:
        raise ChannelUnavailableError(channel, _NO_SUCH_USERNAME) from exc
    except errors.AuthKeyError as exc:
        raise NotLoggedInError(
            f"the Telegram session is not authorised ({exc}); run `tgvault login`"
        ) from exc
    except errors.RPCError as exc:
        raise SourceError(f"channel {channel}: Telegram answered {exc}") from exc
    except ConnectionError as exc:
        raise SourceError(f"channel {channel}: cannot reach Telegram ({exc})") from exc


class TelegramSource:
    """A :class:`~tgvault.sources.base.PostSource` over a connected Telethon client."""

    resumes_downloads = True
    """``download_media`` continues a document after the bytes its sink already holds."""

    def __init__(
        self, client: TelegramClient, *, request_delay: float = 1.0, mapper: Mapper = message_to_post
    ) -> None:
        self._client = client
        self._mapper = mapper
        self._request_delay = request_delay
        self._entities: dict[int, Any] = {}
        self._reconnecting = asyncio.Lock()

    async def ensure_connected(self) -> None:
        """Connect again if Telethon gave up reconnecting (a long network outage in a long-running service)."""
        if self._client.is_connected():
            return
        async with self._reconnecting:
            if not self._client.is_connected():
                with translated_errors("(reconnecting)"):
                    await self._client.connect()

    async def resolve(self, key: str) -> Channel:
        """Look the channel up and read its description and subscriber count."""
        target = parse_channel_key(key)
        with translated_errors(key):
            try:
                if isinstance(target, int):
                    entity = await self._client.get_entity(types.PeerChannel(target))
                else:
                    entity = await self._client.get_entity(target)
            except ValueError as exc:
                if isinstance(exc.__cause__, (errors.UsernameNotOccupiedError, errors.UsernameInvalidError)):
                    raise ChannelUnavailableError(key, _NO_SUCH_USERNAME) from exc
                raise ChannelUnavailableError(key, f"cannot be found ({exc})") from exc
            if not isinstance(entity, types.Channel):
                raise ChannelUnavailableError(key, "is a user or a basic group, not a channel")
            if getattr(entity, "left", False) and getattr(entity, "username", None) is None:
                raise ChannelUnavailableError(key, "is private and this account is not a member")
            full = await self._client(functions.channels.GetFullChannelRequest(entity))
        record = channel_to_record(entity, full)
        self._entities[record.id] = entity
        return record

    def _entity(self, channel: Channel) -> Any:
        entity = self._entities.get(channel.id)
        if entity is None:
            raise SourceError(f"channel {channel.id} was not resolved first")
        return entity

    async def _pages(self, channel: Channel, **kwargs: Any) -> AsyncIterator[HistoryPage]:
        """Pages of ``iter_messages``, read one page ahead.

        A task fetches the next page from Telegram while the caller maps and stores the current one, so
        Telegram's (or the network's) time overlaps with tgvault's own work instead of adding to it. At
        most ``PREFETCH_PAGES`` pages wait; nothing is archived by reading ahead (the caller commits
        pages in order), and leaving the loop early cancels the read.
        """
        iterator = self._client.iter_messages(self._entity(channel), wait_time=self._request_delay, **kwargs)
        label = channel.username or str(channel.id)
        batches: asyncio.Queue[list[Any] | BaseException | None] = asyncio.Queue(maxsize=PREFETCH_PAGES)

        async def read_ahead() -> None:
            try:
                batch: list[Any] = []
                async for message in iterator:
                    batch.append(message)
                    if len(batch) >= PAGE_SIZE:
                        await batches.put(batch)
                        batch = []
                if batch:
                    await batches.put(batch)
                await batches.put(None)
            except Exception as exc:  # handed to the reader, which raises it (translated) in its place
                await batches.put(exc)

        reader = asyncio.create_task(read_ahead())
        try:
            while (batch := await batches.get()) is not None:
                if isinstance(batch, BaseException):
                    with translated_errors(label):
                        raise batch
                page = []
                for message in batch:
                    post = self._map(message, channel.id)
                    if post is not None:
                        page.append(FetchedPost(post, message))
                if page:
                    yield HistoryPage(page, getattr(iterator, "total", None))
        finally:
            reader.cancel()
            with suppress(asyncio.CancelledError):
                await reader

    def _map(self, message: Any, channel_id: int) -> Post | None:
        """Map a message; one the mapping fails on is kept raw with a parse error (it never blocks)."""
        post = map_or_keep_raw(self._mapper, message, channel_id)
        if post is not None and post.parse_error and post.parse_error.startswith(NOT_UNDERSTOOD):
            log.warning(
                "message kept raw: not understood",
                channel_id=channel_id,
                message_id=post.message_id,
                error=post.parse_error,
            )
        return post

    def older(
        self, channel: Channel, *, offset_id: int = 0, offset_date: datetime | None = None
    ) -> AsyncIterator[HistoryPage]:
        """Pages below ``offset_id`` or before ``offset_date``, newest first."""
        return self._pages(channel, offset_id=offset_id, offset_date=offset_date)

    def newer(self, channel: Channel, *, min_id: int) -> AsyncIterator[HistoryPage]:
        """Pages above ``min_id``, oldest first."""
        return self._pages(channel, min_id=min_id, reverse=True)

    async def get_posts(self, channel: Channel, message_ids: Sequence[int]) -> dict[int, FetchedPost | None]:
        """Re-read posts (``channels.getMessages``); a ``MessageEmpty`` answer means deleted (None)."""
        label = channel.username or str(channel.id)
        found: dict[int, FetchedPost | None] = {}
        for start in range(0, len(message_ids), PAGE_SIZE):
            chunk = list(message_ids[start : start + PAGE_SIZE])
            with translated_errors(label):
                messages = await self._client.get_messages(self._entity(channel), ids=chunk)
            for message_id, message in zip(chunk, messages, strict=True):
                post = None if message is None else self._map(message, channel.id)
                found[message_id] = None if post is None else FetchedPost(post, message)
        return found

    async def follow(
        self,
        channels: Sequence[Channel],
        on_update: Callable[[ChannelUpdate], Awaitable[None]],
        on_reconnect: Callable[[], Awaitable[None]],
    ) -> Callable[[], None]:
        """Live mode: pass new, edited and deleted posts of ``channels`` to ``on_update`` as Telegram
        pushes them (the client must receive updates, and the account must have joined the channels);
        ``on_reconnect`` runs after Telethon reconnected by itself. Returns the function that stops."""
        followed = {channel.id for channel in channels}
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Future[None]] = set()

        def keep(task: asyncio.Future[None]) -> None:
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        async def handler(update: Any) -> None:
            change = _channel_update(update, followed, self._map)
            if change is not None:
                await on_update(change)

        def reconnected() -> None:
            keep(asyncio.ensure_future(on_reconnect(), loop=loop))

        event = events.Raw(types=list(_LIVE_UPDATES))
        self._client.add_event_handler(handler, event)
        callbacks: list[Callable[[], None]] | None = getattr(self._client, "on_reconnect", None)
        if callbacks is not None:
            callbacks.append(reconnected)

        def stop() -> None:
            self._client.remove_event_handler(handler, event)
            if callbacks is not None and reconnected in callbacks:
                callbacks.remove(reconnected)
            for task in list(tasks):
                task.cancel()

        return stop

    def disconnected(self) -> Awaitable[None]:
        """Resolves when the client disconnected for good (Telethon gave up reconnecting, or it was closed)."""
        future: Awaitable[None] = self._client.disconnected
        return future

    async def download_media(self, channel: Channel, fetched: FetchedPost, sink: ByteSink) -> None:
        """Download the post's file; an expired file reference is refreshed by re-reading the post once.

        A document continues after the ``sink.size`` bytes the sink already holds (an interrupted
        download resumes there); anything else starts again from byte 0.
        """
        label = channel.username or str(channel.id)
        message = fetched.handle
        if message is None:
            refreshed = await self.get_posts(channel, [fetched.post.message_id])
            again = refreshed.get(fetched.post.message_id)
            if again is None:
                raise MediaUnavailableError(f"post {fetched.post.message_id} no longer exists")
            message = again.handle
        try:
            await self._download(label, message, sink)
        except _FileReferenceExpired:
            refreshed = await self.get_posts(channel, [fetched.post.message_id])
            again = refreshed.get(fetched.post.message_id)
            if again is None or again.handle is None:
                raise MediaUnavailableError(f"post {fetched.post.message_id} no longer exists") from None
            await self._download(label, again.handle, sink)

    async def download_thumbnail(self, channel: Channel, fetched: FetchedPost, sink: ByteSink) -> bool:
        """Telegram serves every file itself, so no thumbnail stands in for one."""
        return False

    async def _download(self, label: str, message: Any, sink: ByteSink) -> None:
        document = _document_of(message)
        try:
            with translated_errors(label):
                try:
                    if document is not None:
                        await self._download_from(document, sink)
                        return
                    if getattr(sink, "size", 0) and hasattr(sink, "restart"):
                        sink.restart()
                    result = await self._client.download_media(message, file=sink)
                except (errors.FileReferenceExpiredError, errors.FileReferenceInvalidError) as exc:
                    raise _FileReferenceExpired() from exc
        except _FileReferenceExpired:
            raise
        if result is None:
            raise MediaUnavailableError("the post has no downloadable file")

    async def _download_from(self, document: Any, sink: ByteSink) -> None:
        """Stream a document into ``sink`` from the bytes it already holds (offset download)."""
        offset = int(getattr(sink, "size", 0))
        if offset % RESUME_ALIGN and hasattr(sink, "restart"):
            sink.restart()
            offset = 0
        size = int(document.size)
        if offset >= size:
            return
        stream = self._client.iter_download(
            document, offset=offset, request_size=RESUME_ALIGN, file_size=size
        )
        async for chunk in stream:
            sink.write(bytes(chunk))


def _document_of(message: Any) -> Any:
    """The document of a message's media (downloaded with offsets), or None for photos and the rest."""
    media = getattr(message, "media", None)
    if isinstance(media, types.MessageMediaDocument) and isinstance(media.document, types.Document):
        return media.document
    return None


_LIVE_UPDATES = (
    types.UpdateNewChannelMessage,
    types.UpdateEditChannelMessage,
    types.UpdateDeleteChannelMessages,
)


def _channel_update(
    update: Any, followed: set[int], mapper: Callable[[Any, int], Post | None]
) -> ChannelUpdate | None:
    """The domain form of a Telethon channel update for a followed channel (None for anything else)."""
    if isinstance(update, types.UpdateDeleteChannelMessages):
        if update.channel_id not in followed:
            return None
        return ChannelUpdate(update.channel_id, deleted_ids=tuple(update.messages))
    message = update.message
    peer = getattr(message, "peer_id", None)
    if not isinstance(peer, types.PeerChannel) or peer.channel_id not in followed:
        return None
    post = mapper(message, peer.channel_id)
    if post is None:
        return None
    edited = isinstance(update, types.UpdateEditChannelMessage)
    return ChannelUpdate(peer.channel_id, posts=(FetchedPost(post, message),), edited=edited)


class _FileReferenceExpired(Exception):
    """Internal: Telegram rejected the file reference; re-read the message and try again."""
