"""Domain records: what the archive knows about channels, posts, revisions and media.

These are frozen pydantic models with no knowledge of Telethon or SQLAlchemy. Sources produce them,
services pass them around, storage persists them and exporters render them.

Text entity offsets and lengths are kept exactly as Telegram sends them: in UTF-16 code units.
Use :mod:`tgvault.text` to turn them into Python string slices.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

# What the archive accepts, checked on the way in whatever the source (issue 17.2): an id, a count or a
# size fits a SQL BIGINT (Telegram's ``long``); a message id is Telegram's ``int``; a date is a Telegram
# date (a 32-bit Unix time); a float is finite (``allow_inf_nan=False`` below); text encodes as UTF-8.
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
MESSAGE_ID_MAX = 2**31 - 1
EARLIEST_DATE = datetime.fromtimestamp(-(2**31), UTC)
LATEST_DATE = datetime.fromtimestamp(2**31 - 1, UTC)


def _encodable(value: str) -> str:
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"text is not valid Unicode (a lone surrogate, U+{ord(value[exc.start]):04X}, at character "
                f"{exc.start})"
            ) from None
    return value


BigInt = Annotated[int, Field(ge=BIGINT_MIN, le=BIGINT_MAX)]
"""An id, a count or a size: anything a SQL BIGINT holds (Telegram's ``long``)."""
MessageId = Annotated[int, Field(ge=-(2**31), le=MESSAGE_ID_MAX)]
"""A message id: Telegram's 32-bit ``int``."""
Text = Annotated[str, AfterValidator(_encodable)]
"""Text that encodes as UTF-8 (no lone surrogates, which no database or file can hold)."""
MAX_ENTITIES = 10_000
"""The most entities a post may have: far more than a real one (Telegram's texts hold 4,096 characters),
few enough that a crafted one (100,000 nested ``<b>``) cannot stall a build."""


class Record(BaseModel):
    """Base for every domain record: immutable, strict about unknown fields, finite floats only."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _require_aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("datetimes in the archive must be timezone-aware (UTC)")
    return value


def _telegram_date(value: datetime | None) -> datetime | None:
    """An aware datetime within Telegram's dates (a 32-bit Unix time: 1901-12-13 to 2038-01-19)."""
    value = _require_aware(value)
    if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(f"{value} is outside Telegram's dates ({EARLIEST_DATE.year} to {LATEST_DATE.year})")
    return value


class EntityKind(StrEnum):
    """Kinds of message text entities (formatting and auto-detected spans)."""

    BOLD = "bold"
    ITALIC = "italic"
    UNDERLINE = "underline"
    STRIKETHROUGH = "strikethrough"
    SPOILER = "spoiler"
    CODE = "code"
    PRE = "pre"
    BLOCKQUOTE = "blockquote"
    URL = "url"
    TEXT_LINK = "text_link"
    MENTION = "mention"
    MENTION_NAME = "mention_name"
    HASHTAG = "hashtag"
    CASHTAG = "cashtag"
    EMAIL = "email"
    PHONE = "phone"
    BOT_COMMAND = "bot_command"
    BANK_CARD = "bank_card"
    CUSTOM_EMOJI = "custom_emoji"
    UNKNOWN = "unknown"


class TextEntity(Record):
    """One formatted span of a post's text. ``offset`` and ``length`` count UTF-16 code units."""

    kind: EntityKind
    offset: BigInt
    length: BigInt
    url: Text | None = None
    language: Text | None = None
    user_id: BigInt | None = None
    document_id: BigInt | None = None
    collapsed: bool = False


class MediaKind(StrEnum):
    """What a post's attached file is."""

    PHOTO = "photo"
    VIDEO = "video"
    ROUND_VIDEO = "round_video"
    ANIMATION = "animation"
    VOICE = "voice"
    AUDIO = "audio"
    DOCUMENT = "document"
    STICKER = "sticker"


class MediaStatus(StrEnum):
    """Where a media file stands in the archive."""

    PENDING = "pending"
    DOWNLOADED = "downloaded"
    SKIPPED = "skipped"
    FAILED = "failed"


class MediaItem(Record):
    """A file attached to a post. ``file_name`` is display text only, never a path.

    ``thumbnail_path`` is a stored preview image of a file the archive has not downloaded (the web
    preview shows only that for documents and long videos).
    """

    kind: MediaKind
    telegram_id: BigInt | None = None
    mime_type: Text | None = None
    file_name: Text | None = None
    size: BigInt | None = None
    width: BigInt | None = None
    height: BigInt | None = None
    duration: float | None = None
    performer: Text | None = None
    title: Text | None = None
    sticker_emoji: Text | None = None
    spoiler: bool = False
    status: MediaStatus = MediaStatus.PENDING
    sha256: str | None = None
    path: str | None = None
    error: str | None = None
    thumbnail_sha256: str | None = None
    thumbnail_path: str | None = None


class PollAnswer(Record):
    """One option of a poll with its vote count (when results are known)."""

    text: Text
    voters: BigInt | None = None
    chosen: bool = False
    correct: bool = False


class Poll(Record):
    """A poll attached to a post."""

    question: Text
    answers: tuple[PollAnswer, ...]
    total_voters: BigInt | None = None
    closed: bool = False
    quiz: bool = False
    multiple_choice: bool = False
    public_voters: bool = False


class WebPagePreview(Record):
    """A link preview shown under a post."""

    url: Text
    site_name: Text | None = None
    title: Text | None = None
    description: Text | None = None


class Location(Record):
    """A geo point, optionally a venue with a title and address."""

    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]
    title: Text | None = None
    address: Text | None = None
    live_period: BigInt | None = None


