"""Export an archived channel in the shape of Telegram Desktop's "Export chat history" ``result.json``.

The file has Desktop's top level (``name``, ``type``, ``id``, ``messages``) and Desktop's message fields,
so tools written for Desktop exports can read it. Differences from Desktop, on purpose:

- ``date`` and ``edited`` are written in one time zone, UTC unless another is asked for (Desktop uses the
  local time of the computer that exported); ``date_unixtime``/``edited_unixtime`` are exact either way.
  The top level says which zone under ``"tgvault": {"timezone": ...}``.
- Media files are copied into a ``media/`` folder next to the JSON file, named as in the media store
  (``media/ab/cd/<sha256>.<ext>``); paths in the JSON are relative to the JSON file's folder. A file the
  archive has not downloaded gets Desktop's "(File not included. ...)" placeholder.
- Each message carries an extra ``"tgvault"`` object: views, forwards, grouped_id, the deletion tombstone,
  earlier revisions (text in Desktop's forms) and the media file's sha256; a post with archived comments
  has them under ``"comments"`` (see :mod:`tgvault.export.desktop_json.comments`). A discussion group
  exported on its own is a supergroup whose messages name their authors in ``from``/``from_id``, and the
  channel post each comments on under ``"tgvault": {"comment_on": ...}``.

Text is cut into parts exactly as Desktop does it (see :mod:`tgvault.export.desktop_json.text_parts`), so a
channel imported from a Desktop export comes back the same.

The export streams: posts are read in batches and each message is encoded and written on its own, so a
channel of any size needs memory for one batch only. Output is deterministic for the same archive.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any, TextIO

from tgvault.domain import Channel, ChannelKind, Post
from tgvault.export.desktop_json.comments import CommentWriter, group_senders
from tgvault.export.desktop_json.media_files import MediaFiles
from tgvault.export.desktop_json.messages import MessageWriter
from tgvault.export.progress import ExportProgress, NoProgress
from tgvault.storage.media_store import MediaStore
from tgvault.storage.unit_of_work import UnitOfWork

__all__ = ["ExportSummary", "export_channel_json"]


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    path: Path
    """The JSON file."""
    messages: int
    media_files: int
    """Distinct files placed in the ``media/`` folder next to the JSON file."""
    media_bytes: int
    media_not_included: int
    """Attachments the archive has not downloaded (written as Desktop's placeholder)."""
    media_missing: int
    """Attachments recorded as downloaded whose file is missing or damaged in the media store."""
    timezone: str
    """The time zone of ``date`` and ``edited``."""


def _batches(posts: Iterable[Post], size: int) -> Iterator[list[Post]]:
    batch: list[Post] = []
    for post in posts:
        batch.append(post)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _desktop_chat_type(channel: Channel) -> str:
    visibility = "public" if channel.username else "private"
    noun = "channel" if channel.kind is ChannelKind.CHANNEL else "supergroup"
    return f"{visibility}_{noun}"


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)


def _write_messages(
    stream: TextIO,
    writer: MessageWriter,
    uow: UnitOfWork,
    channel: Channel,
    batch_size: int,
    progress: ExportProgress,
    comments: CommentWriter | None,
) -> int:
    count = 0
    for batch in _batches(uow.posts.iter_channel(channel.id, batch_size=batch_size), batch_size):
        ids = [post.message_id for post in batch]
        revisions = uow.posts.revisions_for(channel.id, ids)
        threads = comments.for_posts(ids) if comments is not None else {}
        senders = group_senders(uow, channel, ids) if channel.kind is ChannelKind.DISCUSSION else {}
        for post in batch:
            message = writer.message(post, revisions.get(post.message_id, ()))
            if post.message_id in threads:
                message["tgvault"]["comments"] = threads[post.message_id]
            if post.message_id in senders:
                message["from"], message["from_id"], message["tgvault"]["comment_on"] = senders[
                    post.message_id
                ]
            encoded = _dump(message)
            stream.write(",\n" if count else "\n")
            stream.write("\n".join(f"  {line}" for line in encoded.splitlines()))
            count += 1
        progress.advance(len(batch))
    return count


def export_channel_json(
    uow: UnitOfWork,
    channel: Channel,
    out: Path,
    media_store: MediaStore,
    *,
    timezone: tzinfo = UTC,
    link_media: bool = False,
    batch_size: int = 500,
    progress: ExportProgress | None = None,
) -> ExportSummary:
    """Write ``channel``'s archive as a Telegram Desktop ``result.json``; returns what was written.

    ``out`` is the JSON file when it ends in ``.json``, else a folder (created if needed) that gets
    ``result.json``. Downloaded media are copied into ``media/`` next to the JSON file (checked against
    their sha256; hard-linked instead with ``link_media``). ``date`` and ``edited`` are written in
    ``timezone`` (UTC by default). The JSON file is written under a temporary name and renamed when
    complete. Reads through ``uow`` only: nothing in the archive changes. ``progress`` counts the
    messages written of the channel's total. Raises ``OSError`` when ``out`` cannot be written.
    """
    progress = progress or NoProgress()
    target = out if out.suffix.lower() == ".json" and not out.is_dir() else out / "result.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    files = MediaFiles(target, media_store, link_media)
    writer = MessageWriter(uow, channel, timezone, files)
    zone_name = str(timezone)
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    try:
        with temp.open("x", encoding="utf-8", newline="\n") as stream:
            stream.write("{\n")
            for key, value in (
                ("name", channel.title),
                ("type", _desktop_chat_type(channel)),
                ("id", channel.id),
                ("tgvault", {"timezone": zone_name}),
            ):
                stream.write(f" {json.dumps(key)}: {_dump(value).replace(chr(10), chr(10) + ' ')},\n")
            stream.write(' "messages": [')
            progress.started(channel.title, uow.posts.count(channel.id), "messages")
            comments = (
                CommentWriter(uow, channel, timezone, files) if channel.kind is ChannelKind.CHANNEL else None
            )
            count = _write_messages(stream, writer, uow, channel, batch_size, progress, comments)
            progress.finished()
            stream.write("\n ]\n}\n" if count else "]\n}\n")
            stream.flush()
            os.fsync(stream.fileno())
        temp.replace(target)
    finally:
        temp.unlink(missing_ok=True)
    return ExportSummary(
        path=target,
        messages=count,
        media_files=files.media_files,
        media_bytes=files.media_bytes,
        media_not_included=files.media_not_included,
        media_missing=files.media_missing,
        timezone=zone_name,
    )
