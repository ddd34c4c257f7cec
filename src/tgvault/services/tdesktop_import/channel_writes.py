"""Write one channel of a Desktop export into the archive by the merge rule, storing the files it names.

The raw Desktop message is kept in ``Post.raw`` as ``{"tdesktop": {...}, "tdesktop_files": {<path in
export>: <path in store>}}`` so that :mod:`tgvault.export.desktop_json` can write it back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tgvault.domain import Channel, ChannelKind, MediaStatus, Post
from tgvault.errors import SourceError
from tgvault.formats.desktop import RAW_FILES_KEY
from tgvault.services.tdesktop_import.comment_links import CommentLinker
from tgvault.services.tdesktop_import.file_copies import ExportFileCopier
from tgvault.services.tdesktop_import.merge_rule import align_size, decide, is_imported
from tgvault.services.tdesktop_import.summaries import ChannelImportSummary, Tally
from tgvault.sources.tdesktop import ExportMessage
from tgvault.storage.media_store import StoredFile
from tgvault.storage.tables import utcnow
from tgvault.storage.unit_of_work import UnitOfWork

__all__ = ["ChannelWriter", "StreamSource"]

_BATCH = 500


@dataclass(frozen=True)
class StreamSource:
    """What the writer asks of the stream it writes: how far through the export it is (bytes read of
    ``total_bytes``, for the progress display), and whether to write at all (False once a time zone is
    known to be missing: the rest is only checked)."""

    total_bytes: int
    position: Callable[[], int]
    writing: Callable[[], bool]


@dataclass
class _ChannelRun:
    """One channel being written: what was done so far, and where its stream stood at the last batch."""

    channel: Channel
    tally: Tally
    position: int
    messages: int = 0


@dataclass
class ChannelWriter:
    """Writes an export's channels by the merge rule, copying their files into the store as it goes."""

    files: ExportFileCopier
    comments: CommentLinker | None = None
    """Set when the export is a channel's discussion group: its messages are that channel's comments."""
    bulk: bool = True
    """A batch of posts none of which is archived is inserted in bulk (``uow.posts.insert_new``: the same
    rows and ledger entries as the generic upsert, with less work); False sends every batch through the
    generic upsert (the reference the bulk path is tested against)."""
    clock: Callable[[], datetime] = utcnow
    """When a batch is observed (read once a batch: every row and ledger entry of the batch carries it)."""

    def _files(self, message: ExportMessage, tally: Tally) -> tuple[StoredFile | None, dict[str, str]]:
        """Store every file the message names; the attachment's stored file and a map for ``raw``."""
        media = message.post.media
        attachment = None
        mapping: dict[str, str] = {}
        for value in message.files:
            if value == message.media_path and media is not None:
                stored = self.files.store_file(
                    value, message.where, tally, mime_type=media.mime_type, size=media.size
                )
                attachment = stored
            else:
                stored = self.files.store_file(value, message.where, tally)
            if stored is not None:
                mapping[value] = stored.path
        return attachment, mapping

    def _fill(self, message: ExportMessage, old: Post, tally: Tally) -> tuple[int, StoredFile] | None:
        """The export's file for an archived post that still lacks it (same kind and size)."""
        new, have = message.post.media, old.media
        if new is None or have is None or message.media_path is None:
            return None
        if have.status is MediaStatus.DOWNLOADED or have.kind is not new.kind:
            return None
        stored = self.files.store_file(
            message.media_path, message.where, tally, mime_type=new.mime_type, size=new.size
        )
        if stored is None or (have.size is not None and have.size != stored.size):
            return None
        return (old.message_id, stored)

    def import_stream(
        self, uow: UnitOfWork, items: Iterable[Channel | ExportMessage], source: StreamSource
    ) -> tuple[ChannelImportSummary, ...]:
        """Write a stream of channels, each followed by its messages (inside the caller's unit of work,
        which commits), a batch at a time; the summary of each channel."""
        summaries: list[ChannelImportSummary] = []
        current: _ChannelRun | None = None
        batch: list[ExportMessage] = []
        try:
            for item in items:
                if isinstance(item, ExportMessage):
                    batch.append(item)
                    if len(batch) >= _BATCH:
                        assert current is not None
                        self._batch(uow, current, batch, source)
                        batch = []
                    continue
                start = 0
                if current is not None:
                    self._batch(uow, current, batch, source)
                    batch = []
                    summaries.append(self._end(current))
                    start = current.position
                current = self._start(uow, item, source, start)
            if current is not None:
                self._batch(uow, current, batch, source)
                summaries.append(self._end(current))
                current = None
        finally:
            if current is not None:
                self.files.progress.finished()
        return tuple(summaries)

    def _start(self, uow: UnitOfWork, channel: Channel, source: StreamSource, start: int) -> _ChannelRun:
        """Begin a channel whose messages follow byte ``start`` of the stream (where the last one ended)."""
        archived = uow.channels.get(channel.id)
        if self.comments is not None:
            channel = self._group(channel, archived)
            archived = archived if archived is not None and archived.kind is channel.kind else None
        if source.writing() and archived is None:
            uow.channels.upsert(channel, observed_at=self.clock())
        self.files.progress.started(
            channel.title, None, "messages", total_bytes=max(source.total_bytes - start, 0)
        )
        return _ChannelRun(channel=channel, tally=Tally(), position=start)

    def _group(self, chat: Channel, archived: Channel | None) -> Channel:
        """The chat as the discussion group of the linker's channel (refused when it cannot be one)."""
        assert self.comments is not None
        target = self.comments.channel
        if chat.kind is ChannelKind.CHANNEL or chat.id == target.id:
            raise SourceError(
                f"{chat.title!r} is a channel, not a discussion group; import a channel's export without "
                "--comments-of, and the export of its discussion group with it"
            )
        if self.comments.group_id not in (0, chat.id):
            raise SourceError(
                "the export holds several groups; --comments-of imports one (name it with --channel)"
            )
        self.comments.group_id = chat.id
        base = archived if archived is not None else chat
        return base.model_copy(update={"kind": ChannelKind.DISCUSSION})

    def _end(self, run: _ChannelRun) -> ChannelImportSummary:
        self.files.progress.finished()
        channel, tally = run.channel, run.tally
        return ChannelImportSummary(
            channel_id=channel.id,
            title=channel.title,
            messages=run.messages,
            added=tally.added,
            edited=tally.edited,
            unchanged=tally.unchanged,
            kept=tally.kept,
            older=tally.older,
            files_stored=tally.files,
            bytes_stored=tally.bytes,
            media_pending=tally.pending,
            paths_refused=tally.refused,
            comments=0 if self.comments is None else self.comments.linked,
            copies=0 if self.comments is None else len(self.comments.copies),
        )

    def _batch(
        self, uow: UnitOfWork, run: _ChannelRun, batch: list[ExportMessage], source: StreamSource
    ) -> None:
        """Write one batch (unless writing stopped: a time zone is missing), and count it as read."""
        if batch and source.writing():
            unique = list({message.post.message_id: message for message in batch}.values())
            if self.comments is not None:
                unique = self.comments.prepare(uow, unique)
            self._write(uow, run.channel, unique, run.tally)
            if self.comments is not None:
                self.comments.link(uow, unique)
        run.messages += len(batch)
        self.files.staged.keep_alive()
        position = source.position()
        self.files.progress.advance(len(batch), max(position - run.position, 0))
        run.position = position

    def _write(self, uow: UnitOfWork, channel: Channel, batch: list[ExportMessage], tally: Tally) -> None:
        """Merge one batch of the channel's messages into the archive, counting what was done."""
        now = self.clock()
        ids = [message.post.message_id for message in batch]
        if self.bulk and not uow.posts.archived_ids(channel.id, ids):
            self._insert_new(uow, batch, tally, now)
            return
        archived = uow.posts.get_many(channel.id, ids)
        posts: list[Post] = []
        fills: list[tuple[int, StoredFile]] = []
        for message in batch:
            old = archived.get(message.post.message_id)
            decision = decide(message.post, old)
            if decision in ("insert", "update"):
                post, stored = self._post(message, old, tally)
                if old is not None and is_imported(old):
                    post = post.model_copy(update={"source": old.source})
                posts.append(post)
                if stored is not None and not _recorded(old, stored):
                    fills.append((post.message_id, stored))
                continue
            assert old is not None
            if decision == "merge":
                _, mapping = self._files(message, tally)
                posts.append(
                    old.model_copy(
                        update={
                            "text": message.post.text,
                            "entities": message.post.entities,
                            "edit_date": message.post.edit_date,
                            "raw": _raw(message, mapping),
                        }
                    )
                )
            elif decision == "older":
                tally.older += 1
            else:
                tally.kept += 1
            fill = self._fill(message, old, tally)
            if fill is not None:
                fills.append(fill)
        outcome = uow.posts.upsert_many(posts, observed_at=now)
        tally.added += outcome.added
        tally.edited += outcome.edited
        tally.unchanged += outcome.unchanged
        for message_id, stored in fills:
            uow.media.mark_downloaded(
                channel.id,
                message_id,
                sha256=stored.sha256,
                path=stored.path,
                size=stored.size,
                observed_at=now,
            )

    def _insert_new(self, uow: UnitOfWork, batch: list[ExportMessage], tally: Tally, now: datetime) -> None:
        """A batch of posts none of which is archived: stored in bulk, as the generic path would store it."""
        posts: list[Post] = []
        files: dict[int, StoredFile] = {}
        for message in batch:
            post, stored = self._post(message, None, tally)
            posts.append(post)
            if stored is not None:
                files[post.message_id] = stored
        tally.added += uow.posts.insert_new(posts, files, now)

    def _post(self, message: ExportMessage, old: Post | None, tally: Tally) -> tuple[Post, StoredFile | None]:
        """The export's post with its files stored, ready to upsert over ``old`` (or insert)."""
        attachment, mapping = self._files(message, tally)
        post = message.post
        media = post.media
        if media is not None:
            if attachment is not None:
                media = media.model_copy(
                    update={
                        "status": MediaStatus.DOWNLOADED,
                        "sha256": attachment.sha256,
                        "path": attachment.path,
                        "size": attachment.size,
                    }
                )
            else:
                tally.pending += 1
            media = align_size(media, old)
        if not mapping and media is post.media and post.raw is not None:
            return post, attachment  # nothing stored for it: the post as read (most posts; no copy made)
        return post.model_copy(update={"media": media, "raw": _raw(message, mapping)}), attachment


def _recorded(old: Post | None, stored: StoredFile) -> bool:
    """True when the archived post already has this very file recorded as downloaded (a re-import: the
    ledger is not told of it again)."""
    media = None if old is None else old.media
    return (
        media is not None
        and media.status is MediaStatus.DOWNLOADED
        and (media.sha256, media.path, media.size) == (stored.sha256, stored.path, stored.size)
    )


def _raw(message: ExportMessage, files: Mapping[str, str]) -> dict[str, Any]:
    raw = dict(message.post.raw or {})
    if files:
        raw[RAW_FILES_KEY] = dict(files)
    return raw
