"""Export an archived channel in the shape of Telegram Desktop's "Export chat history" ``result.json``.

The file has Desktop's top level (``name``, ``type``, ``id``, ``messages``) and Desktop's message fields,
so tools written for Desktop exports can read it. Differences from Desktop, on purpose:

- ``date`` and ``edited`` are written in one time zone, UTC unless another is asked for (Desktop uses the
  local time of the computer that exported); ``date_unixtime``/``edited_unixtime`` are exact either way.
  The top level says which zone under ``"tgvault": {"timezone": ...}``.
- Media files are copied into a ``media/`` folder next to the JSON file, named as in the media store
  (``media/ab/cd/<sha256>.<ext>``); paths in the JSON are relative to the JSON file's folder. A file the
  archive has not downloaded gets Desktop's "(File not included. ...)" placeholder.
- Each message carries an extra ``"tgvault"`` object: views, forwards, grouped_id, the deletion tombstone,
  earlier revisions (text in Desktop's forms) and the media file's sha256.

Text is cut into parts exactly as Desktop does it (entities sorted by offset; an entity starting inside an
earlier one is dropped, since Desktop's format cannot nest; Desktop's trailing empty part after a final
entity in non-ASCII text is reproduced), so a channel imported from a Desktop export comes back the same.

The export streams: posts are read in batches and each message is encoded and written on its own, so a
channel of any size needs memory for one batch only. Output is deterministic for the same archive.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, TextIO

from tgvault.domain import (
    Channel,
    ChannelKind,
    EntityKind,
    MediaItem,
    MediaKind,
    MediaStatus,
    Post,
    PostRevision,
    Reaction,
    TextEntity,
)
from tgvault.errors import StorageError
from tgvault.storage.media_store import MediaStore
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.text import Utf16Index

__all__ = [
    "DESKTOP_ACTIONS",
    "DESKTOP_ENTITY_TYPES",
    "DESKTOP_MEDIA_TYPES",
    "FILE_NOT_INCLUDED",
    "ExportSummary",
    "desktop_text",
    "export_channel_json",
    "is_file_placeholder",
]

FILE_NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"
"""What Desktop writes instead of a path for a file it did not export."""

DESKTOP_ENTITY_TYPES: Mapping[EntityKind, str] = {
    EntityKind.BOLD: "bold",
    EntityKind.ITALIC: "italic",
    EntityKind.UNDERLINE: "underline",
    EntityKind.STRIKETHROUGH: "strikethrough",
    EntityKind.SPOILER: "spoiler",
    EntityKind.CODE: "code",
    EntityKind.PRE: "pre",
    EntityKind.BLOCKQUOTE: "blockquote",
    EntityKind.URL: "link",
    EntityKind.TEXT_LINK: "text_link",
    EntityKind.MENTION: "mention",
    EntityKind.MENTION_NAME: "mention_name",
    EntityKind.HASHTAG: "hashtag",
    EntityKind.CASHTAG: "cashtag",
    EntityKind.EMAIL: "email",
    EntityKind.PHONE: "phone",
    EntityKind.BOT_COMMAND: "bot_command",
    EntityKind.BANK_CARD: "bank_card",
    EntityKind.CUSTOM_EMOJI: "custom_emoji",
    EntityKind.UNKNOWN: "unknown",
}
"""Desktop's name of each entity kind in ``text`` / ``text_entities`` (unformatted parts are ``plain``)."""

DESKTOP_MEDIA_TYPES: Mapping[MediaKind, str] = {
    MediaKind.VIDEO: "video_file",
    MediaKind.ANIMATION: "animation",
    MediaKind.VOICE: "voice_message",
    MediaKind.AUDIO: "audio_file",
    MediaKind.ROUND_VIDEO: "video_message",
    MediaKind.STICKER: "sticker",
}
"""Desktop's ``media_type`` of a document; plain documents have none and photos use ``photo``."""

DESKTOP_ACTIONS: Mapping[str, str] = {
    "channel_create": "create_channel",
    "chat_create": "create_group",
    "chat_edit_title": "edit_group_title",
    "chat_edit_photo": "edit_group_photo",
    "chat_delete_photo": "delete_group_photo",
    "pin_message": "pin_message",
    "chat_add_user": "invite_members",
    "chat_delete_user": "remove_members",
    "chat_joined_by_link": "join_group_by_link",
    "chat_migrate_to": "migrate_to_supergroup",
    "channel_migrate_from": "migrate_from_group",
    "history_clear": "clear_history",
    "game_score": "score_in_game",
    "phone_call": "phone_call",
    "screenshot_taken": "take_screenshot",
    "group_call": "group_call",
    "invite_to_group_call": "invite_to_group_call",
    "set_messages_ttl": "set_messages_ttl",
    "set_chat_theme": "edit_chat_theme",
    "topic_create": "topic_created",
    "boost_apply": "boost_apply",
}
"""Desktop's ``action`` for a service type (types are named as in Telethon, ``chat_edit_title``).

Types missing here are written as they are, and Desktop actions missing here are read as they are.
"""

