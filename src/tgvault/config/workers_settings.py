"""``[workers]``: ``tgvault run --worker`` processes sharing one PostgreSQL archive."""

from __future__ import annotations

from pydantic import Field, model_validator

from tgvault.config.section_model import SettingsSection


class WorkersSettings(SettingsSection):
    """``[workers]``: ``tgvault run --worker`` processes sharing one PostgreSQL archive."""

    session: str | None = None
    """This worker's session name: channels with the same ``session`` are served only by it."""
    lease_seconds: float = Field(default=60.0, ge=1)
    """A worker that stopped renewing its leases for this long loses its channels to the others."""
    renew_seconds: float = Field(default=10.0, gt=0)
    """How often a worker renews its leases and rebalances (well under ``lease_seconds``)."""

    @model_validator(mode="after")
    def _check_timing(self) -> WorkersSettings:
        if self.renew_seconds * 2 > self.lease_seconds:
            raise ValueError(
                f"workers.renew_seconds ({self.renew_seconds:g}) must be at most half of "
                f"workers.lease_seconds ({self.lease_seconds:g}), so a live worker never loses its leases"
            )
        return self
