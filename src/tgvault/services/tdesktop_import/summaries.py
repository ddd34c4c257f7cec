"""What an import of a Telegram Desktop export did: per channel, and over the whole import."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ChannelImportSummary", "ImportSummary", "Tally"]


@dataclass(frozen=True)
class ChannelImportSummary:
    """What an import did to one channel."""

    channel_id: int
    title: str
    messages: int
    """Messages read from the export."""
    added: int
    edited: int
    """Archived posts that took the export's newer state (the earlier one became a revision)."""
    unchanged: int
    kept: int
    """Archived posts left as they were (Telethon's data is richer, or the post is deleted)."""
    older: int
    """Posts whose archived state is newer than the export's, which was therefore not stored."""
    files_stored: int
    """Files copied from the export into the media store (attachments, thumbnails, custom emoji)."""
    bytes_stored: int
    media_pending: int
    """Attachments recorded as not downloaded (placeholders, missing or refused files)."""
    paths_refused: int
    """File paths refused because they lead outside the export's folder."""
    comments: int = 0
    """For a discussion group's export (``comments_of``): its messages tied to the channel's posts."""
    copies: int = 0
    """For a discussion group's export: the group's copies of the channel's posts (matched, not stored)."""


@dataclass(frozen=True)
class ImportSummary:
    """What an import did: per channel, plus the time zone assumed for local times and the warnings."""

    source: Path
    channels: tuple[ChannelImportSummary, ...]
    timezone_assumed: str | None
    """The zone local times were read in; None when every time had a Unix timestamp."""
    warnings: Mapping[str, int]
    """How many warnings of each kind the import reported (each one went to its ``progress``)."""

    @property
    def posts_added(self) -> int:
        """Posts new to the archive, over all channels."""
        return sum(channel.added for channel in self.channels)

    @property
    def posts_edited(self) -> int:
        """Posts that took a newer state from the export, over all channels."""
        return sum(channel.edited for channel in self.channels)

    @property
    def files_stored(self) -> int:
        """Files copied into the media store, over all channels."""
        return sum(channel.files_stored for channel in self.channels)


@dataclass
class Tally:
    """What the import of one channel did so far (becomes its :class:`ChannelImportSummary`)."""

    added: int = 0
    edited: int = 0
    unchanged: int = 0
    kept: int = 0
    older: int = 0
    files: int = 0
    bytes: int = 0
    pending: int = 0
    refused: int = 0
