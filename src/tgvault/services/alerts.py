"""Alerts a person should look at, shown by ``tgvault status``: a run that sees too many posts vanish raises
one (and removes nothing); so does a Telegram account that cannot be used, until it works again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from tgvault.domain import AlertKind, Channel, ChannelAlert
from tgvault.errors import AccountError
from tgvault.services.plans import ChannelPlan
from tgvault.storage.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

ACCOUNT_ALERT_KEY = "Telegram account"
"""What an account alert stands under in ``tgvault status`` (it concerns every Telegram channel)."""

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


def account_alert_key(worker_session: str | None = None) -> str:
    """What an account alert stands under: the account, or a worker's account when workers have their own."""
    return f"{ACCOUNT_ALERT_KEY} of worker session {worker_session}" if worker_session else ACCOUNT_ALERT_KEY


def raise_account_alert(
    unit_of_work: Callable[[], UnitOfWork],
    error: AccountError,
    run_kind: str,
    now: datetime,
    *,
    then: str,
    key: str = ACCOUNT_ALERT_KEY,
) -> ChannelAlert | None:
    """Keep one open alert saying the Telegram account cannot be used, why, and what to do (``then``: how
    the running service or the next run picks the fixed session up). An alert already open with the same
    message stays as it is (None is returned); one with another cause is replaced."""
    message = f"{str(error).removeprefix(f'{ACCOUNT_ALERT_KEY}: ')}; {then}"  # shown after the key
    with unit_of_work() as uow:
        open_alerts = [
            alert
            for alert in uow.alerts.open()
            if alert.kind is AlertKind.ACCOUNT and alert.channel_key == key
        ]
        if any(alert.message == message for alert in open_alerts):
            return None
        uow.alerts.clear(now, kind=AlertKind.ACCOUNT, channel_key=key)
        alert = ChannelAlert(
            channel_key=key,
            kind=AlertKind.ACCOUNT,
            run_kind=run_kind,
            raised_at=now,
            checked=0,
            vanished=0,
            message=message,
        )
        alert = alert.model_copy(update={"id": uow.alerts.raise_alert(alert)})
        uow.commit()
    return alert


def clear_account_alerts(
    unit_of_work: Callable[[], UnitOfWork], now: datetime, *, key: str = ACCOUNT_ALERT_KEY
) -> int:
    """Mark the account alerts as seen: the account works again. Returns how many were open."""
    with unit_of_work() as uow:
        cleared = uow.alerts.clear(now, kind=AlertKind.ACCOUNT, channel_key=key)
        uow.commit()
    return cleared
