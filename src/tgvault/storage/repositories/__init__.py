"""Repositories: the archive's aggregates in and out of SQL. They never commit; the unit of work does.

One module per aggregate (channels, posts, media, sync state, runs, channel locks, summaries, the media
download queue, counters/alerts/audit state, worker leases, reparse, service state), and ``rows`` for
the row <-> record conversions and SQL building blocks they share. This face re-exports what the rest of
tgvault (the unit of work, services, the site build, tests) imports from ``tgvault.storage.repositories``.
"""

from tgvault.storage.repositories.channel_locks import ChannelLockRepository, LockHolder, this_process
from tgvault.storage.repositories.channels import ChannelRepository
from tgvault.storage.repositories.comment_authors import ArchivedComment, CommentAuthorRepository
from tgvault.storage.repositories.discussions import DiscussionRepository, PendingThread
from tgvault.storage.repositories.leases import Lease, LeaseRepository, WorkerInfo
from tgvault.storage.repositories.ledger import LedgerRepository
from tgvault.storage.repositories.ledger_facts import PostLedgerFacts, StampFact
from tgvault.storage.repositories.media import MediaRepository, PendingMedia
from tgvault.storage.repositories.media_queue import (
    FAILED,
    QUEUED,
    Backlog,
    MediaQueueRepository,
    QueuedDownload,
)
from tgvault.storage.repositories.observations import (
    COUNTER_FIELDS,
    AlertRepository,
    AuditStateRepository,
    CounterRepository,
    counters_changed,
    merged_counters,
)
from tgvault.storage.repositories.outlines import OutlineReader, PostOutline
from tgvault.storage.repositories.post_reads import PostReader
from tgvault.storage.repositories.post_writes import PostWriter, UpsertOutcome
from tgvault.storage.repositories.posts import PostRepository
from tgvault.storage.repositories.reparse import ReparseRepository
from tgvault.storage.repositories.rows import CHUNK, entities_json, reactions_json
from tgvault.storage.repositories.runs import RunRepository
from tgvault.storage.repositories.service_state import ServiceStateRepository
from tgvault.storage.repositories.summaries import SummaryRepository
from tgvault.storage.repositories.sync_state import SyncStateRepository

__all__ = [
    "CHUNK",
    "COUNTER_FIELDS",
    "FAILED",
    "QUEUED",
    "AlertRepository",
    "ArchivedComment",
    "AuditStateRepository",
    "Backlog",
    "ChannelLockRepository",
    "ChannelRepository",
    "CommentAuthorRepository",
    "CounterRepository",
    "DiscussionRepository",
    "Lease",
    "LeaseRepository",
    "LedgerRepository",
    "LockHolder",
    "MediaQueueRepository",
    "MediaRepository",
    "OutlineReader",
    "PendingMedia",
    "PendingThread",
    "PostLedgerFacts",
    "PostOutline",
    "PostReader",
    "PostRepository",
    "PostWriter",
    "QueuedDownload",
    "ReparseRepository",
    "RunRepository",
    "ServiceStateRepository",
    "StampFact",
    "SummaryRepository",
    "SyncStateRepository",
    "UpsertOutcome",
    "WorkerInfo",
    "counters_changed",
    "entities_json",
    "merged_counters",
    "reactions_json",
    "this_process",
]
