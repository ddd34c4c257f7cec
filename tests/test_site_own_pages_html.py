"""The channel home's month navigator and the statistics page's table by month, written in Python
(``navigator_html`` in ``pages/layout.py``, ``months_html`` in ``stats.py``), against the theme's Jinja
they stand for: a site built with the old templates as a user's own (and with the theme's macros as a
user's ``_macros.html``) has the same bytes on every channel home and statistics page, and each piece
alone is the macro's or the loop's bytes for any values."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from test_site_archive import UoW, make_archive
from test_site_incremental import Sites
from tgvault.export.site import SiteOptions
from tgvault.export.site.pages.layout import navigator_html
from tgvault.export.site.render import Renderer
from tgvault.export.site.stats import months_html
from tgvault.storage.media_store import LocalMediaStore

OLD_NAV = "{{ navigator(months_nav) }}\n{% endblock %}"
NEW_NAV = "{{ months_nav_html }}\n{% endblock %}"
OLD_TABLE = (
    "    <tbody>\n"
    '    {% for m in stats.months %}<tr><th scope="row">{{ m.label }}</th><td>{{ m.posts }}</td>'
    "<td>{{ m.deleted }}</td>{% if stats.has_views %}<td>{{ m.views }}</td>{% endif %}</tr>{% endfor %}\n"
    "    </tbody>\n"
)
NEW_TABLE = "    <tbody>\n{{ stats.months_html }}    </tbody>\n"
HOSTILE = ["", "<script>x</script>", "\"'&<>", "a & b", "\u202eevil", "{{ x }}", "\ud800", "€ 😀"]


def _bundled(name: str) -> str:
    return resources.files("tgvault.export.site").joinpath(f"templates/{name}").read_text()


def _old_theme(folder: Path, macros: bool = False) -> Path:
    """The theme's channel and statistics templates as they were (Jinja loops), as a user's own."""
    folder.mkdir()
    channel, stats = _bundled("channel.html"), _bundled("stats.html")
    assert NEW_NAV in channel and NEW_TABLE in stats
    old_channel = channel.replace(NEW_NAV, OLD_NAV).replace(
        '{% from "_macros.html" import channel_card %}',
        '{% from "_macros.html" import channel_card, navigator %}',
    )
    (folder / "channel.html").write_text(old_channel)
    (folder / "stats.html").write_text(stats.replace(NEW_TABLE, OLD_TABLE))
    if macros:
        (folder / "_macros.html").write_text(_bundled("_macros.html"))
    return folder


def _own_pages(site: Path) -> dict[str, bytes]:
    found = {
        str(p.relative_to(site)): p.read_bytes()
        for p in sorted((site / "c").glob("*/*.html"))
        if p.name in ("index.html", "stats.html")
    }
    assert len(found) >= 4
    return found


def test_channel_homes_and_statistics_are_byte_for_byte_the_old_templates(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    store = LocalMediaStore(tmp_path / "media")
    make_archive(unit_of_work, store)
    sites = Sites(unit_of_work, store, tmp_path)
    sites.build("python")
    sites.build("loops", templates_dir=_old_theme(tmp_path / "old"))
    sites.build("macros", templates_dir=_old_theme(tmp_path / "old-macros", macros=True))
    python = _own_pages(tmp_path / "python")
    assert python == _own_pages(tmp_path / "loops")
    assert python == _own_pages(tmp_path / "macros")
    pages = b"".join(python.values()).decode()
    assert pages.count('<nav class="navigator" aria-label="Months">') >= 2
    assert '<th scope="row">' in pages


def test_a_user_macros_navigator_is_used(unit_of_work: UoW, tmp_path: Path) -> None:
    """A user's ``_macros.html`` with its own navigator: the channel home shows that one."""
    store = LocalMediaStore(tmp_path / "media")
    make_archive(unit_of_work, store)
    theme = tmp_path / "theme"
    theme.mkdir()
    macros = _bundled("_macros.html").replace(
        '<nav class="navigator" aria-label="Months">', '<nav class="mine">'
    )
    (theme / "_macros.html").write_text(macros)
    Sites(unit_of_work, store, tmp_path).build("site", templates_dir=theme)
    home = next((tmp_path / "site" / "c").glob("*/index.html")).read_text()
    assert '<nav class="mine">' in home and 'class="navigator"' not in home


values = st.sampled_from(HOSTILE) | st.text(max_size=10) | st.integers(min_value=0, max_value=10**7)
month = st.fixed_dictionaries(
    {
        "label": values,
        "title": values,
        "url": values,
        "current": st.booleans(),
        "count": st.none() | st.integers(min_value=0, max_value=10**6),
    }
)
year = st.fixed_dictionaries({"year": values, "months": st.lists(month, max_size=4)})
row = st.fixed_dictionaries({"label": values, "posts": values, "deleted": values, "views": values})


@settings(max_examples=300, deadline=None)
@given(years=st.lists(year, max_size=4))
def test_the_navigator_is_the_macros_bytes(years: list[dict[str, object]]) -> None:
    renderer = Renderer(SiteOptions(out_dir=Path("unused")))
    assert str(navigator_html(years)) == str(renderer.macro("navigator", years))


@settings(max_examples=300, deadline=None)
@given(months=st.lists(row, max_size=5), has_views=st.booleans())
def test_the_table_by_month_is_the_loops_bytes(months: list[dict[str, object]], has_views: bool) -> None:
    env = Renderer(SiteOptions(out_dir=Path("unused"))).env
    stats = {"months": months, "has_views": has_views}
    new = env.from_string(NEW_TABLE).render(stats={**stats, "months_html": months_html(months, has_views)})
    assert new == env.from_string(OLD_TABLE).render(stats=stats)
