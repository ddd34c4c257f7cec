"""Configuration: one TOML file plus ``TGVAULT_*`` environment variables, validated into :class:`Settings`.

Where values come from, strongest first:

1. environment variables ``TGVAULT_<SECTION>__<FIELD>`` (``TGVAULT_DATABASE__URL``,
   ``TGVAULT_TELEGRAM__API_ID``, ...; ``TGVAULT_CHANNELS`` takes the whole channel list as JSON);
2. the config file: the path given explicitly (``--config``), else ``$TGVAULT_CONFIG``, else
   ``./tgvault.toml``, else ``./config/tgvault.toml``; no file at all means "all defaults";
3. the defaults declared below.

Secrets (``telegram.api_hash``, ``telegram.session_string``) are never read from the config file: they come
from the environment or from a file named by ``api_hash_file`` / ``session_string_file`` that only its owner
may read (mode 0600 or stricter). When both are given, the environment variable wins.

Relative paths (the SQLite database in ``database.url``, ``media.dir``, ``telegram.session_file``,
``site.dir``, ``site.templates`` and the secret files) are resolved against the current working directory
at load time, so every path in a loaded :class:`Settings` is absolute.

Every problem is reported at once, as a :class:`~tgvault.errors.ConfigError` whose message names the
field, the bad value and what is expected, one problem per line.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import stat
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, tzinfo
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)
from pydantic_settings.sources.utils import parse_env_vars

from tgvault.domain import MediaKind
from tgvault.errors import ConfigError, StorageError

__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_CONFIG_PATHS",
    "ENV_PREFIX",
    "ChannelConfig",
    "ChannelRef",
    "ChannelSource",
    "CronSchedule",
    "DatabaseSettings",
    "IntervalSchedule",
    "MediaSettings",
    "Schedule",
    "Settings",
    "SiteMediaMode",
    "SiteSettings",
    "SyncSettings",
    "TelegramSettings",
    "WebSettings",
    "WorkersSettings",
    "find_config_file",
    "load_settings",
    "parse_channel_ref",
    "parse_schedule",
    "parse_size",
]

ENV_PREFIX: Final = "TGVAULT_"
CONFIG_ENV_VAR: Final = "TGVAULT_CONFIG"
DEFAULT_CONFIG_PATHS: Final = (Path("tgvault.toml"), Path("config/tgvault.toml"))

SECRET_FIELDS: Final = frozenset({"api_hash", "session_string"})
DEFAULT_MEDIA_MAX_SIZE: Final = 50_000_000  # "50MB"


def _resolve(path: Path) -> Path:
    """Make ``path`` absolute against the current working directory (``~`` is expanded)."""
    path = path.expanduser()
    return path if path.is_absolute() else Path.cwd() / path


def _show(value: object, limit: int = 80) -> str:
    """Render a user-supplied value for an error message, shortened if long."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str | int | float):
        text = repr(value)
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------------------

_SCHEDULE_HINT: Final = "expected an interval like 30s, 10m, 6h, 1d or a cron expression like '*/15 * * * *'"
_INTERVAL_RE: Final = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_INTERVAL_ONE_UNIT_RE: Final = re.compile(r"(\d+)\s*([A-Za-z]+)")
_CRON_FIELDS: Final = ("minute", "hour", "day", "month", "day_of_week")
_WEEKDAYS: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@dataclass(frozen=True)
class IntervalSchedule:
    """Run every ``seconds`` seconds (written ``30s``, ``10m``, ``6h``, ``1d`` or combined: ``1h30m``)."""

    seconds: int

    def __str__(self) -> str:
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if self.seconds % size == 0:
                return f"{self.seconds // size}{unit}"
        return f"{self.seconds}s"


@dataclass(frozen=True)
class CronSchedule:
    """Run at the times of a standard 5-field crontab expression: minute hour day-of-month month day-of-week.

    Day-of-week numbers follow crontab (0 or 7 = Sunday, 1 = Monday). APScheduler 3 numbers weekdays
    from Monday, so build triggers from :meth:`trigger_fields`, never from ``CronTrigger.from_crontab``.
    """

    expr: str

    def __str__(self) -> str:
        return self.expr

    def trigger_fields(self) -> dict[str, str]:
        """Keyword arguments for ``apscheduler.triggers.cron.CronTrigger`` (weekdays given by name)."""
        values = dict(zip(_CRON_FIELDS, self.expr.split(), strict=True))
        values["day_of_week"] = _crontab_weekdays(values["day_of_week"])
        return values


