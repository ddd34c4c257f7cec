"""Configuration: the validated :class:`Settings` (one pydantic model per ``[section]`` and per channel),
the parsers of the values they hold (schedules, sizes, channel references) and :func:`load_settings`,
which reads one TOML file plus ``TGVAULT_*`` environment variables and secret files, and reports every
problem as a :class:`~tgvault.errors.ConfigError` naming the field and the fix.
"""

from tgvault.config.channel_refs import ChannelRef, parse_channel_ref
from tgvault.config.channels import ChannelConfig, ChannelSource, CommentAuthors, CommentsMedia
from tgvault.config.loading import CONFIG_ENV_VAR, DEFAULT_CONFIG_PATHS, find_config_file, load_settings
from tgvault.config.schedules import CronSchedule, IntervalSchedule, Schedule, parse_schedule
from tgvault.config.sections import (
    DatabaseSettings,
    MediaSettings,
    SiteMediaMode,
    SiteSettings,
    SyncSettings,
    TelegramSettings,
    WebSettings,
    WorkersSettings,
)
from tgvault.config.settings import ENV_PREFIX, Settings
from tgvault.config.sizes import parse_size

__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_CONFIG_PATHS",
    "ENV_PREFIX",
    "ChannelConfig",
    "ChannelRef",
    "ChannelSource",
    "CommentAuthors",
    "CommentsMedia",
    "CronSchedule",
    "DatabaseSettings",
    "IntervalSchedule",
    "MediaSettings",
    "Schedule",
    "Settings",
    "SiteMediaMode",
    "SiteSettings",
    "SyncSettings",
    "TelegramSettings",
    "WebSettings",
    "WorkersSettings",
    "find_config_file",
    "load_settings",
    "parse_channel_ref",
    "parse_schedule",
    "parse_size",
]
