"""How the mapping reads TL values: checks raising :class:`Unexpected`, a reader noting failed parts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from telethon.tl import types

from tgvault.errors import TgvaultError

T = TypeVar("T")


class MappingError(TgvaultError, TypeError):
    """The object handed to the mapping is not what it maps (not a message, not a channel)."""


class Unexpected(Exception):
    """A TL shape the mapping does not understand; its message is used as is in ``parse_error``."""


def tl_base(cls: Any) -> Any:
    """The generated ``telethon.tl.types`` class behind a patched one (``types.Message`` is patched)."""
    for klass in getattr(cls, "__mro__", ()):
        if getattr(klass, "__module__", "") == "telethon.tl.types":
            return klass
    return cls


def optional_types(*names: str) -> tuple[type, ...]:
    """The ``types`` classes that exist in this Telethon version among ``names``."""
    found = (getattr(types, name, None) for name in names)
    return tuple(cls for cls in found if isinstance(cls, type))


def type_name(obj: object) -> str:
    """The TL constructor's name of ``obj`` (its class name), for messages about it."""
    return type(obj).__name__


def _describe(exc: Exception) -> str:
    if isinstance(exc, Unexpected):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class Reader:
    """Reads one part of a message at a time and remembers what failed."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def note(self, part: str, problem: str) -> None:
        self.errors.append(f"{part}: {problem}")

    def read(self, part: str, read: Callable[[], T], default: T) -> T:
        try:
            return read()
        except Exception as exc:
            self.note(part, _describe(exc))
            return default

    def each(self, part: str, items: object, read: Callable[[Any], T | None]) -> tuple[T, ...]:
        """Map every item of a TL vector, skipping (and noting) items that fail."""
        if items is None:
            return ()
        if not isinstance(items, Iterable) or isinstance(items, str | bytes | Mapping):
            raise Unexpected(f"expected a list, got {type_name(items)}")
        out: list[T] = []
        for item in items:
            try:
                mapped = read(item)
            except Exception as exc:
                self.note(part, _describe(exc))
                continue
            if mapped is not None:
                out.append(mapped)
        return tuple(out)

    @property
    def parse_error(self) -> str | None:
        return "; ".join(self.errors) or None


def opt_int(value: object, what: str) -> int | None:
    """An optional integer field; anything else raises :class:`Unexpected`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Unexpected(f"{what} is {type_name(value)}, expected int")
    return value


def req_int(value: object, what: str) -> int:
    """A required integer field; a missing one raises :class:`Unexpected`."""
    result = opt_int(value, what)
    if result is None:
        raise Unexpected(f"{what} is missing")
    return result


def opt_float(value: object, what: str) -> float | None:
    """An optional number field as a float; anything else raises :class:`Unexpected`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unexpected(f"{what} is {type_name(value)}, expected a number")
    return float(value)


def opt_str(value: object, what: str) -> str | None:
    """An optional string field; anything else raises :class:`Unexpected`."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Unexpected(f"{what} is {type_name(value)}, expected str")
    return value


def nonempty(value: object, what: str) -> str | None:
    """Optional TL strings arrive as ``""`` when absent; the domain says ``None``."""
    return opt_str(value, what) or None


def tl_text(value: object, what: str) -> str:
    """Text that newer layers wrap in ``TextWithEntities`` (poll questions and answers)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, types.TextWithEntities):
        return opt_str(value.text, what) or ""
    raise Unexpected(f"{what} is {type_name(value)}, expected str or TextWithEntities")


def utc(value: object, what: str) -> datetime | None:
    """A TL date as an aware UTC datetime; naive datetimes are taken to be UTC already."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    raise Unexpected(f"{what} is {type_name(value)}, expected datetime")
