"""Import Telegram Desktop exports ("Export chat history", machine-readable JSON) into the archive.

Accepted inputs: a single chat's ``result.json`` (or the folder holding it, with ``photos/``, ``files/``,
``video_files/``, ...), or a full-account export's ``result.json`` (``chats.list`` and ``left_chats.list``:
every channel and supergroup in it is imported, or only the one named). Both JSON formats are read: the
current one (``text_entities``, ``date_unixtime``, ``from_id`` like ``channel123``) and the older one
(mixed ``text`` lists only, numeric ``from_id``, local times without a UTC offset, which need a time zone).
HTML exports (``messages.html``, ``messages2.html``, ...; read by :mod:`tgvault.sources.tdesktop_html`)
are imported by the same rules; they carry no channel id, so the channel is the archived one with the
export's title, or the one ``channel_name`` names (an archived channel's username, id or title, or a new
channel's numeric id).

**Validation before writing.** The whole file is read and every message checked and mapped first; a
malformed or truncated file raises :class:`~tgvault.errors.ImportFormatError` naming the place (message
index and id, field) before the archive or the media store is touched.

**One transaction per import.** All channels of one import are written in one unit of work, committed at
the end; an error on the way leaves the archive as it was. (Media files copied into the store before such
an error stay there: they are content-addressed, so a later import simply reuses them.)

**Merge rule** for a post already archived (identity ``(channel_id, message_id)``):

- archived from an earlier Desktop import (``Post.raw["tdesktop"]``): replaced by the export's state when
  that is at least as new (``edit_date`` or else ``date``); a different text, formatting or attachment
  turns the archived state into a revision. An older state than the archived one is not stored.
- archived from the web preview: the export is richer, so its state is written and merged field by
  field with the web's record (:mod:`tgvault.merge`: the web's views and author fill what the export
  lacks; a differing text of the web's is kept as a revision).
- archived through Telethon: Telethon's data is richer (ids, views, reactions, file
  references), so the post is kept as it is, unless the export's *text* differs and the export's state is
  newer: then the post takes the export's text and entities (everything else stays), and the Telethon state
  becomes a revision.
- a deleted post keeps its tombstone and content; an import never revives it.
- in every case, a file the archive still lacks is taken from the export when it matches (same kind and
  size), and recorded as downloaded.

Media files present in the export are copied into the media store (named by sha256, deduplicated) and
recorded as downloaded. Desktop's "(File not included. ...)" placeholders, and files missing from the
export, are recorded as not downloaded (pending, with their size) so a later Telethon sync fetches them.
File paths in the export are only ever read, and only inside the export's folder: a path that leaves it
(``../``, absolute, or through a symlink) is refused with a warning. The raw Desktop message is kept in
``Post.raw`` as ``{"tdesktop": {...}, "tdesktop_files": {<path in export>: <path in store>}}`` so that
:mod:`tgvault.export.desktop_json` can write it back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path, PurePosixPath
from typing import Any, Literal, NoReturn

from pydantic import ValidationError

from tgvault.domain import (
    Channel,
    ChannelKind,
    Contact,
    EntityKind,
    Forward,
    Location,
    MediaItem,
    MediaKind,
    MediaStatus,
    Poll,
    PollAnswer,
    Post,
    Reaction,
    ServiceAction,
    SourceKind,
    TextEntity,
)
from tgvault.errors import ImportFormatError, SourceError, TimezoneRequiredError
from tgvault.export.desktop_json import (
    DESKTOP_ACTIONS,
    DESKTOP_ENTITY_TYPES,
    DESKTOP_MEDIA_TYPES,
    is_file_placeholder,
)
from tgvault.sources.tdesktop_html import RAW_KEY as HTML_RAW_KEY
from tgvault.sources.tdesktop_html import (
    ExportMessage,
    html_pages,
    needs_timezone,
    read_html_export,
    read_title,
)
from tgvault.storage.media_store import LocalMediaStore, StoredFile
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.text import utf16_len

__all__ = ["CHANNEL_TYPES", "ChannelImportSummary", "ImportSummary", "import_tdesktop"]

CHANNEL_TYPES: Mapping[str, ChannelKind] = {
    "public_channel": ChannelKind.CHANNEL,
    "private_channel": ChannelKind.CHANNEL,
    "public_supergroup": ChannelKind.SUPERGROUP,
    "private_supergroup": ChannelKind.SUPERGROUP,
}
"""Desktop chat types that are Telegram channels (the only chats the archive keeps)."""

_ENTITY_KINDS = {name: kind for kind, name in DESKTOP_ENTITY_TYPES.items()}
_MEDIA_KINDS = {name: kind for kind, name in DESKTOP_MEDIA_TYPES.items()}
_SERVICE_TYPES = {action: kind for kind, action in DESKTOP_ACTIONS.items()}
_PEER_ID = re.compile(r"^(channel|user|chat)(\d+)$")
_LAST_ID = re.compile(r'"id"\s*:\s*(-?\d+)')
_BATCH = 500
_COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class ChannelImportSummary:
    """What an import did to one channel."""

    channel_id: int
    title: str
    messages: int
    """Messages read from the export."""
    added: int
    edited: int
    """Archived posts that took the export's newer state (the earlier one became a revision)."""
    unchanged: int
    kept: int
    """Archived posts left as they were (Telethon's data is richer, or the post is deleted)."""
    older: int
    """Posts whose archived state is newer than the export's, which was therefore not stored."""
    files_stored: int
    """Files copied from the export into the media store (attachments, thumbnails, custom emoji)."""
    bytes_stored: int
    media_pending: int
    """Attachments recorded as not downloaded (placeholders, missing or refused files)."""
    paths_refused: int
    """File paths refused because they lead outside the export's folder."""


