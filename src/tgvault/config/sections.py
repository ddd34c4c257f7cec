"""The ``[section]`` tables of the configuration: ``[database]``, ``[media]``, ``[telegram]``, ``[web]``,
``[sync]``, ``[site]`` and ``[workers]``, each a frozen pydantic model that refuses unknown keys.

Relative paths are resolved against the current working directory when a section is validated.
"""

from __future__ import annotations

import difflib
import re
from datetime import UTC, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator

from tgvault.config.secret_files import check_secret_file, read_secret_file
from tgvault.errors import ConfigError, StorageError


class SettingsSection(BaseModel):
    """A ``[section]`` table: unknown keys are errors, values are frozen, defaults are validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def resolve_path(path: Path) -> Path:
    """Make ``path`` absolute against the current working directory (``~`` is expanded)."""
    path = path.expanduser()
    return path if path.is_absolute() else Path.cwd() / path


_SQLITE_URL_RE: Final = re.compile(r"(sqlite(?:\+\w+)?):///([^?]*)(\?.*)?")
_URL_SCHEME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://.*")
_URL_PASSWORD_RE: Final = re.compile(r"(://[^:/@]*:)[^@/]*@")
_DATABASE_SCHEMES: Final = frozenset(
    {"sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg"}
)
_DATABASE_URL_EXAMPLES: Final = (
    "expected e.g. 'sqlite:///data/tgvault.db' or 'postgresql+psycopg://user@host/dbname'"
)


class DatabaseSettings(SettingsSection):
    """``[database]``: where the archive's SQL database lives."""

    url: str = "sqlite:///data/tgvault.db"

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        shown = _URL_PASSWORD_RE.sub(r"\1***@", value)
        if not _URL_SCHEME_RE.fullmatch(value):
            raise ValueError(f"{shown!r} is not a database URL; {_DATABASE_URL_EXAMPLES}")
        scheme = value.split("://", 1)[0].lower()
        if scheme not in _DATABASE_SCHEMES:
            raise ValueError(
                f"{shown!r}: tgvault does not support {scheme!r} databases; {_DATABASE_URL_EXAMPLES}"
            )
        match = _SQLITE_URL_RE.fullmatch(value)
        if match is not None:
            scheme, path, query = match.group(1), match.group(2), match.group(3) or ""
            if path and path != ":memory:" and not path.startswith("/"):
                value = f"{scheme}:///{resolve_path(Path(path))}{query}"
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


class MediaSettings(SettingsSection):
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

    _resolve_dir = field_validator("dir")(resolve_path)

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


SECRET_FIELDS: Final = frozenset({"api_hash", "session_string"})


class TelegramSettings(SettingsSection):
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
        path = resolve_path(value)
        check_secret_file(path)
        return path

    @field_validator("api_hash", "session_string")
    @classmethod
    def _load_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip():
            return SecretStr(value.get_secret_value().strip())
        path = info.data.get(f"{info.field_name}_file")
        if isinstance(path, Path):
            return SecretStr(read_secret_file(path))
        return None

    _resolve_session = field_validator("session_file")(resolve_path)

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


class WebSettings(SettingsSection):
    """``[web]``: the public web preview (``t.me/s/<channel>``), read without an account."""

    base_url: str = "https://t.me"
    request_delay: float = Field(default=1.0, ge=0)
    user_agent: str = Field(default_factory=_default_user_agent, min_length=1)
    timeout: float = Field(default=30.0, gt=0)
    deadline: float = Field(default=300.0, gt=0)
    """Seconds one request may take in all (redirects and body included), however slowly bytes arrive."""

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


class SyncSettings(SettingsSection):
    """``[sync]``: how far back each run re-reads posts to catch edits, deletions and counters."""

    refresh_posts: int = Field(default=200, ge=0)
    refresh_days: int = Field(default=7, ge=0)
    mass_deletion_share: float = Field(default=0.5, gt=0, le=1)
    """A run that sees more than this share of the posts it re-read vanish raises an alert."""
    audit_pause: float = Field(default=1.0, ge=0)
    """Seconds between two requests of an audit (it must never starve the syncs)."""


class LedgerSettings(SettingsSection):
    """``[ledger]``: trusted timestamps of each channel's ledger (RFC 3161), off by default."""

    tsa_url: str | None = None
    """A time-stamping authority; after each run that appended entries, the chain heads are stamped."""
    tsa_ca_file: Path | None = None
    """The TSA's CA certificate (PEM): kept with every token so that verify checks it offline."""
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("tsa_url")
    @classmethod
    def _check_tsa_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        split = urlsplit(value.strip())
        if split.scheme not in ("http", "https") or not split.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL; expected e.g. 'https://freetsa.org/tsr'")
        return value.strip()

    @field_validator("tsa_ca_file")
    @classmethod
    def _resolve_ca(cls, value: Path | None) -> Path | None:
        return None if value is None else resolve_path(value)

    @model_validator(mode="after")
    def _ca_with_url(self) -> LedgerSettings:
        if self.tsa_url is not None and self.tsa_ca_file is None:
            raise ValueError(
                "tsa_url needs tsa_ca_file: the TSA's CA certificate (PEM), to check its tokens offline"
            )
        return self


class SiteMediaMode(StrEnum):
    """How ``[site] media`` puts archived media files into the static site's ``media/`` folder."""

    HARDLINK = "hardlink"  # falls back to a copy when the site is on another file system
    COPY = "copy"
    SYMLINK = "symlink"


def _timezone_names() -> list[str]:
    try:
        return sorted(available_timezones())
    except OSError:  # pragma: no cover - no tz database on this system
        return []


class SiteSettings(SettingsSection):
    """``[site]``: the static website build."""

    dir: Path = Path("data/site")
    title: str = Field(default="tgvault archive", min_length=1)
    base_url: str | None = None
    timezone: str = "UTC"
    templates: Path | None = None
    media: SiteMediaMode = SiteMediaMode.HARDLINK
    post_pages: bool = True
    workers: int | None = Field(default=None, ge=1, le=256)

    _resolve_dir = field_validator("dir")(resolve_path)

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
        path = resolve_path(value)
        if not path.is_dir():
            raise ValueError(f"'{path}' is not a directory; expected a folder of Jinja templates")
        return path

    @property
    def tzinfo(self) -> tzinfo:
        """The configured timezone as a ``tzinfo``."""
        if self.timezone == "UTC":
            return UTC
        return ZoneInfo(self.timezone)


class WorkersSettings(SettingsSection):
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
