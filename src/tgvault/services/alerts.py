"""Mass-deletion protection: a run that sees too many posts vanish raises an alert, and removes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from tgvault.domain import AlertKind, Channel, ChannelAlert
from tgvault.services.plans import ChannelPlan
from tgvault.storage.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

MIN_VANISHED = 5
"""Fewer vanished posts than this never raise an alert, whatever the share (a tiny channel's one deletion)."""


@dataclass(frozen=True)
class Reread:
    """What re-reading archived posts found: how many Telegram answered for, how many of them are gone."""

    checked: int = 0
    vanished: int = 0

    def __add__(self, other: Reread) -> Reread:
        return Reread(self.checked + other.checked, self.vanished + other.vanished)


def is_mass_deletion(seen: Reread, share: float) -> bool:
    """True when more than ``share`` of the posts checked vanished (and at least :data:`MIN_VANISHED`)."""
    return seen.vanished >= MIN_VANISHED and seen.vanished > share * seen.checked


def watch_vanished(
    unit_of_work: Callable[[], UnitOfWork],
    channel: Channel,
    plan: ChannelPlan,
    run_kind: str,
    seen: Reread,
    now: datetime,
) -> ChannelAlert | None:
    """Raise (log and persist) a mass-deletion alert when this run's deletions pass the plan's share.

    The tombstones are already recorded; every post keeps its content. The alert stays in
    ``tgvault status`` until ``tgvault status --clear-alerts``.
    """
    if not is_mass_deletion(seen, plan.mass_deletion_share):
        return None
    percent = round(100 * seen.vanished / seen.checked)
    alert = ChannelAlert(
        channel_id=channel.id,
        channel_key=plan.key,
        kind=AlertKind.MASS_DELETION,
        run_kind=run_kind,
        raised_at=now,
        checked=seen.checked,
        vanished=seen.vanished,
        message=(
            f"{seen.vanished} of {seen.checked} posts re-read by this {run_kind} ({percent}%) are gone from "
            f"Telegram (over the {plan.mass_deletion_share:.0%} alert threshold): the channel may have "
            "been wiped, the account banned, or Telegram glitched. They are marked deleted and every "
            "post keeps its content in the archive."
        ),
    )
    with unit_of_work() as uow:
        alert = alert.model_copy(update={"id": uow.alerts.raise_alert(alert)})
        uow.commit()
    log.error(
        "mass deletion",
        channel=plan.key,
        run=run_kind,
        vanished=seen.vanished,
        checked=seen.checked,
        threshold=plan.mass_deletion_share,
    )
    return alert
