"""The hook ``tgvault run`` calls after a sync changed the archive, so the static site follows it."""

from __future__ import annotations

from typing import Protocol


class SiteRebuilder(Protocol):
    """Brings the static site up to date for channels whose archive changed.

    Called from a worker thread, one call at a time; it may take long and may raise a
    :class:`~tgvault.errors.TgvaultError` (logged; the service carries on).
    """

    def rebuild(self, changed_channel_ids: frozenset[int]) -> None:
        """Rebuild what changed for these channels (Telegram channel ids)."""
        ...


class NoSiteRebuild:
    """The default until a site exporter is plugged in: nothing to rebuild."""

    def rebuild(self, changed_channel_ids: frozenset[int]) -> None:
        """Do nothing."""
