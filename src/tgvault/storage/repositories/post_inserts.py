"""Posts known to be new, stored in bulk: the rows as plain tuples, one insert per table, the ledger chained once.

:meth:`NewPostWriter.insert_new` stores exactly what :meth:`PostWriter.upsert_many
<tgvault.storage.repositories.post_writes.PostWriter.upsert_many>` followed by
:meth:`MediaRepository.mark_downloaded <tgvault.storage.repositories.media.MediaRepository.mark_downloaded>`
for each stored file would store for posts the channel does not have yet, observed at the same time:
the same rows in ``posts``, ``post_counters`` and ``media_items``, and the same ledger entries in the same
order (for each post its counters, if any, then its revision; then each stored file), so the same chain.
It skips what only an existing post needs: loading archived rows, comparing states, one ``UPDATE`` and
one ledger append per stored file, and the per-column conversion of generic rows (values are built for
the driver directly: times as the archive's column type binds them, JSON as
:func:`~tgvault.storage.database.dump_json` writes it).

The caller vouches that the posts are new (it read which of them are archived in the same
transaction); a post that is archived after all makes the insert fail on the primary key, so the
caller's transaction is rolled back rather than anything written twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from tgvault.domain import MediaStatus, Post
from tgvault.storage.bulk import column_binder, insert_values
from tgvault.storage.database import dump_json
from tgvault.storage.ledger_records import (
    COUNTERS,
    MEDIA,
    REVISION,
    Draft,
    canonical_bytes,
    media_record,
    revision_record,
    sha256_hex,
    timestamp,
)
from tgvault.storage.media_store import StoredFile
from tgvault.storage.repositories.ledger import LedgerRepository
from tgvault.storage.repositories.rows import MEDIA_DESCRIPTION, entities_json, reactions_json, table
from tgvault.storage.tables import MediaItemRow, PostCounterRow, PostRow

_POST_COLUMNS = (
    *("channel_id", "message_id", "deleted_at", "revision_count", "first_seen_at", "updated_at"),
    *("date", "edit_date", "text", "entities", "service", "author", "grouped_id", "reply_to_message_id"),
    *("reply_to_channel_id", "forward", "views", "forwards", "replies", "reactions", "poll", "web_page"),
    *("location", "contact", "pinned", "raw", "parse_error", "source"),
)
_COUNTER_COLUMNS = ("channel_id", "message_id", "observed_at", "views", "forwards", "replies", "reactions")
_MEDIA_COLUMNS = (
    *("channel_id", "message_id", "attempts", "updated_at", *MEDIA_DESCRIPTION),
    *("status", "sha256", "path", "error", "thumbnail_sha256", "thumbnail_path"),
)
_DOWNLOADED = MediaStatus.DOWNLOADED.value


def _json(value: Any) -> str | None:
    return None if value is None else dump_json(value)


def _dumped(model: Any) -> dict[str, Any] | None:
    """A record as ``rows.post_values`` dumps it into a JSON column."""
    return None if model is None else model.model_dump(mode="json", exclude_defaults=True)


def _part(model: Any) -> str | None:
    """A record stored as a JSON column (as ``rows.post_values`` dumps it), written for the driver."""
    return _json(_dumped(model))


class NewPostWriter:
    """Insert a batch of a channel's posts known to be new (see the module)."""

    _session: Session

    def insert_new(
        self, posts: Sequence[Post], files: Mapping[int, StoredFile], observed_at: datetime
    ) -> int:
        """Store ``posts`` (new posts of one channel, each id once) as seen at ``observed_at``, with the
        stored file of each post named in ``files`` recorded as downloaded; returns how many were stored."""
        if not posts:
            return 0
        channel_ids = {post.channel_id for post in posts}
        if len(channel_ids) != 1:
            raise ValueError("insert_new takes posts of one channel at a time")
        (channel_id,) = channel_ids
        connection = self._session.connection()
        bind = _Binders(connection)
        now = bind.time(observed_at)
        post_rows: list[tuple[Any, ...]] = []
        counter_rows: list[tuple[Any, ...]] = []
        media_rows: list[tuple[Any, ...]] = []
        drafts: list[Draft] = []
        media_drafts: list[Draft] = []
        observed = timestamp(observed_at)
        for post in posts:
            message_id = post.message_id
            entities = entities_json(post.entities)
            reactions = reactions_json(post.reactions)
            views, forwards, replies = post.views, post.forwards, post.replies
            if views or forwards or replies or reactions:  # as counters_changed(None, ...) decides
                counter_rows.append(
                    (channel_id, message_id, now, views, forwards, replies, dump_json(reactions))
                )
                counters = {
                    "v": 1,
                    "channel_id": channel_id,
                    "message_id": message_id,
                    "observed_at": observed,
                    "views": views,
                    "forwards": forwards,
                    "replies": replies,
                    "reactions": reactions,
                }
                drafts.append(Draft(COUNTERS, message_id, observed_at, sha256_hex(canonical_bytes(counters))))
            poll = _dumped(post.poll)
            web_page = _dumped(post.web_page)
            state = revision_record(
                channel_id, message_id, post.text, entities, post.edit_date, poll, web_page
            )
            drafts.append(Draft(REVISION, message_id, observed_at, sha256_hex(canonical_bytes(state))))
            post_rows.append(
                (
                    channel_id,
                    message_id,
                    None,
                    0,
                    now,
                    now,
                    bind.time(post.date),
                    None if post.edit_date is None else bind.time(post.edit_date),
                    post.text,
                    dump_json(entities),
                    _part(post.service),
                    post.author,
                    post.grouped_id,
                    post.reply_to_message_id,
                    post.reply_to_channel_id,
                    _part(post.forward),
                    views,
                    forwards,
                    replies,
                    dump_json(reactions),
                    _json(poll),
                    _json(web_page),
                    _part(post.location),
                    _part(post.contact),
                    bind.flag(post.pinned),
                    _json(post.raw),
                    post.parse_error,
                    post.source.value,
                )
            )
            media = post.media
            if media is None:
                continue
            status, sha256, path, size, error = (
                media.status.value,
                media.sha256,
                media.path,
                media.size,
                media.error,
            )
            stored = files.get(message_id)
            if stored is not None:  # as mark_downloaded records it after the upsert
                status, sha256, path, size, error = _DOWNLOADED, stored.sha256, stored.path, stored.size, None
                record = media_record(channel_id, message_id, stored.sha256, stored.size)
                media_drafts.append(
                    Draft(MEDIA, message_id, observed_at, sha256_hex(canonical_bytes(record)), stored.sha256)
                )
            media_rows.append(
                (
                    channel_id,
                    message_id,
                    0,
                    now,
                    media.kind.value,
                    media.telegram_id,
                    media.mime_type,
                    media.file_name,
                    size,
                    media.width,
                    media.height,
                    bind.number(media.duration),
                    media.performer,
                    media.title,
                    media.sticker_emoji,
                    bind.flag(media.spoiler),
                    status,
                    sha256,
                    path,
                    error,
                    media.thumbnail_sha256,
                    media.thumbnail_path,
                )
            )
        insert_values(connection, table(PostRow), _POST_COLUMNS, post_rows)
        insert_values(connection, table(PostCounterRow), _COUNTER_COLUMNS, counter_rows)
        insert_values(connection, table(MediaItemRow), _MEDIA_COLUMNS, media_rows)
        LedgerRepository(self._session).append(channel_id, drafts + media_drafts, at=observed_at)
        return len(post_rows)


class _Binders:
    """How the connection's driver is handed a time, a flag and a float (as the columns' types bind them)."""

    def __init__(self, connection: Connection) -> None:
        posts, media = table(PostRow), table(MediaItemRow)
        self.time: Callable[[datetime], Any] = column_binder(connection.dialect, posts.c.date)
        self.flag: Callable[[bool], Any] = column_binder(connection.dialect, posts.c.pinned)
        self.number: Callable[[float | None], Any] = column_binder(connection.dialect, media.c.duration)
