"""Logging in to Telegram: the phone, code and 2FA password dialogue that creates a session."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from telethon import TelegramClient, errors, types
from telethon.sessions import SQLiteSession, StringSession

from tgvault.errors import NotLoggedInError, SourceConnectionError, SourceError
from tgvault.sources.telegram.client import ClientOptions, make_session, restrict_permissions
from tgvault.sources.telegram.failures import connection_problem


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
            restrict_permissions(options.session_file)


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
    except (ConnectionError, EOFError, TimeoutError) as exc:  # EOFError: the server closed the connection
        raise SourceConnectionError(
            f"login: cannot reach Telegram: {connection_problem(exc)}; check the network, then try again"
        ) from exc
