"""Post text with its entities as safe HTML.

The text is cut into runs by :func:`tgvault.text.split_spans` (UTF-16 offsets handled there) and
every run is escaped (as markupsafe escapes); the only markup is the fixed set of tags written here. Link targets
pass :mod:`tgvault.export.site.links` checks, or the span is shown as plain text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from markupsafe import Markup

from tgvault.domain import EntityKind, TextEntity
from tgvault.export.site.links import autolink_href, email_href, mention_href, safe_href, tag_key
from tgvault.text import entity_spans, side_by_side, split_spans

HashtagLinker = Callable[[str], str | None]

_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Text that shows nothing: white space, zero-width characters and the blank fillers channels put under a
# link to get its preview without showing it. A link over such text would be a nameless, invisible stop
# of the Tab key (WCAG 2.4.4, 4.1.2), so it is rendered as plain text (the preview still shows the page).
_INVISIBLE = re.compile(r"[\s\u200b-\u200d\u2060\ufeff\u115f\u1160\u3164\u2800]*")
_LANGUAGE = re.compile(r"^[A-Za-z0-9_+#.\-]{1,32}$")
_EXTERNAL = Markup(' rel="noopener noreferrer nofollow ugc" target="_blank"')
_BLOCKS = frozenset({EntityKind.PRE, EntityKind.BLOCKQUOTE})
_LINKS = frozenset(
    {
        EntityKind.URL,
        EntityKind.TEXT_LINK,
        EntityKind.MENTION,
        EntityKind.MENTION_NAME,
        EntityKind.EMAIL,
        EntityKind.HASHTAG,
    }
)
_SIMPLE = {
    EntityKind.BOLD: ("<strong>", "</strong>"),
    EntityKind.ITALIC: ("<em>", "</em>"),
    EntityKind.UNDERLINE: ("<u>", "</u>"),
    EntityKind.STRIKETHROUGH: ("<s>", "</s>"),
    EntityKind.CODE: ('<code class="inline">', "</code>"),
    # The words sit in their own span, which the stylesheet hides (visibility) until revealed: hidden from
    # screen readers too, and the button's name holds all of its visible text (WCAG 2.5.3).
    EntityKind.SPOILER: (
        '<span class="spoiler" tabindex="0" role="button" aria-pressed="false" '
        'aria-label="Spoiler: activate to reveal"><span class="spoiler-text">',
        "</span></span>",
    ),
    EntityKind.CUSTOM_EMOJI: ('<span class="custom-emoji" title="Custom emoji">', "</span>"),
    EntityKind.CASHTAG: ('<span class="cashtag">', "</span>"),
    EntityKind.BOT_COMMAND: ('<span class="bot-command">', "</span>"),
    EntityKind.PHONE: ('<span class="phone">', "</span>"),
    EntityKind.BANK_CARD: ('<span class="bank-card">', "</span>"),
}


def clean_text(text: str) -> str:
    """``text`` with lone UTF-16 surrogates replaced by U+FFFD, so it can be written as UTF-8."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


_SPECIAL = re.compile("[&<>\"']")


def _escape_python(text: str) -> str:
    """``text`` escaped for HTML as markupsafe escapes it (the five characters it replaces)."""
    if _SPECIAL.search(text) is None:
        return text
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;")
    )


_escape_str: Callable[[str], str]
try:  # markupsafe's own escaping of a str, in C: what its escape() wraps in a Markup object
    from markupsafe._speedups import _escape_inner
except ImportError:  # pragma: no cover - markupsafe built without its C speedups
    _escape_str = _escape_python
else:
    _escape_str = _escape_inner


def escape_text(value: object) -> str:
    """``value`` as text escaped for HTML, exactly as markupsafe (Jinja's autoescaping) escapes it,
    without a :class:`~markupsafe.Markup` object (the site is built of millions of escaped values)."""
    return _escape_str(value if type(value) is str else str(value))


def plain(text: str) -> Markup:
    """Escaped text (surrogates cleaned)."""
    return Markup(escape_text(clean_text(text)))  # noqa: S704 - escaped here


class _Open(NamedTuple):
    entity: TextEntity
    start: str
    close: str
    anchor: bool = False


def _anchor(href: str, css: str, external: bool = True) -> str:
    rel = _EXTERNAL if external else ""
    return f'<a class="{escape_text(css)}" href="{escape_text(href)}"{rel}>'


def _open_tag(entity: TextEntity, covered: str, inside_link: bool, hashtag_url: HashtagLinker) -> _Open:
    kind = entity.kind
    if kind in _SIMPLE:
        start, end = _SIMPLE[kind]
        return _Open(entity, start, end, False)
    if kind is EntityKind.PRE:
        language = entity.language if entity.language and _LANGUAGE.match(entity.language) else None
        if language:
            language = escape_text(language)
            start = f'<pre class="pre" data-language="{language}"><code class="language-{language}">'
        else:
            start = '<pre class="pre"><code>'
        return _Open(entity, start, "</code></pre>", False)
    if kind is EntityKind.BLOCKQUOTE:
        css = "quote collapsed" if entity.collapsed else "quote"
        return _Open(entity, f'<blockquote class="{css}">', "</blockquote>", False)
    if kind not in _LINKS:
        return _Open(entity, '<span class="entity">', "</span>")
    href: str | None = None
    css = "link"
    external = True
    if kind is EntityKind.URL:
        href = autolink_href(covered)
    elif kind is EntityKind.TEXT_LINK:
        href = safe_href(entity.url)
    elif kind is EntityKind.MENTION:
        href, css = mention_href(covered), "mention"
    elif kind is EntityKind.MENTION_NAME:
        href, css = (f"tg://user?id={int(entity.user_id)}" if entity.user_id else None), "mention"
    elif kind is EntityKind.EMAIL:
        href = email_href(covered)
    elif kind is EntityKind.HASHTAG:
        key = tag_key(covered)
        href, css, external = (hashtag_url(key) if key else None), "hashtag", False
    if href is None or inside_link or _INVISIBLE.fullmatch(covered):
        css = {"link": "unlinked"}.get(css, css)
        return _Open(entity, f'<span class="{css}">', "</span>", False)
    return _Open(entity, _anchor(href, css, external), "</a>", True)


