"""What the root group's options leave for every command: the config path, the log settings."""

from __future__ import annotations

from pathlib import Path

import click

from tgvault.config import Settings, load_settings
from tgvault.logs import register_secret


class CliState:
    """What the group options set for every command."""

    def __init__(self, config_path: Path | None, log_format: str, log_level: str) -> None:
        self.config_path = config_path
        self.log_format = log_format
        self.log_level = log_level
        self._settings: Settings | None = None

    def settings(self) -> Settings:
        """Load (once) and validate the configuration; secrets are registered for redaction."""
        if self._settings is None:
            self._settings = load_settings(self.config_path)
            for secret in self._settings.secret_values():
                register_secret(secret)
        return self._settings


def cli_state(ctx: click.Context) -> CliState:
    """The CliState the root group stored on the context."""
    state = ctx.find_object(CliState)
    assert state is not None
    return state
