"""The root :class:`Settings`: every section plus the channel list, validated together."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, PrivateAttr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tgvault.config.channel_refs import parse_channel_ref
from tgvault.config.channels import ChannelConfig
from tgvault.config.sections import (
    DatabaseSettings,
    LedgerSettings,
    MediaSettings,
    SiteSettings,
    SyncSettings,
    TelegramSettings,
    WebSettings,
    WorkersSettings,
)
from tgvault.errors import ConfigError

ENV_PREFIX: Final = "TGVAULT_"


class Settings(BaseSettings):
    """The whole validated configuration. Build it with :func:`load_settings`.

    ``Settings(...)`` itself validates exactly the values it is given (plus defaults): the config file and
    the environment are read only by :func:`load_settings`, which keeps direct construction hermetic.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_ignore_empty=True,
        case_sensitive=False,
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    media: MediaSettings = Field(default_factory=MediaSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    site: SiteSettings = Field(default_factory=SiteSettings)
    workers: WorkersSettings = Field(default_factory=WorkersSettings)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    channels: tuple[ChannelConfig, ...] = ()

    _source_file: Path | None = PrivateAttr(default=None)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only init values: :func:`load_settings` layers the file and the environment itself."""
        return (init_settings,)

    @field_validator("channels")
    @classmethod
    def _check_unique(cls, channels: tuple[ChannelConfig, ...]) -> tuple[ChannelConfig, ...]:
        seen: dict[str, int] = {}
        problems = []
        for index, channel in enumerate(channels):
            first = seen.setdefault(channel.key, index)
            if first != index:
                problems.append(
                    f"channels[{index}].name: {channel.name!r} is the same channel as channels[{first}] "
                    f"({channels[first].name!r}); list each channel once"
                )
        if problems:
            raise ValueError("\n".join(problems))
        return channels

    @property
    def source_file(self) -> Path | None:
        """The config file these settings were read from, if any."""
        return self._source_file

    def channel(self, name: str) -> ChannelConfig:
        """The configured channel named ``name`` in any accepted spelling; :class:`ConfigError` if absent."""
        key = parse_channel_ref(name).key
        for channel in self.channels:
            if channel.key == key:
                return channel
        known = [channel.name for channel in self.channels]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listing = ", ".join(known) if known else "none"
        raise ConfigError(f"channel {name!r} is not in the configuration (configured: {listing}){hint}")

    def secret_values(self) -> list[str]:
        """Every secret value in these settings, for :func:`tgvault.logs.register_secret`."""
        values = [
            secret.get_secret_value()
            for secret in (self.telegram.api_hash, self.telegram.session_string)
            if secret is not None
        ]
        if self.database.password:
            values.append(self.database.password)
        mirror_password = urlsplit(self.web.base_url).password  # a [web] mirror behind a login
        if mirror_password:
            values.append(mirror_password)
        return values


# The [section] tables by name (the channel list is not a section).
SECTION_MODELS: Final[dict[str, type[BaseModel]]] = {
    "database": DatabaseSettings,
    "media": MediaSettings,
    "telegram": TelegramSettings,
    "web": WebSettings,
    "sync": SyncSettings,
    "site": SiteSettings,
    "workers": WorkersSettings,
    "ledger": LedgerSettings,
}