Schedule = IntervalSchedule | CronSchedule


def _weekday_number(token: str) -> int:
    lowered = token.lower()
    if lowered in _WEEKDAYS:
        return _WEEKDAYS.index(lowered)
    if lowered.isdigit() and int(lowered) <= 7:
        return int(lowered) % 7
    raise ValueError(f"day of week {token!r} is not 0-7 or sun-sat")


def _crontab_weekdays(field: str) -> str:
    """Translate a crontab day-of-week field (0 = Sunday) into APScheduler's weekday names."""
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"day of week step {step_text!r} is not a positive number")
            step = int(step_text)
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            start, _, end = base.partition("-")
            first, last = _weekday_number(start), _weekday_number(end)
            if end.strip() == "7":
                last = 7
            if first > last:
                raise ValueError(f"day of week range {base!r} runs backwards")
        else:
            first = _weekday_number(base)
            last = 6 if step_text else first
        days.update(day % 7 for day in range(first, last + 1, step))
    if len(days) == 7:
        return "*"
    # APScheduler reads names, so numbering differences cannot bite; Monday first reads naturally.
    return ",".join(_WEEKDAYS[day] for day in sorted(days, key=lambda d: (d + 6) % 7))


def _parse_cron(expr: str) -> CronSchedule:
    from apscheduler.triggers.cron import CronTrigger  # imported lazily: only validation needs it

    fields = expr.split()
    schedule = CronSchedule(" ".join(fields))
    restricted = [value not in ("*", "?") for value in (fields[2], fields[4])]
    if all(restricted):
        raise ValueError(
            f"{expr!r} restricts both day of month and day of week, which crontab and APScheduler read "
            "differently; restrict only one of them"
        )
    try:
        kwargs = schedule.trigger_fields()
    except ValueError as error:
        raise ValueError(f"{expr!r} is not a valid cron expression: {error}") from None
    for name, value in kwargs.items():
        try:
            CronTrigger(**{name: value}, timezone="UTC")
        except ValueError as error:
            label = name.replace("_", " ")
            raise ValueError(f"{expr!r} is not a valid cron expression: {label} field: {error}") from None
    return schedule


def parse_schedule(value: object) -> Schedule:
    """Parse ``"30s"``/``"10m"``/``"6h"``/``"1d"``/``"1h30m"`` or a 5-field cron expression.

    Raises ``ValueError`` with a message saying what is expected.
    """
    if isinstance(value, IntervalSchedule | CronSchedule):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{_show(value)} is not a schedule; {_SCHEDULE_HINT}")
    text = value.strip()
    fields = text.split()
    if len(fields) == 5:
        return _parse_cron(text)
    if len(fields) > 1 and any(ch in text for ch in "*/,"):
        raise ValueError(
            f"{value!r} is not a schedule: a cron expression has 5 fields "
            f"(minute hour day-of-month month day-of-week), this has {len(fields)}; {_SCHEDULE_HINT}"
        )
    match = _INTERVAL_RE.fullmatch(text.lower()) if len(fields) == 1 else None
    if match is not None and any(match.groups()):
        seconds = sum(
            int(count) * size
            for count, size in zip(match.groups(), (86400, 3600, 60, 1), strict=True)
            if count is not None
        )
        if seconds <= 0:
            raise ValueError(
                f"{value!r} is not a schedule: the interval must be longer than 0; {_SCHEDULE_HINT}"
            )
        return IntervalSchedule(seconds)
    unit = _INTERVAL_ONE_UNIT_RE.fullmatch(text)
    if unit is not None and len(fields) == 1:
        raise ValueError(
            f"{value!r} is not a schedule: unknown unit {unit.group(2)!r} (use s, m, h or d); "
            f"{_SCHEDULE_HINT}"
        )
    raise ValueError(f"{value!r} is not a schedule; {_SCHEDULE_HINT}")


def _validate_schedule(value: object) -> Schedule:
    return parse_schedule(value)


ScheduleField = Annotated[Schedule, PlainValidator(_validate_schedule), PlainSerializer(str, return_type=str)]


# ---------------------------------------------------------------------------------------------------------
# Sizes
# ---------------------------------------------------------------------------------------------------------

_SIZE_UNITS: Final = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE_RE: Final = re.compile(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)")
_SIZE_HINT: Final = (
    'expected a number of bytes or a size like "50MB" or "1.5GiB" '
    "(units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB; 0 = no media)"
)


