"""The audit: re-read a channel's whole archived history to catch edits and deletions far back.

A sync re-reads only its refresh window; admins also edit and delete posts from years ago, and views keep
growing for months. The audit walks every archived post (or those dated ``since`` or later), oldest
first, 100 ids per ``channels.getMessages`` request, through :meth:`Archiver.reread` — the same mechanism
as the sync's refresh window — so an edit becomes a revision, a deletion a tombstone and changed counters
a new point of their time series.

Its cursor is saved with every batch, so an audit stopped at any moment (or cut into slices by the
service) continues where it stopped. Requests are paced (``pause`` between them), and the service runs an
audit in slices of :data:`SLICE_BATCHES` requests that give way to the channel's syncs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from tgvault.domain import AuditState, RunCounts
from tgvault.services.alerts import watch_vanished
from tgvault.services.archiver import REFRESH_BATCH, Archiver
from tgvault.services.plans import ChannelPlan
from tgvault.storage.tables import utcnow
from tgvault.storage.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

DEFAULT_PAUSE = 1.0
"""Seconds between two audit requests: an audit takes a small share of the account's request budget."""
SLICE_BATCHES = 20
"""Requests one slice of a scheduled audit makes before giving the channel back to its syncs."""


@dataclass(frozen=True)
class AuditOutcome:
    """What one audit run did: the run's counts, posts checked and vanished, and whether it finished."""

    counts: RunCounts
    checked: int
    vanished: int
    complete: bool
    channel_id: int | None = None


class Auditor:
    """Audits channels through an :class:`Archiver` (its source, archive, locks and run records)."""

    def __init__(
        self,
        archiver: Archiver,
        unit_of_work: Callable[[], UnitOfWork],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._archiver = archiver
        self._uow = unit_of_work
        self._clock = clock

    async def audit(
        self,
        plan: ChannelPlan,
        *,
        restart: bool = False,
        since: datetime | None = None,
        pause: float = DEFAULT_PAUSE,
        max_batches: int | None = None,
    ) -> AuditOutcome:
        """Audit a channel: continue the audit in progress, or start one (``restart`` starts over).

        ``since`` audits only posts dated then or later (a new audit unless it continues one with the
        same range). ``max_batches`` stops after that many requests (the audit continues next time).
        """
        async with self._archiver.recorded_run(plan.key, "audit") as (channel, tally):
            with self._uow() as uow:
                state = uow.audits.get(channel.id)
                if restart or not state.in_progress or (since is not None and since != state.since):
                    state = AuditState(
                        channel_id=channel.id,
                        cursor_id=0,
                        since=since,
                        started_at=self._clock(),
                        last_completed_at=state.last_completed_at,
                    )
                    uow.audits.save(state)
                    uow.commit()
                limit = None if max_batches is None else max_batches * REFRESH_BATCH
                ids = uow.audits.ids_to_audit(
                    channel.id, after_id=state.cursor_id or 0, since=state.since, limit=limit
                )
            log.info("audit started", channel=plan.key, posts=len(ids), after_id=state.cursor_id)
            start = state
            progress = self._archiver.progress
            progress.started(plan.key, len(ids), "posts re-read")

            def checkpoint(uow: UnitOfWork, chunk: Sequence[int]) -> None:
                uow.audits.save(start.model_copy(update={"cursor_id": max(chunk)}))
                progress.advance(len(chunk))

            seen = await self._archiver.reread(channel, plan, ids, tally, pause=pause, after_batch=checkpoint)
            # comments: edits and deletions of those already archived, then the threads whose header
            # (just re-read) says new comments came, however old the post
            await self._archiver.comments.reread(channel, plan, ids, pause=pause)
            await self._archiver.comments.catch_up(channel, plan, tally)
            complete = limit is None or len(ids) < limit
            if not complete:
                with self._uow() as uow:
                    complete = not uow.audits.ids_to_audit(
                        channel.id, after_id=max(ids), since=state.since, limit=1
                    )
            if complete:
                with self._uow() as uow:
                    uow.audits.save(
                        start.model_copy(update={"cursor_id": None, "last_completed_at": self._clock()})
                    )
                    uow.commit()
            watch_vanished(self._uow, channel, plan, "audit", seen, self._clock())
            log.info(
                "audit finished" if complete else "audit paused",
                channel=plan.key,
                checked=seen.checked,
                vanished=seen.vanished,
            )
            return AuditOutcome(tally.counts, seen.checked, seen.vanished, complete, channel.id)
        raise AssertionError("unreachable")  # pragma: no cover
