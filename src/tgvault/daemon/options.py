"""The service's timings (:class:`ServiceOptions`): the defaults suit production, tests shorten them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tgvault.daemon.scheduling import BACKOFF_CEILING
from tgvault.services.audit import SLICE_BATCHES
from tgvault.services.status import SERVICE_STALE_AFTER


@dataclass(frozen=True)
class ServiceOptions:
    """Timings of the service; the defaults suit production, tests shorten them."""

    heartbeat_seconds: float = 10.0
    """How often the service lock is renewed and the health file rewritten (must stay well under 30 s)."""
    lock_stale_after: timedelta = SERVICE_STALE_AFTER
    """A service lock not renewed for this long belongs to a dead process and is taken over."""
    backoff_ceiling: timedelta = BACKOFF_CEILING
    max_parallel_channels: int = 2
    stop_timeout: float = 5.0
    """Seconds cancelled jobs get to record themselves as interrupted."""
    disconnect_timeout: float = 3.0
    min_misfire_grace: float = 60.0
    startup_spread: float = 2.0
    """Channels due when the service starts begin within this many seconds of each other (at random)."""
    audit_slice: int = SLICE_BATCHES
    """Requests of an audit between two turns at a sync slot (an audit never holds a channel for long)."""
    audit_resume_delay: float = 60.0
    """Seconds after the start before an audit that a stop interrupted continues (the syncs go first)."""
    audit_busy_retry: float = 30.0
    """Seconds an audit waits when the channel's sync holds it, before its next slice."""