@dataclass(frozen=True)
class ImportSummary:
    """What an import did: per channel, plus the time zone assumed for local times and any warnings."""

    source: Path
    channels: tuple[ChannelImportSummary, ...]
    timezone_assumed: str | None
    """The zone local times were read in; None when every time had a Unix timestamp."""
    warnings: tuple[str, ...]

    @property
    def posts_added(self) -> int:
        """Posts new to the archive, over all channels."""
        return sum(channel.added for channel in self.channels)

    @property
    def posts_edited(self) -> int:
        """Posts that took a newer state from the export, over all channels."""
        return sum(channel.edited for channel in self.channels)

    @property
    def files_stored(self) -> int:
        """Files copied into the media store, over all channels."""
        return sum(channel.files_stored for channel in self.channels)


# --------------------------------------------------------------------------------------------- reading


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


class _Fields:
    """Typed access to one JSON object; every problem raises ImportFormatError naming the field."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            raise ImportFormatError(f"expected an object, got {_json_type(data)}", location=where)
        self.data: Mapping[str, Any] = data
        self.where = where

    def fail(self, key: str, problem: str) -> NoReturn:
        raise ImportFormatError(problem, location=f"{self.where}, field {key!r}")

    def has(self, key: str) -> bool:
        return key in self.data

    def _get(self, key: str, required: bool) -> Any:
        value = self.data.get(key)
        if value is None and required:
            self.fail(key, "missing")
        return value

    def integer(self, key: str, *, required: bool = False) -> int | None:
        value = self._get(key, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"expected an integer, got {_json_type(value)}")
        return value

    def number(self, key: str) -> float | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(key, f"expected a number, got {_json_type(value)}")
        return float(value)

    def string(self, key: str, *, required: bool = False) -> str | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(key, f"expected a string, got {_json_type(value)}")
        return value

    def boolean(self, key: str) -> bool:
        value = self.data.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {_json_type(value)}")
        return value

    def array(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(key, f"expected a list, got {_json_type(value)}")
        return value

    def obj(self, key: str) -> _Fields | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.fail(key, f"expected an object, got {_json_type(value)}")
        return _Fields(value, f"{self.where}, field {key!r}")

    def numeric_id(self, key: str) -> int | str | None:
        """An id Desktop writes as a number, a numeric string, a path or a placeholder."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if not isinstance(value, str):
            self.fail(key, f"expected a string or number, got {_json_type(value)}")
        return int(value) if value.lstrip("-").isdigit() else value

    def peer(self, key: str) -> tuple[str, int] | None:
        """A peer id: ``"channel123"``/``"user123"``/``"chat123"``, or a bare number (older exports)."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return ("", value)
        if not isinstance(value, str):
            self.fail(key, f'expected a peer id such as "channel123", got {_json_type(value)}')
        match = _PEER_ID.match(value)
        if match:
            return (match.group(1), int(match.group(2)))
        if value.isdigit():
            return ("", int(value))
        return None

    def moment(self, key: str, zone: tzinfo | None, *, required: bool = False) -> datetime | None:
        """``key`` as UTC: from ``<key>_unixtime`` when present, else the local time read in ``zone``."""
        unix = self.data.get(f"{key}_unixtime")
        if unix is not None:
            if isinstance(unix, bool) or not isinstance(unix, int | str):
                self.fail(f"{key}_unixtime", f"expected a Unix time, got {_json_type(unix)}")
            try:
                return datetime.fromtimestamp(int(unix), UTC)
            except (ValueError, OverflowError, OSError):
                self.fail(f"{key}_unixtime", f"not a Unix time: {unix!r}")
        local = self.string(key, required=required)
        if local is None:
            return None
        try:
            parsed = datetime.fromisoformat(local)
        except ValueError:
            self.fail(key, f"not a date and time: {local!r}")
        if parsed.tzinfo is None:
            if zone is None:
                raise TimezoneRequiredError(f"{self.where}, field {key!r}: local time without a time zone")
            parsed = parsed.replace(tzinfo=zone)
        return parsed.astimezone(UTC)


@dataclass(frozen=True)
class _Chat:
    channel: Channel
    messages: list[ExportMessage]


def _text(fields: _Fields, files: list[str]) -> tuple[str, tuple[TextEntity, ...]]:
    """Text and entities (UTF-16 offsets) from ``text_entities``, or from the older mixed ``text``."""
    key = "text_entities" if fields.has("text_entities") else "text"
    source = fields.data.get(key)
    if source is None:
        return "", ()
    if isinstance(source, str):
        source = [source]
    if not isinstance(source, list):
        fields.fail(key, f"expected a string or a list, got {_json_type(source)}")
    pieces: list[str] = []
    entities: list[TextEntity] = []
    offset = 0
    for position, item in enumerate(source):
        if isinstance(item, str):
            pieces.append(item)
            offset += utf16_len(item)
            continue
        part = _Fields(item, f"{fields.where}, field '{key}[{position}]'")
        kind_name = part.string("type", required=True)
        text = part.string("text")
        if text is None:
            part.fail("text", "missing")
        length = utf16_len(text)
        if kind_name != "plain" and length > 0:
            entities.append(_entity(part, kind_name or "", offset, length, files))
        pieces.append(text)
        offset += length
    return "".join(pieces), tuple(entities)


def _entity(part: _Fields, kind_name: str, offset: int, length: int, files: list[str]) -> TextEntity:
    kind = _ENTITY_KINDS.get(kind_name, EntityKind.UNKNOWN)
    extra: dict[str, Any] = {}
    if kind is EntityKind.PRE:
        extra["language"] = part.string("language") or None
    elif kind is EntityKind.TEXT_LINK:
        extra["url"] = part.string("href")
    elif kind is EntityKind.MENTION_NAME:
        user_id = part.numeric_id("user_id")
        if isinstance(user_id, str):
            part.fail("user_id", f"expected a user id, got {user_id!r}")
        extra["user_id"] = user_id
    elif kind is EntityKind.CUSTOM_EMOJI:
        document = part.numeric_id("document_id")
        if isinstance(document, int):
            extra["document_id"] = document
        elif document is not None and not is_file_placeholder(document):
            files.append(document)
    elif kind is EntityKind.BLOCKQUOTE:
        extra["collapsed"] = part.boolean("collapsed")
    return TextEntity(kind=kind, offset=offset, length=length, **extra)


def _media(fields: _Fields, service: bool) -> tuple[MediaItem | None, str | None]:
    """The attachment as a pending MediaItem, and its path in the export (None for a placeholder)."""
    if fields.has("photo"):
        value = fields.string("photo", required=True)
        item = MediaItem(
            kind=MediaKind.PHOTO,
            mime_type="image/jpeg",  # Telegram serves every photo as JPEG
            size=fields.integer("photo_file_size"),
            width=fields.integer("width"),
            height=fields.integer("height"),
        )
    elif fields.has("file") and not service:
        value = fields.string("file", required=True)
        media_type = fields.string("media_type")
        item = MediaItem(
            kind=_MEDIA_KINDS.get(media_type or "", MediaKind.DOCUMENT),
            mime_type=fields.string("mime_type"),
            file_name=fields.string("file_name"),
            size=fields.integer("file_size"),
            width=fields.integer("width"),
            height=fields.integer("height"),
            duration=fields.number("duration_seconds"),
            performer=fields.string("performer"),
            title=fields.string("title"),
            sticker_emoji=fields.string("sticker_emoji"),
        )
    else:
        return None, None
    assert value is not None
    return item, None if is_file_placeholder(value) else value


def _reactions(fields: _Fields, files: list[str]) -> tuple[Reaction, ...]:
    found = []
    for position, item in enumerate(fields.array("reactions")):
        part = _Fields(item, f"{fields.where}, field 'reactions[{position}]'")
        kind = part.string("type", required=True)
        count = part.integer("count", required=True)
        assert count is not None
        if kind == "emoji":
            found.append(Reaction(emoji=part.string("emoji", required=True), count=count))
        elif kind == "custom_emoji":
            document = part.numeric_id("document_id")
            if isinstance(document, int):
                found.append(Reaction(custom_emoji_id=document, count=count))
            else:
                if document is not None and not is_file_placeholder(document):
                    files.append(document)
                found.append(Reaction(count=count))
        elif kind == "paid":
            found.append(Reaction(paid=True, count=count))
    return tuple(found)


def _poll(fields: _Fields) -> Poll | None:
    poll = fields.obj("poll")
    if poll is None:
        return None
    answers = []
    for position, item in enumerate(poll.array("answers")):
        answer = _Fields(item, f"{poll.where}, field 'answers[{position}]'")
        answers.append(
            PollAnswer(
                text=answer.string("text", required=True) or "",
                voters=answer.integer("voters"),
                chosen=answer.boolean("chosen"),
            )
        )
    return Poll(
        question=poll.string("question", required=True) or "",
        answers=tuple(answers),
        total_voters=poll.integer("total_voters"),
        closed=poll.boolean("closed"),
    )


def _location(fields: _Fields) -> Location | None:
    point = fields.obj("location_information")
    if point is None:
        return None
    latitude, longitude = point.number("latitude"), point.number("longitude")
    if latitude is None or longitude is None:
        point.fail("latitude" if latitude is None else "longitude", "missing")
    return Location(
        latitude=latitude,
        longitude=longitude,
        title=fields.string("place_name"),
        address=fields.string("address"),
        live_period=fields.integer("live_location_period_seconds"),
    )


def _contact(fields: _Fields, files: list[str]) -> Contact | None:
    card = fields.obj("contact_information")
    if card is None:
        return None
    vcard = fields.string("contact_vcard")
    if vcard and not is_file_placeholder(vcard):
        files.append(vcard)
    return Contact(
        first_name=card.string("first_name") or "",
        last_name=card.string("last_name") or None,
        phone_number=card.string("phone_number") or None,
    )


def _message(data: object, where: str, channel_id: int, zone: tzinfo | None) -> ExportMessage:
    fields = _Fields(data, where)
    message_id = fields.integer("id", required=True)
    assert message_id is not None
    fields.where = where = f"{where} (id {message_id})"
    kind = fields.string("type", required=True)
    if kind not in ("message", "service"):
        fields.fail("type", f'expected "message" or "service", got {kind!r}')
    service = kind == "service"
    files: list[str] = []
    values: dict[str, Any] = {
        "channel_id": channel_id,
        "message_id": message_id,
        "source": SourceKind.TDESKTOP,
        "date": fields.moment("date", zone, required=True),
        "edit_date": fields.moment("edited", zone),
    }
    values["text"], values["entities"] = _text(fields, files)
    media, media_path = _media(fields, service)
    if media_path is not None:
        files.append(media_path)
    values["media"] = media
    if service:
        action = fields.string("action", required=True) or ""
        values["service"] = ServiceAction(
            type=_SERVICE_TYPES.get(action, action),
            title=fields.string("title"),
            pinned_message_id=fields.integer("message_id") if action == "pin_message" else None,
        )
    else:
        values["author"] = fields.string("author")
        values["reply_to_message_id"] = fields.integer("reply_to_message_id")
        reply_peer = fields.peer("reply_to_peer_id")
        if reply_peer is not None and reply_peer[0] == "channel":
            values["reply_to_channel_id"] = reply_peer[1]
        if fields.has("forwarded_from"):
            origin = fields.peer("forwarded_from_id")
            values["forward"] = Forward(
                from_name=fields.string("forwarded_from"),
                from_channel_id=origin[1] if origin and origin[0] == "channel" else None,
                from_user_id=origin[1] if origin and origin[0] == "user" else None,
            )
        values["reactions"] = _reactions(fields, files)
        values["poll"] = _poll(fields)
        values["location"] = _location(fields)
        values["contact"] = _contact(fields, files)
        thumbnail = fields.string("thumbnail")
        if thumbnail and not is_file_placeholder(thumbnail):
            files.append(thumbnail)
    values["raw"] = {"tdesktop": dict(fields.data)}
    try:
        post = Post(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(part) for part in first["loc"])
        raise ImportFormatError(f"{first['msg']} ({place})", location=where) from exc
    return ExportMessage(post=post, where=where, media_path=media_path, files=tuple(dict.fromkeys(files)))


# --------------------------------------------------------------------------------------------- files


def _locate(path: Path) -> Path:
    """The export's ``result.json``, or for an HTML export the folder holding ``messages.html``."""
    if path.is_dir():
        candidate = path / "result.json"
        if candidate.is_file():
            return candidate
        if html_pages(path):
            return path
        raise ImportFormatError("neither result.json nor messages.html in this folder", location=str(path))
    if path.suffix.lower() in (".html", ".htm"):
        return path.parent
    if not path.is_file():
        raise SourceError(f"{path}: no such file or folder")
    return path


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


