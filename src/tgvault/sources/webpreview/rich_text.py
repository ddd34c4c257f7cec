"""A post's text rebuilt from the preview's HTML, with its formatting and links as ``TextEntity`` spans."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from selectolax.lexbor import LexborNode

from tgvault.domain import EntityKind, TextEntity
from tgvault.sources.html_text import HtmlRichText, id_of


def _without_scheme(url: str) -> str:
    text = url.strip()
    for prefix in ("https://", "http://"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
            break
    return text.rstrip("/")


class RichText(HtmlRichText):
    """Rebuilds a text node's text and its entities (UTF-16 offsets) from the preview's HTML."""

    @classmethod
    def of(cls, node: LexborNode) -> RichText:
        builder = cls()
        builder.walk(node)
        return builder

    def replacement(self, node: LexborNode, tag: str, classes: set[str]) -> str | None:
        if tag == "i" and "emoji" in classes:
            return node.text(deep=True)  # an emoji image: its <b> holds the emoji, not bold text
        return None

    def entity(
        self, node: LexborNode, tag: str, classes: set[str], offset: int, length: int
    ) -> TextEntity | None:
        if "tg-spoiler" in classes:
            return TextEntity(kind=EntityKind.SPOILER, offset=offset, length=length)
        if tag == "a":
            return self._link(node, offset, length)
        return super().entity(node, tag, classes, offset, length)

    def _link(self, node: LexborNode, offset: int, length: int) -> TextEntity | None:
        href = (node.attributes.get("href") or "").strip()
        shown = node.text(deep=True).strip()
        if not href:
            return None
        query = parse_qs(urlsplit(href).query).get("q", [""])[0] if href.startswith("?") else ""
        kind: EntityKind | None = None
        url: str | None = None
        user_id: int | None = None
        if query and shown.startswith("#") and query == shown:
            kind = EntityKind.HASHTAG
        elif query and shown.startswith("$") and query == shown:
            kind = EntityKind.CASHTAG
        elif href.lower().startswith("mailto:") and unquote(href[7:]) == shown:
            kind = EntityKind.EMAIL
        elif href.lower().startswith("tel:"):
            kind = EntityKind.PHONE
        elif href.startswith("tg://user?id="):
            digits = href.removeprefix("tg://user?id=")
            kind, user_id = EntityKind.MENTION_NAME, id_of(digits)
        elif shown.startswith("@") and _without_scheme(href).lower() in (
            f"t.me/{shown[1:].lower()}",
            f"telegram.me/{shown[1:].lower()}",
        ):
            kind = EntityKind.MENTION
        elif shown.startswith("/") and query == shown:
            kind = EntityKind.BOT_COMMAND
        elif _without_scheme(shown).lower() == _without_scheme(href).lower() and shown:
            kind = EntityKind.URL
        else:
            kind, url = EntityKind.TEXT_LINK, href
        return TextEntity(kind=kind, offset=offset, length=length, url=url, user_id=user_id)
