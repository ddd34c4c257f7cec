"""Which channel a name on the command line means: a numeric id, an @username, a t.me link or a title.

``tgvault status`` shows each channel's id, @username and title; every command that takes a channel
accepts any of them. Ids (also ``-100<id>`` and ``t.me/c/<id>``), @usernames and links are read by the
config's own parser (:func:`tgvault.config.parse_channel_ref`); anything else is looked up among the
archived channels' titles, exactly first and then in any case. A title several channels share is refused
with the candidates listed (:class:`~tgvault.errors.AmbiguousChannelError`, exit 2).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from tgvault.config import ChannelRef, parse_channel_ref
from tgvault.domain import Channel
from tgvault.errors import AmbiguousChannelError, ConfigError, StorageError, UsageError
from tgvault.storage.unit_of_work import UnitOfWork

_HOW = "name a channel by its @username, t.me link, numeric id or title, as `tgvault status` shows them"


def find_archived(uow: UnitOfWork, text: str, *, titles: bool = True) -> Channel | None:
    """The archived channel ``text`` names, or None; a title shared by several raises AmbiguousChannelError."""
    name = text.strip()
    ref = _ref(name)
    if ref is not None:
        if ref.channel_id is not None:
            found = uow.channels.get(ref.channel_id)
        else:
            assert ref.username is not None
            found = uow.channels.find(ref.username)
        if found is not None or _explicit(name):
            return found
    return _by_title(uow, name) if titles else None


def archived_channel(uow: UnitOfWork, text: str) -> Channel:
    """The archived channel ``text`` names (for the commands that read the archive: export, reparse)."""
    found = find_archived(uow, text)
    if found is not None:
        return found
    first = f"; or archive it first: tgvault backfill {text}" if _ref(text.strip()) is not None else ""
    raise StorageError(f"channel {text} is not in the archive ({_HOW}){first}")


def source_name(unit_of_work: Callable[[], UnitOfWork] | None, text: str) -> str:
    """The name to give a source (and to match in the config) for what the user typed.

    An @username, a link or an id is kept as typed; a title becomes its archived channel's @username, or
    its id when it has none. Text that is neither a channel name nor an archived title raises UsageError.
    ``unit_of_work`` is None when there is no archive yet.
    """
    name = text.strip()
    found = None
    if unit_of_work is not None:
        with unit_of_work() as uow:
            found = find_archived(uow, name)
    ref = _ref(name)
    if found is None:
        if ref is None:
            raise UsageError(f"no archived channel is titled {name!r}, and it is not a channel name; {_HOW}")
        return name
    if ref is not None and (
        ref.channel_id == found.id or (ref.username or "").lower() == (found.username or "").lower()
    ):
        return name
    return f"@{found.username}" if found.username else str(found.id)


def import_choice(unit_of_work: Callable[[], UnitOfWork], text: str) -> str:
    """``import tdesktop --channel``: an archived channel named by @username or link becomes its id (the one
    thing an export and the archive share); ``-100<id>`` and ``t.me/c/<id>`` become the bare id; a title is
    passed on (in the archive's own spelling when a channel there has it: an HTML export is matched to an
    archived channel by title), and one that several archived channels share is refused, listing them."""
    name = text.strip()
    ref = _ref(name)
    with unit_of_work() as uow:
        if ref is None:
            titled = _by_title(uow, name)
            return titled.title if titled is not None else name
        found = find_archived(uow, name, titles=False)
    if found is not None:
        return str(found.id)
    return str(ref.channel_id) if ref.channel_id is not None else name


def _ref(name: str) -> ChannelRef | None:
    try:
        return parse_channel_ref(name)
    except ConfigError:
        return None


def _explicit(name: str) -> bool:
    """An @username, a link or a number is a channel name, never a title."""
    lowered = name.lower()
    return (
        name.startswith("@") or "t.me/" in lowered or "telegram.me/" in lowered or name.lstrip("-").isdigit()
    )


def _by_title(uow: UnitOfWork, name: str) -> Channel | None:
    """Exactly (after Unicode normalisation: a title typed in a terminal may order its combining marks
    differently from Telegram's), else ignoring case and compatibility forms."""
    channels = uow.channels.list()
    wanted = unicodedata.normalize("NFC", name)
    matches = [
        channel for channel in channels if unicodedata.normalize("NFC", channel.title.strip()) == wanted
    ]
    if not matches:
        folded = _folded(name)
        matches = [channel for channel in channels if _folded(channel.title) == folded]
    if len(matches) > 1:
        raise AmbiguousChannelError(name, [(c.id, c.username, c.title) for c in matches])
    return matches[0] if matches else None


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text.strip()).casefold()
