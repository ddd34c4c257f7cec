"""Write one channel of a Desktop export into the archive by the merge rule, storing the files it names.

The raw Desktop message is kept in ``Post.raw`` as ``{"tdesktop": {...}, "tdesktop_files": {<path in
export>: <path in store>}}`` so that :mod:`tgvault.export.desktop_json` can write it back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tgvault.domain import MediaStatus, Post
from tgvault.formats.desktop import RAW_FILES_KEY
from tgvault.services.tdesktop_import.file_copies import ExportFileCopier
from tgvault.services.tdesktop_import.merge_rule import align_size, decide, is_imported
from tgvault.services.tdesktop_import.summaries import ChannelImportSummary, Tally
from tgvault.sources.tdesktop import ExportChat, ExportMessage
from tgvault.storage.media_store import StoredFile
from tgvault.storage.unit_of_work import UnitOfWork

__all__ = ["ChannelWriter"]

_BATCH = 500


@dataclass
class ChannelWriter:
    """Writes an export's channels by the merge rule, copying their files into the store as it goes."""

    files: ExportFileCopier

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

    def import_chat(self, uow: UnitOfWork, chat: ExportChat) -> ChannelImportSummary:
        """Write one channel's messages (inside the caller's unit of work, which commits)."""
        channel = chat.channel
        if uow.channels.get(channel.id) is None:
            uow.channels.upsert(channel)
        tally = Tally()
        progress = self.files.progress
        progress.started(channel.title, len(chat.messages), "messages")
        try:
            self._write(uow, chat, tally)
        finally:
            progress.finished()
        return ChannelImportSummary(
            channel_id=channel.id,
            title=channel.title,
            messages=len(chat.messages),
            added=tally.added,
            edited=tally.edited,
            unchanged=tally.unchanged,
            kept=tally.kept,
            older=tally.older,
            files_stored=tally.files,
            bytes_stored=tally.bytes,
            media_pending=tally.pending,
            paths_refused=tally.refused,
        )

    def _write(self, uow: UnitOfWork, chat: ExportChat, tally: Tally) -> None:
        """Merge the chat's messages into the archive, a batch at a time, counting what was done."""
        channel = chat.channel
        for batch in _chunks(chat.messages, _BATCH):
            archived = uow.posts.get_many(channel.id, [message.post.message_id for message in batch])
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
                    if stored is not None:
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
            outcome = uow.posts.upsert_many(posts)
            tally.added += outcome.added
            tally.edited += outcome.edited
            tally.unchanged += outcome.unchanged
            for message_id, stored in fills:
                uow.media.mark_downloaded(
                    channel.id, message_id, sha256=stored.sha256, path=stored.path, size=stored.size
                )
            self.files.progress.advance(len(batch))

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
        return post.model_copy(update={"media": media, "raw": _raw(message, mapping)}), attachment


def _raw(message: ExportMessage, files: Mapping[str, str]) -> dict[str, Any]:
    raw = dict(message.post.raw or {})
    if files:
        raw[RAW_FILES_KEY] = dict(files)
    return raw


def _chunks(items: Sequence[ExportMessage], size: int) -> Iterator[Sequence[ExportMessage]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
