"""What the archive watches over time: post counters, alerts raised by runs, and audit progress."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, func, select, update
from sqlalchemy.orm import Session

from tgvault.domain import AlertKind, AuditState, ChannelAlert, CounterObservation, Reaction
from tgvault.storage.bulk import insert_rows
from tgvault.storage.tables import AuditStateRow, ChannelAlertRow, PostCounterRow, PostRow

COUNTER_FIELDS = ("views", "forwards", "replies", "reactions")


def counters_changed(stored: dict[str, Any] | None, observed: dict[str, Any]) -> bool:
    """True when ``observed`` counters (a post's values) differ from ``stored`` ones (None = first sight).

    A counter the source did not show (None, or no reactions) is not a change: the web preview shows
    fewer counters than Telegram and must not make the series zig-zag.
    """
    if not any(observed.get(name) for name in COUNTER_FIELDS):
        return False
    if stored is None:
        return True
    for name in COUNTER_FIELDS:
        value = observed.get(name)
        if value is None or (name == "reactions" and not value):
            continue
        if value != stored.get(name):
            return True
    return False


def merged_counters(stored: dict[str, Any] | None, observed: dict[str, Any]) -> dict[str, Any]:
    """The counters after an observation: what it showed, and the stored value where it showed nothing."""
    merged = {}
    for name in COUNTER_FIELDS:
        value = observed.get(name)
        if stored is not None and (value is None or (name == "reactions" and not value)):
            value = stored.get(name)
        merged[name] = [] if name == "reactions" and value is None else value
    return merged


class CounterRepository:
    """The time series of views, forwards, replies and reactions of each post."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Store observations (dicts with channel_id, message_id, observed_at and the counters)."""
        insert_rows(self._session.connection(), cast(Table, PostCounterRow.__table__), rows)

    def series(self, channel_id: int, message_id: int) -> list[CounterObservation]:
        """One post's observations, oldest first."""
        rows = self._session.scalars(
            select(PostCounterRow)
            .where(PostCounterRow.channel_id == channel_id, PostCounterRow.message_id == message_id)
            .order_by(PostCounterRow.observed_at, PostCounterRow.id)
        )
        return [
            CounterObservation(
                channel_id=row.channel_id,
                message_id=row.message_id,
                observed_at=row.observed_at,
                views=row.views,
                forwards=row.forwards,
                replies=row.replies,
                reactions=tuple(Reaction.model_validate(item) for item in row.reactions or ()),
            )
            for row in rows
        ]

    def views_for(
        self, channel_id: int, message_ids: Sequence[int], *, min_points: int = 1
    ) -> dict[int, list[tuple[datetime, int]]]:
        """(observed_at, views) of several posts, oldest first, keyed by message id: posts with at least
        ``min_points`` observations of their views only (2 for posts whose views changed)."""
        counters = cast(Table, PostCounterRow.__table__).c  # Core columns: no ORM compile state
        found: dict[int, list[tuple[datetime, int]]] = {}
        for start in range(0, len(message_ids), 500):
            chunk = list(message_ids[start : start + 500])
            observed = and_(
                counters.channel_id == channel_id,
                counters.message_id.in_(chunk),
                counters.views.is_not(None),
            )
            query = select(counters.message_id, counters.observed_at, counters.views).where(observed)
            if min_points > 1:
                enough = (
                    select(counters.message_id)
                    .where(observed)
                    .group_by(counters.message_id)
                    .having(func.count() >= min_points)
                )
                query = query.where(counters.message_id.in_(enough))
            rows = self._session.execute(
                query.order_by(counters.message_id, counters.observed_at, counters.id)
            )
            for message_id, observed_at, views in rows:
                if views is not None:
                    found.setdefault(message_id, []).append((observed_at, views))
        return found


class AlertRepository:
    """Alerts raised by runs (mass deletions), shown by ``tgvault status`` until cleared."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def raise_alert(self, alert: ChannelAlert) -> int:
        """Record an alert; returns its id."""
        values = alert.model_dump(exclude={"id"})
        values["kind"] = alert.kind.value
        row = ChannelAlertRow(**values)
        self._session.add(row)
        self._session.flush()
        return row.id

    def open(self) -> list[ChannelAlert]:
        """Alerts not cleared yet, newest first."""
        rows = self._session.scalars(
            select(ChannelAlertRow)
            .where(ChannelAlertRow.cleared_at.is_(None))
            .order_by(ChannelAlertRow.raised_at.desc(), ChannelAlertRow.id.desc())
        )
        return [_alert_from_row(row) for row in rows]

    def clear(
        self,
        cleared_at: datetime,
        channel_id: int | None = None,
        *,
        kind: AlertKind | None = None,
        channel_key: str | None = None,
    ) -> int:
        """Mark open alerts (of one channel, kind and/or key, or all) as seen; returns how many."""
        query = update(ChannelAlertRow).where(ChannelAlertRow.cleared_at.is_(None))
        if channel_id is not None:
            query = query.where(ChannelAlertRow.channel_id == channel_id)
        if kind is not None:
            query = query.where(ChannelAlertRow.kind == kind.value)
        if channel_key is not None:
            query = query.where(ChannelAlertRow.channel_key == channel_key)
        result = self._session.execute(query.values(cleared_at=cleared_at))
        return int(getattr(result, "rowcount", 0) or 0)


def _alert_from_row(row: ChannelAlertRow) -> ChannelAlert:
    return ChannelAlert(
        id=row.id,
        channel_id=row.channel_id,
        channel_key=row.channel_key,
        kind=AlertKind(row.kind),
        run_kind=row.run_kind,
        raised_at=row.raised_at,
        checked=row.checked,
        vanished=row.vanished,
        message=row.message,
        cleared_at=row.cleared_at,
    )


class AuditStateRepository:
    """Per channel: the audit in progress (its cursor and range) and when the last one finished."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, channel_id: int) -> AuditState:
        """The channel's audit state (idle and never audited when unknown)."""
        # a plain row (Core), as a site build reads it: no ORM object to load and track
        audits = AuditStateRow.__table__
        row = self._session.execute(select(audits).where(audits.c.channel_id == channel_id)).one_or_none()
        if row is None:
            return AuditState(channel_id=channel_id)
        return AuditState(
            channel_id=row.channel_id,
            cursor_id=row.cursor_id,
            since=row.since,
            started_at=row.started_at,
            last_completed_at=row.last_completed_at,
        )

    def save(self, state: AuditState) -> None:
        """Store the state; call in the same unit of work as the posts the cursor covers."""
        row = self._session.get(AuditStateRow, state.channel_id)
        values = state.model_dump()
        if row is None:
            self._session.add(AuditStateRow(**values))
        else:
            for key, value in values.items():
                setattr(row, key, value)
        self._session.flush()

    def ids_to_audit(
        self, channel_id: int, *, after_id: int, since: datetime | None, limit: int | None
    ) -> list[int]:
        """Ids of live archived posts above ``after_id`` (dated ``since`` or later), ascending."""
        query = select(PostRow.message_id).where(
            PostRow.channel_id == channel_id, PostRow.message_id > after_id, PostRow.deleted_at.is_(None)
        )
        if since is not None:
            query = query.where(PostRow.date >= since)
        query = query.order_by(PostRow.message_id)
        if limit is not None:
            query = query.limit(limit)
        return list(self._session.scalars(query))