class Contact(Record):
    """A shared contact card."""

    first_name: Text
    last_name: Text | None = None
    phone_number: Text | None = None
    user_id: BigInt | None = None


class Forward(Record):
    """Where a forwarded post came from: a channel, a user, or a hidden name."""

    from_channel_id: BigInt | None = None
    from_user_id: BigInt | None = None
    from_name: Text | None = None
    from_message_id: MessageId | None = None
    date: datetime | None = None
    post_author: Text | None = None

    _aware = field_validator("date")(_telegram_date)


class Reaction(Record):
    """A reaction and how many chose it: either an emoji or a custom emoji document id."""

    emoji: Text | None = None
    custom_emoji_id: BigInt | None = None
    paid: bool = False
    count: BigInt


class ServiceAction(Record):
    """A service message's action (channel created, title changed, message pinned, ...)."""

    type: Text
    title: Text | None = None
    pinned_message_id: MessageId | None = None
    text: Text | None = None


class SourceKind(StrEnum):
    """Where a post's current state came from."""

    TELEGRAM = "telegram"
    WEB = "web"
    TDESKTOP = "tdesktop"


class Post(Record):
    """One channel message as Telegram last showed it (plus the archive's tombstone, if deleted)."""

    channel_id: BigInt
    message_id: MessageId
    date: datetime
    edit_date: datetime | None = None
    text: Text = ""
    entities: Annotated[tuple[TextEntity, ...], Field(max_length=MAX_ENTITIES)] = ()
    service: ServiceAction | None = None
    author: Text | None = None
    grouped_id: BigInt | None = None
    reply_to_message_id: MessageId | None = None
    reply_to_channel_id: BigInt | None = None
    forward: Forward | None = None
    views: BigInt | None = None
    forwards: BigInt | None = None
    replies: BigInt | None = None
    reactions: tuple[Reaction, ...] = ()
    media: MediaItem | None = None
    poll: Poll | None = None
    web_page: WebPagePreview | None = None
    location: Location | None = None
    contact: Contact | None = None
    pinned: bool = False
    raw: dict[str, Any] | None = None
    parse_error: Text | None = None
    deleted_at: datetime | None = None
    source: SourceKind = SourceKind.TELEGRAM

    _dates = field_validator("date", "edit_date")(_telegram_date)
    _aware = field_validator("deleted_at")(_require_aware)

    @property
    def is_service(self) -> bool:
        """True for service messages (pins, title changes, channel creation, ...)."""
        return self.service is not None

    def content_key(self) -> tuple[object, ...]:
        """What makes two states of a post a different revision: text, formatting and attachments."""
        media_key = None
        if self.media is not None:
            media_key = (self.media.kind, self.media.telegram_id, self.media.size)
        return (self.text, self.entities, media_key, self.poll and self.poll.question, self.web_page)


