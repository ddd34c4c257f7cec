"""The pydantic model every ``[section]`` table of the configuration is built on."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SettingsSection(BaseModel):
    """A ``[section]`` table: unknown keys are errors, values are frozen, defaults are validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
