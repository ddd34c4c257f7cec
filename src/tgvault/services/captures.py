"""Keeping the pages a post was read from: WARC records in the media store, named by the ledger.

In a page's transaction, each page (one :class:`~tgvault.domain.PageCapture`, shared by the posts read from
it) is appended to the channel's WARC file once, and every post read from it gets a ``capture`` entry in
the ledger: the sha256 of the page's bytes as sent and the WARC-Record-ID of the response record holding
them. Sources without captures (Telegram, imports) add nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tgvault.domain import PageCapture
from tgvault.sources.base import FetchedPost
from tgvault.storage.ledger_records import CAPTURE, Draft
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.storage.warc_store import CaptureRef, WarcArchive


def keep_captures(
    uow: UnitOfWork, warcs: WarcArchive, channel_id: int, items: Sequence[FetchedPost], now: datetime
) -> int:
    """Write each page the items were read from as WARC records, and a ``capture`` entry per post; returns
    how many pages were written."""
    kept: dict[int, tuple[PageCapture, CaptureRef]] = {}
    drafts: list[Draft] = []
    for item in items:
        capture = item.capture
        if capture is None:
            continue
        found = kept.get(id(capture))
        if found is None:
            found = kept[id(capture)] = (capture, warcs.append(channel_id, capture))
        ref = found[1]
        drafts.append(
            Draft(CAPTURE, item.post.message_id, now, ref.payload_sha256, warc_record_id=ref.record_id)
        )
    uow.ledger.append(channel_id, drafts)
    return len(kept)
