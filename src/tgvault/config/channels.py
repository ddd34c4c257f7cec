"""``[[channels]]``: one archived channel: its source, schedules, media choices and worker pinning."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from typing import Annotated, Final

from pydantic import Field, PlainSerializer, PlainValidator, field_validator, model_validator

from tgvault.config.channel_refs import ChannelRef, parse_channel_ref
from tgvault.config.schedules import IntervalSchedule, ScheduleField
from tgvault.config.sections import SettingsSection
from tgvault.config.sizes import SizeField
from tgvault.config.value_display import show_value
from tgvault.domain import MediaKind
from tgvault.errors import ConfigError

DEFAULT_MEDIA_MAX_SIZE: Final = 50_000_000  # "50MB"
DEFAULT_COMMENTS_MEDIA_MAX_SIZE: Final = 10_000_000  # "10MB"


class ChannelSource(StrEnum):
    """Where a channel's posts come from."""

    TELEGRAM = "telegram"  # the MTProto API, with a user account
    WEB = "web"  # the public t.me/s/<username> web preview, no account needed
    AUTO = "auto"  # web when no API credentials are configured, else telegram


_MEDIA_KINDS_HINT: Final = "expected any of " + ", ".join(kind.value for kind in MediaKind)


def _validate_media_kinds(value: object) -> tuple[MediaKind, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(
            f"{show_value(value)} is not a list of media kinds; {_MEDIA_KINDS_HINT}, e.g. ['photo']"
        )
    kinds: list[MediaKind] = []
    bad = []
    for item in value:
        try:
            kind = MediaKind(item.strip().lower() if isinstance(item, str) else item)
        except ValueError:
            bad.append(show_value(item))
            continue
        if kind not in kinds:
            kinds.append(kind)
    if bad:
        noun = "is not a media kind" if len(bad) == 1 else "are not media kinds"
        raise ValueError(f"{', '.join(bad)} {noun}; {_MEDIA_KINDS_HINT}")
    return tuple(kinds)


MediaKindsField = Annotated[
    tuple[MediaKind, ...],
    PlainValidator(_validate_media_kinds),
    PlainSerializer(lambda kinds: [kind.value for kind in kinds], return_type=list[str]),
]


class CommentAuthors(StrEnum):
    """What is kept of the people who comment."""

    KEEP = "keep"  # their Telegram id, name and @username (the users table)
    PSEUDONYMOUS = "pseudonymous"  # a stable per-archive pseudonym only: no name, no id


class CommentsMedia(SettingsSection):
    """``comments_media = { kinds = [...], max_size = "..." }``: which files of comments to download."""

    kinds: MediaKindsField = (MediaKind.PHOTO,)
    max_size: SizeField = DEFAULT_COMMENTS_MEDIA_MAX_SIZE


class ChannelConfig(SettingsSection):
    """One ``[[channels]]`` entry."""

    name: str
    source: ChannelSource = ChannelSource.TELEGRAM
    schedule: ScheduleField = IntervalSchedule(3600)
    since: date | None = None
    media_kinds: MediaKindsField = tuple(MediaKind)
    media_max_size: SizeField = DEFAULT_MEDIA_MAX_SIZE
    session: str | None = None
    """Pin the channel to the ``tgvault run --worker`` whose ``[workers] session`` has this name (a private
    channel only one account can see); unset lets any worker take it."""
    audit_schedule: ScheduleField = IntervalSchedule(7 * 86400)
    live: bool = False
    mass_deletion_share: float | None = Field(default=None, gt=0, le=1)
    comments: bool = True
    """Archive the comments of the channel's linked discussion group (nothing happens without one)."""
    comments_media: CommentsMedia = CommentsMedia()
    comments_authors: CommentAuthors = CommentAuthors.KEEP

    @field_validator("name", mode="before")
    @classmethod
    def _normalise_name(cls, value: object) -> object:
        if not isinstance(value, str):
            return value  # pydantic reports the wrong type
        try:
            return parse_channel_ref(value).display
        except ConfigError as error:
            raise ValueError(str(error)) from None

    @model_validator(mode="after")
    def _check_source(self) -> ChannelConfig:
        if self.source is ChannelSource.WEB and self.ref.username is None:
            raise ValueError(
                f"source 'web' reads t.me/s/<username>, so {self.name!r} needs a public @username "
                "instead of a numeric id"
            )
        if self.live and self.source is ChannelSource.WEB:
            raise ValueError(
                "live = true follows Telegram's updates, which the web preview has none of; "
                "use source = 'telegram' (or 'auto' with API credentials) or drop live"
            )
        return self

    @property
    def ref(self) -> ChannelRef:
        """The parsed channel name."""
        return parse_channel_ref(self.name)

    @property
    def key(self) -> str:
        """Normalised key: lowercase username without ``@``, or the bare channel id."""
        return self.ref.key

    @property
    def downloads_media(self) -> bool:
        """Whether any media is fetched for this channel."""
        return self.media_max_size > 0 and bool(self.media_kinds)
