"""Read a Telegram Desktop JSON export (``result.json``) into channels, posts and the files beside it.

Accepted inputs: a single chat's ``result.json`` (or the folder holding it, with ``photos/``, ``files/``,
``video_files/``, ...), or a full-account export's ``result.json`` (``chats.list`` and ``left_chats.list``:
every channel and supergroup in it is read, or only the one named). Both JSON formats are read: the
current one (``text_entities``, ``date_unixtime``, ``from_id`` like ``channel123``) and the older one
(mixed ``text`` lists only, numeric ``from_id``, local times without a UTC offset, which need a time zone).

The whole file is read and every message checked and mapped; a malformed or truncated file raises
:class:`~tgvault.errors.ImportFormatError` naming the place (message index and id, field). The raw Desktop
message is kept in ``Post.raw`` as ``{"tdesktop": {...}}`` so that :mod:`tgvault.export.desktop_json` can
write it back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any

from tgvault.domain import Channel
from tgvault.errors import ImportFormatError, SourceError, TimezoneRequiredError
from tgvault.formats.desktop import CHANNEL_TYPES
from tgvault.sources.tdesktop.files import find_files
from tgvault.sources.tdesktop.json_fields import Fields
from tgvault.sources.tdesktop.json_messages import message_of
from tgvault.sources.tdesktop.records import ExportChat, JsonExport

__all__ = ["read_json_export"]

_LAST_ID = re.compile(r'"id"\s*:\s*(-?\d+)')


def read_json_export(json_path: Path, channel_name: str | None, timezone: tzinfo | None) -> JsonExport:
    """Read the channels of ``json_path`` (every one, or the one ``channel_name`` names by name or id).

    ``timezone`` is the zone of the computer that made an older export whose times have no UTC offset.
    Raises :class:`ImportFormatError` for a malformed or truncated export, :class:`TimezoneRequiredError`
    when local times need ``timezone``, and :class:`SourceError` when the file cannot be read or holds no
    (such) channel.
    """
    chats = _chats(_load(json_path), json_path, channel_name)
    local_times = any(_needs_timezone(chat) for _, chat in chats)
    if local_times and timezone is None:
        for where, chat in chats:  # a malformed message (a bad date) is named before a time zone is asked for
            _parse_chat(where, chat, UTC)
        raise TimezoneRequiredError(
            f"{json_path}: this export (an older Telegram Desktop format) gives local times without a UTC "
            "offset; give the time zone of the computer that made it with --timezone, e.g. "
            "--timezone Europe/Berlin"
        )
    parsed = tuple(_parse_chat(where, chat, timezone) for where, chat in chats)
    files = find_files(json_path.parent, (message for chat in parsed for message in chat.messages))
    return JsonExport(path=json_path, chats=parsed, local_times=local_times, files=files)


def _load(path: Path) -> Any:
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read: {exc.strerror}") from exc
    try:
        return json.loads(content)
    except UnicodeDecodeError as exc:
        raise ImportFormatError(f"not UTF-8 text (byte {exc.start})", location=str(path)) from exc
    except json.JSONDecodeError as exc:
        last = None
        for found in _LAST_ID.finditer(exc.doc, 0, exc.pos):
            last = found.group(1)
        after = f", after message id {last}" if last else ""
        raise ImportFormatError(
            f"not valid JSON, the file is damaged or truncated: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}{after}",
            location=str(path),
        ) from exc
    except RecursionError:
        raise ImportFormatError(
            "not a Desktop export: the JSON is nested too deep to read", location=str(path)
        ) from None
    except ValueError as exc:  # an integer of more than 4,300 digits (Python's limit on reading one)
        raise ImportFormatError(
            f"not a Desktop export: {str(exc).split(';')[0]}", location=str(path)
        ) from None


def _chats(document: Any, path: Path, channel_name: str | None) -> list[tuple[str, Fields]]:
    """The chats to import, each with the place it sits in the file."""
    top = Fields(document, str(path))
    if top.has("messages"):
        chat = top
        kind = chat.string("type") or ""
        if kind not in CHANNEL_TYPES:
            chat.fail(
                "type", f"this export is a {kind or 'chat of unknown type'}; only channels can be imported"
            )
        if channel_name is not None and channel_name not in (chat.string("name"), str(chat.data.get("id"))):
            raise SourceError(f"{path} holds {chat.string('name')!r}, not {channel_name!r}")
        return [(str(path), chat)]
    found: list[tuple[str, Fields]] = []
    for section in ("chats", "left_chats"):
        holder = top.obj(section)
        if holder is None:
            continue
        for position, item in enumerate(holder.array("list")):
            where = f"{path}, {section}.list[{position}]"
            chat = Fields(item, where)
            if (chat.string("type") or "") in CHANNEL_TYPES:
                found.append((where, chat))
    if not top.has("chats"):
        raise ImportFormatError(
            "neither a chat export ('messages') nor a full-account export ('chats.list')", location=str(path)
        )
    if channel_name is not None:
        chosen = [(w, c) for w, c in found if channel_name in (c.string("name"), str(c.data.get("id")))]
        if not chosen:
            names = ", ".join(repr(c.string("name")) for _, c in found) or "none"
            raise SourceError(f"{path}: no channel named {channel_name!r} (channels in the export: {names})")
        return chosen
    if not found:
        raise SourceError(f"{path}: the export holds no channels")
    return found


def _needs_timezone(chat: Fields) -> bool:
    for message in chat.data.get("messages") or ():
        if isinstance(message, Mapping) and (
            ("date" in message and message.get("date_unixtime") is None)
            or ("edited" in message and message.get("edited_unixtime") is None)
        ):
            return True
    return False


def _parse_chat(where: str, chat: Fields, zone: tzinfo | None) -> ExportChat:
    channel_id = chat.integer("id", required=True)
    assert channel_id is not None
    kind = CHANNEL_TYPES[chat.string("type") or ""]
    channel = Channel(id=channel_id, title=chat.string("name") or str(channel_id), kind=kind)
    messages = [
        message_of(item, f"{where}, message #{position}", channel_id, zone)
        for position, item in enumerate(chat.array("messages"))
    ]
    return ExportChat(channel=channel, messages=messages)
