"""Write archived posts as Telegram Desktop messages (``result.json``'s ``messages`` items)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from tgvault.domain import (
    Channel,
    ChannelKind,
    EntityKind,
    MediaItem,
    MediaKind,
    Post,
    PostRevision,
    Reaction,
    TextEntity,
)
from tgvault.export.desktop_json.media_files import MediaFiles
from tgvault.export.desktop_json.raw_messages import DesktopRaw
from tgvault.export.desktop_json.text_parts import Part, desktop_parts, text_fields
from tgvault.formats.desktop import DESKTOP_ACTIONS, DESKTOP_MEDIA_TYPES, FILE_NOT_INCLUDED
from tgvault.storage.unit_of_work import UnitOfWork

__all__ = ["MessageWriter"]

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


def _timestamp(moment: datetime) -> str:
    return str(int(moment.timestamp()))


class MessageWriter:
    """Builds Desktop messages from posts; their files are placed next to the JSON file by ``files``."""

    def __init__(self, uow: UnitOfWork, channel: Channel, zone: tzinfo, files: MediaFiles) -> None:
        self._uow = uow
        self._channel = channel
        self._zone = zone
        self._files = files
        self._forward_titles: dict[int, str | None] = {}

    def _dates(self, message: dict[str, Any], key: str, moment: datetime) -> None:
        message[key] = moment.astimezone(self._zone).strftime("%Y-%m-%dT%H:%M:%S")
        message[f"{key}_unixtime"] = _timestamp(moment)

    def _sender(self, raw: DesktopRaw | None, key: str) -> tuple[Any, Any]:
        """``from``/``actor`` and its id: the channel, or in a supergroup the sender Desktop named."""
        if self._channel.kind is ChannelKind.SUPERGROUP and raw is not None and key in raw.message:
            return raw.message[key], raw.message.get(f"{key}_id")
        return self._channel.title, f"channel{self._channel.id}"

    def _forward_title(self, channel_id: int) -> str | None:
        if channel_id not in self._forward_titles:
            found = self._uow.channels.get(channel_id)
            self._forward_titles[channel_id] = None if found is None else found.title
        return self._forward_titles[channel_id]

    def _custom_emoji_ids(self, text: str, parts: Sequence[Part], raw: DesktopRaw | None) -> list[str | None]:
        """Custom emoji document ids: numeric when known, else what the imported Desktop message said."""
        fallback: list[str] = []
        if raw is not None and raw.text() == text:
            fallback = [self._files.raw_file_value(value, raw) for value in raw.custom_emoji_ids()]
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

    def _text(self, text: str, entities: Sequence[TextEntity], raw: DesktopRaw | None) -> tuple[Any, Any]:
        parts = desktop_parts(text, entities)
        return text_fields(parts, self._custom_emoji_ids(text, parts, raw))

    def _photo(self, message: dict[str, Any], media: MediaItem) -> None:
        message["photo"] = self._files.media_value(media)
        if media.size is not None:
            message["photo_file_size"] = media.size
        if media.width is not None:
            message["width"] = media.width
        if media.height is not None:
            message["height"] = media.height

    def _document(self, message: dict[str, Any], media: MediaItem, raw: DesktopRaw | None) -> None:
        message["file"] = self._files.media_value(media)
        if media.file_name is not None:
            message["file_name"] = media.file_name
        if media.size is not None:
            message["file_size"] = media.size
        if raw is not None and "thumbnail" in raw.message:
            message["thumbnail"] = self._files.raw_file_value(raw.message["thumbnail"], raw)
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

    def _attachments(self, message: dict[str, Any], post: Post, raw: DesktopRaw | None) -> None:
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
                message["contact_vcard"] = self._files.raw_file_value(raw.message["contact_vcard"], raw)

    def _reactions(self, reactions: Sequence[Reaction], raw: DesktopRaw | None) -> list[dict[str, Any]]:
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
                    else self._files.raw_file_value(document, raw)
                )
                item = {"type": "custom_emoji", "count": reaction.count, "document_id": value}
            if original.get("type") == item["type"] and "recent" in original:
                item["recent"] = original["recent"]
            written.append(item)
        return written

    def message(self, post: Post, revisions: Sequence[PostRevision]) -> dict[str, Any]:
        """One post as a Desktop message, with the ``tgvault`` extras."""
        raw = DesktopRaw.of(post.raw)
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
            text, entities = self._text(revision.text, revision.entities, DesktopRaw.of(revision.raw))
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
