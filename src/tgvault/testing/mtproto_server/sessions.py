"""MTProto sessions and message ids: each session's seq_no, the server's msg_ids, the check of a client's."""

from __future__ import annotations

import time

__all__ = ["MsgIds", "Session", "Sessions", "check_msg_id"]

_MSG_TOO_OLD = 300  # seconds, as in MTProto's security guidelines
_MSG_TOO_NEW = 30


class Session:
    """One MTProto session (the client picks its id; it survives reconnections)."""

    def __init__(self, session_id: int) -> None:
        """A session nothing was sent in yet."""
        self.session_id = session_id
        self._content_sent = 0

    def next_seq_no(self, content_related: bool) -> int:
        """The seq_no of the next message sent in this session."""
        if not content_related:
            return self._content_sent * 2
        self._content_sent += 1
        return self._content_sent * 2 - 1


class Sessions:
    """The sessions a server knows, by id."""

    def __init__(self) -> None:
        """No session yet."""
        self._sessions: dict[int, Session] = {}

    def get(self, session_id: int) -> Session | None:
        """The session with this id, if the server knows it."""
        return self._sessions.get(session_id)

    def open(self, session_id: int) -> tuple[Session, bool]:
        """The session with this id, and whether it was created now."""
        session = self._sessions.get(session_id)
        if session is not None:
            return session, False
        session = self._sessions[session_id] = Session(session_id)
        return session, True

    def destroy(self, session_id: int) -> bool:
        """Forget a session; whether it existed."""
        return self._sessions.pop(session_id, None) is not None


class MsgIds:
    """Server msg_ids: time based, strictly increasing, ``≡ 1 (mod 4)`` for responses, ``3`` otherwise."""

    def __init__(self) -> None:
        """No msg_id handed out yet."""
        self._last = 0

    def next(self, response: bool) -> int:
        """The next server msg_id."""
        now = time.time()
        base = (int(now) << 32) | (int((now % 1) * 2**32) & ~3)
        if base <= self._last:
            base = self._last + 4
        self._last = base
        return base | (1 if response else 3)


def check_msg_id(msg_id: int) -> int:
    """0 if a client msg_id is acceptable, else the bad_msg_notification error code."""
    delta = (msg_id >> 32) - time.time()
    if delta < -_MSG_TOO_OLD:
        return 16  # msg_id too low
    if delta > _MSG_TOO_NEW:
        return 17  # msg_id too high
    if msg_id % 4:
        return 18  # client msg_ids are divisible by 4
    return 0
