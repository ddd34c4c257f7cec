"""``[database]``: the SQL database URL (relative SQLite paths made absolute)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from pydantic import field_validator

from tgvault.config.paths import resolve_path
from tgvault.config.section_model import SettingsSection

_SQLITE_URL_RE: Final = re.compile(r"(sqlite(?:\+\w+)?):///([^?]*)(\?.*)?")
_URL_SCHEME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://.*")
_URL_PASSWORD_RE: Final = re.compile(r"(://[^:/@]*:)[^@/]*@")


class DatabaseSettings(SettingsSection):
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