# Message keys the exporter writes from the domain; any other key of a Desktop message kept in
# ``Post.raw`` (via_bot, inline_bot_buttons, saved_from, members, ...) is written back from there.
_MESSAGE_KEYS = frozenset(
    {
        "id", "type", "date", "date_unixtime", "edited", "edited_unixtime", "from", "from_id", "author",
        "forwarded_from", "forwarded_from_id", "reply_to_message_id", "reply_to_peer_id",
        "photo", "photo_file_size", "file", "file_name", "file_size", "thumbnail", "thumbnail_file_size",
        "media_type", "sticker_emoji", "performer", "title", "mime_type", "duration_seconds", "width",
        "height", "poll", "location_information", "live_location_period_seconds", "place_name", "address",
        "contact_information", "contact_vcard", "text", "text_entities", "reactions", "tgvault",
    }
)  # fmt: skip
_SERVICE_KEYS = frozenset(
    {
        "id", "type", "date", "date_unixtime", "edited", "edited_unixtime", "actor", "actor_id", "action",
        "title", "photo", "photo_file_size", "width", "height", "text", "text_entities", "tgvault",
    }
)  # fmt: skip

_COPY_CHUNK = 1 << 20


def is_file_placeholder(value: str) -> bool:
    """True for Desktop's stand-ins for files it did not export ("(File not included. ...)" and kin)."""
    return value.startswith("(File ") and value.endswith(")")


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    path: Path
    """The JSON file."""
    messages: int
    media_files: int
    """Distinct files placed in the ``media/`` folder next to the JSON file."""
    media_bytes: int
    media_not_included: int
    """Attachments the archive has not downloaded (written as Desktop's placeholder)."""
    media_missing: int
    """Attachments recorded as downloaded whose file is missing or damaged in the media store."""
    timezone: str
    """The time zone of ``date`` and ``edited``."""


# --------------------------------------------------------------------------------------------- text


@dataclass(frozen=True)
class _Part:
    text: str
    entity: TextEntity | None


def _desktop_parts(text: str, entities: Sequence[TextEntity]) -> list[_Part]:
    """Cut text into Desktop's parts, following Desktop's own algorithm (see the module docstring)."""
    if not text:
        return []
    index = Utf16Index(text)
    # Desktop compares entity ends with the text's size in UTF-8 bytes, not UTF-16 units.
    size = len(text.encode("utf-8", "surrogatepass"))
    parts: list[_Part] = []
    offset = 0

    def mid(start: int, length: int) -> str:
        first, last = index.span(start, length)
        return text[first:last]

    def plain_until(till: int) -> None:
        nonlocal offset
        if till > offset:
            parts.append(_Part(mid(offset, till - offset), None))
            offset = till

    for entity in sorted(entities, key=lambda item: item.offset):
        start, length = entity.offset, entity.length
        if start < offset or length <= 0 or start + length > size:
            continue
        plain_until(start)
        parts.append(_Part(mid(start, length), entity))
        offset = start + length
    plain_until(size)
    return parts


def _part_object(part: _Part, document_id: str | None) -> dict[str, Any]:
    entity = part.entity
    if entity is None:
        return {"type": "plain", "text": part.text}
    found: dict[str, Any] = {"type": DESKTOP_ENTITY_TYPES.get(entity.kind, "unknown"), "text": part.text}
    if entity.kind is EntityKind.PRE:
        found["language"] = entity.language or ""
    elif entity.kind is EntityKind.TEXT_LINK:
        found["href"] = entity.url or ""
    elif entity.kind is EntityKind.MENTION_NAME:
        found["user_id"] = entity.user_id
    elif entity.kind is EntityKind.CUSTOM_EMOJI:
        found["document_id"] = document_id if document_id is not None else FILE_NOT_INCLUDED
    elif entity.kind is EntityKind.BLOCKQUOTE:
        found["collapsed"] = entity.collapsed
    return found


