"""SQLAlchemy table models of the archive. Only ``storage/`` imports these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no offset, so we restore it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the archive; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Python None is SQL NULL (not the JSON value null) in every kind of statement, so bulk Core inserts
# (one executemany per page) store exactly what the ORM would.
JsonDocument = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints predictably."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JsonDocument}


class ChannelRow(Base):
    """A channel as last seen."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    subscribers: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime | None]
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    first_seen_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ChannelObservationRow(Base):
    """A channel's title, username, description and subscriber count when they changed."""

    __tablename__ = "channel_observations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("channels.id", ondelete="CASCADE"))
    observed_at: Mapped[datetime]
    title: Mapped[str] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    subscribers: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_channel_observations_channel_time", "channel_id", "observed_at"),)


class PostRow(Base):
    """A post's current state plus its tombstone. Identity is (channel_id, message_id)."""

    __tablename__ = "posts"

    channel_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    date: Mapped[datetime]
    edit_date: Mapped[datetime | None]
    text: Mapped[str] = mapped_column(Text)
    entities: Mapped[list[Any]] = mapped_column(JsonDocument)
    service: Mapped[dict[str, Any] | None]
    author: Mapped[str | None] = mapped_column(Text)
    grouped_id: Mapped[int | None] = mapped_column(BigInteger)
    reply_to_message_id: Mapped[int | None] = mapped_column(BigInteger)
    reply_to_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    forward: Mapped[dict[str, Any] | None]
    views: Mapped[int | None] = mapped_column(BigInteger)
    forwards: Mapped[int | None] = mapped_column(BigInteger)
    replies: Mapped[int | None] = mapped_column(BigInteger)
    reactions: Mapped[list[Any]] = mapped_column(JsonDocument)
    poll: Mapped[dict[str, Any] | None]
    web_page: Mapped[dict[str, Any] | None]
    location: Mapped[dict[str, Any] | None]
    contact: Mapped[dict[str, Any] | None]
    pinned: Mapped[bool] = mapped_column(Boolean)
    raw: Mapped[dict[str, Any] | None]
    parse_error: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(16), server_default="telegram")
    revision_count: Mapped[int] = mapped_column(Integer)
    first_seen_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_posts_channel_date", "channel_id", "date"),
        Index("ix_posts_channel_grouped", "channel_id", "grouped_id"),
        Index("ix_posts_channel_updated", "channel_id", "updated_at"),
    )


class PostRevisionRow(Base):
    """An earlier state of an edited post, with the raw TL of that state."""

    __tablename__ = "post_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    revision: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    entities: Mapped[list[Any]] = mapped_column(JsonDocument)
    edit_date: Mapped[datetime | None]
    observed_at: Mapped[datetime]
    raw: Mapped[dict[str, Any] | None]
    poll: Mapped[dict[str, Any] | None]
    """The poll of that state as archived (since migration 0012; hashed by the ledger's form 2)."""
    web_page: Mapped[dict[str, Any] | None]
    """The link preview of that state as archived (since migration 0012)."""

    __table_args__ = (
        ForeignKeyConstraint(
            ["channel_id", "message_id"], ["posts.channel_id", "posts.message_id"], ondelete="CASCADE"
        ),
        UniqueConstraint("channel_id", "message_id", "revision"),
    )


class PostCounterRow(Base):
    """A post's views, forwards, replies and reactions when an observation found them changed."""

    __tablename__ = "post_counters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    observed_at: Mapped[datetime]
    views: Mapped[int | None] = mapped_column(BigInteger)
    forwards: Mapped[int | None] = mapped_column(BigInteger)
    replies: Mapped[int | None] = mapped_column(BigInteger)
    reactions: Mapped[list[Any]] = mapped_column(JsonDocument)

    __table_args__ = (
        ForeignKeyConstraint(
            ["channel_id", "message_id"], ["posts.channel_id", "posts.message_id"], ondelete="CASCADE"
        ),
        Index("ix_post_counters_post_time", "channel_id", "message_id", "observed_at"),
    )