def parse_size(value: object) -> int:
    """Parse a byte count: an int, or a string like ``"50MB"`` (10**6) or ``"1.5GiB"`` (2**30).

    Raises ``ValueError`` with a message saying what is expected.
    """
    if isinstance(value, bool):
        raise ValueError(f"{_show(value)} is not a size; {_SIZE_HINT}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{value} is not a size: it is negative; {_SIZE_HINT}")
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str):
        match = _SIZE_RE.fullmatch(value.strip())
        unit = _SIZE_UNITS.get(match.group(2).lower()) if match is not None else None
        if match is not None and unit is not None:
            amount = Decimal(match.group(1)) * unit  # the regex admits only plain decimals
            if unit > 1 or amount == amount.to_integral_value():  # "1.5GiB" rounds down; "1.5B" is wrong
                return int(amount)
    raise ValueError(f"{_show(value)} is not a size; {_SIZE_HINT}")


def _validate_size(value: object) -> int:
    return parse_size(value)


SizeField = Annotated[int, PlainValidator(_validate_size)]


# ---------------------------------------------------------------------------------------------------------
# Channel names
# ---------------------------------------------------------------------------------------------------------

_USERNAME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_LINK_RE: Final = re.compile(
    r"(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/(.*)", re.IGNORECASE
)
_CHANNEL_HINT: Final = (
    "expected a @username, a t.me/<username> link or a numeric channel id like -1001234567890"
)


@dataclass(frozen=True)
class ChannelRef:
    """A channel named by public username or by Telegram's bare channel id (no -100 prefix)."""

    username: str | None = None
    channel_id: int | None = None

    @property
    def key(self) -> str:
        """Normalised lookup key: the lowercase username without ``@``, or the bare id as text."""
        return self.username.lower() if self.username is not None else str(self.channel_id)

    @property
    def display(self) -> str:
        """``@Username`` (case kept) or the bare id."""
        return f"@{self.username}" if self.username is not None else str(self.channel_id)


def _bad_channel(text: str, reason: str) -> ConfigError:
    return ConfigError(f"{text!r} is not a channel name ({reason}); {_CHANNEL_HINT}")


def _username_ref(text: str, candidate: str) -> ChannelRef:
    if not _USERNAME_RE.fullmatch(candidate):
        reason = (
            "a username has 4-32 letters, digits or underscores and starts with a letter"
            if candidate
            else "the username is empty"
        )
        raise _bad_channel(text, reason)
    return ChannelRef(username=candidate)


def parse_channel_ref(text: str) -> ChannelRef:
    """Normalise ``@name``, ``name``, ``t.me/name`` (also ``/s/name``, ``/name/123``), ``t.me/c/<id>``,
    ``-100<id>`` or ``<id>``. Raises :class:`ConfigError` naming the value and what is expected.
    """
    raw = text.strip()
    if not raw:
        raise _bad_channel(text, "it is empty")
    if any(ch.isspace() for ch in raw):
        raise _bad_channel(text, "it contains a space")
    link = _LINK_RE.fullmatch(raw)
    if link is not None:
        parts = [part for part in re.split(r"[?#]", link.group(1), maxsplit=1)[0].split("/") if part]
        if parts[:1] == ["s"]:
            parts = parts[1:]
        if not parts:
            raise _bad_channel(text, "the link names no channel")
        if parts[0] == "c" and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) > 0:
            return ChannelRef(channel_id=int(parts[1]))
        if parts[0].startswith("+") or parts[0] == "joinchat":
            raise _bad_channel(text, "invite links are not supported; use the channel's numeric id")
        if len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
            raise _bad_channel(text, "the link has more than a channel and a post id")
        return _username_ref(text, parts[0])
    if re.fullmatch(r"-?\d+", raw):
        number = int(raw)
        if raw.startswith("-100") and len(raw) > 4:
            number = int(raw[4:])
        elif number < 0:
            raise _bad_channel(text, "negative ids other than -100... belong to basic groups, not channels")
        if number <= 0:
            raise _bad_channel(text, "a channel id is a positive number")
        return ChannelRef(channel_id=number)
    return _username_ref(text, raw[1:] if raw.startswith("@") else raw)


class ChannelSource(StrEnum):
    """Where a channel's posts come from."""

    TELEGRAM = "telegram"  # the MTProto API, with a user account
    WEB = "web"  # the public t.me/s/<username> web preview, no account needed
    AUTO = "auto"  # web when no API credentials are configured, else telegram