def _text_fields(
    parts: Sequence[_Part], document_ids: Sequence[str | None]
) -> tuple[Any, list[dict[str, Any]]]:
    """Desktop's ``text`` (a string, or a list of strings and objects) and ``text_entities``."""
    objects: list[dict[str, Any]] = []
    emoji = iter(document_ids)
    for part in parts:
        custom = part.entity is not None and part.entity.kind is EntityKind.CUSTOM_EMOJI
        objects.append(_part_object(part, next(emoji, None) if custom else None))
    if not parts:
        return "", []
    if len(parts) == 1 and parts[0].entity is None:
        return parts[0].text, objects
    mixed: list[Any] = [
        obj["text"] if part.entity is None else obj for part, obj in zip(parts, objects, strict=True)
    ]
    return mixed, objects


def desktop_text(text: str, entities: Sequence[TextEntity]) -> tuple[Any, list[dict[str, Any]]]:
    """A post's text in Desktop's two forms: ``text`` (mixed string/list) and ``text_entities`` (list).

    Custom emoji without a numeric document id get Desktop's placeholder as ``document_id``.
    """
    parts = _desktop_parts(text, entities)
    ids = [
        None if part.entity.document_id is None else str(part.entity.document_id)
        for part in parts
        if part.entity is not None and part.entity.kind is EntityKind.CUSTOM_EMOJI
    ]
    return _text_fields(parts, ids)


# --------------------------------------------------------------------------------------------- raw


@dataclass(frozen=True)
class _DesktopRaw:
    """The Desktop message a post was imported from (``Post.raw["tdesktop"]``) and its stored files."""

    message: Mapping[str, Any]
    files: Mapping[str, str]

    @staticmethod
    def of(raw: Mapping[str, Any] | None) -> _DesktopRaw | None:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("tdesktop"), Mapping):
            return None
        files = raw.get("tdesktop_files")
        stored = {str(k): str(v) for k, v in files.items()} if isinstance(files, Mapping) else {}
        return _DesktopRaw(raw["tdesktop"], stored)

    def parts(self) -> list[Mapping[str, Any]]:
        """The message's text parts as objects (from ``text_entities``, or the older mixed ``text``)."""
        source = self.message.get("text_entities")
        if not isinstance(source, list):
            source = self.message.get("text")
            if isinstance(source, str):
                source = [source]
        if not isinstance(source, list):
            return []
        return [
            {"type": "plain", "text": item} if isinstance(item, str) else item
            for item in source
            if isinstance(item, str | Mapping)
        ]

    def text(self) -> str:
        return "".join(str(part.get("text", "")) for part in self.parts())

    def custom_emoji_ids(self) -> list[str]:
        return [
            str(part.get("document_id"))
            for part in self.parts()
            if part.get("type") == "custom_emoji" and part.get("document_id") is not None
        ]

    def reactions(self) -> list[Mapping[str, Any]]:
        found = self.message.get("reactions")
        return [item for item in found if isinstance(item, Mapping)] if isinstance(found, list) else []


# --------------------------------------------------------------------------------------------- writer


def _timestamp(moment: datetime) -> str:
    return str(int(moment.timestamp()))


