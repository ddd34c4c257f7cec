"""Typed access to the JSON objects of a Desktop export, naming the place of every problem."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any, NoReturn

from tgvault.errors import ImportFormatError, TimezoneRequiredError

__all__ = ["Fields", "json_type"]

_PEER_ID = re.compile(r"^(channel|user|chat)(\d+)$")


def json_type(value: object) -> str:
    """How an error message names the type of a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


class Fields:
    """Typed access to one JSON object; every problem raises ImportFormatError naming the field."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            raise ImportFormatError(f"expected an object, got {json_type(data)}", location=where)
        self.data: Mapping[str, Any] = data
        self.where = where

    def fail(self, key: str, problem: str) -> NoReturn:
        raise ImportFormatError(problem, location=f"{self.where}, field {key!r}")

    def has(self, key: str) -> bool:
        return key in self.data

    def _get(self, key: str, required: bool) -> Any:
        value = self.data.get(key)
        if value is None and required:
            self.fail(key, "missing")
        return value

    def integer(self, key: str, *, required: bool = False) -> int | None:
        value = self._get(key, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"expected an integer, got {json_type(value)}")
        return value

    def number(self, key: str) -> float | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(key, f"expected a number, got {json_type(value)}")
        return float(value)

    def string(self, key: str, *, required: bool = False) -> str | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(key, f"expected a string, got {json_type(value)}")
        return value

    def boolean(self, key: str) -> bool:
        value = self.data.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {json_type(value)}")
        return value

    def array(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(key, f"expected a list, got {json_type(value)}")
        return value

    def obj(self, key: str) -> Fields | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.fail(key, f"expected an object, got {json_type(value)}")
        return Fields(value, f"{self.where}, field {key!r}")

    def numeric_id(self, key: str) -> int | str | None:
        """An id Desktop writes as a number, a numeric string, a path or a placeholder."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if not isinstance(value, str):
            self.fail(key, f"expected a string or number, got {json_type(value)}")
        return int(value) if value.lstrip("-").isdigit() else value

    def peer(self, key: str) -> tuple[str, int] | None:
        """A peer id: ``"channel123"``/``"user123"``/``"chat123"``, or a bare number (older exports)."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return ("", value)
        if not isinstance(value, str):
            self.fail(key, f'expected a peer id such as "channel123", got {json_type(value)}')
        match = _PEER_ID.match(value)
        if match:
            return (match.group(1), int(match.group(2)))
        if value.isdigit():
            return ("", int(value))
        return None

    def moment(self, key: str, zone: tzinfo | None, *, required: bool = False) -> datetime | None:
        """``key`` as UTC: from ``<key>_unixtime`` when present, else the local time read in ``zone``."""
        unix = self.data.get(f"{key}_unixtime")
        if unix is not None:
            if isinstance(unix, bool) or not isinstance(unix, int | str):
                self.fail(f"{key}_unixtime", f"expected a Unix time, got {json_type(unix)}")
            try:
                return datetime.fromtimestamp(int(unix), UTC)
            except (ValueError, OverflowError, OSError):
                self.fail(f"{key}_unixtime", f"not a Unix time: {unix!r}")
        local = self.string(key, required=required)
        if local is None:
            return None
        try:
            parsed = datetime.fromisoformat(local)
        except ValueError:
            self.fail(key, f"not a date and time: {local!r}")
        if parsed.tzinfo is None:
            if zone is None:
                raise TimezoneRequiredError(f"{self.where}, field {key!r}: local time without a time zone")
            parsed = parsed.replace(tzinfo=zone)
        return parsed.astimezone(UTC)
