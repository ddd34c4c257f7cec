"""The records a Telegram Desktop export is read into: messages, and the files beside them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tgvault.domain import Post

__all__ = ["ExportFile", "ExportMessage", "ExportSender"]


@dataclass(frozen=True)
class ExportSender:
    """Who sent a message, as a JSON export names them (``from_id`` like ``user123``, ``from``)."""

    kind: str
    """``user`` or ``channel`` (a chat or channel posting as itself), as in ``from_id``."""
    id: int
    name: str


@dataclass(frozen=True)
class ExportMessage:
    """One message of a Desktop export (HTML or JSON): the post (media not yet stored) and its files."""

    post: Post
    where: str
    """Where the message stands in the export (file, message index), for error messages."""
    media_path: str | None
    """The attachment's path in the export (None for no attachment or a placeholder)."""
    files: tuple[str, ...]
    """Every path-valued field's path (attachment, thumbnail, vCard, custom emoji)."""
    sender: ExportSender | None = None
    """The sender a JSON export names (``from_id``/``from``); None when it names none (HTML exports)."""
    comment_on: tuple[int, int] | None = None
    """(channel id, post id) a tgvault export of a discussion group says the message comments on."""


@dataclass(frozen=True)
class ExportFile:
    """A file a message of the export names by its path, as found beside the export."""

    name: str
    """The path as the export writes it (relative to the export's folder)."""
    path: Path | None
    """The file, inside the export's folder; None when the path is refused or the file is not there."""
    size: int | None
    """The file's size in bytes, when it is there."""
    refused: bool
    """True when the path leads outside the export's folder (``../``, absolute, or through a symlink)."""
