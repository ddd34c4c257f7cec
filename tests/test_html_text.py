"""The shared HTML text builder both HTML sources (Desktop export, web preview) stand on."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from tgvault.domain import EntityKind
from tgvault.sources.html_text import HtmlRichText


def rebuilt(html: str) -> HtmlRichText:
    node = LexborHTMLParser(f"<div id='t'>{html}</div>").css_first("#t")
    assert node is not None
    builder = HtmlRichText()
    builder.walk(node)
    return builder


def test_nested_formatting_keeps_document_order_and_utf16_offsets() -> None:
    builder = rebuilt("🇺🇦 <b>bold <i>both</i></b><br><s>gone</s>")
    assert "🇺🇦 bold both\ngone" == builder.text
    kinds = [(e.kind, e.offset, e.length) for e in builder.entities]
    # a flag is two astral characters: four UTF-16 units, then the space
    assert [
        (EntityKind.BOLD, 5, 9),
        (EntityKind.ITALIC, 10, 4),
        (EntityKind.STRIKETHROUGH, 15, 4),
    ] == kinds


def test_a_code_block_is_one_pre_entity_with_its_language_and_scripts_are_dropped() -> None:
    builder = rebuilt('<pre><code class="language-python">x = 1</code></pre><script>alert(1)</script>')
    assert "x = 1" == builder.text
    (entity,) = builder.entities
    assert (EntityKind.PRE, "python") == (entity.kind, entity.language)


def test_stripped_text_moves_entities_with_the_cut_whitespace() -> None:
    builder = rebuilt("\n   <u>under</u> and <blockquote class='expandable'>quote</blockquote>  \n")
    text, entities = builder.stripped()
    assert "under and quote" == text
    assert [(EntityKind.UNDERLINE, 0, 5, False), (EntityKind.BLOCKQUOTE, 10, 5, True)] == [
        (e.kind, e.offset, e.length, e.collapsed) for e in entities
    ]
