"""Telethon's errors while archiving, turned into tgvault's typed exceptions (naming the channel when one is
concerned, and the account when the whole account is)."""

from __future__ import annotations

import socket
from contextlib import contextmanager
from typing import Any

from telethon import errors

from tgvault.errors import (
    AccountError,
    ChannelUnavailableError,
    FloodWaitTooLongError,
    SourceConnectionError,
    SourceError,
)

NO_SUCH_USERNAME = "no channel has this username (renamed or deleted?)"
ACCOUNT = "Telegram account"
"""What every account error's message starts with (then ``: `` and the cause)."""
LOGIN_AGAIN = "run `tgvault login` (or `tgvault login --string` for a session string) to log in again"
OTHER_ACCOUNT = "log in with another account: `tgvault login`"

ACCOUNT_CAUSES: dict[type, tuple[str, str, str, str]] = {
    errors.AuthKeyUnregisteredError: (
        "AUTH_KEY_UNREGISTERED",
        "the session is not logged in",
        "logged out from another device or by Telegram, or never logged in",
        LOGIN_AGAIN,
    ),
    errors.SessionRevokedError: (
        "SESSION_REVOKED",
        "the session was terminated",
        "logged out from another device, or all other sessions were ended",
        LOGIN_AGAIN,
    ),
    errors.SessionExpiredError: ("SESSION_EXPIRED", "the session expired", "", LOGIN_AGAIN),
    errors.AuthKeyInvalidError: ("AUTH_KEY_INVALID", "the session's key is no longer valid", "", LOGIN_AGAIN),
    errors.AuthKeyPermEmptyError: (
        "AUTH_KEY_PERM_EMPTY",
        "the session's key is no longer valid",
        "",
        LOGIN_AGAIN,
    ),
    errors.AuthKeyDuplicatedError: (
        "AUTH_KEY_DUPLICATED",
        "the session was cancelled",
        "it was used by two processes at once",
        "delete the session file (or drop the session string) and run `tgvault login`; "
        "give every process its own session",
    ),
    errors.SessionPasswordNeededError: (
        "SESSION_PASSWORD_NEEDED",
        "the login was not finished",
        "the two-step verification password is missing",
        LOGIN_AGAIN,
    ),
    errors.ActiveUserRequiredError: (
        "ACTIVE_USER_REQUIRED",
        "the account is not activated",
        "",
        OTHER_ACCOUNT,
    ),
    errors.UserDeactivatedError: (
        "USER_DEACTIVATED",
        "the account was deleted or deactivated",
        "",
        OTHER_ACCOUNT,
    ),
    errors.UserDeactivatedBanError: (
        "USER_DEACTIVATED_BAN",
        "the account was banned by Telegram",
        "",
        OTHER_ACCOUNT,
    ),
    errors.PhoneNumberBannedError: (
        "PHONE_NUMBER_BANNED",
        "the account's phone number is banned by Telegram",
        "",
        OTHER_ACCOUNT,
    ),
    errors.FrozenMethodInvalidError: (
        "FROZEN_METHOD_INVALID",
        "the account is frozen by Telegram",
        "see @SpamBot in a Telegram app",
        OTHER_ACCOUNT,
    ),
}
"""Telegram's answers that the account cannot be used, by Telethon's class: the code, what it means (and
more detail when there is some), the fix."""

_ACCOUNT_ERRORS: Any = (
    errors.UnauthorizedError,  # every 401: AUTH_KEY_UNREGISTERED, SESSION_REVOKED, USER_DEACTIVATED, ...
    *ACCOUNT_CAUSES,
)

_CONNECTION_ERRORS: Any = (ConnectionError, EOFError, TimeoutError, socket.gaierror)
"""How a connection that failed or was closed reaches Telethon's caller: ``ConnectionError`` (refused, reset,
"failed 5 times"), ``EOFError`` (``asyncio.IncompleteReadError``: the server closed the connection during
the key exchange), ``TimeoutError`` (no answer), ``socket.gaierror`` (a proxy's name does not resolve)."""


def account_error(exc: Exception) -> AccountError:
    """The tgvault form of Telegram's answer that the account cannot be used: the cause, in words, and the fix.

    E.g. ``Telegram account: the session was terminated (SESSION_REVOKED: logged out from another device,
    or all other sessions were ended); run `tgvault login` ...``.
    """
    for kind in type(exc).__mro__:
        if kind in ACCOUNT_CAUSES:
            code, meaning, detail, fix = ACCOUNT_CAUSES[kind]
            break
    else:  # a 401 Telethon has no class for: its message is Telegram's code
        code = str(getattr(exc, "message", "") or type(exc).__name__)
        meaning, detail, fix = "Telegram no longer accepts this session", "", LOGIN_AGAIN
    why = f"{code}: {detail}" if detail else code
    return AccountError(f"{ACCOUNT}: {meaning} ({why}); {fix}", cause=code)


def connection_problem(exc: BaseException) -> str:
    """What went wrong with the connection, in words (Telethon's own wording only where it is readable)."""
    if isinstance(exc, EOFError):
        return "the server closed the connection"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, socket.gaierror):
        return f"the address does not resolve ({exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror  # "Connection refused", without the errno
    return str(exc) or type(exc).__name__


@contextmanager
def translated_errors(channel: str | None) -> Any:
    """Turn Telethon's errors into tgvault's, naming the channel (None: connecting, no channel concerned)."""
    where = "" if channel is None else f"channel {channel}: "
    try:
        yield
    except errors.FloodWaitError as exc:
        raise FloodWaitTooLongError(int(exc.seconds)) from exc
    except _ACCOUNT_ERRORS as exc:
        raise account_error(exc) from exc
    except (
        errors.ChannelPrivateError,
        errors.ChannelInvalidError,
        errors.ChannelPublicGroupNaError,
        errors.ChatForbiddenError,
    ) as exc:
        raise ChannelUnavailableError(str(channel), "is private, or this account was banned from it") from exc
    except (errors.UsernameNotOccupiedError, errors.UsernameInvalidError) as exc:
        raise ChannelUnavailableError(str(channel), NO_SUCH_USERNAME) from exc
    except errors.RPCError as exc:
        raise SourceError(f"{where}Telegram answered {exc}") from exc
    except _CONNECTION_ERRORS as exc:
        raise SourceConnectionError(
            f"{where}cannot reach Telegram: {connection_problem(exc)}; "
            "check the network (and the proxy or firewall), then try again"
        ) from exc