def _chats(document: Any, path: Path, channel_name: str | None) -> list[tuple[str, _Fields]]:
    """The chats to import, each with the place it sits in the file."""
    top = _Fields(document, str(path))
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
    found: list[tuple[str, _Fields]] = []
    for section in ("chats", "left_chats"):
        holder = top.obj(section)
        if holder is None:
            continue
        for position, item in enumerate(holder.array("list")):
            where = f"{path}, {section}.list[{position}]"
            chat = _Fields(item, where)
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


def _needs_timezone(chat: _Fields) -> bool:
    for message in chat.data.get("messages") or ():
        if isinstance(message, Mapping) and (
            ("date" in message and message.get("date_unixtime") is None)
            or ("edited" in message and message.get("edited_unixtime") is None)
        ):
            return True
    return False


def _parse_chat(where: str, chat: _Fields, zone: tzinfo | None) -> _Chat:
    channel_id = chat.integer("id", required=True)
    assert channel_id is not None
    kind = CHANNEL_TYPES[chat.string("type") or ""]
    channel = Channel(id=channel_id, title=chat.string("name") or str(channel_id), kind=kind)
    messages = [
        _message(item, f"{where}, message #{position}", channel_id, zone)
        for position, item in enumerate(chat.array("messages"))
    ]
    return _Chat(channel=channel, messages=messages)


