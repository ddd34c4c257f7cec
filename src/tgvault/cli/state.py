"""What the root group's options leave for every command: the config path, the log settings, the archive."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tgvault.cli.output import plural
from tgvault.config import Settings, load_settings
from tgvault.errors import ArchiveMissingError
from tgvault.logs import register_secret

if TYPE_CHECKING:
    from tgvault.app import Archive


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

    def archive(self, *, write: bool, settings: Settings | None = None) -> Archive:
        """Open the archive. Only a command that writes (``write``) creates one; for the others a missing
        archive is an error that says how to start one (and nothing is created, not even a folder)."""
        from tgvault.app import open_archive

        chosen = settings or self.settings()
        try:
            return open_archive(chosen, create=write)
        except ArchiveMissingError as error:
            raise with_first_steps(error, chosen) from error

    def source_names(self, names: Sequence[str]) -> list[str]:
        """What to hand a source for each channel name typed (see :func:`channel_names.source_name`): a title
        becomes its archived channel's @username or id. Without an archive yet, names stay as typed."""
        from tgvault.cli.channel_names import source_name

        if not names:
            return []
        try:
            archive = self.archive(write=False)
        except ArchiveMissingError:
            return [source_name(None, name) for name in names]
        try:
            return [source_name(archive.unit_of_work, name) for name in names]
        finally:
            archive.close()


def with_first_steps(error: ArchiveMissingError, settings: Settings) -> ArchiveMissingError:
    """The same error, its message ending with what to run to start an archive."""
    return ArchiveMissingError(f"{error}; to start one: {how_to_start(settings)}")


def how_to_start(settings: Settings) -> str:
    """What to run to put something in an empty archive, given what the config holds."""
    if settings.channels:
        where = settings.source_file.name if settings.source_file else "the config"
        return (
            f"`tgvault sync` archives the {plural(len(settings.channels), 'channel')} configured in {where} "
            f"(`tgvault run` keeps {'it' if len(settings.channels) == 1 else 'them'} archived); "
            "or `tgvault import tdesktop <export folder>`, or `tgvault demo`"
        )
    return (
        "`tgvault backfill @channel --source web` (a public channel, no Telegram account needed), "
        "`tgvault import tdesktop <export folder>` (a Telegram Desktop export), or `tgvault demo` (a sample)"
    )


def cli_state(ctx: click.Context) -> CliState:
    """The CliState the root group stored on the context."""
    state = ctx.find_object(CliState)
    assert state is not None
    return state
