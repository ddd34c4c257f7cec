"""Channel references: ``@name``, ``t.me`` links and numeric ids, normalised into :class:`ChannelRef`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from tgvault.errors import ConfigError

_USERNAME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_LINK_RE: Final = re.compile(
    r"(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/(.*)", re.IGNORECASE
)
_CHANNEL_HINT: Final = (
    "expected a @username, a t.me/<username> link or a numeric channel id like -1001234567890"
)


@dataclass(frozen=True)
class ChannelRef:
    """A channel named by public username or by Telegram's bare channel id (no -100 prefix)."""

    username: str | None = None
    channel_id: int | None = None

    @property
    def key(self) -> str:
        """Normalised lookup key: the lowercase username without ``@``, or the bare id as text."""
        return self.username.lower() if self.username is not None else str(self.channel_id)

    @property
    def display(self) -> str:
        """``@Username`` (case kept) or the bare id."""
        return f"@{self.username}" if self.username is not None else str(self.channel_id)


def _bad_channel(text: str, reason: str) -> ConfigError:
    return ConfigError(f"{text!r} is not a channel name ({reason}); {_CHANNEL_HINT}")


def _username_ref(text: str, candidate: str) -> ChannelRef:
    if not _USERNAME_RE.fullmatch(candidate):
        reason = (
            "a username has 4-32 letters, digits or underscores and starts with a letter"
            if candidate
            else "the username is empty"
        )
        raise _bad_channel(text, reason)
    return ChannelRef(username=candidate)


def parse_channel_ref(text: str) -> ChannelRef:
    """Normalise ``@name``, ``name``, ``t.me/name`` (also ``/s/name``, ``/name/123``), ``t.me/c/<id>``,
    ``-100<id>`` or ``<id>``. Raises :class:`ConfigError` naming the value and what is expected.
    """
    raw = text.strip()
    if not raw:
        raise _bad_channel(text, "it is empty")
    if any(ch.isspace() for ch in raw):
        raise _bad_channel(text, "it contains a space")
    link = _LINK_RE.fullmatch(raw)
    if link is not None:
        parts = [part for part in re.split(r"[?#]", link.group(1), maxsplit=1)[0].split("/") if part]
        if parts[:1] == ["s"]:
            parts = parts[1:]
        if not parts:
            raise _bad_channel(text, "the link names no channel")
        if parts[0] == "c" and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) > 0:
            return ChannelRef(channel_id=int(parts[1]))
        if parts[0].startswith("+") or parts[0] == "joinchat":
            raise _bad_channel(text, "invite links are not supported; use the channel's numeric id")
        if len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
            raise _bad_channel(text, "the link has more than a channel and a post id")
        return _username_ref(text, parts[0])
    if re.fullmatch(r"-?\d+", raw):
        number = int(raw)
        if raw.startswith("-100") and len(raw) > 4:
            number = int(raw[4:])
        elif number < 0:
            raise _bad_channel(text, "negative ids other than -100... belong to basic groups, not channels")
        if number <= 0:
            raise _bad_channel(text, "a channel id is a positive number")
        return ChannelRef(channel_id=number)
    return _username_ref(text, raw[1:] if raw.startswith("@") else raw)
