"""Entries for what was archived before the ledger existed (run once, by the migration that creates it).

Per channel, post by post in id order: each earlier revision and the current state, the tombstone, the
stored file and the counters snapshots, every entry marked ``backfilled_at`` (the time of the
backfill) and dated by when the archive had seen it. Posts are read a page at a time. The entries are in
canonical form 1 (the form of the schema the migration runs on; later entries say their own form).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tgvault.storage.ledger_records import COUNTERS, DELETION, MEDIA, REVISION, Draft
from tgvault.storage.repositories.ledger import LedgerRepository
from tgvault.storage.repositories.ledger_pages import ArchivedPost, archived_posts
from tgvault.storage.tables import ChannelRow

PAGE = 2000


def backfill_ledger(session: Session, now: datetime) -> int:
    """Append backfilled entries for every archived channel without a ledger; returns how many."""
    ledger = LedgerRepository(session)
    have = set(ledger.channels())
    total = 0
    for channel_id in session.scalars(select(ChannelRow.id).order_by(ChannelRow.id)).all():
        if channel_id in have:
            continue
        after = 0
        while posts := archived_posts(session, channel_id, after=after, limit=PAGE, form_1=True):
            drafts = [draft for post in posts for draft in _drafts(post, now)]
            ledger.append(channel_id, drafts)
            total += len(drafts)
            after = posts[-1].message_id
    return total


def _drafts(post: ArchivedPost, now: datetime) -> list[Draft]:
    """A post's backfilled entries: its states oldest first, tombstone, file, counters."""
    message_id = post.message_id
    drafts: list[Draft] = []
    seen = post.first_seen_at
    for _, state, superseded_at in post.revisions:
        drafts.append(Draft(REVISION, message_id, seen, state.sha256(1), backfilled_at=now, form=1))
        seen = superseded_at
    drafts.append(Draft(REVISION, message_id, seen, post.state.sha256(1), backfilled_at=now, form=1))
    if post.deleted_at is not None and post.deletion_sha256 is not None:
        drafts.append(
            Draft(DELETION, message_id, post.deleted_at, post.deletion_sha256, backfilled_at=now, form=1)
        )
    if post.media is not None:
        file = post.media
        drafts.append(Draft(MEDIA, message_id, file.stored_at, file.record_sha256, file.sha256, now, form=1))
    for counters, observed_at in post.counters:
        drafts.append(Draft(COUNTERS, message_id, observed_at, counters, backfilled_at=now, form=1))
    return drafts