# --------------------------------------------------------------------------------------------- storing


@dataclass
class _Tally:
    added: int = 0
    edited: int = 0
    unchanged: int = 0
    kept: int = 0
    older: int = 0
    files: int = 0
    bytes: int = 0
    pending: int = 0
    refused: int = 0


@dataclass
class _Importer:
    """Copies an export's files into the media store and writes its posts by the merge rule."""

    root: Path
    store: LocalMediaStore
    warnings: list[str] = field(default_factory=list)
    _stored: dict[tuple[Path, int | None], StoredFile | None] = field(default_factory=dict)

    def _source(self, value: str, where: str, tally: _Tally) -> Path | None:
        """The file a path of the export names, if it is safely inside the export's folder and present."""
        relative = PurePosixPath(value.replace("\\", "/"))
        root = self.root.resolve()
        unsafe = (
            not value
            or "\x00" in value
            or relative.is_absolute()
            or ".." in relative.parts
            or re.match(r"^[A-Za-z]:", value) is not None
        )
        candidate = None if unsafe else (root / relative).resolve()
        if candidate is None or not candidate.is_relative_to(root):
            tally.refused += 1
            self.warnings.append(f"{where}: file path {value!r} refused (it leads outside the export)")
            return None
        if not candidate.is_file():
            self.warnings.append(f"{where}: file {value!r} is not in the export; recorded as not downloaded")
            return None
        return candidate

    def store_file(
        self, value: str, where: str, tally: _Tally, *, mime_type: str | None = None, size: int | None = None
    ) -> StoredFile | None:
        """Copy one file of the export into the media store (once per file); None if unusable."""
        source = self._source(value, where, tally)
        if source is None:
            return None
        key = (source, size)
        if key in self._stored:
            return self._stored[key]
        stored = self._copy(source, value, where, mime_type, size)
        if stored is not None:
            tally.files += 1
            tally.bytes += stored.size
        self._stored[key] = stored
        return stored

    def _copy(
        self, source: Path, value: str, where: str, mime_type: str | None, size: int | None
    ) -> StoredFile | None:
        try:
            reader = source.open("rb")
        except OSError as exc:
            self.warnings.append(f"{where}: file {value!r} cannot be read: {exc.strerror}")
            return None
        # The export's name only hints at the extension; the store names the file by its sha256.
        with reader, self.store.begin(mime_type, PurePosixPath(value).name) as pending:
            while True:
                try:
                    chunk = reader.read(_COPY_CHUNK)
                except OSError as exc:
                    self.warnings.append(f"{where}: file {value!r} cannot be read: {exc.strerror}")
                    return None
                if not chunk:
                    break
                pending.write(chunk)
            if size is not None and pending.size != size:
                self.warnings.append(
                    f"{where}: file {value!r} has {pending.size} bytes, the export says {size}; "
                    "recorded as not downloaded"
                )
                return None
            return pending.commit()

    def _files(self, message: ExportMessage, tally: _Tally) -> tuple[StoredFile | None, dict[str, str]]:
        """Store every file the message names; the attachment's stored file and a map for ``raw``."""
        media = message.post.media
        attachment = None
        mapping: dict[str, str] = {}
        for value in message.files:
            if value == message.media_path and media is not None:
                stored = self.store_file(
                    value, message.where, tally, mime_type=media.mime_type, size=media.size
                )
                attachment = stored
            else:
                stored = self.store_file(value, message.where, tally)
            if stored is not None:
                mapping[value] = stored.path
        return attachment, mapping

    def _fill(self, message: ExportMessage, old: Post, tally: _Tally) -> tuple[int, StoredFile] | None:
        """The export's file for an archived post that still lacks it (same kind and size)."""
        new, have = message.post.media, old.media
        if new is None or have is None or message.media_path is None:
            return None
        if have.status is MediaStatus.DOWNLOADED or have.kind is not new.kind:
            return None
        stored = self.store_file(
            message.media_path, message.where, tally, mime_type=new.mime_type, size=new.size
        )
        if stored is None or (have.size is not None and have.size != stored.size):
            return None
        return (old.message_id, stored)

    def import_chat(self, uow: UnitOfWork, chat: _Chat) -> ChannelImportSummary:
        """Write one channel's messages (inside the caller's unit of work, which commits)."""
        channel = chat.channel
        if uow.channels.get(channel.id) is None:
            uow.channels.upsert(channel)
        tally = _Tally()
        for batch in _chunks(chat.messages, _BATCH):
            archived = uow.posts.get_many(channel.id, [message.post.message_id for message in batch])
            posts: list[Post] = []
            fills: list[tuple[int, StoredFile]] = []
            for message in batch:
                old = archived.get(message.post.message_id)
                decision = _decide(message.post, old)
                if decision in ("insert", "update"):
                    post, stored = self._post(message, old, tally)
                    if old is not None and _imported(old):
                        post = post.model_copy(update={"source": old.source})
                    posts.append(post)
                    if stored is not None:
                        fills.append((post.message_id, stored))
                    continue
                assert old is not None
                if decision == "merge":
                    _, mapping = self._files(message, tally)
                    posts.append(
                        old.model_copy(
                            update={
                                "text": message.post.text,
                                "entities": message.post.entities,
                                "edit_date": message.post.edit_date,
                                "raw": _raw(message, mapping),
                            }
                        )
                    )
                elif decision == "older":
                    tally.older += 1
                else:
                    tally.kept += 1
                fill = self._fill(message, old, tally)
                if fill is not None:
                    fills.append(fill)
            outcome = uow.posts.upsert_many(posts)
            tally.added += outcome.added
            tally.edited += outcome.edited
            tally.unchanged += outcome.unchanged
            for message_id, stored in fills:
                uow.media.mark_downloaded(
                    channel.id, message_id, sha256=stored.sha256, path=stored.path, size=stored.size
                )
        return ChannelImportSummary(
            channel_id=channel.id,
            title=channel.title,
            messages=len(chat.messages),
            added=tally.added,
            edited=tally.edited,
            unchanged=tally.unchanged,
            kept=tally.kept,
            older=tally.older,
            files_stored=tally.files,
            bytes_stored=tally.bytes,
            media_pending=tally.pending,
            paths_refused=tally.refused,
        )

    def _post(
        self, message: ExportMessage, old: Post | None, tally: _Tally
    ) -> tuple[Post, StoredFile | None]:
        """The export's post with its files stored, ready to upsert over ``old`` (or insert)."""
        attachment, mapping = self._files(message, tally)
        post = message.post
        media = post.media
        if media is not None:
            if attachment is not None:
                media = media.model_copy(
                    update={
                        "status": MediaStatus.DOWNLOADED,
                        "sha256": attachment.sha256,
                        "path": attachment.path,
                        "size": attachment.size,
                    }
                )
            else:
                tally.pending += 1
            media = _align_size(media, old)
        return post.model_copy(update={"media": media, "raw": _raw(message, mapping)}), attachment


