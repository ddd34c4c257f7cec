"""Loading: one TOML file plus ``TGVAULT_*`` environment variables, validated into :class:`Settings`.

Where values come from, strongest first:

1. environment variables ``TGVAULT_<SECTION>__<FIELD>`` (``TGVAULT_DATABASE__URL``,
   ``TGVAULT_TELEGRAM__API_ID``, ...; ``TGVAULT_CHANNELS`` takes the whole channel list as JSON);
2. the config file: the path given explicitly (``--config``), else ``$TGVAULT_CONFIG``, else
   ``./tgvault.toml``, else ``./config/tgvault.toml``; no file at all means "all defaults";
3. the defaults declared by the settings models (``Settings`` and its sections).

Secrets (``telegram.api_hash``, ``telegram.session_string``) are never read from the config file: they come
from the environment or from a file named by ``api_hash_file`` / ``session_string_file`` that only its owner
may read (mode 0600 or stricter). When both are given, the environment variable wins.

Relative paths (the SQLite database in ``database.url``, ``media.dir``, ``telegram.session_file``,
``site.dir``, ``site.templates`` and the secret files) are resolved against the current working directory
at load time, so every path in a loaded :class:`Settings` is absolute.

Every problem is reported at once, as a :class:`~tgvault.errors.ConfigError` whose message names the
field, the bad value and what is expected, one problem per line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from tgvault.config.config_files import find_config_file, read_toml, secrets_in_file
from tgvault.config.env_variables import MappingEnvSource, env_json_problems, env_variable_names
from tgvault.config.settings import Settings
from tgvault.config.validation_messages import format_validation_error
from tgvault.errors import ConfigError


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            merged[key] = _deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the config file (see :func:`find_config_file`) and ``TGVAULT_*`` variables from ``env``
    (default ``os.environ``) into validated :class:`Settings`; the environment beats the file.

    Raises :class:`ConfigError` listing every problem, one per line.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    file = find_config_file(path, environ)
    data: dict[str, Any] = read_toml(file) if file is not None else {}
    problems: list[str] = list(secrets_in_file(data, file)) if file is not None else []

    env_names, env_problems = env_variable_names(environ)
    problems.extend(env_problems)
    try:
        env_values = MappingEnvSource(Settings, environ)()
    except SettingsError:
        raise ConfigError("\n".join([*problems, *env_json_problems(env_names, environ)])) from None
    merged = _deep_merge(data, env_values)

    try:
        settings = Settings(**merged)
    except ValidationError as error:
        problems.extend(format_validation_error(error, file, env_names))
        settings = None
    if problems or settings is None:
        raise ConfigError("\n".join(problems))
    settings._source_file = file
    return settings
