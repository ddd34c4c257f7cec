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

**Streaming, in one transaction.** The export is read as a stream (one message of ``result.json``, or
one HTML page, at a time) and written in batches of 500 into one unit of work, committed at the end, so
an import of any size runs in flat memory. A malformed or truncated file raises
:class:`~tgvault.errors.ImportFormatError` naming the place (message index and id, field) when the stream
reaches it; the transaction is then rolled back and the archive is as it was. The files beside the export
are copied as their messages are met, into a staging folder of the media store
(:mod:`~tgvault.services.tdesktop_import.staged_files`), placed only once every message was written, just
before the commit; after an error they are removed, so the media store is as it was too.

The export is read by :mod:`tgvault.sources.tdesktop`; a post already archived is merged with the
export's by the rule in :mod:`~tgvault.services.tdesktop_import.merge_rule`, and the export's files are
copied into the media store by :mod:`~tgvault.services.tdesktop_import.file_copies`.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from tgvault.domain import Channel, ChannelKind
from tgvault.errors import ChannelChoiceError, SourceError, TimezoneRequiredError
from tgvault.services.progress import Progress, SilentProgress
from tgvault.services.tdesktop_import.channel_writes import ChannelWriter, StreamSource
from tgvault.services.tdesktop_import.comment_links import CommentLinker
from tgvault.services.tdesktop_import.file_copies import ExportFileCopier
from tgvault.services.tdesktop_import.staged_files import StagedFiles
from tgvault.services.tdesktop_import.summaries import ChannelImportSummary, ImportSummary
from tgvault.sources.tdesktop import (
    ExportMessage,
    html_pages,
    locate_export,
    needs_timezone,
    read_html_export,
    read_json_export,
    read_title,
)
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.tables import utcnow
from tgvault.storage.unit_of_work import UnitOfWork

__all__ = ["import_tdesktop"]

_GC_THRESHOLD = 20_000


def import_tdesktop(
    path: Path,
    uow_factory: Callable[[], UnitOfWork],
    media_store: LocalMediaStore,
    *,
    channel_name: str | None = None,
    timezone: tzinfo | None = None,
    progress: Progress | None = None,
    comments_of: int | None = None,
    pseudonymous: bool = False,
    bulk: bool = True,
    clock: Callable[[], datetime] = utcnow,
) -> ImportSummary:
    """Import a Telegram Desktop JSON export (a chat's ``result.json``, its folder, or a full-account export).

    ``comments_of`` is the id of an archived channel whose discussion group the export is: the group is
    stored as that channel's discussion group and its messages as the comments of the channel's posts
    (:mod:`~tgvault.services.tdesktop_import.comment_links`); ``pseudonymous`` keeps the commenters
    under this archive's pseudonyms only (``comments_authors = "pseudonymous"``).

    A batch of messages none of which is archived yet is written in bulk (``bulk=False`` writes every
    batch through the generic upsert instead: the same rows and ledger entries, slower); ``clock`` says
    when each batch is observed (the time its rows and ledger entries carry).

    ``channel_name`` picks one channel of a full-account export (by name or id). ``timezone`` is the zone
    of the computer that made an older export whose times have no UTC offset. Everything is validated
    as the export is streamed and written in one transaction (see
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
    comments = None
    if comments_of is not None:
        comments = _linker(uow_factory, comments_of, pseudonymous)
        if located.is_dir():
            raise SourceError(
                f"{located}: a discussion group is imported from a JSON export (result.json); Telegram "
                "Desktop's HTML export does not say which message answers which"
            )
    if located.is_dir():
        writer = ChannelWriter(
            ExportFileCopier(root=located, staged=StagedFiles(media_store), progress=progress),
            bulk=bulk,
            clock=clock,
        )
        return _import_html(located, uow_factory, writer, channel_name=channel_name, timezone=timezone)
    media_store.prepare()
    staged = StagedFiles(media_store)
    copier = ExportFileCopier(root=located.parent, staged=staged, progress=progress)
    with read_json_export(located, channel_name, timezone) as export:
        source = StreamSource(
            total_bytes=export.size,
            position=lambda: export.position,
            writing=lambda: not export.timezone_missing,
        )
        writer = ChannelWriter(copier, comments, bulk=bulk, clock=clock)
        summaries = _write(uow_factory, writer, export.items(), source)
    return ImportSummary(
        source=export.path,
        channels=summaries,
        timezone_assumed=str(timezone) if export.local_times else None,
        warnings=dict(copier.warnings),
    )


def _linker(uow_factory: Callable[[], UnitOfWork], channel_id: int, pseudonymous: bool) -> CommentLinker:
    """What ties the group's messages to the posts of the archived channel ``channel_id``."""
    with uow_factory() as uow:
        channel = uow.channels.get(channel_id)
    if channel is None or channel.kind is not ChannelKind.CHANNEL:
        raise SourceError(
            f"channel {channel_id} is not an archived channel; archive or import the channel first, then "
            "import its discussion group with --comments-of"
        )
    return CommentLinker(channel=channel, pseudonymous=pseudonymous)


def _write(
    uow_factory: Callable[[], UnitOfWork],
    writer: ChannelWriter,
    items: Iterable[Channel | ExportMessage],
    source: StreamSource,
) -> tuple[ChannelImportSummary, ...]:
    """Write the stream in one transaction; the staged files are placed just before it commits."""
    staged = writer.files.staged
    try:
        with _fewer_collections(), uow_factory() as uow:
            summaries = writer.import_stream(uow, items, source)
            staged.place_all()
            uow.commit()
    finally:
        staged.discard()
    return summaries


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the block with the garbage collector's youngest generation collected every 20,000 allocations
    instead of 700 (the thresholds are put back after it).

    An import allocates millions of short-lived containers (a message's JSON, its records, its rows),
    freed by reference counting, while a batch's worth stays alive; with the default threshold the
    collector walks those survivors again and again (≈18% of an import's CPU time, 10,000 messages).
    What an import makes is freed by reference counting; the few cycles (the session's) are still
    collected, a little later, and the peak memory stays as it was (measured by the bench)."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], _GC_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


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
    writer: ChannelWriter,
    *,
    channel_name: str | None,
    timezone: tzinfo | None,
) -> ImportSummary:
    """Import an HTML export (``messages.html``, ``messages2.html``, ...) by the same rules as JSON."""
    pages = html_pages(folder)
    local_times = needs_timezone(folder)
    if local_times and timezone is None:
        for _ in read_html_export(folder, 0, UTC):
            pass  # a malformed message (a bad date) is named before a time zone is asked for
        raise TimezoneRequiredError(
            f"{folder}: this HTML export gives local times without a UTC offset; give the time zone of the "
            "computer that made it with --timezone, e.g. --timezone Europe/Berlin"
        )
    title = read_title(pages[0])
    with uow_factory() as uow:
        channel = _html_channel(uow, title, channel_name, folder)
    writer.files.staged.store.prepare()
    read = [0]

    def page_read(page: Path) -> None:
        read[0] += page.stat().st_size

    messages = read_html_export(folder, channel.id, timezone, on_page=page_read)
    source = StreamSource(
        total_bytes=sum(page.stat().st_size for page in pages), position=lambda: read[0], writing=lambda: True
    )
    summaries = _write(uow_factory, writer, itertools.chain((channel,), messages), source)
    return ImportSummary(
        source=pages[0],
        channels=summaries,
        timezone_assumed=str(timezone) if local_times else None,
        warnings=dict(writer.files.warnings),
    )