def _raw(message: ExportMessage, files: Mapping[str, str]) -> dict[str, Any]:
    raw = dict(message.post.raw or {})
    if files:
        raw["tdesktop_files"] = dict(files)
    return raw


def _align_size(media: MediaItem, old: Post | None) -> MediaItem:
    """Keep a known size unknown (or an unknown one known) so that only a real change makes a revision.

    Older exports give no size for files they did not include; the size of a stored file is then set by
    ``mark_downloaded`` after the upsert, without counting as an edit.
    """
    have = None if old is None else old.media
    if have is None or have.kind is not media.kind:
        return media
    if media.size is None and have.size is not None:
        return media.model_copy(update={"size": have.size})
    if media.size is not None and have.size is None:
        return media.model_copy(update={"size": None})
    return media


def _imported(post: Post) -> bool:
    return isinstance(post.raw, Mapping) and ("tdesktop" in post.raw or HTML_RAW_KEY in post.raw)


def _decide(new: Post, old: Post | None) -> Literal["insert", "update", "merge", "keep", "older"]:
    """What the merge rule (see the module docstring) does with the export's ``new`` over ``old``."""
    if old is None:
        return "insert"
    if old.deleted_at is not None:
        return "keep"
    if old.source is SourceKind.WEB:
        return "update"  # the export is richer: merged field by field over the web's record
    new_time = new.edit_date or new.date
    old_time = old.edit_date or old.date
    if _imported(old):
        if new_time >= old_time:
            return "update"
        return "keep" if (new.text, new.entities) == (old.text, old.entities) else "older"
    if new.text == old.text:
        return "keep"
    return "merge" if new_time > old_time else "older"


