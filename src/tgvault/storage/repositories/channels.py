"""Channels, and the history of their title, username, description and subscriber count."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tgvault.domain import Channel, ChannelKind
from tgvault.storage.repositories.rows import table
from tgvault.storage.tables import ChannelObservationRow, ChannelRow, utcnow


class ChannelRepository:
    """Channels, and the history of their title, username, description and subscriber count."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def upsert(self, channel: Channel, observed_at: datetime | None = None) -> None:
        """Insert or update a channel; record an observation when anything visible changed."""
        now = observed_at or utcnow()
        row = self._session.get(ChannelRow, channel.id)
        values = {
            "username": channel.username,
            "title": channel.title,
            "description": channel.description,
            "subscribers": channel.subscribers,
            "kind": channel.kind.value,
            "created_at": channel.created_at,
            "photo_sha256": channel.photo_sha256,
        }
        if row is None:
            self._session.add(ChannelRow(id=channel.id, first_seen_at=now, updated_at=now, **values))
            self._session.flush()
            changed = True
        else:
            changed = any(
                getattr(row, key) != values[key]
                for key in ("username", "title", "description", "subscribers")
            )
            for key, value in values.items():
                if value is not None or key in ("username", "description"):
                    setattr(row, key, value)
            row.updated_at = now
        if changed:
            self._session.add(
                ChannelObservationRow(
                    channel_id=channel.id,
                    observed_at=now,
                    title=channel.title,
                    username=channel.username,
                    description=channel.description,
                    subscribers=channel.subscribers,
                )
            )
        self._session.flush()

    def get(self, channel_id: int) -> Channel | None:
        """The channel with this Telegram id, if archived."""
        row = self._session.get(ChannelRow, channel_id)
        return None if row is None else _channel_from_row(row)

    def find(self, key: str) -> Channel | None:
        """Find an archived channel by username (with or without @, any case) or numeric id."""
        key = key.strip().removeprefix("@")
        for prefix in ("https://t.me/", "http://t.me/", "t.me/"):
            key = key.removeprefix(prefix)
        key = key.split("/")[0]
        if key.lstrip("-").isdigit():
            number = int(key)
            if number < 0 and str(number).startswith("-100"):
                number = int(str(number)[4:])
            return self.get(abs(number))
        row = self._session.scalars(
            select(ChannelRow).where(func.lower(ChannelRow.username) == key.lower())
        ).first()
        return None if row is None else _channel_from_row(row)

    def list(self, *, discussions: bool = False) -> list[Channel]:
        """Every archived channel, by title (discussion groups, whose messages are comments, only with
        ``discussions``)."""
        # plain rows (Core, no ORM objects): a site build reads this first, in a fresh process
        channels = table(ChannelRow)
        query = select(channels).order_by(channels.c.title, channels.c.id)
        if not discussions:
            query = query.where(channels.c.kind != ChannelKind.DISCUSSION.value)
        rows = self._session.execute(query)
        return [_channel_from_row(cast(ChannelRow, row)) for row in rows]

    def observations(self, channel_id: int) -> builtins.list[tuple[datetime, int | None, str]]:
        """(observed_at, subscribers, title) over time, oldest first."""
        observations = table(ChannelObservationRow)
        rows = self._session.execute(
            select(observations.c.observed_at, observations.c.subscribers, observations.c.title)
            .where(observations.c.channel_id == channel_id)
            .order_by(observations.c.observed_at, observations.c.id)
        )
        return [(row[0], row[1], row[2]) for row in rows]


def _channel_from_row(row: ChannelRow) -> Channel:
    return Channel(
        id=row.id,
        username=row.username,
        title=row.title,
        description=row.description,
        subscribers=row.subscribers,
        kind=ChannelKind(row.kind),
        created_at=row.created_at,
        photo_sha256=row.photo_sha256,
    )