class SiteMediaMode(StrEnum):
    """How ``[site] media`` puts archived media files into the static site's ``media/`` folder."""

    HARDLINK = "hardlink"  # falls back to a copy when the site is on another file system
    COPY = "copy"
    SYMLINK = "symlink"


# ---------------------------------------------------------------------------------------------------------
# Settings model
# ---------------------------------------------------------------------------------------------------------


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def _check_secret_file_path(path: Path) -> None:
    """Check that ``path`` is a non-empty regular file readable only by its owner."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ValueError(f"'{path}' does not exist; expected a file holding the secret") from None
    except OSError as error:
        raise ValueError(f"'{path}' cannot be read: {error.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"'{path}' is not a regular file; expected a file holding the secret")
    mode = stat.S_IMODE(info.st_mode)
    if os.name == "posix" and mode & 0o077:
        raise ValueError(
            f"'{path}' has mode {mode:04o}, so other users can read it; it must be 0600 or stricter "
            f"(run: chmod 600 '{path}')"
        )
    if not _read_secret_file(path):
        raise ValueError(f"'{path}' is empty; expected a file holding the secret")


def _read_secret_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ValueError(f"'{path}' cannot be read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"'{path}' is not UTF-8 text") from None


_SQLITE_URL_RE: Final = re.compile(r"(sqlite(?:\+\w+)?):///([^?]*)(\?.*)?")
_URL_SCHEME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://.*")
_URL_PASSWORD_RE: Final = re.compile(r"(://[^:/@]*:)[^@/]*@")


class DatabaseSettings(_Section):
    """``[database]``: where the archive's SQL database lives."""

    url: str = "sqlite:///data/tgvault.db"

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        if not _URL_SCHEME_RE.fullmatch(value):
            shown = _URL_PASSWORD_RE.sub(r"\1***@", value)
            raise ValueError(
                f"{shown!r} is not a database URL; expected e.g. 'sqlite:///data/tgvault.db' or "
                "'postgresql+psycopg://user@host/dbname'"
            )
        match = _SQLITE_URL_RE.fullmatch(value)
        if match is not None:
            scheme, path, query = match.group(1), match.group(2), match.group(3) or ""
            if path and path != ":memory:" and not path.startswith("/"):
                value = f"{scheme}:///{_resolve(Path(path))}{query}"
        return value

    @property
    def sqlite_path(self) -> Path | None:
        """The database file for a file-backed SQLite URL, else ``None``."""
        match = _SQLITE_URL_RE.fullmatch(self.url)
        if match is None or not match.group(2) or match.group(2) == ":memory:":
            return None
        return Path(match.group(2))

    @property
    def password(self) -> str | None:
        """The password embedded in the URL, if any (register it as a log secret)."""
        split = urlsplit(self.url)
        return split.password


