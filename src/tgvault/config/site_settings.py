"""``[site]``: the static website build (folder, title, base URL, timezone, templates, media mode)."""

from __future__ import annotations

import difflib
from datetime import UTC, tzinfo
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import Field, field_validator

from tgvault.config.paths import resolve_path
from tgvault.config.section_model import SettingsSection


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
