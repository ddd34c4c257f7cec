"""Config files: finding the TOML file to read, reading it, and refusing secrets written in it."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from tgvault.config.settings import ENV_PREFIX
from tgvault.config.telegram_settings import SECRET_FIELDS
from tgvault.errors import ConfigError

CONFIG_ENV_VAR: Final = "TGVAULT_CONFIG"
DEFAULT_CONFIG_PATHS: Final = (Path("tgvault.toml"), Path("config/tgvault.toml"))


def find_config_file(path: Path | None = None, env: Mapping[str, str] | None = None) -> Path | None:
    """The config file to read: ``path``, else ``$TGVAULT_CONFIG``, else ``./tgvault.toml``, else
    ``./config/tgvault.toml``; ``None`` when there is none. A named file that is missing is a ConfigError.
    """
    environ = os.environ if env is None else env
    named, how = path, "the config file"
    if named is None and environ.get(CONFIG_ENV_VAR):
        named, how = Path(environ[CONFIG_ENV_VAR]), f"the config file named by {CONFIG_ENV_VAR}"
    if named is not None:
        if not named.exists():
            raise ConfigError(f"{named}: {how} does not exist")
        if not named.is_file():
            raise ConfigError(f"{named}: {how} is not a file")
        return named
    for candidate in DEFAULT_CONFIG_PATHS:
        if candidate.is_file():
            return candidate
    return None


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML table in ``path``; :class:`ConfigError` when it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: the config file is not UTF-8 text (byte {error.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None


def secrets_in_file(data: dict[str, Any], path: Path) -> Iterator[str]:
    """Report (and drop) secrets written into the config file."""
    telegram = data.get("telegram")
    if not isinstance(telegram, dict):
        return
    for name in sorted(SECRET_FIELDS):
        if name in telegram:
            del telegram[name]
            yield (
                f"{path}: telegram.{name}: secrets may not be written in the config file; set the "
                f"{ENV_PREFIX}TELEGRAM__{name.upper()} environment variable, or set telegram.{name}_file "
                "to a file that only you can read (chmod 600)"
            )