class MediaItemRow(Base):
    """The file attached to a post and where its download stands."""

    __tablename__ = "media_items"

    channel_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    mime_type: Mapped[str | None] = mapped_column(String(255))
    file_name: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[float | None] = mapped_column(Float)
    performer: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    sticker_emoji: Mapped[str | None] = mapped_column(String(32))
    spoiler: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    path: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    thumbnail_sha256: Mapped[str | None] = mapped_column(String(64))
    thumbnail_path: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]

    __table_args__ = (
        ForeignKeyConstraint(
            ["channel_id", "message_id"], ["posts.channel_id", "posts.message_id"], ondelete="CASCADE"
        ),
        Index("ix_media_items_status", "status", "channel_id"),
        Index("ix_media_items_channel_updated", "channel_id", "updated_at"),
    )


class MediaDownloadRow(Base):
    """The media download queue: a file still to fetch, its attempts and when to try it next.

    A row exists from the moment its post is committed until the file is stored (or the post no longer
    has it). ``state`` is ``queued`` while attempts remain, ``failed`` after the attempt ceiling, when
    ``next_attempt_at`` is pushed to a later schedule.
    """

    __tablename__ = "media_downloads"

    channel_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(16))
    size: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime]
    queued_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        ForeignKeyConstraint(
            ["channel_id", "message_id"],
            ["media_items.channel_id", "media_items.message_id"],
            ondelete="CASCADE",
        ),
        Index("ix_media_downloads_channel_due", "channel_id", "next_attempt_at"),
    )


class SyncStateRow(Base):
    """Per-channel checkpoints for backfill and incremental sync."""

    __tablename__ = "sync_state"

    channel_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    newest_id: Mapped[int] = mapped_column(BigInteger)
    backfill_top_id: Mapped[int | None] = mapped_column(BigInteger)
    backfill_offset_id: Mapped[int | None] = mapped_column(BigInteger)
    backfill_complete: Mapped[bool] = mapped_column(Boolean)
    last_sync_at: Mapped[datetime | None]


class SyncRunRow(Base):
    """One run of backfill or sync over a channel: when, what changed, how it ended."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_key: Mapped[str] = mapped_column(String(255))
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    posts_added: Mapped[int] = mapped_column(Integer)
    posts_edited: Mapped[int] = mapped_column(Integer)
    posts_deleted: Mapped[int] = mapped_column(Integer)
    media_files: Mapped[int] = mapped_column(Integer)
    media_bytes: Mapped[int] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_sync_runs_channel_key_started", "channel_key", "started_at"),
        Index("ix_sync_runs_channel_id_started", "channel_id", "started_at"),
    )


class ChannelLockRow(Base):
    """Which process is syncing a channel right now (so two never do at once)."""

    __tablename__ = "channel_locks"

    channel_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]


class ServiceStateRow(Base):
    """How ``tgvault run`` treats a configured channel: next run, failures in a row, backoff, last error."""

    __tablename__ = "service_state"

    channel_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    schedule: Mapped[str] = mapped_column(String(255))
    next_run_at: Mapped[datetime | None]
    last_run_at: Mapped[datetime | None]
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    consecutive_failures: Mapped[int] = mapped_column(Integer)
    backoff_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class ChannelLeaseRow(Base):
    """Which ``tgvault run --worker`` process serves a configured channel, until when (renewed while alive)."""

    __tablename__ = "channel_leases"

    channel_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    acquired_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    claims: Mapped[int] = mapped_column(Integer)


class WorkerRow(Base):
    """A ``tgvault run --worker`` process sharing the archive, with its heartbeat (to share work fairly)."""

    __tablename__ = "workers"

    worker_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    session_name: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]


class ChannelAlertRow(Base):
    """Something a run saw that a person should look at, e.g. a mass deletion; kept until cleared."""

    __tablename__ = "channel_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    channel_key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    run_kind: Mapped[str] = mapped_column(String(16))
    raised_at: Mapped[datetime]
    checked: Mapped[int] = mapped_column(Integer)
    vanished: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    cleared_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_channel_alerts_channel_raised", "channel_id", "raised_at"),)


class AuditStateRow(Base):
    """Where a channel's audit stands: the id it has checked up to, its date range, when one last finished."""

    __tablename__ = "audit_state"

    channel_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    cursor_id: Mapped[int | None] = mapped_column(BigInteger)
    since: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    last_completed_at: Mapped[datetime | None]


