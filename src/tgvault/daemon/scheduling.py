"""Schedules as APScheduler triggers, and the arithmetic of jitter and backoff for ``tgvault run``.

Decisions, so they are written down once:

* An interval schedule (``30s``, ``10m``, ``6h``, ``1d``) counts from when the service started (or from
  the channel's last run, see :func:`first_run_at`); it has no timezone.
* A cron schedule (``"0 */6 * * *"``) is read in the **site timezone** (``[site] timezone``, UTC by
  default) — the one timezone the archive shows times in — so ``0 9 * * *`` means 09:00 there,
  daylight saving time included.
* Jitter spreads channels out: a random delay of up to 10 % of the channel's period, at most 60 s.
* A channel that fails backs off: after ``n`` failures in a row its next attempt waits
  ``period * 2**n`` (double, quadruple, ...), at most :data:`BACKOFF_CEILING` (6 h) — or one period
  when the period itself is longer than that.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any, Final

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from tgvault.config import CronSchedule, IntervalSchedule, Schedule

BACKOFF_CEILING: Final = timedelta(hours=6)
MAX_JITTER: Final = timedelta(seconds=60)
JITTER_SHARE: Final = 0.1


def trigger_for(schedule: Schedule, timezone: tzinfo, *, jitter: bool = True) -> Any:
    """The APScheduler trigger for a channel's schedule (cron fields read in ``timezone``).

    Cron triggers are built from :meth:`CronSchedule.trigger_fields`, never ``CronTrigger.from_crontab``,
    which numbers weekdays differently from crontab.
    """
    spread = jitter_seconds(schedule, timezone) if jitter else None
    if isinstance(schedule, IntervalSchedule):
        return IntervalTrigger(seconds=schedule.seconds, timezone=timezone, jitter=spread)
    return CronTrigger(**schedule.trigger_fields(), timezone=timezone, jitter=spread)


def period(schedule: Schedule, timezone: tzinfo, now: datetime | None = None) -> timedelta:
    """How long one round of the schedule takes: the interval, or the gap between the next two cron times."""
    if isinstance(schedule, IntervalSchedule):
        return timedelta(seconds=schedule.seconds)
    return _cron_gap(schedule, timezone, now or datetime.now(timezone))


def _cron_gap(schedule: CronSchedule, timezone: tzinfo, now: datetime) -> timedelta:
    trigger = CronTrigger(**schedule.trigger_fields(), timezone=timezone)
    first = trigger.get_next_fire_time(None, now)
    if first is None:  # pragma: no cover - a 5-field cron expression always fires again
        return timedelta(days=1)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    if second is None:  # pragma: no cover
        return timedelta(days=1)
    gap: timedelta = second - first
    return gap


def jitter_seconds(schedule: Schedule, timezone: tzinfo, now: datetime | None = None) -> float:
    """The most a run is moved at random: 10 % of the period, at most 60 s."""
    return min(MAX_JITTER, period(schedule, timezone, now) * JITTER_SHARE).total_seconds()


def backoff_delay(failures: int, base: timedelta, ceiling: timedelta = BACKOFF_CEILING) -> timedelta:
    """How long to wait after ``failures`` failures in a row: ``base * 2**failures``, capped.

    The cap is ``ceiling``, or ``base`` itself when the schedule is slower than the ceiling (backing off
    never makes a channel wait longer than the larger of the two). No failures, no wait beyond ``base``.
    """
    if failures <= 0:
        return base
    cap = max(ceiling, base)
    # Doubling past the cap is pointless (and 2**n grows without bound): stop once it is reached.
    delay = base
    for _ in range(failures):
        delay *= 2
        if delay >= cap:
            return cap
    return delay


def first_run_at(
    now: datetime,
    schedule: Schedule,
    *,
    last_run_at: datetime | None,
    backoff_until: datetime | None,
    stagger: float = 0.0,
) -> datetime | None:
    """When a freshly started service first runs a channel; ``None`` means "at the schedule's next time".

    An interval channel runs one period after its last run (at once if that is past, plus ``stagger``
    seconds so channels do not all start together); a channel still backing off waits for its backoff to
    end; a cron channel otherwise keeps to its cron times.
    """
    due: datetime | None = None
    if isinstance(schedule, IntervalSchedule):
        due = now + timedelta(seconds=stagger)
        if last_run_at is not None:
            due = max(due, last_run_at + timedelta(seconds=schedule.seconds))
    if backoff_until is not None and backoff_until > now:
        due = backoff_until if due is None else max(due, backoff_until)
    return due
