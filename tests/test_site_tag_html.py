"""A hashtag page's list written in Python (``entries_html`` in ``pages/tags.py``) against the loop over
``entries`` the theme's ``tag.html`` had: a site built with that template as a user's own ``tag.html``
(rendered through Jinja from ``entries``) has the same bytes on every hashtag page as the bundled theme,
with hostile text, deleted posts and pages of both orders; and the list alone is the loop's bytes for any
entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_site_archive import NEWS, UoW, ent
from test_site_incremental import Sites
from tgvault.domain import EntityKind, Post
from tgvault.export.site import SiteOptions
from tgvault.export.site.options import Order
from tgvault.export.site.pages.tags import entries_html
from tgvault.export.site.render import Renderer
from tgvault.storage.media_store import LocalMediaStore

# The theme's loop over a hashtag page's entries before they were written in Python (issue 19).
LOOP = """  <ol class="tag-posts">
  {% for e in entries %}
    <li class="tag-post{% if e.deleted %} is-deleted{% endif %}">
      <a class="tag-date" href="{{ e.url or e.permalink }}">{{ e.date }}</a>{% if e.deleted %} <span class="flag-inline">deleted</span>{% endif %}
      <p dir="auto">{{ e.text }}</p>
    </li>
  {% endfor %}
  </ol>
"""
LIST = """  <ol class="tag-posts">
{{ entries_html }}  </ol>
"""
HOSTILE = [
    "",
    "<script>alert(1)</script>",
    "\"'&<>",
    "a & b",
    "\u202eevil\u202c",
    "{{ x }}",
    "\ud800",
    "€ 😀",
]
TEXTS = [text for text in HOSTILE if text != "\ud800"]  # what the archive can hold
START = datetime(2024, 1, 1, tzinfo=UTC)


def _theme_with_the_loop(folder: Path) -> Path:
    bundled = resources.files("tgvault.export.site").joinpath("templates/tag.html").read_text()
    assert LIST in bundled
    folder.mkdir()
    (folder / "tag.html").write_text(bundled.replace(LIST, LOOP))
    return folder


def _post(i: int) -> Post:
    text = f"#news {TEXTS[i % len(TEXTS)]} post {i}" + (" #odd" if i % 5 == 0 else "")
    entities = [ent(EntityKind.HASHTAG, text, "#news")]
    if i % 5 == 0:
        entities.append(ent(EntityKind.HASHTAG, text, "#odd"))
    return Post(
        channel_id=NEWS.id,
        message_id=i,
        date=START + timedelta(hours=5 * i),
        text=text,
        entities=tuple(entities),
    )


def _fill(unit_of_work: UoW) -> None:
    """250 posts carrying #news (two pages of it), every fifth also #odd, hostile text in many, a few
    deleted on Telegram."""
    with unit_of_work() as uow:
        uow.channels.upsert(NEWS, START)
        uow.posts.upsert_many([_post(i) for i in range(1, 251)], START)
        uow.posts.mark_deleted(NEWS.id, [3, 10, 200, 249], START + timedelta(days=60))
        uow.commit()


def _tag_pages(site: Path) -> dict[str, bytes]:
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted((site / "c").rglob("tags/**/*.html"))}


@pytest.mark.parametrize("order", [Order.NEWEST, Order.OLDEST])
def test_hashtag_pages_are_byte_for_byte_those_of_the_theme_loop(
    unit_of_work: UoW, tmp_path: Path, order: Order
) -> None:
    _fill(unit_of_work)
    theme = _theme_with_the_loop(tmp_path / "theme")
    sites = Sites(unit_of_work, LocalMediaStore(tmp_path / "media"), tmp_path, order=order, per_page=20)
    sites.build("python")
    sites.build("loop", templates_dir=theme)
    python, loop = _tag_pages(tmp_path / "python"), _tag_pages(tmp_path / "loop")
    assert len(python) == 4  # the index, #news's two pages, #odd
    assert python == loop
    page = b"".join(python.values()).decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert page.count('<li class="tag-post is-deleted">') == 6  # 4 in #news, 10 and 200 in #odd too
    assert page.count('<span class="flag-inline">deleted</span>') == 6


entry = st.fixed_dictionaries(
    {
        "url": st.none() | st.sampled_from(HOSTILE) | st.text(max_size=8),
        "permalink": st.sampled_from(HOSTILE) | st.text(max_size=8),
        "date": st.sampled_from(HOSTILE) | st.text(max_size=8),
        "text": st.sampled_from(HOSTILE) | st.text(max_size=20),
        "deleted": st.booleans(),
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(entry, max_size=6))
def test_the_list_is_the_loops_bytes(entries: list[dict[str, object]], tmp_path: Path) -> None:
    env = Renderer(SiteOptions(out_dir=tmp_path / "site")).env
    assert env.from_string(LIST).render(entries_html=entries_html(entries)) == env.from_string(LOOP).render(
        entries=entries
    )
