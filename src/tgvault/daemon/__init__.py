"""The long-running service (``tgvault run``): every configured channel synced on its own schedule, its
state and backoff kept, audits run in slices, ``live`` channels followed, the channels shared among
workers through leases, one service per archive held by a lock, a health file kept, the site rebuilt
after changes; :func:`serve` and :func:`sync_once` are what the CLI runs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tgvault.daemon.entry import serve, sync_once
    from tgvault.daemon.health import check_health
    from tgvault.daemon.lock import ServiceLock
    from tgvault.daemon.options import ServiceOptions
    from tgvault.daemon.orchestrator import Service

__all__ = ["Service", "ServiceLock", "ServiceOptions", "check_health", "serve", "sync_once"]

# The names load on first use, so that ``tgvault health`` (a healthcheck run every 30 s) reads the health
# file without importing the scheduler, the database layer and the sources (about a second).
_HOMES = {
    "Service": "tgvault.daemon.orchestrator",
    "ServiceLock": "tgvault.daemon.lock",
    "ServiceOptions": "tgvault.daemon.options",
    "check_health": "tgvault.daemon.health",
    "serve": "tgvault.daemon.entry",
    "sync_once": "tgvault.daemon.entry",
}


def __getattr__(name: str) -> Any:
    """Import the module a name of the face lives in when the name is first asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home), name)
