"""Read models for ``tgvault status``: per channel, what is archived and how the last run went."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tgvault.domain import ChannelSummary
from tgvault.storage.repositories.runs import RunRepository
from tgvault.storage.tables import ChannelRow, PostRow


class SummaryRepository:
    """Read models for ``tgvault status``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def channels(self) -> list[ChannelSummary]:
        """Per channel: posts archived, newest post date, and the last run."""
        counts: dict[int, int] = {}
        newest: dict[int, datetime | None] = {}
        grouped = select(PostRow.channel_id, func.count(), func.max(PostRow.date)).group_by(
            PostRow.channel_id
        )
        for channel_id, count, newest_date in self._session.execute(grouped):
            counts[channel_id] = int(count)
            newest[channel_id] = newest_date
        runs = RunRepository(self._session)
        summaries = []
        for row in self._session.scalars(select(ChannelRow).order_by(ChannelRow.title)):
            newest_at = newest.get(row.id)
            summaries.append(
                ChannelSummary(
                    channel_id=row.id,
                    title=row.title,
                    username=row.username,
                    posts=int(counts.get(row.id, 0)),
                    newest_post_at=newest_at,
                    last_run=runs.last(channel_id=row.id),
                )
            )
        return summaries
