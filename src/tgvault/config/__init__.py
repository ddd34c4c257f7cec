"""Configuration: the validated :class:`Settings` (one pydantic model per ``[section]`` and per channel),
the parsers of the values they hold (schedules, sizes, channel references) and :func:`load_settings`,
which reads one TOML file plus ``TGVAULT_*`` environment variables and secret files, and reports every
problem as a :class:`~tgvault.errors.ConfigError` naming the field and the fix.
"""

from tgvault.config.channel_refs import ChannelRef, parse_channel_ref
from tgvault.config.channel_settings import ChannelConfig, ChannelSource
from tgvault.config.config_files import CONFIG_ENV_VAR, DEFAULT_CONFIG_PATHS, find_config_file
from tgvault.config.database_settings import DatabaseSettings
from tgvault.config.loading import load_settings
from tgvault.config.media_settings import MediaSettings
from tgvault.config.schedules import CronSchedule, IntervalSchedule, Schedule, parse_schedule
from tgvault.config.settings import ENV_PREFIX, Settings
from tgvault.config.site_settings import SiteMediaMode, SiteSettings
from tgvault.config.sizes import parse_size
from tgvault.config.sync_settings import SyncSettings
from tgvault.config.telegram_settings import TelegramSettings
from tgvault.config.web_settings import WebSettings
from tgvault.config.workers_settings import WorkersSettings

__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_CONFIG_PATHS",
    "ENV_PREFIX",
    "ChannelConfig",
    "ChannelRef",
    "ChannelSource",
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
