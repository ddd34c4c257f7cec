"""Post text to HTML for the site: every entity rendered on the right characters, nothing unsafe let through."""

from __future__ import annotations

import pytest

from tgvault.domain import EntityKind, TextEntity
from tgvault.export.site.links import (
    autolink_href,
    media_site_path,
    relative_url,
    safe_href,
    tag_key,
    tag_slug,
)
from tgvault.export.site.richtext import clean_text, render_text

FLAG_RU = "🇷🇺"  # 2 characters, 4 UTF-16 units
FLAG_KE = "🇰🇪"


def ent(kind: EntityKind, offset: int, length: int, **extra: object) -> TextEntity:
    return TextEntity(kind=kind, offset=offset, length=length, **extra)


def test_plain_text_is_escaped_and_keeps_line_breaks() -> None:
    html = render_text("<b>1 & 2</b>\nnext line", [])
    assert "&lt;b&gt;1 &amp; 2&lt;/b&gt;\nnext line" == str(html)


def test_entities_after_emoji_flags_land_on_the_right_words() -> None:
    text = f"{FLAG_RU}{FLAG_KE} Russia and Kenya"
    # UTF-16: two flags are 8 units, the space 1: "Russia" starts at 9, "Kenya" at 20.
    html = render_text(text, [ent(EntityKind.BOLD, 9, 6), ent(EntityKind.ITALIC, 20, 5)])
    assert f"{FLAG_RU}{FLAG_KE} <strong>Russia</strong> and <em>Kenya</em>" == str(html)


def test_an_entity_covering_a_flag_keeps_the_flag_whole() -> None:
    text = f"go {FLAG_RU} now"
    html = render_text(text, [ent(EntityKind.UNDERLINE, 3, 4)])
    assert f"go <u>{FLAG_RU}</u> now" == str(html)


@pytest.mark.parametrize(
    ("kind", "extra", "expected"),
    [
        (EntityKind.BOLD, {}, "<strong>word</strong>"),
        (EntityKind.ITALIC, {}, "<em>word</em>"),
        (EntityKind.UNDERLINE, {}, "<u>word</u>"),
        (EntityKind.STRIKETHROUGH, {}, "<s>word</s>"),
        (EntityKind.CODE, {}, '<code class="inline">word</code>'),
        (EntityKind.CASHTAG, {}, '<span class="cashtag">word</span>'),
        (
            EntityKind.CUSTOM_EMOJI,
            {"document_id": 5},
            '<span class="custom-emoji" title="Custom emoji">word</span>',
        ),
        (EntityKind.UNKNOWN, {}, '<span class="entity">word</span>'),
    ],
)
def test_simple_entities_render_as_their_tags(
    kind: EntityKind, extra: dict[str, object], expected: str
) -> None:
    assert f"a {expected} b" == str(render_text("a word b", [ent(kind, 2, 4, **extra)]))


def test_spoiler_is_a_focusable_button_span() -> None:
    html = str(render_text("secret", [ent(EntityKind.SPOILER, 0, 6)]))
    assert html.startswith('<span class="spoiler" tabindex="0" role="button"')
    assert html.endswith('<span class="spoiler-text">secret</span></span>')


def test_pre_with_language_and_a_blockquote_are_blocks_without_stray_newlines() -> None:
    text = "print(1)\nquoted\nafter"
    html = str(
        render_text(text, [ent(EntityKind.PRE, 0, 8, language="python"), ent(EntityKind.BLOCKQUOTE, 9, 6)])
    )
    expected = (
        '<pre class="pre" data-language="python"><code class="language-python">print(1)</code></pre>'
        '<blockquote class="quote">quoted</blockquote>after'
    )
    assert expected == html


def test_a_hostile_pre_language_is_dropped() -> None:
    html = str(render_text("x", [ent(EntityKind.PRE, 0, 1, language='py" onmouseover="alert(1)')]))
    assert '<pre class="pre"><code>x</code></pre>' == html


def test_links_mentions_hashtags_and_emails() -> None:
    text = "see example.org @durov #News mail a@b.org"
    entities = [
        ent(EntityKind.URL, 4, 11),
        ent(EntityKind.MENTION, 16, 6),
        ent(EntityKind.HASHTAG, 23, 5),
        ent(EntityKind.EMAIL, 34, 7),
    ]
    html = str(render_text(text, entities, lambda key: f"tags/{key}.html"))
    assert (
        '<a class="link" href="http://example.org" rel="noopener noreferrer nofollow ugc" target="_blank">'
        in html
    )
    assert '<a class="mention" href="https://t.me/durov"' in html
    assert '<a class="hashtag" href="tags/news.html">#News</a>' in html
    assert '<a class="link" href="mailto:a@b.org"' in html


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example/x",
        "/etc/passwd",
        "../../secret.html",
        "https:evil.example",
        "http://",
        "file:///etc/passwd",
        "https://exa\u202emple.org",
        "https://example.org\u200b/x",
        "https:\\\\evil.example",
    ],
)
def test_unsafe_link_targets_become_plain_text(url: str) -> None:
    html = str(render_text("click me", [ent(EntityKind.TEXT_LINK, 0, 8, url=url)]))
    assert '<span class="unlinked">click me</span>' == html
    assert safe_href(url) is None


