"""Timeline pages: a month, or a part of a long month, written as a frame around its cards.

A timeline page's key has two halves: what its cards show (its posts' stamps, the places of the posts they
reply to) and what the page shows around them (the months, the month's days and parts, the neighbouring
pages). The page is written with where its cards lie in its bytes, so when only the frame changed (a new
page of the month changes every page's part navigation) the cards are taken from the page as written and
a new frame is rendered around them: no post is read, no card rendered. That holds for themes whose
``timeline.html`` shows the cards through ``history`` only; a theme that loops over ``items`` gets every
page rendered whole, as does a page whose file no longer has the bytes the manifest says were written.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from markupsafe import Markup

from tgvault.export.site.context import BuildContext
from tgvault.export.site.formatting import MONTH_NAMES, month_label
from tgvault.export.site.frame import FrameCache
from tgvault.export.site.options import Order
from tgvault.export.site.page_links import PageLinks
from tgvault.export.site.pages.cards import history_html
from tgvault.export.site.pages.layout import months_navigator, page_context, page_header
from tgvault.export.site.plan import ChannelPlan, TimelinePage, day_anchor
from tgvault.export.site.richtext import clean_text, escape_text
from tgvault.export.site.writer import PageWriter

# a month's day links, their HTML, and its parts as (path, label, days, url, escaped link head and tail)
_MonthLinks = tuple[list[dict[str, str]], Markup, list[tuple[str, str, str, str, str, str]]]


class TimelinePages:
    """Writes timeline pages, whole or as a new frame around the cards already written."""

    def __init__(self, ctx: BuildContext) -> None:
        self.ctx = ctx
        # the month navigator of a page, and its HTML, by (channel, the page's folder, its month): the
        # pages of a month (and every month of a folder but for the one marked) show the same one
        self._navigators: dict[tuple[int, str, int], tuple[list[Any], Markup]] = {}
        self._spliced: bool | None = None  # whether pages are written as a frame around their cards
        self.frames = FrameCache()  # the frames of the bundled theme's timeline pages, by month
        self._month_links_cache: dict[tuple[int, str, int], _MonthLinks] = {}

    def _splicing(self) -> bool:
        """Whether timeline pages are written as a frame around their cards (the theme's timeline
        template shows the cards only through ``history``), so a new frame can reuse the cards."""
        if self._spliced is None:
            # the bundled theme does (a test holds it to that); a user's templates are read to tell
            self._spliced = self.ctx.options.templates_dir is None or not self.ctx.renderer.reads_variable(
                "timeline.html", "items"
            )
        return self._spliced

    def kept_or_reframed(
        self,
        out: PageWriter,
        plan: ChannelPlan,
        page: TimelinePage,
        month_pages: list[TimelinePage],
        display: list[TimelinePage],
        position: dict[int, int],
        key: str,
    ) -> bool:
        """True when the timeline page needs no rendering for ``key``: it was written for it, or only its
        frame (navigation, days, parts, neighbours) changed and it was written again around the cards'
        bytes as they are. False when it is to be rendered whole (its cards changed, its file differs from
        what was written, another theme)."""
        stored = out.current_key(page.path)
        if stored is not None and (stored == key or stored.startswith(key + ".")):
            return out.skip_if_current(page.path, stored)
        out.skip_if_current(page.path, key)  # (reserves the path)
        if stored is None or not self._splicing():
            return False
        kept = _cards_span(stored)
        if kept is None or kept[0] != key.partition(".")[0]:
            return False
        old = out.current_content(page.path)
        start, length = kept[1], kept[2]
        if old is None or start + length > len(old):
            return False
        frame = self._html(plan, page, month_pages, [], display, position, _CARDS_MARKUP)
        return _write_around(out, page.path, frame, old[start : start + length], key)

    def write(
        self,
        out: PageWriter,
        plan: ChannelPlan,
        page: TimelinePage,
        month_pages: list[TimelinePage],
        items: list[dict[str, Any]],
        display: list[TimelinePage],
        position: dict[int, int],
        key: str,
    ) -> None:
        """One timeline page: a month, or a part of a long month, with its pager and day links; written
        with where its cards lie in its bytes when the theme allows a new frame around them later."""
        history = history_html(items)
        if self._splicing():
            frame = self._html(plan, page, month_pages, items, display, position, _CARDS_MARKUP)
            if _write_around(out, page.path, frame, history.encode("utf-8", "replace"), key):
                return
        html = self._html(plan, page, month_pages, items, display, position, history)
        out.write(page.path, html, key)

    def _month_links(self, plan: ChannelPlan, month: int, folder: str, links: PageLinks) -> _MonthLinks:
        """The day links of a month's pages (and their HTML) and its parts as (path, label, days, url,
        escaped link head, escaped link tail), in display order: once a build for the pages of a month
        in one folder, which all show the same ones (a page marks its own part)."""
        key = (plan.channel.id, folder, month)
        cached = self._month_links_cache.get(key)
        if cached is None:
            days = [
                {"label": str(_day_of_month(day)), "url": links.to(path, day_anchor(day))}
                for day, path in plan.month_days(month)
            ]
            parts = []
            for part, first, last in plan.month_parts(month):
                span = (
                    f"{_day_of_month(first)}–{_day_of_month(last)}"
                    if first != last
                    else f"{_day_of_month(first)}"
                )
                label, days_text, url = (
                    f"Part {part.number}",
                    f"{span} {MONTH_NAMES[month % 12][:3]}",
                    links.to(part.path),
                )
                head = f'<a href="{escape_text(url)}"'
                tail = f">{escape_text(label)} <small>{escape_text(days_text)}</small></a>"
                parts.append((part.path, label, days_text, url, head, tail))
            if plan.order is Order.NEWEST:
                parts.reverse()
            cached = self._month_links_cache[key] = (days, _days_html(days), parts)
        return cached

    def _html(
        self,
        plan: ChannelPlan,
        page: TimelinePage,
        month_pages: list[TimelinePage],
        items: list[dict[str, Any]],
        display: list[TimelinePage],
        position: dict[int, int],
        history: Markup,
    ) -> str:
        """The HTML of a timeline page around its cards (``items``, shown as ``history``). With the
        bundled theme the pages of a month are filled into a frame rendered once per shape (see
        :mod:`~tgvault.export.site.frame`): they differ only in their titles, parts, neighbours and cards."""
        ctx = self.ctx
        title = month_label(page.month)
        if len(month_pages) > 1:
            title += f", part {page.number} of {len(month_pages)}"
        links = PageLinks(page.path, ctx.site)
        at = position[page.index]
        newer_first = plan.order is Order.NEWEST
        previous = display[at - 1] if at > 0 else None
        following = display[at + 1] if at + 1 < len(display) else None
        folder = posixpath.dirname(page.path)
        days, days_html, month_parts = self._month_links(plan, page.month, folder, links)
        parts = []
        parts_html = Markup("")
        if len(month_pages) > 1:
            parts = [
                {"label": label, "days": span, "url": url, "current": path == page.path}
                for path, label, span, url, _, _ in month_parts
            ]
            parts_html = Markup(  # noqa: S704 - every value escaped by _month_links
                "".join(
                    head + (' aria-current="page" class="current"' if path == page.path else "") + tail
                    for path, _, _, _, head, tail in month_parts
                )
            )
        navigator_key = (plan.channel.id, folder, page.month)
        navigator = self._navigators.get(navigator_key)
        if navigator is None:
            years = months_navigator(plan, links, page.month, counts=False)
            navigator = self._navigators[navigator_key] = (years, ctx.renderer.macro("navigator", years))
        base = ctx.options.absolute_base
        values: dict[str, object] = {
            "title": clean_text(f"{plan.channel.title} — {title}"),
            "canonical": f"{base}/{page.path}" if base else None,
            "heading": title,
            "days_html": days_html,
            "parts_html": parts_html,
            "previous": links.to(previous.path) if previous else None,
            "next": links.to(following.path) if following else None,
            "history": history,
        }

        def render_with(slots: Mapping[str, object]) -> str:
            context = page_context(ctx, page.path, "")
            context["page"]["title"] = slots["title"]
            context["page"]["canonical"] = slots["canonical"]
            pager = {
                "previous": slots["previous"],
                "previous_label": "Newer posts" if newer_first else "Older posts",
                "next": slots["next"],
                "next_label": "Older posts" if newer_first else "Newer posts",
            }
            return ctx.renderer.render(
                "timeline.html",
                **context,
                channel=page_header(ctx, plan, context["links"]),
                heading=slots["heading"],
                months_nav=navigator[0],
                months_nav_html=navigator[1],
                days=days,
                days_html=slots["days_html"],
                parts=parts,
                parts_html=slots["parts_html"],
                pager=pager,
                items=items,
                history=slots["history"],
            )

        if ctx.options.templates_dir is not None:
            return render_with(values)
        # the pages of a month share a folder, its month navigator, days and channel header
        return self.frames.render((plan.channel.id, folder, page.month), values, render_with)


def _days_html(days: Sequence[Mapping[str, str]]) -> Markup:
    """The links of a timeline page's days, as the theme's ``timeline.html`` loops over ``days``."""
    links = "".join(f'<a href="{escape_text(d["url"])}">{escape_text(d["label"])}</a>' for d in days)
    return Markup(links)  # noqa: S704 - every value escaped here


# Where a timeline page's cards go in its frame: an HTML comment no escaped value can contain (``<``).
CARDS_MARK = "<!--tgvault:cards-->"
_CARDS_MARKUP = Markup(CARDS_MARK)  # noqa: S704 - a constant of this module


def _write_around(out: PageWriter, path: str, frame: str, cards: bytes, key: str) -> bool:
    """Write the page ``frame`` with ``cards`` where it marks them, keyed with where they lie; False
    (nothing written) when the frame does not mark their place exactly once."""
    before, mark, after = frame.partition(CARDS_MARK)
    if not mark or CARDS_MARK in after:
        return False
    head = before.encode("utf-8", "replace")
    out.write(path, head + cards + after.encode("utf-8", "replace"), f"{key}.{len(head)}.{len(cards)}")
    return True


def _cards_span(key: str) -> tuple[str, int, int] | None:
    """(cards key, start, length) of the cards' bytes in a page written with ``key``, when it says so."""
    fields = key.split(".")
    if len(fields) != 4 or not (fields[2].isdigit() and fields[3].isdigit()):
        return None
    return fields[0], int(fields[2]), int(fields[3])


def _day_of_month(day: int) -> int:
    return date.fromordinal(day).day
