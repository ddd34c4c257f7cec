"""What a reloaded configuration changes for the service: channels added, removed or rescheduled."""

from __future__ import annotations

import structlog

from tgvault.config import Settings
from tgvault.daemon.channel_states import describe

# The service's events keep the logger name they have always had (log filters and alerts match on it).
log = structlog.get_logger("tgvault.service")


def channel_changes(old: Settings, new: Settings) -> dict[str, list[str]]:
    """The channels (by name) ``new`` adds, removes, reschedules (sync or audit schedule) or otherwise
    changes, compared with ``old``."""
    before = {channel.key: channel for channel in old.channels}
    after = {channel.key: channel for channel in new.channels}
    changes: dict[str, list[str]] = {
        "added": [after[key].name for key in after if key not in before],
        "removed": [before[key].name for key in before if key not in after],
        "rescheduled": [],
        "changed": [],
    }
    for key in after.keys() & before.keys():
        if describe(after[key], new) != describe(before[key], old) or (
            after[key].audit_schedule != before[key].audit_schedule
        ):
            changes["rescheduled"].append(after[key].name)
        elif after[key] != before[key]:
            changes["changed"].append(after[key].name)
    return changes


def restart_sections(old: Settings, new: Settings) -> list[str]:
    """The changed settings that take effect only after a restart."""
    restart = [
        section for section in ("database", "telegram") if getattr(new, section) != getattr(old, section)
    ]
    if new.media.model_copy(update={"concurrency": 0}) != old.media.model_copy(update={"concurrency": 0}):
        restart.append("media")
    if {c.key for c in new.channels if c.live} != {c.key for c in old.channels if c.live}:
        restart.append("live")  # the updates of the channels followed at the start keep coming
    return restart


def log_reload(changes: dict[str, list[str]], restart: list[str]) -> None:
    """Say what a reload changed, and what waits for a restart."""
    summary = {name: sorted(values) for name, values in changes.items() if values}
    if summary:
        log.info("config reloaded", **summary)
    else:
        log.info("config reloaded; nothing to change")
    if restart:
        log.warning("config changes that take effect only after a restart", sections=restart)