class _Writer:
    """Builds Desktop messages from posts and places their files next to the JSON file."""

    def __init__(
        self, uow: UnitOfWork, channel: Channel, out: Path, store: MediaStore, zone: tzinfo, link: bool
    ) -> None:
        self._uow = uow
        self._channel = channel
        self._out_dir = out.parent
        self._store = store
        self._store_root = store.root.resolve()
        self._zone = zone
        self._link = link
        self._placed: dict[Path, str | None] = {}
        self._forward_titles: dict[int, str | None] = {}
        self.media_files = 0
        self.media_bytes = 0
        self.media_not_included = 0
        self.media_missing = 0

    # -- files --------------------------------------------------------------------------------

    def _place(self, relative: str) -> str | None:
        """Copy a stored file into ``media/``; its path relative to the JSON, or None if it is unusable."""
        try:
            source = self._store.path_of(relative)
        except StorageError:
            return None
        if source in self._placed:
            return self._placed[source]
        placed = self._copy(source) if source.is_file() else None
        self._placed[source] = placed
        return placed

    def _copy(self, source: Path) -> str | None:
        inside = source.relative_to(self._store_root)
        target = self._out_dir / "media" / inside
        expected = source.name.split(".", 1)[0]
        size = source.stat().st_size
        if not (target.is_file() and target.stat().st_size == size):
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(f".{uuid.uuid4().hex}.part")
            try:
                if not self._hard_link(source, temp) and self._copy_verified(source, temp) != expected:
                    temp.unlink(missing_ok=True)
                    return None
                temp.replace(target)
            finally:
                temp.unlink(missing_ok=True)
        self.media_files += 1
        self.media_bytes += size
        return f"media/{inside.as_posix()}"

    def _hard_link(self, source: Path, temp: Path) -> bool:
        if not self._link:
            return False
        try:
            os.link(source, temp)
        except OSError:
            return False
        return True

    @staticmethod
    def _copy_verified(source: Path, temp: Path) -> str:
        digest = hashlib.sha256()
        with source.open("rb") as reader, temp.open("xb") as writer:
            while chunk := reader.read(_COPY_CHUNK):
                digest.update(chunk)
                writer.write(chunk)
        shutil.copystat(source, temp)
        return digest.hexdigest()

    def _media_value(self, media: MediaItem) -> str:
        if media.status is not MediaStatus.DOWNLOADED or not media.path:
            self.media_not_included += 1
            return FILE_NOT_INCLUDED
        placed = self._place(media.path)
        if placed is None:
            self.media_missing += 1
            return FILE_NOT_INCLUDED
        return placed

    def _raw_file_value(self, value: Any, raw: _DesktopRaw) -> str:
        """A path-valued field of an imported Desktop message (thumbnail, custom emoji, vCard)."""
        text = str(value)
        if is_file_placeholder(text):
            return text
        stored = raw.files.get(text)
        placed = None if stored is None else self._place(stored)
        return FILE_NOT_INCLUDED if placed is None else placed

    # -- messages -----------------------------------------------------------------------------

    def _dates(self, message: dict[str, Any], key: str, moment: datetime) -> None:
        message[key] = moment.astimezone(self._zone).strftime("%Y-%m-%dT%H:%M:%S")
        message[f"{key}_unixtime"] = _timestamp(moment)

    def _sender(self, raw: _DesktopRaw | None, key: str) -> tuple[Any, Any]:
        """``from``/``actor`` and its id: the channel, or in a supergroup the sender Desktop named."""
        if self._channel.kind is ChannelKind.SUPERGROUP and raw is not None and key in raw.message:
            return raw.message[key], raw.message.get(f"{key}_id")
        return self._channel.title, f"channel{self._channel.id}"

    def _forward_title(self, channel_id: int) -> str | None:
        if channel_id not in self._forward_titles:
            found = self._uow.channels.get(channel_id)
            self._forward_titles[channel_id] = None if found is None else found.title
        return self._forward_titles[channel_id]

    def _custom_emoji_ids(
        self, text: str, parts: Sequence[_Part], raw: _DesktopRaw | None
    ) -> list[str | None]:
        """Custom emoji document ids: numeric when known, else what the imported Desktop message said."""
        fallback: list[str] = []
        if raw is not None and raw.text() == text:
            fallback = [self._raw_file_value(value, raw) for value in raw.custom_emoji_ids()]
        ids: list[str | None] = []
        for position, part in enumerate(
            p for p in parts if p.entity is not None and p.entity.kind is EntityKind.CUSTOM_EMOJI
        ):
            assert part.entity is not None
            if part.entity.document_id is not None:
                ids.append(str(part.entity.document_id))
            else:
                ids.append(fallback[position] if position < len(fallback) else None)
        return ids

    def _text(self, text: str, entities: Sequence[TextEntity], raw: _DesktopRaw | None) -> tuple[Any, Any]:
        parts = _desktop_parts(text, entities)
        return _text_fields(parts, self._custom_emoji_ids(text, parts, raw))

    def _photo(self, message: dict[str, Any], media: MediaItem) -> None:
        message["photo"] = self._media_value(media)
        if media.size is not None:
            message["photo_file_size"] = media.size
        if media.width is not None:
            message["width"] = media.width
        if media.height is not None:
            message["height"] = media.height

    def _document(self, message: dict[str, Any], media: MediaItem, raw: _DesktopRaw | None) -> None:
        message["file"] = self._media_value(media)
        if media.file_name is not None:
            message["file_name"] = media.file_name
        if media.size is not None:
            message["file_size"] = media.size
        if raw is not None and "thumbnail" in raw.message:
            message["thumbnail"] = self._raw_file_value(raw.message["thumbnail"], raw)
            if "thumbnail_file_size" in raw.message:
                message["thumbnail_file_size"] = raw.message["thumbnail_file_size"]
        media_type = DESKTOP_MEDIA_TYPES.get(media.kind)
        if media_type is not None:
            message["media_type"] = media_type
        for key, value in (
            ("sticker_emoji", media.sticker_emoji),
            ("performer", media.performer),
            ("title", media.title),
            ("mime_type", media.mime_type),
            ("duration_seconds", None if media.duration is None else int(media.duration)),
            ("width", media.width),
            ("height", media.height),
        ):
            if value is not None:
                message[key] = value

    def _attachments(self, message: dict[str, Any], post: Post, raw: _DesktopRaw | None) -> None:
        if post.media is not None:
            if post.media.kind is MediaKind.PHOTO:
                self._photo(message, post.media)
            else:
                self._document(message, post.media, raw)
        if post.poll is not None:
            poll = post.poll
            message["poll"] = {
                "question": poll.question,
                "closed": poll.closed,
                "total_voters": poll.total_voters or 0,
                "answers": [
                    {"text": answer.text, "voters": answer.voters or 0, "chosen": answer.chosen}
                    for answer in poll.answers
                ],
            }
        if post.location is not None:
            location = post.location
            if location.title is not None:
                message["place_name"] = location.title
            if location.address is not None:
                message["address"] = location.address
            message["location_information"] = {"latitude": location.latitude, "longitude": location.longitude}
            if location.live_period is not None:
                message["live_location_period_seconds"] = location.live_period
        if post.contact is not None:
            contact = post.contact
            message["contact_information"] = {
                "first_name": contact.first_name,
                "last_name": contact.last_name or "",
                "phone_number": contact.phone_number or "",
            }
            if raw is not None and "contact_vcard" in raw.message:
                message["contact_vcard"] = self._raw_file_value(raw.message["contact_vcard"], raw)

    def _reactions(self, reactions: Sequence[Reaction], raw: _DesktopRaw | None) -> list[dict[str, Any]]:
        originals = [] if raw is None else raw.reactions()
        written = []
        for position, reaction in enumerate(reactions):
            original = originals[position] if position < len(originals) else {}
            item: dict[str, Any]
            if reaction.paid:
                item = {"type": "paid", "count": reaction.count}
            elif reaction.emoji is not None:
                item = {"type": "emoji", "count": reaction.count, "emoji": reaction.emoji}
            elif reaction.custom_emoji_id is not None:
                item = {
                    "type": "custom_emoji",
                    "count": reaction.count,
                    "document_id": str(reaction.custom_emoji_id),
                }
            else:
                document = original.get("document_id") if original.get("type") == "custom_emoji" else None
                value = (
                    FILE_NOT_INCLUDED
                    if document is None or raw is None
                    else self._raw_file_value(document, raw)
                )
                item = {"type": "custom_emoji", "count": reaction.count, "document_id": value}
            if original.get("type") == item["type"] and "recent" in original:
                item["recent"] = original["recent"]
            written.append(item)
        return written

    def message(self, post: Post, revisions: Sequence[PostRevision]) -> dict[str, Any]:
        """One post as a Desktop message, with the ``tgvault`` extras."""
        raw = _DesktopRaw.of(post.raw)
        message: dict[str, Any] = {"id": post.message_id, "type": "service" if post.is_service else "message"}
        self._dates(message, "date", post.date)
        if post.edit_date is not None:
            self._dates(message, "edited", post.edit_date)
        if post.service is not None:
            message["actor"], message["actor_id"] = self._sender(raw, "actor")
            message["action"] = DESKTOP_ACTIONS.get(post.service.type, post.service.type)
            if post.service.title is not None:
                message["title"] = post.service.title
            if post.service.pinned_message_id is not None:
                message["message_id"] = post.service.pinned_message_id
            if post.media is not None and post.media.kind is MediaKind.PHOTO:
                self._photo(message, post.media)
            owned = _SERVICE_KEYS
        else:
            message["from"], message["from_id"] = self._sender(raw, "from")
            if post.author is not None:
                message["author"] = post.author
            if post.forward is not None:
                self._forward(message, post)
            if post.reply_to_message_id is not None:
                message["reply_to_message_id"] = post.reply_to_message_id
                if post.reply_to_channel_id not in (None, self._channel.id):
                    message["reply_to_peer_id"] = f"channel{post.reply_to_channel_id}"
            self._attachments(message, post, raw)
            owned = _MESSAGE_KEYS
        if raw is not None:
            for key, value in raw.message.items():
                if key not in owned and key not in message:
                    message[key] = value
        message["text"], message["text_entities"] = self._text(post.text, post.entities, raw)
        if post.reactions:
            message["reactions"] = self._reactions(post.reactions, raw)
        message["tgvault"] = self._extras(post, revisions)
        return message

    def _forward(self, message: dict[str, Any], post: Post) -> None:
        forward = post.forward
        assert forward is not None
        name = forward.from_name
        if name is None and forward.from_channel_id is not None:
            name = self._forward_title(forward.from_channel_id)
        message["forwarded_from"] = name
        if forward.from_channel_id is not None:
            message["forwarded_from_id"] = f"channel{forward.from_channel_id}"
        elif forward.from_user_id is not None:
            message["forwarded_from_id"] = f"user{forward.from_user_id}"

    def _extras(self, post: Post, revisions: Sequence[PostRevision]) -> dict[str, Any]:
        history = []
        for revision in revisions:
            text, entities = self._text(revision.text, revision.entities, _DesktopRaw.of(revision.raw))
            history.append(
                {
                    "text": text,
                    "text_entities": entities,
                    "edited_unixtime": None if revision.edit_date is None else _timestamp(revision.edit_date),
                }
            )
        return {
            "views": post.views,
            "forwards": post.forwards,
            "grouped_id": post.grouped_id,
            "deleted": post.deleted_at is not None,
            "deleted_at": None if post.deleted_at is None else post.deleted_at.astimezone(UTC).isoformat(),
            "revisions": history,
            "media_sha256": None if post.media is None else post.media.sha256,
        }


