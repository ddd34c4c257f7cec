"""What the ledger says of each post, for the site's post pages: read in bulk for a batch of posts.

Two statements a batch (of any size; ids are sent in chunks): the post's ``revision`` entries (few a post)
and the latest observation of any kind. Both use the ``(channel_id, message_id, seq)`` index.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from tgvault.storage.ledger_records import REVISION
from tgvault.storage.repositories.rows import chunks
from tgvault.storage.tables import LedgerEntryRow, LedgerTimestampRow

# the columns of the Core table: statements on them compile without the ORM (site builds read these)
_ENTRY_COLUMNS = cast(Table, LedgerEntryRow.__table__).c


@dataclass(frozen=True, slots=True)
class PostLedgerFacts:
    """A post's place in its channel's ledger.

    ``first_captured``: when its first state was observed (the first ``revision`` entry);
    ``backfilled_at``: set when that entry was written by the ledger's backfill, after the fact;
    ``record_sha256`` and ``seq``: the hash of its latest state and the entry that holds it;
    ``last_recorded``: the latest entry of any kind about it (an edit, deletion, file, counters).
    """

    message_id: int
    first_captured: datetime
    backfilled_at: datetime | None
    record_sha256: str
    seq: int
    last_recorded: datetime


def post_ledger_facts(
    session: Session, channel_id: int, message_ids: Iterable[int]
) -> dict[int, PostLedgerFacts]:
    """The ledger facts of the given posts that have a ``revision`` entry, by message id."""
    ids = sorted(set(message_ids))
    firsts: dict[int, tuple[datetime, datetime | None]] = {}
    lasts: dict[int, tuple[str, int]] = {}
    recorded: dict[int, datetime] = {}
    entries = _ENTRY_COLUMNS
    for chunk in chunks(ids):
        rows = session.execute(
            select(
                entries.message_id,
                entries.seq,
                entries.observed_at,
                entries.record_sha256,
                entries.backfilled_at,
            )
            .where(
                entries.channel_id == channel_id,
                entries.message_id.in_(chunk),
                entries.kind == REVISION,
            )
            .order_by(entries.message_id, entries.seq)
        )
        for message_id, seq, observed_at, record_sha256, backfilled_at in rows:
            post = cast(int, message_id)  # the statement asks for posts' entries only
            firsts.setdefault(post, (observed_at, backfilled_at))
            lasts[post] = (record_sha256, int(seq))
        latest = session.execute(
            select(entries.message_id, func.max(entries.observed_at))
            .where(entries.channel_id == channel_id, entries.message_id.in_(chunk))
            .group_by(entries.message_id)
        )
        for message_id, moment in latest:
            recorded[cast(int, message_id)] = moment
    return {
        message_id: PostLedgerFacts(
            message_id=message_id,
            first_captured=first[0],
            backfilled_at=first[1],
            record_sha256=lasts[message_id][0],
            seq=lasts[message_id][1],
            last_recorded=recorded.get(message_id, first[0]),
        )
        for message_id, first in firsts.items()
    }


@dataclass(frozen=True, slots=True)
class StampFact:
    """An RFC 3161 token of a channel, without its bytes: the entry it covers (and every one before it),
    the authority's URL and when it was taken."""

    seq: int
    tsa_url: str
    stamped_at: datetime


def stamp_facts(session: Session, channel_id: int) -> list[StampFact]:
    """The channel's tokens in entry order (the earliest taken first among tokens of one entry)."""
    stamps = LedgerTimestampRow.__table__  # Core: read by every site build, in a fresh process
    rows = session.execute(
        select(stamps.c.seq, stamps.c.tsa_url, stamps.c.stamped_at)
        .where(stamps.c.channel_id == channel_id)
        .order_by(stamps.c.seq, stamps.c.stamped_at)
    )
    return [StampFact(int(seq), str(url), stamped_at) for seq, url, stamped_at in rows]


def last_states_after(session: Session, channel_id: int, after_seq: int) -> dict[int, int]:
    """The posts with a ``revision`` entry after entry ``after_seq``, each with its last such entry."""
    entries = _ENTRY_COLUMNS
    rows = session.execute(
        select(entries.message_id, func.max(entries.seq))
        .where(entries.channel_id == channel_id, entries.seq > after_seq, entries.kind == REVISION)
        .group_by(entries.message_id)
    )
    return {int(message_id): int(seq) for message_id, seq in rows if message_id is not None}
