"""Service messages of a preview page (channel created, renamed, pinned, ...) as ``ServiceAction``s."""

from __future__ import annotations

import re

from tgvault.domain import ServiceAction

_SERVICE_TEXTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("channel_create", re.compile(r"^Channel created$")),
    ("chat_edit_photo", re.compile(r"^Channel photo (?:updated|changed)$")),
    ("chat_delete_photo", re.compile(r"^Channel photo removed$")),
    ("chat_edit_title", re.compile(r"^Channel (?:name was changed to|renamed to) «(?P<title>.*)»$", re.S)),
    ("pin_message", re.compile(r"\bpinned\b")),
    ("group_call", re.compile(r"^(?:Live stream|Video chat) (?:started|finished|ended|scheduled)")),
)


def service_action(text: str) -> ServiceAction:
    """The service action a service message's text describes (``unknown`` when none matches)."""
    for action, pattern in _SERVICE_TEXTS:
        match = pattern.search(text)
        if match is not None:
            title = match.groupdict().get("title")
            return ServiceAction(type=action, title=title, text=text)
    return ServiceAction(type="unknown", text=text)
