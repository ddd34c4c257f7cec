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

import difflib
import json
import os
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsError
from pydantic_settings.sources.utils import parse_env_vars

from tgvault.config.sections import SECRET_FIELDS
from tgvault.config.settings import ENV_PREFIX, SECTION_MODELS, Settings
from tgvault.config.validation_messages import format_validation_error
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


class MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading a given mapping instead of ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


def env_variable_names(env: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Map 'section__field' to the variable name, and report ``TGVAULT_*`` names that would be ignored."""
    names: dict[str, str] = {}
    problems: list[str] = []
    all_fields = {field: section for section, model in SECTION_MODELS.items() for field in model.model_fields}
    for name, value in env.items():
        if not name.upper().startswith(ENV_PREFIX) or name.upper() == CONFIG_ENV_VAR or value == "":
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        parts = rest.split("__")
        if len(parts) == 1:
            if rest in Settings.model_fields:
                names[rest] = name
            elif rest in all_fields:
                better = f"{ENV_PREFIX}{all_fields[rest].upper()}__{rest.upper()}"
                problems.append(f"{name}: is not read by tgvault; did you mean {better}?")
            continue  # other TGVAULT_* variables (test settings, ...) are not ours to judge
        section, field = parts[0], "__".join(parts[1:])
        if section not in SECTION_MODELS:
            close = difflib.get_close_matches(section, list(Settings.model_fields), n=1)
            if section == "channels":
                hint = f"set the whole list as JSON in {ENV_PREFIX}CHANNELS"
            elif close:
                hint = f"did you mean {ENV_PREFIX}{close[0].upper()}__{field.upper()}?"
            else:
                hint = "expected one of the sections " + ", ".join(SECTION_MODELS)
            problems.append(f"{name}: unknown section {section!r}; {hint}")
            continue
        fields = list(SECTION_MODELS[section].model_fields)
        if field not in fields:
            close = difflib.get_close_matches(field, fields, n=1)
            hint = (
                f"did you mean {ENV_PREFIX}{section.upper()}__{close[0].upper()}?"
                if close
                else "expected one of: " + ", ".join(fields)
            )
            problems.append(f"{name}: unknown key {field!r} in [{section}]; {hint}")
            continue
        names[f"{section}__{field}"] = name
    return names, sorted(problems)


def env_json_problems(env_names: Mapping[str, str], environ: Mapping[str, str]) -> list[str]:
    """Explain which whole-section or channel-list variable holds malformed JSON."""
    problems = []
    for key, name in env_names.items():
        if "__" in key:
            continue
        try:
            json.loads(environ[name])
        except ValueError as error:
            example = '[{"name": "@durov", "schedule": "1h"}]' if key == "channels" else '{"key": "value"}'
            problems.append(f"{name} ({key}): is not valid JSON ({error}); expected JSON like {example}")
    return problems or [f"{ENV_PREFIX}*: an environment variable holds a value that cannot be parsed"]


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
