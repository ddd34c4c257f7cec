"""How numbers, sizes, durations, months and dates read on the site (in the site's timezone)."""

from __future__ import annotations

from datetime import datetime, tzinfo

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def month_key(month: int) -> str:
    """``YYYY-MM`` of a month number (``year * 12 + month - 1``)."""
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def month_label(month: int) -> str:
    """``March 2024`` of a month number."""
    return f"{MONTH_NAMES[month % 12]} {month // 12}"


def human_count(value: int | None) -> str | None:
    """Counts the way Telegram shows them: 999, 1.2K, 53K, 1.4M."""
    if value is None:
        return None
    if value < 1000:
        return str(value)
    for limit, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if value >= limit:
            number = value / limit
            text = f"{number:.1f}" if number < 10 else f"{number:.0f}"
            return text.removesuffix(".0") + suffix
    return str(value)


def human_size(size: int | None) -> str:
    """A file size for people: 512 B, 3.4 KB, 12.0 MB."""
    if size is None or size < 0:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def human_duration(seconds: float | None) -> str:
    """0:07, 3:25, 1:02:03."""
    if seconds is None or seconds < 0:
        return ""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_day(moment: datetime, zone: tzinfo) -> str:
    """``5 March 2024`` in the site's timezone."""
    local = moment.astimezone(zone)
    return f"{local.day} {MONTH_NAMES[local.month - 1]} {local.year}"


def format_time(moment: datetime, zone: tzinfo) -> str:
    """``14:05`` in the site's timezone."""
    local = moment.astimezone(zone)
    return f"{local.hour:02d}:{local.minute:02d}"


def format_full(moment: datetime, zone: tzinfo) -> str:
    """``5 March 2024, 14:05 (Europe/Berlin)``-style date for titles and permalinks."""
    local = moment.astimezone(zone)  # once (a card shows three forms of its date, a search entry one)
    day = f"{local.day} {MONTH_NAMES[local.month - 1]} {local.year}"
    return f"{day}, {local.hour:02d}:{local.minute:02d} {local.tzname() or ''}".rstrip()


def card_dates(moment: datetime, zone: tzinfo) -> tuple[str, str, str]:
    """:func:`iso`, :func:`format_time` and :func:`format_full` of one moment (the local time worked out once)."""
    local = moment.astimezone(zone)
    clock = f"{local.hour:02d}:{local.minute:02d}"
    full = f"{local.day} {MONTH_NAMES[local.month - 1]} {local.year}, {clock} {local.tzname() or ''}".rstrip()
    return local.isoformat(timespec="seconds"), clock, full


def iso(moment: datetime, zone: tzinfo) -> str:
    """ISO 8601 with the site's offset, for ``<time datetime>``."""
    return moment.astimezone(zone).isoformat(timespec="seconds")
