"""Schedules: intervals (``30s``, ``6h``, ``1h30m``) and 5-field cron expressions, parsed and checked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Final

from pydantic import PlainSerializer, PlainValidator

from tgvault.config.value_display import show_value

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
        raise ValueError(f"{show_value(value)} is not a schedule; {_SCHEDULE_HINT}")
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
