"""Rich text's one-pass writer for entities side by side against the general writer of runs.

Most posts' entities do not nest (a link, a bold word, a hashtag apart from each other), so
``render_text`` writes them in one pass (:func:`side_by_side_html`) instead of cutting the text into runs
and keeping a stack of open tags (:func:`runs_html`). Both must give the same bytes for any text —
markup, quotes, entities, ``javascript:`` links, right-to-left scripts, emoji, lone surrogates — and any
entity of any kind, so the general writer stays the definition.
"""

from __future__ import annotations

from itertools import pairwise

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tgvault.domain import EntityKind, TextEntity
from tgvault.export.site.richtext import render_text, runs_html, side_by_side_html
from tgvault.text import entity_spans, side_by_side, split_by_entities, split_spans, utf16_len

PIECES = [
    "a",
    "word ",
    " ",
    "\n",
    "\n\n",
    "<script>alert(1)</script>",
    "&amp;",
    "&lt;b&gt;",
    "&#x3C;",
    '"',
    "'",
    "javascript:alert(1)",
    "https://e.org/?a=1&b='2'\"",
    "tg://resolve?domain=x",
    "@user_name",
    "#tag",
    "#Тег_2",
    "a@b.example",
    "שלום",
    "مرحبا",
    "\u202e\u2066",
    "😀",
    "🇷🇺",
    "\u200b",
    "東京都",
    "\ud83d",
]
URLS = [
    None,
    "https://e.org/?a=1&b=2",
    "javascript:alert(1)",
    'http://x/"><script>',
    "tg://user?id=1",
    "mailto:a@b.c",
    "data:text/html,<b>",
    " ",
]
LANGUAGES = [None, "python", "c++", '"><script>', "a b"]

texts = st.lists(st.sampled_from(PIECES), max_size=14).map("".join)


def _entity(kind: EntityKind, offset: int, length: int, draw: st.DrawFn) -> TextEntity:
    return TextEntity(
        kind=kind,
        offset=offset,
        length=length,
        url=draw(st.sampled_from(URLS)),
        language=draw(st.sampled_from(LANGUAGES)),
        user_id=draw(st.sampled_from([None, 1, 777000])),
        collapsed=draw(st.booleans()),
    )


@st.composite
def side_by_side_posts(draw: st.DrawFn) -> tuple[str, list[TextEntity]]:
    """A text and entities none of which nests in another (cut at any UTF-16 offset, even inside a pair)."""
    text = draw(texts)
    units = utf16_len(text)
    cuts = sorted(set(draw(st.lists(st.integers(0, units + 2), max_size=10))))
    entities = [
        _entity(draw(st.sampled_from(list(EntityKind))), start, end - start, draw)
        for start, end in pairwise(cuts)
        if draw(st.booleans())
    ]
    return text, draw(st.permutations(entities))


@st.composite
def any_posts(draw: st.DrawFn) -> tuple[str, list[TextEntity]]:
    """A text and entities in any arrangement: nested, overlapping, repeated, beyond the text."""
    text = draw(texts)
    units = utf16_len(text)
    entities = [
        _entity(draw(st.sampled_from(list(EntityKind))), offset, length, draw)
        for offset, length in draw(
            st.lists(st.tuples(st.integers(-1, units + 1), st.integers(-1, units + 1)), max_size=6)
        )
    ]
    return text, entities


def _linker(key: str) -> str | None:
    return None if key.startswith("x") else f'../tags/{key}.html?"&<'


@settings(max_examples=600, deadline=None)
@given(side_by_side_posts())
def test_the_one_pass_writer_writes_what_the_runs_writer_writes(post: tuple[str, list[TextEntity]]) -> None:
    text, entities = post
    spans = entity_spans(text, entities)
    assume(side_by_side(spans))  # a cut inside a surrogate pair makes both entities cover the character
    for dirty in (False, True):
        expected = runs_html(split_spans(text, spans), _linker, dirty)
        assert side_by_side_html(text, spans, _linker, dirty) == expected


@settings(max_examples=400, deadline=None)
@given(any_posts())
def test_render_text_is_the_runs_writer_for_any_entities(post: tuple[str, list[TextEntity]]) -> None:
    text, entities = post
    dirty = any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)
    expected = runs_html(split_by_entities(text, entities), _linker, dirty) if entities else None
    rendered = render_text(text, entities, _linker)
    if expected is not None and text:
        assert str(rendered) == expected
    assert "<script" not in rendered
    assert 'href="javascript:' not in rendered and 'href="data:' not in rendered


def test_a_block_then_a_newline_then_a_block_drop_the_newlines_as_the_runs_writer_does() -> None:
    text = "code\n\nquote\nrest"
    entities = [
        TextEntity(kind=EntityKind.PRE, offset=0, length=4, language="py"),
        TextEntity(kind=EntityKind.BLOCKQUOTE, offset=5, length=6),
    ]
    spans = entity_spans(text, entities)
    html = side_by_side_html(text, spans, _linker, False)
    assert html == runs_html(split_spans(text, spans), _linker, False)
    assert html == (
        '<pre class="pre" data-language="py"><code class="language-py">code</code></pre>'
        '<blockquote class="quote">quote</blockquote>rest'
    )