def _batches(posts: Iterable[Post], size: int) -> Iterator[list[Post]]:
    batch: list[Post] = []
    for post in posts:
        batch.append(post)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _desktop_chat_type(channel: Channel) -> str:
    visibility = "public" if channel.username else "private"
    noun = "supergroup" if channel.kind is ChannelKind.SUPERGROUP else "channel"
    return f"{visibility}_{noun}"


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)


def _write_messages(
    stream: TextIO, writer: _Writer, uow: UnitOfWork, channel: Channel, batch_size: int
) -> int:
    count = 0
    for batch in _batches(uow.posts.iter_channel(channel.id, batch_size=batch_size), batch_size):
        revisions = uow.posts.revisions_for(channel.id, [post.message_id for post in batch])
        for post in batch:
            encoded = _dump(writer.message(post, revisions.get(post.message_id, ())))
            stream.write(",\n" if count else "\n")
            stream.write("\n".join(f"  {line}" for line in encoded.splitlines()))
            count += 1
    return count


def export_channel_json(
    uow: UnitOfWork,
    channel: Channel,
    out: Path,
    media_store: MediaStore,
    *,
    timezone: tzinfo = UTC,
    link_media: bool = False,
    batch_size: int = 500,
) -> ExportSummary:
    """Write ``channel``'s archive as a Telegram Desktop ``result.json``; returns what was written.

    ``out`` is the JSON file when it ends in ``.json``, else a folder (created if needed) that gets
    ``result.json``. Downloaded media are copied into ``media/`` next to the JSON file (checked against
    their sha256; hard-linked instead with ``link_media``). ``date`` and ``edited`` are written in
    ``timezone`` (UTC by default). The JSON file is written under a temporary name and renamed when
    complete. Reads through ``uow`` only: nothing in the archive changes. Raises ``OSError`` when
    ``out`` cannot be written.
    """
    target = out if out.suffix.lower() == ".json" and not out.is_dir() else out / "result.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    writer = _Writer(uow, channel, target, media_store, timezone, link_media)
    zone_name = str(timezone)
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    try:
        with temp.open("x", encoding="utf-8", newline="\n") as stream:
            stream.write("{\n")
            for key, value in (
                ("name", channel.title),
                ("type", _desktop_chat_type(channel)),
                ("id", channel.id),
                ("tgvault", {"timezone": zone_name}),
            ):
                stream.write(f" {json.dumps(key)}: {_dump(value).replace(chr(10), chr(10) + ' ')},\n")
            stream.write(' "messages": [')
            count = _write_messages(stream, writer, uow, channel, batch_size)
            stream.write("\n ]\n}\n" if count else "]\n}\n")
            stream.flush()
            os.fsync(stream.fileno())
        temp.replace(target)
    finally:
        temp.unlink(missing_ok=True)
    return ExportSummary(
        path=target,
        messages=count,
        media_files=writer.media_files,
        media_bytes=writer.media_bytes,
        media_not_included=writer.media_not_included,
        media_missing=writer.media_missing,
        timezone=zone_name,
    )