@pytest.mark.parametrize("covered", [" ", "\n", "\u200b", "\u2060", "\u3164", " \u200d "])
def test_a_link_over_nothing_visible_is_plain_text_not_a_nameless_tab_stop(covered: str) -> None:
    """Channels put a link on a space or a zero-width character to get its preview without showing it."""
    text = f"audio{covered}pdf"
    html = str(render_text(text, [ent(EntityKind.TEXT_LINK, 5, len(covered), url="https://t.me/c/263")]))
    assert f'audio<span class="unlinked">{covered}</span>pdf' == html


def test_a_link_over_visible_text_with_spaces_stays_a_link() -> None:
    html = str(render_text(" pdf ", [ent(EntityKind.TEXT_LINK, 0, 5, url="https://t.me/c/263")]))
    assert html.startswith('<a class="link" href="https://t.me/c/263"')


@pytest.mark.parametrize(
    "url", ["https://example.org/a?b=1&c=2", "http://t.me/x", "tg://resolve?domain=x", "mailto:a@b.org"]
)
def test_safe_link_targets_are_linked_and_attribute_escaped(url: str) -> None:
    html = str(render_text("go", [ent(EntityKind.TEXT_LINK, 0, 2, url=url)]))
    assert f'href="{url.replace("&", "&amp;")}"' in html


def test_a_url_entity_with_a_script_scheme_is_not_linked() -> None:
    text = "javascript:alert(document.cookie)"
    html = str(render_text(text, [ent(EntityKind.URL, 0, len(text))]))
    assert '<span class="unlinked">javascript:alert(document.cookie)</span>' == html
    assert autolink_href("example.org:8080/x") == "http://example.org:8080/x"


def test_quotes_in_a_link_cannot_break_out_of_the_attribute() -> None:
    html = str(
        render_text("x", [ent(EntityKind.TEXT_LINK, 0, 1, url='https://a.org/"onmouseover="alert(1)')])
    )
    assert "&#34;onmouseover=&#34;alert(1)" in html
    assert '" onmouseover' not in html


def test_a_link_inside_a_link_is_not_nested() -> None:
    text = "visit example.org now"
    html = str(
        render_text(text, [ent(EntityKind.TEXT_LINK, 0, 21, url="https://a.org"), ent(EntityKind.URL, 6, 11)])
    )
    assert 1 == html.count("<a ")
    assert '<span class="unlinked">example.org</span>' in html


def test_overlapping_entities_close_and_reopen_so_html_stays_well_formed() -> None:
    html = str(render_text("abcdef", [ent(EntityKind.BOLD, 0, 4), ent(EntityKind.ITALIC, 2, 4)]))
    assert "<strong>ab<em>cd</em></strong><em>ef</em>" == html


def test_bold_inside_a_text_link_stays_inside_one_anchor() -> None:
    html = str(
        render_text(
            "read the docs",
            [ent(EntityKind.TEXT_LINK, 0, 13, url="https://d.org"), ent(EntityKind.BOLD, 5, 3)],
        )
    )
    assert html.count("<a ") == 1
    assert "read <strong>the</strong> docs</a>" in html


def test_entities_beyond_the_text_and_lone_surrogates_do_not_break_rendering() -> None:
    assert "ab\ufffd" == str(render_text("ab\ud800", [ent(EntityKind.BOLD, 10, 5)]))
    assert "x\ufffdy" == clean_text("x\udc00y")


def test_hashtag_keys_and_slugs_are_safe_file_names() -> None:
    assert "news" == tag_key("#News")
    assert "news" == tag_slug("news")
    assert tag_slug("index").startswith("index-")  # tags/index.html lists the hashtags
    assert tag_slug("новости").startswith("t-")
    assert "/" not in tag_slug("../../etc")
    assert "." not in tag_slug("../../etc")


def test_media_paths_from_the_archive_are_checked_against_the_store_naming() -> None:
    sha = "ab" + "cd" + "0" * 60
    assert f"media/ab/cd/{sha}.jpg" == media_site_path(f"ab/cd/{sha}.jpg")
    assert media_site_path("../../etc/passwd") is None
    assert media_site_path(f"ab/cd/{sha}.jpg/../../x") is None
    assert media_site_path(f"ff/cd/{sha}.jpg") is None


def test_relative_urls_between_pages() -> None:
    assert "2024-01.html#post-3" == relative_url("c/1/2024-03.html", "c/1/2024-01.html", "post-3")
    assert "../../../static/site.css" == relative_url("c/1/posts/5.html", "static/site.css")
    assert "c/1/index.html" == relative_url("index.html", "c/1/index.html")
