"""The service's health file: a small JSON heartbeat that ``tgvault health`` (a docker healthcheck) reads.

``tgvault run --health-file PATH`` rewrites it atomically at least every 30 seconds and after every
job. Its shape (version 1)::

    {
      "version": 1,
      "status": "running",                      # "unhealthy" while "problem" stands; "stopped" once the
                                                # service has shut down cleanly
      "problem": null,                          # e.g. "Telegram account: the session was terminated ..."
      "pid": 4242, "host": "archive-1",
      "started_at": "2026-01-31T09:00:00+00:00",
      "heartbeat_at": "2026-01-31T09:12:30+00:00",
      "channels": {
        "@durov": {"last_outcome": "ok", "last_run_at": "...", "next_run_at": "...",
                   "consecutive_failures": 0, "backoff_until": null, "last_error": null}
      }
    }

The service is healthy while ``status`` is ``running`` and ``heartbeat_at`` is recent; a failing channel
does not make it unhealthy (it backs off and shows in ``tgvault status``), a Telegram account that cannot
be used does (every Telegram channel is stopped until ``tgvault login`` and a reload): the file then says
``unhealthy`` and the ``problem``, while the heartbeat goes on.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from tgvault.domain import ChannelServiceState
from tgvault.errors import HealthCheckError

# The service's events keep the logger name they have always had (log filters and alerts match on it).
log = structlog.get_logger("tgvault.service")

HEALTH_VERSION = 1
UNHEALTHY = "unhealthy"


def health_document(
    *,
    status: str,
    pid: int,
    host: str,
    started_at: datetime,
    heartbeat_at: datetime,
    channels: Mapping[str, ChannelServiceState],
    problem: str | None = None,
) -> dict[str, Any]:
    """The JSON document written to the health file (a ``problem`` makes a running service unhealthy)."""
    return {
        "version": HEALTH_VERSION,
        "status": UNHEALTHY if problem is not None and status == "running" else status,
        "problem": problem,
        "pid": pid,
        "host": host,
        "started_at": started_at.isoformat(),
        "heartbeat_at": heartbeat_at.isoformat(),
        "channels": {
            name: {
                "last_outcome": state.last_outcome.value if state.last_outcome else None,
                "last_run_at": _iso(state.last_run_at),
                "next_run_at": _iso(state.next_run_at),
                "consecutive_failures": state.consecutive_failures,
                "backoff_until": _iso(state.backoff_until),
                "last_error": state.last_error,
            }
            for name, state in sorted(channels.items())
        },
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def write_health_file(path: Path, document: Mapping[str, Any]) -> None:
    """Replace the health file atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(document, file, indent=2)
            file.write("\n")
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class HealthWriter:
    """The running service's side: rewrites its health file (nothing when it keeps none)."""

    def __init__(
        self,
        path: Path | None,
        *,
        pid: int,
        host: str,
        started_at: datetime,
        clock: Callable[[], datetime],
        channels: Callable[[], Mapping[str, ChannelServiceState]],
        problem: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._path = path
        self._problem = problem
        self._pid = pid
        self._host = host
        self._started_at = started_at
        self._clock = clock
        self._channels = channels

    def write(self, status: str) -> None:
        """Write the file with ``status`` and the channels' states now (a failure is logged, never raised)."""
        if self._path is None:
            return
        document = health_document(
            status=status,
            pid=self._pid,
            host=self._host,
            started_at=self._started_at,
            heartbeat_at=self._clock(),
            channels=self._channels(),
            problem=self._problem(),
        )
        try:
            write_health_file(self._path, document)
        except OSError as error:
            log.warning("cannot write the health file", path=str(self._path), error=str(error))


@dataclass(frozen=True)
class HealthReport:
    """What a healthy health file says."""

    pid: int
    host: str
    age: timedelta
    channels: int
    failing: int


def check_health(path: Path, max_age: timedelta, now: datetime) -> HealthReport:
    """Read the health file; :class:`HealthCheckError` unless the service runs and its heartbeat is fresh."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        status = document["status"]
        heartbeat = datetime.fromisoformat(document["heartbeat_at"])
        channels = document.get("channels") or {}
        pid, host = int(document["pid"]), str(document["host"])
    except FileNotFoundError:
        raise HealthCheckError(
            f"{path}: no health file (is `tgvault run --health-file {path}` running?)"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise HealthCheckError(f"{path}: not a tgvault health file ({error})") from None
    age = now - heartbeat
    if status not in ("running", UNHEALTHY):
        raise HealthCheckError(f"{path}: the service (pid {pid} on {host}) has {status}")
    if age > max_age:
        raise HealthCheckError(
            f"{path}: the last heartbeat of pid {pid} on {host} is {int(age.total_seconds())} s old "
            f"(more than {int(max_age.total_seconds())} s)"
        )
    if status == UNHEALTHY:
        problem = document.get("problem") or "no reason given"
        raise HealthCheckError(f"{path}: the service (pid {pid} on {host}) is unhealthy: {problem}")
    failing = sum(1 for channel in channels.values() if channel.get("consecutive_failures"))
    return HealthReport(pid=pid, host=host, age=age, channels=len(channels), failing=failing)
