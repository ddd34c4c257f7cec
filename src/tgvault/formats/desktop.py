"""The Telegram Desktop export format's vocabulary, shared by the reader (import) and the writer (export).

Telegram Desktop's "Export chat history" names entity kinds, media types, service actions and chat
types in its own words, and writes a placeholder instead of a path for a file it did not export. The
importer (:mod:`tgvault.sources.tdesktop`) reads these names and :mod:`tgvault.export.desktop_json` writes
them, so both take them from here. A post imported from an export keeps the Desktop message in
``Post.raw`` under the keys named here, so that the exporter can write it back.
"""

from __future__ import annotations

from collections.abc import Mapping

from tgvault.domain import ChannelKind, EntityKind, MediaKind

__all__ = [
    "CHANNEL_TYPES",
    "DESKTOP_ACTIONS",
    "DESKTOP_ENTITY_TYPES",
    "DESKTOP_MEDIA_TYPES",
    "FILE_NOT_INCLUDED",
    "RAW_FILES_KEY",
    "RAW_HTML_KEY",
    "RAW_MESSAGE_KEY",
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

CHANNEL_TYPES: Mapping[str, ChannelKind] = {
    "public_channel": ChannelKind.CHANNEL,
    "private_channel": ChannelKind.CHANNEL,
    "public_supergroup": ChannelKind.SUPERGROUP,
    "private_supergroup": ChannelKind.SUPERGROUP,
}
"""Desktop chat types that are Telegram channels (the only chats the archive keeps)."""

RAW_MESSAGE_KEY = "tdesktop"
"""``Post.raw`` key of the Desktop JSON message a post was imported from."""

RAW_FILES_KEY = "tdesktop_files"
"""``Post.raw`` key mapping an imported message's file paths in the export to their paths in the store."""

RAW_HTML_KEY = "tdesktop_html"
"""``Post.raw`` key of what a post imported from an HTML export showed (page, sender, values as shown)."""


def is_file_placeholder(value: str) -> bool:
    """True for Desktop's stand-ins for files it did not export ("(File not included. ...)" and kin)."""
    return value.startswith("(File ") and value.endswith(")")
