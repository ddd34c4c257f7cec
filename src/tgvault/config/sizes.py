"""Sizes: byte counts written as numbers or with units (``"50MB"``, ``"1.5GiB"``)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Final

from pydantic import PlainValidator

from tgvault.config.value_display import show_value

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
        raise ValueError(f"{show_value(value)} is not a size; {_SIZE_HINT}")
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
    raise ValueError(f"{show_value(value)} is not a size; {_SIZE_HINT}")


def _validate_size(value: object) -> int:
    return parse_size(value)


SizeField = Annotated[int, PlainValidator(_validate_size)]
