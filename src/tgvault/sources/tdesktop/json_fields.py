"""Typed access to the JSON objects of a Desktop export, naming the place of every problem."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any, NoReturn

from tgvault.domain import BIGINT_MAX, BIGINT_MIN
from tgvault.errors import ImportFormatError, TimezoneRequiredError

__all__ = ["MAX_RAW_DEPTH", "Fields", "json_type", "unstorable"]

_PEER_ID = re.compile(r"^(channel|user|chat)(\d+)$")
_DIGITS = 19  # the most a 64-bit id has; longer digit strings are refused before int() reads them

MAX_RAW_DEPTH = 32
"""How deep a message's JSON may nest (Desktop writes at most four levels: buttons in rows in a list)."""


def unstorable(value: object) -> str | None:
    """Why a message's JSON cannot be kept as it is in the archive, or None: nested deeper than
    :data:`MAX_RAW_DEPTH`, a number that is not finite, or text with a lone surrogate (issue 17.4)."""
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return problem
        elif isinstance(item, Mapping | list):
            if depth > MAX_RAW_DEPTH:
                return f"nested more than {MAX_RAW_DEPTH} levels deep"
            children = list(item.items()) if isinstance(item, Mapping) else [(None, child) for child in item]
            for key, child in children:
                if key is not None:
                    pending.append((key, depth))
                pending.append((child, depth + 1))
        elif isinstance(item, float) and not math.isfinite(item):
            return f"a number that is not finite ({item})"
    return None


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (a lone surrogate, which UTF-8 cannot encode), or None."""
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"text with a lone surrogate (U+{ord(value[exc.start]):04X}) at character {exc.start}"
    return None


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

    def __init__(self, data: object, where: str, *, text_checked: bool = False) -> None:
        if type(data) is not dict and not isinstance(data, Mapping):  # (dict first: the ABC check is slow)
            raise ImportFormatError(f"expected an object, got {json_type(data)}", location=where)
        self.data: Mapping[str, Any] = data
        self.where = where
        self.text_checked = text_checked
        """True when the caller knows that no text in ``data`` holds a lone surrogate."""

    def part(self, value: object, where: str) -> Fields:
        """An object inside this one (at ``where``), read by the same rules."""
        return Fields(value, where, text_checked=self.text_checked)

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
        if not BIGINT_MIN <= value <= BIGINT_MAX:
            self.fail(key, f"the number {_shown(value)} is out of range (a 64-bit integer)")
        return value

    def number(self, key: str) -> float | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(key, f"expected a number, got {json_type(value)}")
        if isinstance(value, int) and not BIGINT_MIN <= value <= BIGINT_MAX:
            self.fail(key, f"the number {_shown(value)} is out of range")
        if not math.isfinite(value):
            self.fail(key, f"expected a finite number, got {value}")
        return float(value)

    def string(self, key: str, *, required: bool = False) -> str | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(key, f"expected a string, got {json_type(value)}")
        if not self.text_checked:
            problem = text_problem(value)
            if problem:
                self.fail(key, problem)
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
        return self.part(value, f"{self.where}, field {key!r}")

    def numeric_id(self, key: str) -> int | str | None:
        """An id Desktop writes as a number, a numeric string, a path or a placeholder."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return self.integer(key)
        if not isinstance(value, str):
            self.fail(key, f"expected a string or number, got {json_type(value)}")
        digits = value.removeprefix("-")
        if digits.isdecimal() and digits.isascii():
            if len(digits) > _DIGITS or not BIGINT_MIN <= int(value) <= BIGINT_MAX:
                self.fail(key, f"the id {_shown(value)} is out of range (a 64-bit integer)")
            return int(value)
        return self.string(key)

    def peer(self, key: str) -> tuple[str, int] | None:
        """A peer id: ``"channel123"``/``"user123"``/``"chat123"``, or a bare number (older exports)."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return ("", self.integer(key) or 0)
        if not isinstance(value, str):
            self.fail(key, f'expected a peer id such as "channel123", got {json_type(value)}')
        match = _PEER_ID.match(value)
        kind, digits = (match.group(1), match.group(2)) if match else ("", value)
        if not (digits.isdecimal() and digits.isascii()):
            return None
        if len(digits) > _DIGITS or int(digits) > BIGINT_MAX:
            self.fail(key, f"the id {_shown(value)} is out of range (a 64-bit integer)")
        return (kind, int(digits))

    def moment(self, key: str, zone: tzinfo | None, *, required: bool = False) -> datetime | None:
        """``key`` as UTC: from ``<key>_unixtime`` when present, else the local time read in ``zone``."""
        unix = self.data.get(f"{key}_unixtime")
        if unix is not None:
            if isinstance(unix, bool) or not isinstance(unix, int | str):
                self.fail(f"{key}_unixtime", f"expected a Unix time, got {json_type(unix)}")
            try:
                if len(str(unix)) > _DIGITS:
                    raise ValueError(unix)
                return datetime.fromtimestamp(int(unix), UTC)
            except (ValueError, OverflowError, OSError):
                self.fail(f"{key}_unixtime", f"not a Unix time: {_shown(unix)}")
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


def _shown(value: int | str) -> str:
    """A value for an error message, cut short (a crafted number can have thousands of digits)."""
    if isinstance(value, int) and value.bit_length() > 128:
        return f"of about {int(value.bit_length() * 0.30103)} digits"
    text = str(value)
    return text if len(text) <= 40 else f"{text[:20]}... ({len(text)} characters)"
