"""A post's own nodes in the preview's HTML (not a quoted reply's or a link preview's) and their text."""

from __future__ import annotations

from selectolax.lexbor import LexborNode

from tgvault.sources.html_text import classes_of
from tgvault.sources.webpreview.rich_text import RichText

# Containers whose content belongs to another post (a quoted reply) or another page (a link preview).
_FOREIGN = frozenset({"tgme_widget_message_reply", "tgme_widget_message_link_preview"})


def inside(node: LexborNode, root: LexborNode, classes: frozenset[str]) -> bool:
    """True when an ancestor of ``node`` below ``root`` has one of ``classes``."""
    parent = node.parent
    while parent is not None and parent.mem_id != root.mem_id:
        if classes_of(parent) & classes:
            return True
        parent = parent.parent
    return False


def own(root: LexborNode, selector: str, exclude: frozenset[str] = _FOREIGN) -> list[LexborNode]:
    """Matches of ``selector`` under ``root`` that are not inside a quoted reply or a link preview."""
    return [node for node in root.css(selector) if not inside(node, root, exclude)]


def first_own(root: LexborNode, selector: str, exclude: frozenset[str] = _FOREIGN) -> LexborNode | None:
    """The first of :func:`own`'s matches, or None."""
    found = own(root, selector, exclude)
    return found[0] if found else None


def plain(node: LexborNode | None) -> str | None:
    """The text of a node (``<br>`` as newlines, emoji images as their emoji), stripped; None if empty."""
    if node is None:
        return None
    text = RichText.of(node).text.strip()
    return text or None


def own_text(node: LexborNode) -> str:
    """Only the text directly inside ``node`` (not inside its child elements)."""
    return "".join(child.text_content or "" for child in node.iter(include_text=True) if child.is_text_node)
