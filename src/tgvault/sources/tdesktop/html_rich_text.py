"""Rebuild the text and formatting of a message of the HTML export (its ``div.text``) as entities."""

from __future__ import annotations

from urllib.parse import urlsplit

from selectolax.lexbor import LexborNode

from tgvault.domain import EntityKind, TextEntity
from tgvault.sources.html_text import HtmlRichText
from tgvault.sources.tdesktop.html_values import local_path

__all__ = ["rich_text_of"]

_ONCLICK_ENTITIES = (
    ("ShowHashtag", EntityKind.HASHTAG),
    ("ShowCashtag", EntityKind.CASHTAG),
    ("ShowBotCommand", EntityKind.BOT_COMMAND),
    ("ShowMentionName", EntityKind.MENTION_NAME),
    ("Emoji", EntityKind.CUSTOM_EMOJI),
)


class _RichText(HtmlRichText):
    """Text and entities of a ``div.text``, with the files of the custom emoji the export saved."""

    def __init__(self) -> None:
        super().__init__()
        self.files: list[str] = []

    def replacement(self, node: LexborNode, tag: str, classes: set[str]) -> str | None:
        return (node.attributes.get("alt") or "") if tag == "img" else None

    def entity(
        self, node: LexborNode, tag: str, classes: set[str], offset: int, length: int
    ) -> TextEntity | None:
        if tag == "span" and "spoiler" in classes:
            return TextEntity(kind=EntityKind.SPOILER, offset=offset, length=length)
        if tag == "a":
            emoji_file = _emoji_file(node)
            if emoji_file is not None:  # a custom emoji the export saved: a link to its file
                self.files.append(emoji_file)
                return TextEntity(kind=EntityKind.CUSTOM_EMOJI, offset=offset, length=length)
            return _link(node, offset, length)
        return super().entity(node, tag, classes, offset, length)


def _emoji_file(node: LexborNode) -> str | None:
    """The file of a custom emoji the export saved (``<a href="stickers/emoji_1.webp">🔥</a>``), or None.

    Desktop writes a link Telegram found in the text as it was typed, without a scheme when it had none
    (``<a href="github.com">github.com</a>``): that is a link, not a file (issue 18.3). A saved file's
    link is a path into one of the export's folders (``stickers/``, ``files/``, ...; no dot in the
    folder's name) and never the text it is shown as.
    """
    path = local_path(node.attributes.get("href"))
    if path is None or path.strip() == node.text(deep=True).strip():
        return None
    folder, slash, name = path.partition("/")
    if not slash or not name or not folder or "." in folder or ":" in folder:
        return None
    return path


def _link(node: LexborNode, offset: int, length: int) -> TextEntity | None:
    href = (node.attributes.get("href") or "").strip()
    onclick = node.attributes.get("onclick") or ""
    shown = node.text(deep=True)
    for marker, kind in _ONCLICK_ENTITIES:
        if marker in onclick:
            return TextEntity(kind=kind, offset=offset, length=length)
    if not href:
        return None
    lowered = href.lower()
    if lowered.startswith("mailto:"):
        return TextEntity(kind=EntityKind.EMAIL, offset=offset, length=length)
    if lowered.startswith("tel:"):
        return TextEntity(kind=EntityKind.PHONE, offset=offset, length=length)
    if shown.startswith("@") and urlsplit(href).path.strip("/").lower() == shown[1:].lower():
        return TextEntity(kind=EntityKind.MENTION, offset=offset, length=length)
    if href == shown:
        return TextEntity(kind=EntityKind.URL, offset=offset, length=length)
    return TextEntity(kind=EntityKind.TEXT_LINK, offset=offset, length=length, url=href)


def rich_text_of(node: LexborNode | None) -> tuple[str, tuple[TextEntity, ...], list[str]]:
    """Text, entities and the files of custom emoji in a ``div.text``."""
    if node is None:
        return "", (), []
    builder = _RichText()
    builder.walk(node)
    text, entities = builder.stripped()
    return text, entities, builder.files
