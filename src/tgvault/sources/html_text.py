"""Text and entities (UTF-16 offsets) rebuilt from the HTML Telegram renders a post's text as.

Telegram Desktop's HTML export and the public web preview both write a post's text as HTML: ``<b>``,
``<code>``, ``<pre>``, ``<blockquote>``, links and so on. :class:`HtmlRichText` walks such markup once,
collecting the plain text and an entity per formatting element; each source subclasses it for the
markup only it writes (its links, spoilers, emoji images).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from selectolax.lexbor import LexborNode

from tgvault.domain import BIGINT_MAX, EntityKind, TextEntity
from tgvault.text import utf16_len

__all__ = ["HtmlRichText", "classes_of", "id_of"]

SIMPLE_ENTITIES = {
    "b": EntityKind.BOLD,
    "strong": EntityKind.BOLD,
    "i": EntityKind.ITALIC,
    "em": EntityKind.ITALIC,
    "u": EntityKind.UNDERLINE,
    "ins": EntityKind.UNDERLINE,
    "s": EntityKind.STRIKETHROUGH,
    "strike": EntityKind.STRIKETHROUGH,
    "del": EntityKind.STRIKETHROUGH,
    "tg-spoiler": EntityKind.SPOILER,
}
SKIPPED_TAGS = frozenset({"script", "style", "svg", "template"})


def id_of(digits: str | None) -> int | None:
    """The id an attribute's digits give, or None: not digits, or more than a 64-bit id holds."""
    if not digits or not (digits.isdecimal() and digits.isascii()) or len(digits) > 19:
        return None
    value = int(digits)
    return value if value <= BIGINT_MAX else None


def classes_of(node: LexborNode) -> set[str]:
    """The names in a node's ``class`` attribute."""
    return set((node.attributes.get("class") or "").split())


def _pre_language(node: LexborNode) -> str | None:
    """The ``language-xyz`` class of a ``<pre>`` or of its ``<code>``."""
    for candidate in (node, node.css_first("code")):
        if candidate is None:
            continue
        for name in classes_of(candidate):
            if name.startswith("language-"):
                return name.removeprefix("language-") or None
    return None


@dataclass(frozen=True)
class _Open:
    """An element being read: where its text started, and what it changed for the elements inside."""

    node: LexborNode
    tag: str
    classes: set[str]
    order: int
    start: int
    was_in_pre: bool


class HtmlRichText:
    """Collects a node's text and its entities; subclasses add the markup of their source."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._units = 0
        self._entities: list[tuple[int, TextEntity]] = []
        self._order = 0
        self._in_pre = False

    @property
    def text(self) -> str:
        """The text as collected so far."""
        return "".join(self._parts)

    @property
    def entities(self) -> tuple[TextEntity, ...]:
        """The entities in document order (an outer element before the ones inside it)."""
        return tuple(entity for _, entity in sorted(self._entities, key=lambda item: item[0]))

    def walk(self, node: LexborNode) -> None:
        """Add the text and entities of every child of ``node``.

        The tree is walked with a stack of its own, not by recursion: a page may nest elements as deep as
        it likes (issue 17.4).
        """
        stack: list[tuple[Iterator[LexborNode], _Open | None]] = [(node.iter(include_text=True), None)]
        while stack:
            children, opened = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                if opened is not None:
                    self._close(opened)
                continue
            entered = self._open(child)
            if entered is not None:
                stack.append((child.iter(include_text=True), entered))

    def stripped(self) -> tuple[str, tuple[TextEntity, ...]]:
        """The text without surrounding whitespace, with the entities cut and shifted to match."""
        text = self.text
        stripped = text.strip()
        lead = utf16_len(text[: len(text) - len(text.lstrip())])
        total = utf16_len(stripped)
        entities = []
        for entity in self.entities:
            start = max(0, entity.offset - lead)
            end = min(total, entity.offset + entity.length - lead)
            if end > start:
                entities.append(entity.model_copy(update={"offset": start, "length": end - start}))
        return stripped, tuple(entities)

    def replacement(self, node: LexborNode, tag: str, classes: set[str]) -> str | None:
        """Text that stands for the whole element (an emoji image), or None to read inside it."""
        return None

    def entity(
        self, node: LexborNode, tag: str, classes: set[str], offset: int, length: int
    ) -> TextEntity | None:
        """The entity an element makes over ``[offset, offset + length)``, if any."""
        if tag in SIMPLE_ENTITIES:
            return TextEntity(kind=SIMPLE_ENTITIES[tag], offset=offset, length=length)
        if tag == "code":
            if self._in_pre:
                return None  # the <code> of a <pre> block carries its language only
            return TextEntity(kind=EntityKind.CODE, offset=offset, length=length)
        if tag == "pre":
            return TextEntity(kind=EntityKind.PRE, offset=offset, length=length, language=_pre_language(node))
        if tag == "blockquote":
            collapsed = bool(classes & {"expandable", "collapsed"}) or "expandable" in node.attributes
            return TextEntity(kind=EntityKind.BLOCKQUOTE, offset=offset, length=length, collapsed=collapsed)
        if tag == "tg-emoji":
            document_id = id_of(node.attributes.get("emoji-id"))
            return TextEntity(
                kind=EntityKind.CUSTOM_EMOJI, offset=offset, length=length, document_id=document_id
            )
        return None

    def _add(self, piece: str) -> None:
        if piece:
            self._parts.append(piece)
            self._units += utf16_len(piece)

    def _open(self, node: LexborNode) -> _Open | None:
        """Read a node; for an element whose children are to be read, the state to close it with."""
        if node.is_text_node:
            self._add(node.text_content or "")
            return None
        if not node.is_element_node:
            return None
        tag = (node.tag or "").lower()
        if tag == "br":
            self._add("\n")
            return None
        if tag in SKIPPED_TAGS:
            return None
        classes = classes_of(node)
        replacement = self.replacement(node, tag, classes)
        if replacement is not None:
            self._add(replacement)
            return None
        opened = _Open(node, tag, classes, self._order, self._units, self._in_pre)
        self._order += 1
        self._in_pre = self._in_pre or tag == "pre"
        return opened

    def _close(self, opened: _Open) -> None:
        """The entity of an element whose children have all been read."""
        self._in_pre = opened.was_in_pre
        length = self._units - opened.start
        if length <= 0:
            return
        entity = self.entity(opened.node, opened.tag, opened.classes, opened.start, length)
        if entity is not None:
            self._entities.append((opened.order, entity))
