"""Telethon's errors while archiving a channel, turned into tgvault's typed exceptions naming the channel."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from telethon import errors

from tgvault.errors import (
    ChannelUnavailableError,
    FloodWaitTooLongError,
    NotLoggedInError,
    SourceError,
)

NO_SUCH_USERNAME = "no channel has this username (renamed or deleted?)"


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
        raise ChannelUnavailableError(channel, NO_SUCH_USERNAME) from exc
    except errors.AuthKeyError as exc:
        raise NotLoggedInError(
            f"the Telegram session is not authorised ({exc}); run `tgvault login`"
        ) from exc
    except errors.RPCError as exc:
        raise SourceError(f"channel {channel}: Telegram answered {exc}") from exc
    except ConnectionError as exc:
        raise SourceError(f"channel {channel}: cannot reach Telegram ({exc})") from exc
