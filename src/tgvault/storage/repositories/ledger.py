"""The ledger: appending hash-chained entries per channel, in the transaction of what they cover, and reading them.

An append locks the channel's head row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite has one writer
at a time), chains the drafts after it, inserts the entries and moves the head, all in the caller's
transaction: a rolled-back or killed transaction leaves neither the records nor their entries, and two
writers of one channel wait for each other instead of forking the chain. The primary key
``(channel_id, seq)`` refuses a duplicate sequence number whatever happens.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tgvault.storage.bulk import insert_rows
from tgvault.storage.ledger_records import GENESIS, Draft, Entry, LedgerStamp, chain
from tgvault.storage.repositories.ledger_facts import (
    PostLedgerFacts,
    StampFact,
    last_states_after,
    post_ledger_facts,
    stamp_facts,
)
from tgvault.storage.repositories.ledger_pages import ArchivedPost, archived_posts, post_records
from tgvault.storage.tables import LedgerEntryRow, LedgerHeadRow, LedgerTimestampRow, PostRow, utcnow

_ENTRIES = cast(Table, LedgerEntryRow.__table__)
_HEADS = cast(Table, LedgerHeadRow.__table__)
_COLUMNS = (
    "channel_id",
    "seq",
    "kind",
    "message_id",
    "observed_at",
    "record_sha256",
    "media_sha256",
    "prev_sha256",
    "entry_sha256",
    "backfilled_at",
    "warc_record_id",
    "form_version",
)


def _entry_from_row(row: Any) -> Entry:
    return Entry(*row)  # the row's columns are ``_COLUMNS``, in the order of Entry's fields


class LedgerRepository:
    """A channel's chain of observations: append in the caller's transaction, read in order."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def append(
        self, channel_id: int, drafts: Sequence[Draft], *, at: datetime | None = None
    ) -> tuple[int, str]:
        """Chain ``drafts`` after the channel's head and insert them; returns the new head (seq, hash).

        ``at`` is when the head moved (``ledger_heads.updated_at``; now when None)."""
        if not drafts:
            return self.head(channel_id)
        seq, last_hash = self._lock_head(channel_id)
        rows = chain(channel_id, seq, last_hash, drafts)
        connection = self._session.connection()
        insert_rows(connection, _ENTRIES, rows)
        head = (int(rows[-1]["seq"]), str(rows[-1]["entry_sha256"]))
        connection.execute(
            update(_HEADS)
            .where(_HEADS.c.channel_id == channel_id, _HEADS.c.seq == seq)
            .values(seq=head[0], entry_sha256=head[1], updated_at=at or utcnow())
        )
        return head

    def _lock_head(self, channel_id: int) -> tuple[int, str]:
        """The channel's head (seq, hash), locked until the transaction ends; created at (0, genesis)."""
        connection = self._session.connection()
        values = {"channel_id": channel_id, "seq": 0, "entry_sha256": GENESIS, "updated_at": utcnow()}
        if connection.dialect.name == "postgresql":
            connection.execute(postgres_insert(_HEADS).values(values).on_conflict_do_nothing())
        else:
            connection.execute(sqlite_insert(_HEADS).values(values).on_conflict_do_nothing())
        row = connection.execute(
            select(_HEADS.c.seq, _HEADS.c.entry_sha256)
            .where(_HEADS.c.channel_id == channel_id)
            .with_for_update()
        ).one()
        return int(row[0]), str(row[1])

    def head(self, channel_id: int) -> tuple[int, str]:
        """The channel's last (seq, entry hash); (0, genesis) when it has no entry."""
        row = self._session.execute(
            select(_HEADS.c.seq, _HEADS.c.entry_sha256).where(_HEADS.c.channel_id == channel_id)
        ).one_or_none()
        return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))

    def all_channels(self) -> list[int]:
        """Every channel with a ledger or with archived posts."""
        with_posts = set(self._session.scalars(select(PostRow.channel_id).distinct()))
        return sorted(with_posts | set(self.channels()))

    def count_posts(self, channel_id: int) -> int:
        """How many posts of the channel are archived."""
        return int(self._session.scalar(select(func.count()).where(PostRow.channel_id == channel_id)) or 0)

    def channels(self) -> list[int]:
        """Every channel with a ledger."""
        return list(
            self._session.scalars(select(LedgerHeadRow.channel_id).order_by(LedgerHeadRow.channel_id))
        )

    def entries(self, channel_id: int, *, batch: int = 5000) -> Iterator[Entry]:
        """The channel's entries in sequence order, read ``batch`` at a time (memory stays flat)."""
        after = 0
        while True:
            rows = self._session.execute(
                select(*[_ENTRIES.c[name] for name in _COLUMNS])
                .where(_ENTRIES.c.channel_id == channel_id, _ENTRIES.c.seq > after)
                .order_by(_ENTRIES.c.seq)
                .limit(batch)
            ).all()
            if not rows:
                return
            for row in rows:
                yield _entry_from_row(row)
            after = int(rows[-1].seq)

    def archived_posts(self, channel_id: int, *, after: int, limit: int) -> list[ArchivedPost]:
        """A page of the channel's posts (ids above ``after``) with their records hashed as the ledger does."""
        return archived_posts(self._session, channel_id, after=after, limit=limit)

    def post_records(
        self, channel_id: int, message_id: int, recorded: Iterable[str] = ()
    ) -> dict[str, bytes]:
        """A post's records in their canonical bytes, by name (see :func:`ledger_pages.post_records`)."""
        return post_records(self._session, channel_id, message_id, set(recorded))

    def post_facts(self, channel_id: int, message_ids: Iterable[int]) -> dict[int, PostLedgerFacts]:
        """When each post was first captured and last recorded, and its latest record hash (in bulk)."""
        return post_ledger_facts(self._session, channel_id, message_ids)

    def stamp_facts(self, channel_id: int) -> list[StampFact]:
        """The channel's tokens without their bytes, in entry order (for the site's post pages)."""
        return stamp_facts(self._session, channel_id)

    def last_states_after(self, channel_id: int, after_seq: int) -> dict[int, int]:
        """Posts with a ``revision`` entry after entry ``after_seq``: their last one's sequence number."""
        return last_states_after(self._session, channel_id, after_seq)

    def entries_range(self, channel_id: int, first: int, last: int) -> Iterator[Entry]:
        """Entries ``first <= seq <= last`` of the channel, in order, read in batches."""
        after = first - 1
        while after < last:
            rows = self._session.execute(
                select(*[_ENTRIES.c[name] for name in _COLUMNS])
                .where(_ENTRIES.c.channel_id == channel_id, _ENTRIES.c.seq > after, _ENTRIES.c.seq <= last)
                .order_by(_ENTRIES.c.seq)
                .limit(5000)
            ).all()
            if not rows:
                return
            for row in rows:
                yield _entry_from_row(row)
            after = int(rows[-1].seq)

    def entries_between(self, channel_id: int, after: int, upto: int | None) -> list[Entry]:
        """Entries of posts ``after < message_id <= upto`` (no upper bound when None), by post and sequence."""
        query = select(*[_ENTRIES.c[name] for name in _COLUMNS]).where(
            _ENTRIES.c.channel_id == channel_id, _ENTRIES.c.message_id > after
        )
        if upto is not None:
            query = query.where(_ENTRIES.c.message_id <= upto)
        rows = self._session.execute(query.order_by(_ENTRIES.c.message_id, _ENTRIES.c.seq))
        return [_entry_from_row(row) for row in rows]

    def entry(self, channel_id: int, seq: int) -> Entry | None:
        """The channel's entry ``seq``, or None."""
        row = self._session.execute(
            select(*[_ENTRIES.c[name] for name in _COLUMNS]).where(
                _ENTRIES.c.channel_id == channel_id, _ENTRIES.c.seq == seq
            )
        ).one_or_none()
        return None if row is None else _entry_from_row(row)

    def entry_hashes(self, channel_id: int, seqs: Sequence[int]) -> dict[int, str]:
        """The entry hash of each of the channel's entries ``seqs`` that exists, read in bulk."""
        found: dict[int, str] = {}
        for start in range(0, len(seqs), 500):
            rows = self._session.execute(
                select(_ENTRIES.c.seq, _ENTRIES.c.entry_sha256).where(
                    _ENTRIES.c.channel_id == channel_id, _ENTRIES.c.seq.in_(seqs[start : start + 500])
                )
            )
            found.update((int(seq), str(sha)) for seq, sha in rows)
        return found

    def add_stamp(self, stamp: LedgerStamp) -> None:
        """Keep an RFC 3161 token over an entry of the channel, with the TSA's certificates."""
        self._session.add(
            LedgerTimestampRow(
                channel_id=stamp.channel_id,
                seq=stamp.seq,
                entry_sha256=stamp.entry_sha256,
                tsa_url=stamp.tsa_url,
                token=stamp.token,
                tsa_certificate=stamp.certificates,
                stamped_at=stamp.stamped_at,
            )
        )
        self._session.flush()

    def stamps(self, channel_id: int) -> list[LedgerStamp]:
        """The channel's tokens, oldest first."""
        # plain rows (Core): every site build reads them to publish the tokens
        stamps = cast(Table, LedgerTimestampRow.__table__)
        rows = self._session.execute(
            select(stamps).where(stamps.c.channel_id == channel_id).order_by(stamps.c.seq, stamps.c.id)
        )
        return [
            LedgerStamp(
                channel_id=row.channel_id,
                seq=row.seq,
                entry_sha256=row.entry_sha256,
                tsa_url=row.tsa_url,
                token=bytes(row.token),
                certificates=bytes(row.tsa_certificate or b""),
                stamped_at=row.stamped_at,
            )
            for row in rows
        ]

    def last_stamped(self, channel_id: int) -> int:
        """The highest entry of the channel with a token (0 when none)."""
        found = self._session.scalar(
            select(func.max(LedgerTimestampRow.seq)).where(LedgerTimestampRow.channel_id == channel_id)
        )
        return int(found or 0)