class UserRow(Base):
    """A comment's author as last seen: a user (or a channel posting as itself), its name and @username."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(String(64))
    first_seen_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ArchiveKeyRow(Base):
    """A secret of this archive, made on first use (e.g. the key of commenters' pseudonyms)."""

    __tablename__ = "archive_keys"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class DiscussionThreadRow(Base):
    """A channel post's comment thread: its ``replies`` header as last read and how far its comments are
    archived (``fetched_max_id``); a thread whose ``max_id`` is above ``fetched_max_id`` has news."""

    __tablename__ = "discussion_threads"

    channel_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    post_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    group_id: Mapped[int] = mapped_column(BigInteger)
    replies: Mapped[int] = mapped_column(BigInteger)
    max_id: Mapped[int] = mapped_column(BigInteger)
    fetched_max_id: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]

    __table_args__ = (
        ForeignKeyConstraint(
            ["channel_id", "post_id"], ["posts.channel_id", "posts.message_id"], ondelete="CASCADE"
        ),
    )


class CommentRow(Base):
    """Ties a discussion group's message (a row of ``posts``) to the channel post it comments on."""

    __tablename__ = "comments"

    group_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    post_id: Mapped[int] = mapped_column(BigInteger)
    reply_to_comment_id: Mapped[int | None] = mapped_column(BigInteger)
    author_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        ForeignKeyConstraint(
            ["group_id", "message_id"], ["posts.channel_id", "posts.message_id"], ondelete="CASCADE"
        ),
        Index("ix_comments_channel_post", "channel_id", "post_id", "message_id"),
    )


class LedgerEntryRow(Base):
    """One observation in a channel's append-only, hash-chained ledger (never updated or deleted)."""

    __tablename__ = "ledger_entries"

    channel_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    observed_at: Mapped[datetime]
    record_sha256: Mapped[str] = mapped_column(String(64))
    media_sha256: Mapped[str | None] = mapped_column(String(64))
    prev_sha256: Mapped[str] = mapped_column(String(64))
    entry_sha256: Mapped[str] = mapped_column(String(64))
    backfilled_at: Mapped[datetime | None]
    warc_record_id: Mapped[str | None] = mapped_column(String(64))
    """For a ``capture`` entry: the WARC-Record-ID of the response record holding the page."""
    form_version: Mapped[int] = mapped_column(SmallInteger, server_default="1")
    """The canonical form the entry and its record were hashed in (``ledger_records.FORMS``)."""

    __table_args__ = (Index("ix_ledger_entries_channel_message", "channel_id", "message_id", "seq"),)


class LedgerHeadRow(Base):
    """A channel's last ledger entry: the row every append locks and moves, so sequence numbers never fork."""

    __tablename__ = "ledger_heads"

    channel_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    entry_sha256: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class LedgerTimestampRow(Base):
    """An RFC 3161 token over a channel's chain head, with the TSA's certificate to check it offline."""

    __tablename__ = "ledger_timestamps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(BigInteger)
    entry_sha256: Mapped[str] = mapped_column(String(64))
    tsa_url: Mapped[str] = mapped_column(Text)
    token: Mapped[bytes] = mapped_column(LargeBinary)
    tsa_certificate: Mapped[bytes | None] = mapped_column(LargeBinary)
    stamped_at: Mapped[datetime]

    __table_args__ = (Index("ix_ledger_timestamps_channel_seq", "channel_id", "seq"),)


def utcnow() -> datetime:
    """The current time, UTC-aware."""
    return datetime.now(UTC)
