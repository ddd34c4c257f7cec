"""Read back the Desktop message a post was imported from (kept in ``Post.raw``) for writing it again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tgvault.formats.desktop import RAW_FILES_KEY, RAW_MESSAGE_KEY

__all__ = ["DesktopRaw"]


@dataclass(frozen=True)
class DesktopRaw:
    """The Desktop message a post was imported from (``Post.raw["tdesktop"]``) and its stored files."""

    message: Mapping[str, Any]
    files: Mapping[str, str]

    @staticmethod
    def of(raw: Mapping[str, Any] | None) -> DesktopRaw | None:
        if not isinstance(raw, Mapping) or not isinstance(raw.get(RAW_MESSAGE_KEY), Mapping):
            return None
        files = raw.get(RAW_FILES_KEY)
        stored = {str(k): str(v) for k, v in files.items()} if isinstance(files, Mapping) else {}
        return DesktopRaw(raw[RAW_MESSAGE_KEY], stored)

    def parts(self) -> list[Mapping[str, Any]]:
        """The message's text parts as objects (from ``text_entities``, or the older mixed ``text``)."""
        source = self.message.get("text_entities")
        if not isinstance(source, list):
            source = self.message.get("text")
            if isinstance(source, str):
                source = [source]
        if not isinstance(source, list):
            return []
        return [
            {"type": "plain", "text": item} if isinstance(item, str) else item
            for item in source
            if isinstance(item, str | Mapping)
        ]

    def text(self) -> str:
        return "".join(str(part.get("text", "")) for part in self.parts())

    def custom_emoji_ids(self) -> list[str]:
        return [
            str(part.get("document_id"))
            for part in self.parts()
            if part.get("type") == "custom_emoji" and part.get("document_id") is not None
        ]

    def reactions(self) -> list[Mapping[str, Any]]:
        found = self.message.get("reactions")
        return [item for item in found if isinstance(item, Mapping)] if isinstance(found, list) else []
