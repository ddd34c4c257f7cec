"""Fault injection: rules that cut a connection while it sends a response, and the pause of all traffic."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tgvault.testing.mtproto_server.rpc import innermost_request

__all__ = ["CutRule", "CutRules", "PauseSwitch"]

logger = logging.getLogger(__name__)


@dataclass
class CutRule:
    """A fault: cut the connection while sending the response to a matching request.

    ``after_bytes`` bytes of the framed response reach the client, then the server closes the connection
    (never the whole response, so the client has to reconnect and ask again). ``fired`` counts the cuts done.
    """

    predicate: Callable[[Any], bool]
    after_bytes: int = 0
    times: int | None = 1
    fired: int = 0

    @property
    def exhausted(self) -> bool:
        """True once the rule has cut ``times`` responses."""
        return self.times is not None and self.fired >= self.times


class CutRules:
    """The cut rules in force, in the order they were made."""

    def __init__(self) -> None:
        """No rule."""
        self._rules: list[CutRule] = []

    def add(self, rule: CutRule) -> CutRule:
        """Put ``rule`` in force (after the others); returns it."""
        self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Forget every rule."""
        self._rules.clear()

    def take(self, request: Any) -> CutRule | None:
        """The first rule matching ``request`` (counted as fired, dropped once exhausted), if any."""
        inner = innermost_request(request)
        for rule in self._rules:
            try:
                matches = not rule.exhausted and rule.predicate(inner)
            except Exception:
                logger.exception("cut_after_response predicate failed; treating it as no match")
                matches = False
            if matches:
                rule.fired += 1
                if rule.exhausted:
                    self._rules.remove(rule)
                return rule
        return None


class PauseSwitch:
    """Whether a server processes traffic: while paused, packets stay unread and no response is sent."""

    def __init__(self) -> None:
        """Not started: never paused until :meth:`start`."""
        self._unpaused: asyncio.Event | None = None

    def start(self) -> None:
        """Start unpaused (in the server's event loop)."""
        self._unpaused = asyncio.Event()
        self._unpaused.set()

    def pause(self) -> None:
        """Stop processing until :meth:`resume`."""
        if self._unpaused is not None:
            self._unpaused.clear()

    def resume(self) -> None:
        """Undo :meth:`pause`."""
        if self._unpaused is not None:
            self._unpaused.set()

    @property
    def paused(self) -> bool:
        """True between :meth:`pause` and :meth:`resume`."""
        return self._unpaused is not None and not self._unpaused.is_set()

    async def wait(self) -> None:
        """Return once not paused."""
        if self._unpaused is not None:
            await self._unpaused.wait()