def render_text(
    text: str,
    entities: Sequence[TextEntity],
    hashtag_url: HashtagLinker = lambda _key: None,
) -> Markup:
    """Text with its entities as HTML: every character escaped, line breaks kept as newlines.

    The container is expected to use ``white-space: pre-wrap``. Entities nest as Telegram nests them;
    a span that overlaps another is closed and reopened so the HTML stays well formed.
    """
    if not text:
        return Markup("")
    if not entities:
        return plain(text)
    spans = entity_spans(text, entities)
    dirty = _SURROGATE.search(text) is not None  # else no piece has a surrogate to clean
    if side_by_side(spans):  # the common case: written in one pass, without runs or a stack
        html = side_by_side_html(text, spans, hashtag_url, dirty)
    else:
        html = runs_html(split_spans(text, spans), hashtag_url, dirty)
    # Safe: every piece of text went through escape_text(); the rest are this module's fixed tags.
    return Markup(html)  # noqa: S704


def side_by_side_html(
    text: str, spans: Sequence[tuple[int, int, int, TextEntity]], hashtag_url: HashtagLinker, dirty: bool
) -> str:
    """What :func:`runs_html` writes for spans none of which nests in another (``side_by_side``): each
    piece of text escaped once, between its entity's tags."""
    out: list[str] = []
    position = 0
    after_block = False  # a block was just closed: the newline that follows it is not shown
    for start, end, _, entity in spans:
        if start > position:
            piece = text[position:start]
            if after_block and piece.startswith("\n"):
                piece = piece[1:]
            out.append(escape_text(clean_text(piece) if dirty else piece))
            after_block = False
        piece = text[start:end]
        simple = _SIMPLE.get(entity.kind)
        if simple is not None:
            opening, closing = simple
        else:
            opened = _open_tag(entity, piece, False, hashtag_url)
            opening, closing = opened.start, opened.close
        block = entity.kind in _BLOCKS
        if block and piece.startswith("\n"):
            piece = piece[1:]
        if after_block and piece.startswith("\n"):
            piece = piece[1:]
        out.append(opening)
        out.append(escape_text(clean_text(piece) if dirty else piece))
        out.append(closing)
        after_block = block
        position = end
    if position < len(text):
        piece = text[position:]
        if after_block and piece.startswith("\n"):
            piece = piece[1:]
        out.append(escape_text(clean_text(piece) if dirty else piece))
    return "".join(out)


def runs_html(
    runs: Sequence[tuple[str, tuple[TextEntity, ...]]], hashtag_url: HashtagLinker, dirty: bool
) -> str:
    """The runs of :func:`tgvault.text.split_spans` as HTML, entities in any arrangement: tags opened
    outermost first, closed and reopened where spans overlap."""
    covered: dict[int, list[str]] = {}  # the text under each link (what the others cover is not needed)
    for piece, active in runs:
        for entity in active:
            if entity.kind in _LINKS:
                covered.setdefault(id(entity), []).append(piece)
    out: list[str] = []
    stack: list[_Open] = []
    anchors = 0  # how many of the open tags are links (counted, not searched: entities may nest deep)
    drop_newline = False
    for piece, active in runs:
        common = 0
        while common < len(stack) and common < len(active) and stack[common].entity is active[common]:
            common += 1
        while len(stack) > common:
            closing = stack.pop()
            anchors -= bool(closing.anchor)
            out.append(closing.close)
            drop_newline = closing.entity.kind in _BLOCKS
        for entity in active[common:]:
            simple = _SIMPLE.get(entity.kind)
            if simple is not None:  # a fixed pair of tags (the most common entities)
                opened = _Open(entity, simple[0], simple[1], False)
            else:
                opened = _open_tag(entity, "".join(covered.get(id(entity), ())), anchors > 0, hashtag_url)
            out.append(opened.start)
            stack.append(opened)
            anchors += bool(opened.anchor)
            if entity.kind in _BLOCKS and piece.startswith("\n"):
                piece = piece[1:]
        if drop_newline and piece.startswith("\n"):
            piece = piece[1:]
        drop_newline = False
        out.append(escape_text(clean_text(piece) if dirty else piece))
    while stack:
        out.append(stack.pop().close)
    return "".join(out)


def snippet(text: str, limit: int = 160) -> str:
    """A one-line preview of ``text`` (plain, not escaped), cut at ``limit`` characters."""
    flat = " ".join(clean_text(text).split())
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rstrip() + "…"
