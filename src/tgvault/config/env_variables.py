"""Environment variables: reading ``TGVAULT_*`` values and naming the variables that would be ignored."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping

from pydantic_settings import BaseSettings, EnvSettingsSource
from pydantic_settings.sources.utils import parse_env_vars

from tgvault.config.config_files import CONFIG_ENV_VAR
from tgvault.config.settings import ENV_PREFIX, SECTION_MODELS, Settings


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
