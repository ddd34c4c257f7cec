"""Import Telegram Desktop exports ("Export chat history", JSON or HTML) into the archive.

Accepted inputs: a single chat's ``result.json`` (or the folder holding it, with ``photos/``, ``files/``,
``video_files/``, ...), or a full-account export's ``result.json`` (``chats.list`` and ``left_chats.list``:
every channel and supergroup in it is imported, or only the one named). Both JSON formats are read: the
current one (``text_entities``, ``date_unixtime``, ``from_id`` like ``channel123``) and the older one
(mixed ``text`` lists only, numeric ``from_id``, local times without a UTC offset, which need a time zone).
HTML exports (``messages.html``, ``messages2.html``, ...; read by :mod:`tgvault.sources.tdesktop`)
are imported by the same rules; they carry no channel id, so the channel is the archived one with the
export's title, or the one ``channel_name`` names (an archived channel's username, id or title, or a new
channel's numeric id).

**Validation before writing.** The whole file is read and every message checked and mapped first; a
malformed or truncated file raises :class:`~tgvault.errors.ImportFormatError` naming the place (message
index and id, field) before the archive or the media store is touched.

**One transaction per import.** All channels of one import are written in one unit of work, committed at
the end; an error on the way leaves the archive as it was. (Media files copied into the store before such
an error stay there: they are content-addressed, so a later import simply reuses them.)

The export is read by :mod:`tgvault.sources.tdesktop`; a post already archived is merged with the
export's by the rule in :mod:`~tgvault.services.tdesktop_import.merge_rule`, and the export's files are
copied into the media store by :mod:`~tgvault.services.tdesktop_import.file_copies`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, tzinfo
from pathlib import Path

from tgvault.domain import Channel
from tgvault.errors import ChannelChoiceError, TimezoneRequiredError
from tgvault.services.progress import Progress, SilentProgress
from tgvault.services.tdesktop_import.channel_writes import ChannelWriter
from tgvault.services.tdesktop_import.file_copies import ExportFileCopier
from tgvault.services.tdesktop_import.summaries import ImportSummary
from tgvault.sources.tdesktop import (
    ExportChat,
    html_pages,
    locate_export,
    needs_timezone,
    read_html_export,
    read_json_export,
    read_title,
)
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork

__all__ = ["import_tdesktop"]


def import_tdesktop(
    path: Path,
    uow_factory: Callable[[], UnitOfWork],
    media_store: LocalMediaStore,
    *,
    channel_name: str | None = None,
    timezone: tzinfo | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import a Telegram Desktop JSON export (a chat's ``result.json``, its folder, or a full-account export).

    ``channel_name`` picks one channel of a full-account export (by name or id). ``timezone`` is the zone
    of the computer that made an older export whose times have no UTC offset. Everything is validated
    before anything is written, then written in one transaction (see
    :mod:`~tgvault.services.tdesktop_import.merge_rule` for the merge rule). ``progress`` is told each
    channel's messages written of its total and the files stored, and receives the warnings (files
    missing from the export, refused paths), counted by kind. Raises :class:`ImportFormatError` for a
    malformed or truncated export, :class:`TimezoneRequiredError` when local times need ``timezone``,
    :class:`SourceError` when the file cannot be read or holds no (such) channel
    (:class:`ChannelChoiceError` when an HTML export's channel must be named with ``--channel``), and
    :class:`StorageError` when the media store cannot be written.
    """
    progress = progress or SilentProgress()
    located = locate_export(path)
    progress.started(f"reading {located.name}", None, "messages")
    if located.is_dir():
        return _import_html(
            located, uow_factory, media_store, channel_name=channel_name, timezone=timezone, progress=progress
        )
    export = read_json_export(located, channel_name, timezone)
    media_store.prepare()
    copier = ExportFileCopier(files=export.files, store=media_store, progress=progress)
    writer = ChannelWriter(copier)
    with uow_factory() as uow:
        summaries = tuple(writer.import_chat(uow, chat) for chat in export.chats)
        uow.commit()
    return ImportSummary(
        source=export.path,
        channels=summaries,
        timezone_assumed=str(timezone) if export.local_times else None,
        warnings=dict(copier.warnings),
    )


def _html_channel(uow: UnitOfWork, title: str, channel_name: str | None, folder: Path) -> Channel:
    """The archived channel an HTML export belongs to (HTML exports do not carry the channel's id)."""
    if channel_name is not None:
        found = uow.channels.find(channel_name)
        if found is None:
            found = next((c for c in uow.channels.list() if c.title == channel_name), None)
        if found is not None:
            return found
        key = channel_name.strip()
        if key.isdigit():
            return Channel(id=int(key), title=title)
        raise ChannelChoiceError(
            f"{folder}: no archived channel {channel_name!r}; an HTML export does not say its channel's id, "
            "so give --channel the numeric id (as in t.me/c/<id>/...) or an archived channel's @username"
        )
    matches = [c for c in uow.channels.list() if c.title == title]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ChannelChoiceError(
            f"{folder}: several archived channels are titled {title!r}; choose one with --channel"
        )
    raise ChannelChoiceError(
        f"{folder}: an HTML export does not say its channel's id and no archived channel is titled "
        f"{title!r}; give --channel with the numeric id (as in t.me/c/<id>/...) or an archived channel's "
        "@username, e.g. --channel 1234567890"
    )


def _import_html(
    folder: Path,
    uow_factory: Callable[[], UnitOfWork],
    media_store: LocalMediaStore,
    *,
    channel_name: str | None,
    timezone: tzinfo | None,
    progress: Progress,
) -> ImportSummary:
    """Import an HTML export (``messages.html``, ``messages2.html``, ...) by the same rules as JSON."""
    pages = html_pages(folder)
    local_times = needs_timezone(folder)
    if local_times and timezone is None:
        read_html_export(
            folder, 0, UTC
        )  # a malformed message (a bad date) is named before a time zone is asked for
        raise TimezoneRequiredError(
            f"{folder}: this HTML export gives local times without a UTC offset; give the time zone of the "
            "computer that made it with --timezone, e.g. --timezone Europe/Berlin"
        )
    title = read_title(pages[0])
    with uow_factory() as uow:
        channel = _html_channel(uow, title, channel_name, folder)
    export = read_html_export(folder, channel.id, timezone)
    media_store.prepare()
    copier = ExportFileCopier(files=export.files, store=media_store, progress=progress)
    writer = ChannelWriter(copier)
    with uow_factory() as uow:
        summary = writer.import_chat(uow, ExportChat(channel=channel, messages=export.messages))
        uow.commit()
    return ImportSummary(
        source=pages[0],
        channels=(summary,),
        timezone_assumed=str(timezone) if export.local_times else None,
        warnings=dict(copier.warnings),
    )