def _chunks(items: Sequence[ExportMessage], size: int) -> Iterator[Sequence[ExportMessage]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def import_tdesktop(
    path: Path,
    uow_factory: Callable[[], UnitOfWork],
    media_store: LocalMediaStore,
    *,
    channel_name: str | None = None,
    timezone: tzinfo | None = None,
) -> ImportSummary:
    """Import a Telegram Desktop JSON export (a chat's ``result.json``, its folder, or a full-account export).

    ``channel_name`` picks one channel of a full-account export (by name or id). ``timezone`` is the zone
    of the computer that made an older export whose times have no UTC offset. Everything is validated
    before anything is written, then written in one transaction (see the module docstring for the merge
    rule). Raises :class:`ImportFormatError` for a malformed or truncated export,
    :class:`TimezoneRequiredError` when local times need ``timezone``, :class:`SourceError` when the file
    cannot be read or holds no (such) channel, and :class:`StorageError` when the media store cannot be
    written.
    """
    located = _locate(path)
    if located.is_dir():
        return _import_html(located, uow_factory, media_store, channel_name=channel_name, timezone=timezone)
    json_path = located
    chats = _chats(_load(json_path), json_path, channel_name)
    local_times = any(_needs_timezone(chat) for _, chat in chats)
    if local_times and timezone is None:
        raise TimezoneRequiredError(
            f"{json_path}: this export (an older Telegram Desktop format) gives local times without a UTC "
            "offset; give the time zone of the computer that made it with --timezone, e.g. "
            "--timezone Europe/Berlin"
        )
    parsed = [_parse_chat(where, chat, timezone) for where, chat in chats]
    media_store.prepare()
    importer = _Importer(root=json_path.parent, store=media_store)
    with uow_factory() as uow:
        summaries = tuple(importer.import_chat(uow, chat) for chat in parsed)
        uow.commit()
    return ImportSummary(
        source=json_path,
        channels=summaries,
        timezone_assumed=str(timezone) if local_times else None,
        warnings=tuple(importer.warnings),
    )


def _html_channel(uow: UnitOfWork, title: str, channel_name: str | None, folder: Path) -> Channel:
    """The archived channel an HTML export belongs to (HTML exports do not carry the channel's id)."""
    if channel_name is not None:
        found = uow.channels.find(channel_name)
        if found is None:
            found = next((c for c in uow.channels.list() if c.title == channel_name), None)
        if found is not None:
            return found
        key = channel_name.strip()
        if key.isdigit():
            return Channel(id=int(key), title=title)
        raise SourceError(
            f"{folder}: no archived channel {channel_name!r}; an HTML export does not say its channel's id, "
            "so give --channel the numeric id (as in t.me/c/<id>/...) or an archived channel's @username"
        )
    matches = [c for c in uow.channels.list() if c.title == title]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise SourceError(
            f"{folder}: several archived channels are titled {title!r}; choose one with --channel"
        )
    raise SourceError(
        f"{folder}: an HTML export does not say its channel's id and no archived channel is titled "
        f"{title!r}; give --channel with the numeric id (as in t.me/c/<id>/...) or an archived channel's "
        "@username, e.g. --channel 1234567890"
    )


def _import_html(
    folder: Path,
    uow_factory: Callable[[], UnitOfWork],
    media_store: LocalMediaStore,
    *,
    channel_name: str | None,
    timezone: tzinfo | None,
) -> ImportSummary:
    """Import an HTML export (``messages.html``, ``messages2.html``, ...) by the same rules as JSON."""
    pages = html_pages(folder)
    local_times = needs_timezone(folder)
    if local_times and timezone is None:
        raise TimezoneRequiredError(
            f"{folder}: this HTML export gives local times without a UTC offset; give the time zone of the "
            "computer that made it with --timezone, e.g. --timezone Europe/Berlin"
        )
    title = read_title(pages[0])
    with uow_factory() as uow:
        channel = _html_channel(uow, title, channel_name, folder)
    export = read_html_export(folder, channel.id, timezone)
    media_store.prepare()
    importer = _Importer(root=folder, store=media_store)
    with uow_factory() as uow:
        summary = importer.import_chat(uow, _Chat(channel=channel, messages=export.messages))
        uow.commit()
    return ImportSummary(
        source=pages[0],
        channels=(summary,),
        timezone_assumed=str(timezone) if export.local_times else None,
        warnings=tuple(importer.warnings),
    )
