"""What the pages of the site share: the page frame's values, the channel header, the month navigator."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import groupby
from typing import Any

from markupsafe import Markup

from tgvault.export.site.context import BuildContext
from tgvault.export.site.formatting import MONTH_NAMES, month_label
from tgvault.export.site.links import tme_channel_url, valid_username
from tgvault.export.site.page_links import PageLinks
from tgvault.export.site.plan import ChannelPlan
from tgvault.export.site.richtext import clean_text, escape_text


def page_context(ctx: BuildContext, path: str, title: str, **extra: Any) -> dict[str, Any]:
    """What every page's template gets: the page's title, links to the root, search and assets."""
    links = PageLinks(path, ctx.site)
    base = ctx.options.absolute_base
    page = {
        "path": path,
        "title": clean_text(title),
        "root": links.to("index.html"),
        "search": links.to("search.html"),
        "css": links.static("site.css"),
        "noscript_css": links.static("noscript.css"),
        "js": links.static("site.js"),
        "icon": links.static("favicon.svg"),
        "canonical": f"{base}/{path}" if base else None,
        "timezone": ctx.options.timezone,
    }
    return {"page": page, "links": links, **extra}


def channel_header(plan: ChannelPlan, links: PageLinks, avatar_path: str | None) -> dict[str, object]:
    """What every channel page shows at the top: title, @username, photo, links."""
    channel = plan.channel
    title = clean_text(channel.title)
    username = valid_username(channel.username)
    return {
        "title": title,
        "username": username,
        "letter": (title.strip()[:1] or "#").upper(),
        "avatar": links.to(avatar_path) if avatar_path else None,
        "home": links.to(plan.index_path),
        "tme": tme_channel_url(channel),
        "tags": links.to(plan.tags_path) if plan.tags else None,
        "stats": links.to(plan.stats_path),
        "atom": links.to(plan.atom_path),
        "rss": links.to(plan.rss_path),
    }


def page_header(ctx: BuildContext, plan: ChannelPlan, links: PageLinks) -> dict[str, object]:
    """The channel header of a page of ``plan`` (see :func:`channel_header`)."""
    return channel_header(plan, links, ctx.avatars.get(plan.channel.id))


def months_navigator(plan: ChannelPlan, links: PageLinks, current: int | None, counts: bool) -> list[Any]:
    """The month navigator of a channel's pages: years, their months, the current one marked."""
    years: list[dict[str, Any]] = []
    sizes = {month: sum(len(plan.pages[i].ids) for i in indexes) for month, indexes in plan.months.items()}
    for year, months in groupby(plan.display_months(), key=lambda m: m // 12):
        entries = [
            {
                "label": MONTH_NAMES[month % 12][:3],
                "title": month_label(month),
                "url": links.to(plan.month_entry(month).path),
                "current": month == current,
                "count": sizes[month] if counts else None,
            }
            for month in months
        ]
        years.append({"year": year, "months": entries})
    return years


def navigator_html(years: Sequence[Mapping[str, Any]]) -> Markup:
    """The month navigator as the theme's ``navigator`` macro writes it (the same bytes; the tests compare)."""
    _e = escape_text
    parts = ['<nav class="navigator" aria-label="Months">\n']
    for year in years:
        parts.append(
            f'  <div class="nav-year">\n    <span class="nav-year-label">{_e(year["year"])}</span>\n    <ul>\n'
        )
        for m in year["months"]:
            count = m["count"]
            counted = count is not None
            parts.append(
                f'      <li><a href="{_e(m["url"])}" title="{_e(m["title"])}'
                + (f": {_e(count)} posts" if counted else "")
                + '"'
                + (' aria-current="page" class="current"' if m["current"] else "")
                + f">{_e(m['label'])}"
                + (f"<small>{_e(count)}</small>" if counted else "")
                + "</a></li>\n"
            )
        parts.append("    </ul>\n  </div>\n")
    parts.append("</nav>")
    return Markup("".join(parts))  # noqa: S704 - every value escaped here


def months_navigator_html(ctx: BuildContext, years: Sequence[Mapping[str, Any]]) -> Markup:
    """The month navigator: written in Python for the theme's ``_macros.html``, through the ``navigator``
    macro of a user's own."""
    if ctx.renderer.theme_macros:
        return navigator_html(years)
    return ctx.renderer.macro("navigator", years)
