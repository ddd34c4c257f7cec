"""Read models for ``tgvault status``: per channel, what is archived and how the last run went."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from tgvault.domain import ChannelSummary, MediaStatus
from tgvault.storage.repositories.media_queue import FAILED, Backlog
from tgvault.storage.repositories.runs import RunRepository
from tgvault.storage.tables import ChannelRow, MediaDownloadRow, MediaItemRow, PostRow

_NOT_STORED = (MediaStatus.PENDING.value, MediaStatus.FAILED.value)


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

    def files_to_fetch(self) -> dict[int, Backlog]:
        """Per channel, the files not stored yet whatever put them there: queued downloads, and files a
        Desktop import or a web backfill recorded as pending (announced bytes; ``failed`` gave up for now)."""
        queued = and_(
            MediaDownloadRow.channel_id == MediaItemRow.channel_id,
            MediaDownloadRow.message_id == MediaItemRow.message_id,
        )
        failed = case(
            ((MediaItemRow.status == MediaStatus.FAILED.value) | (MediaDownloadRow.state == FAILED), 1),
            else_=0,
        )
        columns = (
            MediaItemRow.channel_id,
            func.count(),
            func.coalesce(func.sum(func.coalesce(MediaDownloadRow.size, MediaItemRow.size)), 0),
            func.coalesce(func.sum(failed), 0),
        )
        not_stored = (
            select(*columns)
            .outerjoin(MediaDownloadRow, queued)
            .where(MediaItemRow.status.in_(_NOT_STORED))
            .group_by(MediaItemRow.channel_id)
        )
        # Queued files whose media row says otherwise (a skipped file queued again under a new policy).
        queued_others = (
            select(*columns)
            .join(MediaDownloadRow, queued)
            .where(MediaItemRow.status == MediaStatus.SKIPPED.value)
            .group_by(MediaItemRow.channel_id)
        )
        found: dict[int, Backlog] = {}
        for query in (not_stored, queued_others):
            for channel_id, files, size, gave_up in self._session.execute(query):
                before = found.get(channel_id, Backlog())
                found[channel_id] = Backlog(
                    before.files + int(files), before.bytes + int(size), before.failed + int(gave_up)
                )
        return found