class PostRevision(Record):
    """An earlier state of an edited post, with the raw TL Telegram sent for it."""

    channel_id: BigInt
    message_id: MessageId
    revision: int
    text: Text
    entities: Annotated[tuple[TextEntity, ...], Field(max_length=MAX_ENTITIES)] = ()
    edit_date: datetime | None = None
    observed_at: datetime
    raw: dict[str, Any] | None = None

    _dates = field_validator("edit_date")(_telegram_date)
    _aware = field_validator("observed_at")(_require_aware)


class ChannelKind(StrEnum):
    """Broadcast channel or supergroup."""

    CHANNEL = "channel"
    SUPERGROUP = "supergroup"
    DISCUSSION = "discussion"
    """A channel's linked discussion group: its messages are the comments under the channel's posts."""


class Channel(Record):
    """A channel as last seen. ``id`` is Telegram's bare channel id (no -100 prefix)."""

    id: BigInt
    username: Text | None = None
    title: Text
    description: Text | None = None
    subscribers: BigInt | None = None
    kind: ChannelKind = ChannelKind.CHANNEL
    created_at: datetime | None = None
    photo_sha256: str | None = None

    _aware = field_validator("created_at")(_require_aware)


class SyncState(Record):
    """Per-channel checkpoints.

    ``backfill_offset_id`` is the lowest id committed by the backfill walking backwards from
    ``backfill_top_id``; ``newest_id`` is the highest id archived, where an incremental sync starts.
    """

    channel_id: int
    newest_id: int = 0
    backfill_top_id: int | None = None
    backfill_offset_id: int | None = None
    backfill_complete: bool = False
    last_sync_at: datetime | None = None

    _aware = field_validator("last_sync_at")(_require_aware)


class RunStatus(StrEnum):
    """Outcome of a sync run."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class RunCounts(Record):
    """What a run changed in the archive."""

    posts_added: int = 0
    posts_edited: int = 0
    posts_deleted: int = 0
    media_files: int = 0
    media_bytes: int = 0

    def __add__(self, other: RunCounts) -> RunCounts:
        return RunCounts(
            posts_added=self.posts_added + other.posts_added,
            posts_edited=self.posts_edited + other.posts_edited,
            posts_deleted=self.posts_deleted + other.posts_deleted,
            media_files=self.media_files + other.media_files,
            media_bytes=self.media_bytes + other.media_bytes,
        )

    @property
    def changed(self) -> bool:
        """True when the run added, edited, deleted or downloaded anything."""
        return any((self.posts_added, self.posts_edited, self.posts_deleted, self.media_files))


class SyncRun(Record):
    """One recorded run of backfill, sync or refresh over a channel."""

    id: int | None = None
    channel_key: str
    channel_id: int | None = None
    kind: str
    started_at: datetime
    finished_at: datetime | None = None
    status: RunStatus = RunStatus.RUNNING
    counts: RunCounts = RunCounts()
    error: str | None = None

    _aware = field_validator("started_at", "finished_at")(_require_aware)


class ChannelSummary(Record):
    """What ``tgvault status`` shows about one archived channel."""

    channel_id: int
    title: str
    username: str | None
    posts: int
    newest_post_at: datetime | None
    last_run: SyncRun | None


class JobOutcome(StrEnum):
    """How one scheduled sync of a channel by ``tgvault run`` ended."""

    OK = "ok"
    FAILED = "failed"
    BUSY = "busy"  # another process was archiving the channel; not held against it
    INTERRUPTED = "interrupted"


class ChannelServiceState(Record):
    """How ``tgvault run`` treats one configured channel: its schedule, next run, failures and backoff."""

    channel_key: str
    name: str
    channel_id: int | None = None
    schedule: str
    next_run_at: datetime | None = None
    last_run_at: datetime | None = None
    last_outcome: JobOutcome | None = None
    consecutive_failures: int = 0
    backoff_until: datetime | None = None
    last_error: str | None = None
    updated_at: datetime

    _aware = field_validator("next_run_at", "last_run_at", "backoff_until", "updated_at")(_require_aware)


class CounterObservation(Record):
    """A post's counters as one run saw them, recorded when they changed (a time series per post)."""

    channel_id: int
    message_id: int
    observed_at: datetime
    views: int | None = None
    forwards: int | None = None
    replies: int | None = None
    reactions: tuple[Reaction, ...] = ()

    _aware = field_validator("observed_at")(_require_aware)

    @property
    def reaction_total(self) -> int:
        """All reactions added up."""
        return sum(reaction.count for reaction in self.reactions)