class MediaSettings(_Section):
    """``[media]``: the content-addressed media store."""

    dir: Path = Path("data/media")
    concurrency: int = Field(default=3, ge=1, le=64)
    store: str | None = None
    """``s3://bucket/prefix`` keeps media in S3-compatible storage (``dir`` then holds only temporary
    files and a read cache); unset keeps media in ``dir``."""
    endpoint_url: str | None = None
    region: str | None = None
    max_attempts: int = Field(default=5, ge=1, le=100)
    retry_delay_seconds: int = Field(default=10, ge=0, le=86400)
    failed_retry_hours: int = Field(default=6, ge=1, le=24 * 365)

    _resolve_dir = field_validator("dir")(_resolve)

    @field_validator("store")
    @classmethod
    def _check_store(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from tgvault.storage.s3_store import parse_s3_url

        try:
            return parse_s3_url(value).url
        except StorageError as error:
            raise ValueError(str(error)) from None

    @field_validator("endpoint_url")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        split = urlsplit(value.strip())
        if split.scheme not in ("http", "https") or not split.netloc or split.username or split.password:
            raise ValueError(
                f"{split.scheme}://{split.hostname or ''}... is not an http(s) endpoint without credentials; "
                "expected e.g. 'http://minio:9000' (keys go in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
            )
        return value.strip().rstrip("/")


class TelegramSettings(_Section):
    """``[telegram]``: the MTProto client. Secrets come only from the environment or 0600 files."""

    api_id: int | None = Field(default=None, gt=0)
    # The *_file fields are declared before the secrets so the secret validators can see them.
    api_hash_file: Path | None = None
    api_hash: SecretStr | None = None
    session_file: Path = Path("data/tgvault.session")
    session_string_file: Path | None = None
    session_string: SecretStr | None = None
    request_delay: float = Field(default=1.0, ge=0)
    flood_sleep_threshold: int = Field(default=60, ge=0)

    @field_validator("api_hash_file", "session_string_file")
    @classmethod
    def _check_secret_file(cls, value: Path | None) -> Path | None:
        if value is None or not str(value).strip():
            return None
        path = _resolve(value)
        _check_secret_file_path(path)
        return path

    @field_validator("api_hash", "session_string")
    @classmethod
    def _load_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip():
            return SecretStr(value.get_secret_value().strip())
        path = info.data.get(f"{info.field_name}_file")
        if isinstance(path, Path):
            return SecretStr(_read_secret_file(path))
        return None

    _resolve_session = field_validator("session_file")(_resolve)

    def api_credentials(self) -> tuple[int, str]:
        """``(api_id, api_hash)``, or :class:`ConfigError` saying how to provide the missing one."""
        problems = []
        if self.api_id is None:
            problems.append(
                "telegram.api_id is not set; get one at https://my.telegram.org and set it in [telegram] "
                "or as TGVAULT_TELEGRAM__API_ID"
            )
        if self.api_hash is None:
            problems.append(
                "telegram.api_hash is not set; set TGVAULT_TELEGRAM__API_HASH or telegram.api_hash_file "
                "(a file readable only by you, chmod 600)"
            )
        if self.api_id is None or self.api_hash is None:
            raise ConfigError("\n".join(problems))
        return self.api_id, self.api_hash.get_secret_value()


def _default_user_agent() -> str:
    from tgvault import __version__

    return f"tgvault/{__version__} (archiver of public Telegram channels; one request at a time)"


class WebSettings(_Section):
    """``[web]``: the public web preview (``t.me/s/<channel>``), read without an account."""

    base_url: str = "https://t.me"
    request_delay: float = Field(default=1.0, ge=0)
    user_agent: str = Field(default_factory=_default_user_agent, min_length=1)
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        split = urlsplit(value.strip())
        if split.scheme not in ("http", "https") or not split.netloc or split.query or split.fragment:
            raise ValueError(
                f"{value!r} is not an http(s) URL; expected 'https://t.me' (or a test server such as "
                "'http://127.0.0.1:8080')"
            )
        return value.strip().rstrip("/")

    @field_validator("user_agent")
    @classmethod
    def _check_user_agent(cls, value: str) -> str:
        if not value.strip() or any(ch in value for ch in "\r\n"):
            raise ValueError("the User-Agent must be one non-empty line of text")
        return value.strip()


class SyncSettings(_Section):
    """``[sync]``: how far back each run re-reads posts to catch edits, deletions and counters."""

    refresh_posts: int = Field(default=200, ge=0)
    refresh_days: int = Field(default=7, ge=0)
    mass_deletion_share: float = Field(default=0.5, gt=0, le=1)
    """A run that sees more than this share of the posts it re-read vanish raises an alert."""
    audit_pause: float = Field(default=1.0, ge=0)
    """Seconds between two requests of an audit (it must never starve the syncs)."""


def _timezone_names() -> list[str]:
    try:
        return sorted(available_timezones())
    except OSError:  # pragma: no cover - no tz database on this system
        return []


class SiteSettings(_Section):
    """``[site]``: the static website build."""

    dir: Path = Path("data/site")
    title: str = Field(default="tgvault archive", min_length=1)
    base_url: str | None = None
    timezone: str = "UTC"
    templates: Path | None = None
    media: SiteMediaMode = SiteMediaMode.HARDLINK

    _resolve_dir = field_validator("dir")(_resolve)

    @field_validator("title")
    @classmethod
    def _strip_title(cls, value: str) -> str:
        if not value.strip():
            raise ValueError('the title is empty; expected some text, like "tgvault archive"')
        return value.strip()

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        split = urlsplit(value.strip())
        if split.scheme not in ("http", "https") or not split.netloc or split.query or split.fragment:
            raise ValueError(
                f"{value!r} is not an http(s) URL; expected something like 'https://archive.example.org' "
                "or 'https://example.org/archive'"
            )
        return value.strip().rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        value = value.strip()
        if value == "UTC":
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            close = difflib.get_close_matches(value, _timezone_names(), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"{value!r} is not a known timezone; expected an IANA name like 'UTC', 'Europe/Berlin' "
                f"or 'America/New_York'{hint}"
            ) from None
        return value

    @field_validator("templates")
    @classmethod
    def _check_templates(cls, value: Path | None) -> Path | None:
        if value is None or not str(value).strip():
            return None
        path = _resolve(value)
        if not path.is_dir():
            raise ValueError(f"'{path}' is not a directory; expected a folder of Jinja templates")
        return path

    @property
    def tzinfo(self) -> tzinfo:
        """The configured timezone as a ``tzinfo``."""
        if self.timezone == "UTC":
            return UTC
        return ZoneInfo(self.timezone)


class WorkersSettings(_Section):
    """``[workers]``: ``tgvault run --worker`` processes sharing one PostgreSQL archive."""

    session: str | None = None
    """This worker's session name: channels with the same ``session`` are served only by it."""
    lease_seconds: float = Field(default=60.0, ge=1)
    """A worker that stopped renewing its leases for this long loses its channels to the others."""
    renew_seconds: float = Field(default=10.0, gt=0)
    """How often a worker renews its leases and rebalances (well under ``lease_seconds``)."""

    @model_validator(mode="after")
    def _check_timing(self) -> WorkersSettings:
        if self.renew_seconds * 2 > self.lease_seconds:
            raise ValueError(
                f"workers.renew_seconds ({self.renew_seconds:g}) must be at most half of "
                f"workers.lease_seconds ({self.lease_seconds:g}), so a live worker never loses its leases"
            )
        return self


_MEDIA_KINDS_HINT: Final = "expected any of " + ", ".join(kind.value for kind in MediaKind)


def _validate_media_kinds(value: object) -> tuple[MediaKind, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"{_show(value)} is not a list of media kinds; {_MEDIA_KINDS_HINT}, e.g. ['photo']")
    kinds: list[MediaKind] = []
    bad = []
    for item in value:
        try:
            kind = MediaKind(item.strip().lower() if isinstance(item, str) else item)
        except ValueError:
            bad.append(_show(item))
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


class ChannelConfig(_Section):
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


class Settings(BaseSettings):
    """The whole validated configuration. Build it with :func:`load_settings`.

    ``Settings(...)`` itself validates exactly the values it is given (plus defaults): the config file and
    the environment are read only by :func:`load_settings`, which keeps direct construction hermetic.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_ignore_empty=True,
        case_sensitive=False,
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    media: MediaSettings = Field(default_factory=MediaSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    site: SiteSettings = Field(default_factory=SiteSettings)
    workers: WorkersSettings = Field(default_factory=WorkersSettings)
    channels: tuple[ChannelConfig, ...] = ()

    _source_file: Path | None = PrivateAttr(default=None)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only init values: :func:`load_settings` layers the file and the environment itself."""
        return (init_settings,)

    @field_validator("channels")
    @classmethod
    def _check_unique(cls, channels: tuple[ChannelConfig, ...]) -> tuple[ChannelConfig, ...]:
        seen: dict[str, int] = {}
        problems = []
        for index, channel in enumerate(channels):
            first = seen.setdefault(channel.key, index)
            if first != index:
                problems.append(
                    f"channels[{index}].name: {channel.name!r} is the same channel as channels[{first}] "
                    f"({channels[first].name!r}); list each channel once"
                )
        if problems:
            raise ValueError("\n".join(problems))
        return channels

    @property
    def source_file(self) -> Path | None:
        """The config file these settings were read from, if any."""
        return self._source_file

    def channel(self, name: str) -> ChannelConfig:
        """The configured channel named ``name`` in any accepted spelling; :class:`ConfigError` if absent."""
        key = parse_channel_ref(name).key
        for channel in self.channels:
            if channel.key == key:
                return channel
        known = [channel.name for channel in self.channels]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listing = ", ".join(known) if known else "none"
        raise ConfigError(f"channel {name!r} is not in the configuration (configured: {listing}){hint}")

    def secret_values(self) -> list[str]:
        """Every secret value in these settings, for :func:`tgvault.logs.register_secret`."""
        values = [
            secret.get_secret_value()
            for secret in (self.telegram.api_hash, self.telegram.session_string)
            if secret is not None
        ]
        if self.database.password:
            values.append(self.database.password)
        return values


# ---------------------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------------------

_SECTIONS: Final[dict[str, type[BaseModel]]] = {
    "database": DatabaseSettings,
    "media": MediaSettings,
    "telegram": TelegramSettings,
    "web": WebSettings,
    "sync": SyncSettings,
    "site": SiteSettings,
    "workers": WorkersSettings,
}


def _model_at(loc: Sequence[str | int]) -> type[BaseModel]:
    """The model whose fields are valid keys at ``loc`` (list indexes skipped)."""
    names = [part for part in loc if isinstance(part, str)]
    if not names:
        return Settings
    if names[0] == "channels":
        return ChannelConfig
    return _SECTIONS.get(names[0], Settings)


def _unknown_key_message(loc: Sequence[str | int], value: object) -> str:
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    known = list(model.model_fields)
    close = difflib.get_close_matches(key.lower(), known, n=1, cutoff=0.6)
    is_table = isinstance(value, dict) and len(loc) == 1
    if close:
        suggestion = f"[{close[0]}]" if is_table and close[0] in _SECTIONS else repr(close[0])
        hint = f"did you mean {suggestion}?"
    else:
        hint = "expected one of: " + ", ".join(known)
    what = f"unknown section [{key}]" if is_table else "unknown key"
    return f"{what}; {hint}"


def _error_message(error: Mapping[str, Any]) -> str:
    """Turn one pydantic error into 'what is wrong; what is expected'."""
    kind: str = error["type"]
    loc: tuple[str | int, ...] = tuple(error["loc"])
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    secret = bool(loc) and str(loc[-1]) in SECRET_FIELDS
    value = "the value" if secret else _show(error.get("input"))
    if kind == "extra_forbidden":
        return _unknown_key_message(loc, error.get("input"))
    if kind == "missing":
        return "is required but missing"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"]))
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{value} is not an integer; expected a whole number"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return f"{value} is not a number; expected a number like 1.5"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        sign = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}
        bound = next(iter(ctx.values())) if ctx else "?"
        return f"{value} is out of range; expected a number {sign[kind]} {bound}"
    if kind in ("bool_parsing", "bool_type"):
        return f"{value} is not a boolean; expected true or false"
    if kind in ("string_type", "path_type"):
        return f"{value} is not text; expected a quoted string"
    if kind == "string_too_short":
        return "is empty; expected some text"
    if kind.startswith("date"):
        return f"{value} is not a date; expected a date like 2024-01-31"
    if kind in ("enum", "literal_error"):
        return f"{value} is not allowed; expected {ctx.get('expected', 'one of the documented values')}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{value} is not a table; expected a [section] of key = value lines"
    if kind in ("list_type", "tuple_type", "iterable_type"):
        if loc == ("channels",):
            return f"{value} is not a list of channels; expected one [[channels]] table per channel"
        return f"{value} is not a list; expected [ ... ]"
    return f"{value}: {error['msg']}"


def _format_loc(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _leaf_origins(env_names: Mapping[str, str], loc: Sequence[str | int]) -> str | None:
    """The environment variable that supplied the value at ``loc``, if one did."""
    names = tuple(str(part) for part in loc)
    for length in range(len(names), 0, -1):
        origin = env_names.get("__".join(names[:length]))
        if origin is not None:
            return origin
    return None


def _format_validation_error(
    error: ValidationError, file: Path | None, env_names: Mapping[str, str]
) -> list[str]:
    problems = []
    for item in error.errors(include_url=False):
        loc: tuple[str | int, ...] = tuple(item["loc"])
        where = _format_loc(loc)
        message = _error_message(item)
        origin = _leaf_origins(env_names, loc)
        for line in message.splitlines() or [message]:
            field, detail = where, line
            if where and line.startswith((f"{where}[", f"{where}.")):
                field, _, detail = line.partition(": ")
            located = f"{field}: {detail}" if field else detail
            if origin is not None:
                problems.append(f"{origin} ({field}): {detail}")
            elif file is not None:
                problems.append(f"{file}: {located}")
            else:
                problems.append(located)
    return problems


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading a given mapping instead of ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


def _env_names(env: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Map 'section__field' to the variable name, and report ``TGVAULT_*`` names that would be ignored."""
    names: dict[str, str] = {}
    problems: list[str] = []
    all_fields = {field: section for section, model in _SECTIONS.items() for field in model.model_fields}
    for name, value in env.items():
        if not name.upper().startswith(ENV_PREFIX) or name.upper() == CONFIG_ENV_VAR or value == "":
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        parts = rest.split("__")
        if len(parts) == 1:
            if rest in Settings.model_fields:
                names[rest] = name
            elif rest in all_fields:
                better = f"{ENV_PREFIX}{all_fields[rest].upper()}__{rest.upper()}"
                problems.append(f"{name}: is not read by tgvault; did you mean {better}?")
            continue  # other TGVAULT_* variables (test settings, ...) are not ours to judge
        section, field = parts[0], "__".join(parts[1:])
        if section not in _SECTIONS:
            close = difflib.get_close_matches(section, list(Settings.model_fields), n=1)
            if section == "channels":
                hint = f"set the whole list as JSON in {ENV_PREFIX}CHANNELS"
            elif close:
                hint = f"did you mean {ENV_PREFIX}{close[0].upper()}__{field.upper()}?"
            else:
                hint = "expected one of the sections " + ", ".join(_SECTIONS)
            problems.append(f"{name}: unknown section {section!r}; {hint}")
            continue
        fields = list(_SECTIONS[section].model_fields)
        if field not in fields:
            close = difflib.get_close_matches(field, fields, n=1)
            hint = (
                f"did you mean {ENV_PREFIX}{section.upper()}__{close[0].upper()}?"
                if close
                else "expected one of: " + ", ".join(fields)
            )
            problems.append(f"{name}: unknown key {field!r} in [{section}]; {hint}")
            continue
        names[f"{section}__{field}"] = name
    return names, sorted(problems)


def _env_json_problems(env_names: Mapping[str, str], environ: Mapping[str, str]) -> list[str]:
    """Explain which whole-section or channel-list variable holds malformed JSON."""
    problems = []
    for key, name in env_names.items():
        if "__" in key:
            continue
        try:
            json.loads(environ[name])
        except ValueError as error:
            example = '[{"name": "@durov", "schedule": "1h"}]' if key == "channels" else '{"key": "value"}'
            problems.append(f"{name} ({key}): is not valid JSON ({error}); expected JSON like {example}")
    return problems or [f"{ENV_PREFIX}*: an environment variable holds a value that cannot be parsed"]


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            merged[key] = _deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def find_config_file(path: Path | None = None, env: Mapping[str, str] | None = None) -> Path | None:
    """The config file to read: ``path``, else ``$TGVAULT_CONFIG``, else ``./tgvault.toml``, else
    ``./config/tgvault.toml``; ``None`` when there is none. A named file that is missing is a ConfigError.
    """
    environ = os.environ if env is None else env
    named, how = path, "the config file"
    if named is None and environ.get(CONFIG_ENV_VAR):
        named, how = Path(environ[CONFIG_ENV_VAR]), f"the config file named by {CONFIG_ENV_VAR}"
    if named is not None:
        if not named.exists():
            raise ConfigError(f"{named}: {how} does not exist")
        if not named.is_file():
            raise ConfigError(f"{named}: {how} is not a file")
        return named
    for candidate in DEFAULT_CONFIG_PATHS:
        if candidate.is_file():
            return candidate
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: the config file is not UTF-8 text (byte {error.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None


def _secrets_in_file(data: dict[str, Any], path: Path) -> Iterator[str]:
    """Report (and drop) secrets written into the config file."""
    telegram = data.get("telegram")
    if not isinstance(telegram, dict):
        return
    for name in sorted(SECRET_FIELDS):
        if name in telegram:
            del telegram[name]
            yield (
                f"{path}: telegram.{name}: secrets may not be written in the config file; set the "
                f"{ENV_PREFIX}TELEGRAM__{name.upper()} environment variable, or set telegram.{name}_file "
                "to a file that only you can read (chmod 600)"
            )


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the config file (see :func:`find_config_file`) and ``TGVAULT_*`` variables from ``env``
    (default ``os.environ``) into validated :class:`Settings`; the environment beats the file.

    Raises :class:`ConfigError` listing every problem, one per line.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    file = find_config_file(path, environ)
    data: dict[str, Any] = _read_toml(file) if file is not None else {}
    problems: list[str] = list(_secrets_in_file(data, file)) if file is not None else []

    env_names, env_problems = _env_names(environ)
    problems.extend(env_problems)
    try:
        env_values = _MappingEnvSource(Settings, environ)()
    except SettingsError:
        raise ConfigError("\n".join([*problems, *_env_json_problems(env_names, environ)])) from None
    merged = _deep_merge(data, env_values)

    try:
        settings = Settings(**merged)
    except ValidationError as error:
        problems.extend(_format_validation_error(error, file, env_names))
        settings = None
    if problems or settings is None:
        raise ConfigError("\n".join(problems))
    settings._source_file = file
    return settings
