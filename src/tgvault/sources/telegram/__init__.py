"""Telegram through Telethon: the only package that talks to a live ``TelegramClient``.

It turns Telethon's objects into domain records (text and entities, media, service actions, headers,
channels, the raw TL kept beside them) and Telethon's errors into tgvault's typed exceptions, so services
never see Telethon.
"""

from tgvault.sources.telegram.channels import channel_to_record
from tgvault.sources.telegram.client import (
    ClientOptions,
    ReconnectingClient,
    build_client,
    connected_client,
    make_session,
)
from tgvault.sources.telegram.failures import translated_errors
from tgvault.sources.telegram.kept_raw import (
    NOT_UNDERSTOOD,
    Mapper,
    map_or_keep_raw,
    remap_raw,
    unparsed_post,
)
from tgvault.sources.telegram.login import interactive_login
from tgvault.sources.telegram.posts import MISSING_DATE, message_to_post
from tgvault.sources.telegram.raw import raw_to_json_safe, tl_from_raw, tl_to_raw
from tgvault.sources.telegram.reading import MappingError
from tgvault.sources.telegram.service_actions import service_action_type
from tgvault.sources.telegram.source import (
    PAGE_SIZE,
    PREFETCH_PAGES,
    RESUME_ALIGN,
    TelegramSource,
    parse_channel_key,
)

__all__ = [
    "MISSING_DATE",
    "NOT_UNDERSTOOD",
    "PAGE_SIZE",
    "PREFETCH_PAGES",
    "RESUME_ALIGN",
    "ClientOptions",
    "Mapper",
    "MappingError",
    "ReconnectingClient",
    "TelegramSource",
    "build_client",
    "channel_to_record",
    "connected_client",
    "interactive_login",
    "make_session",
    "map_or_keep_raw",
    "message_to_post",
    "parse_channel_key",
    "raw_to_json_safe",
    "remap_raw",
    "service_action_type",
    "tl_from_raw",
    "tl_to_raw",
    "translated_errors",
    "unparsed_post",
]