class AlertKind(StrEnum):
    """What an alert is about."""

    MASS_DELETION = "mass_deletion"
    ACCOUNT = (
        "account"  # the Telegram account cannot be used (logged out, revoked, banned): not one channel's
    )


class ChannelAlert(Record):
    """Something a run saw that a person should look at; nothing was removed from the archive."""

    id: int | None = None
    channel_id: int | None = None
    channel_key: str
    kind: AlertKind
    run_kind: str
    raised_at: datetime
    checked: int
    vanished: int
    message: str
    cleared_at: datetime | None = None

    _aware = field_validator("raised_at", "cleared_at")(_require_aware)


class AuditState(Record):
    """Where a channel's audit stands: posts with ids above ``cursor_id`` are left to check (None = idle)."""

    channel_id: int
    cursor_id: int | None = None
    since: datetime | None = None
    started_at: datetime | None = None
    last_completed_at: datetime | None = None

    _aware = field_validator("since", "started_at", "last_completed_at")(_require_aware)

    @property
    def in_progress(self) -> bool:
        """True while an audit has started and not finished."""
        return self.cursor_id is not None


class ThreadHeader(Record):
    """A channel post's ``replies`` header: how many comments it has in which group, and the newest one's id."""

    channel_id: BigInt
    post_id: MessageId
    group_id: BigInt
    count: BigInt = 0
    max_id: MessageId = 0


class CommentAuthor(Record):
    """Who wrote a comment: a user (or a channel posting as itself), by id, name and @username."""

    id: BigInt
    kind: str = "user"
    name: Text = ""
    username: Text | None = None


class CommentLink(Record):
    """Ties a discussion group's message to the channel post it comments on, and to the comment it replies to."""

    group_id: BigInt
    message_id: MessageId
    channel_id: BigInt
    post_id: MessageId
    reply_to_comment_id: MessageId | None = None
    author_id: BigInt | None = None


class Comment(Record):
    """A comment as the archive shows it: the group's message, its place in the thread and its author."""

    post: Post
    link: CommentLink
    author: CommentAuthor | None = None


class PageCapture(Record):
    """One HTTP exchange a source made, kept byte for byte so it can be archived (as WARC records).

    ``body`` is the response's payload as it came off the wire (still content-encoded when the server
    compressed it); the headers are in the order they were sent, names as written.
    """

    url: str
    fetched_at: Annotated[datetime, AfterValidator(_require_aware)]
    request_headers: tuple[tuple[str, str], ...] = ()
    status: int
    reason: str = ""
    http_version: str = "HTTP/1.1"
    response_headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    method: str = "GET"
    request_body: bytes = b""
    """What a POST sent (the discussion widget's form asking for older comments); empty for a GET."""
