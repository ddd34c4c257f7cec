"""``[sync]``: how far back each run re-reads posts, and when a run raises a mass-deletion alert."""

from __future__ import annotations

from pydantic import Field

from tgvault.config.section_model import SettingsSection


class SyncSettings(SettingsSection):
    """``[sync]``: how far back each run re-reads posts to catch edits, deletions and counters."""

    refresh_posts: int = Field(default=200, ge=0)
    refresh_days: int = Field(default=7, ge=0)
    mass_deletion_share: float = Field(default=0.5, gt=0, le=1)
    """A run that sees more than this share of the posts it re-read vanish raises an alert."""
    audit_pause: float = Field(default=1.0, ge=0)
    """Seconds between two requests of an audit (it must never starve the syncs)."""
