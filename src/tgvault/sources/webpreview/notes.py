"""The notes of what could not be read from one post of a preview page (its ``parse_error``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Notes:
    """What could not be read from one post, joined into ``Post.parse_error``."""

    items: list[str] = field(default_factory=list)

    def add(self, note: str) -> None:
        if note not in self.items:
            self.items.append(note)

    @property
    def text(self) -> str | None:
        return "; ".join(self.items) or None
