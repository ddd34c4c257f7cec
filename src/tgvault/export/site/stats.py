"""Statistics of a channel as static inline SVG: posts per month, views per post, subscribers over time.

No script draws anything; colours come from the stylesheet, so the charts follow the light/dark theme.
Every label is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from markupsafe import Markup

from tgvault.export.site.formatting import MONTH_NAMES, format_day, human_count, month_key, month_label
from tgvault.export.site.plan import ChannelPlan
from tgvault.export.site.richtext import escape_text as _e

WIDTH = 720
HEIGHT = 220
PAD_LEFT = 48
PAD_BOTTOM = 30
PAD_TOP = 10


@dataclass(frozen=True)
class MonthStats:
    """One month of a channel."""

    month: int
    posts: int
    deleted: int
    views_total: int
    views_posts: int

    @property
    def views_average(self) -> int:
        """Average views of the month's posts that have a view count."""
        return round(self.views_total / self.views_posts) if self.views_posts else 0


def month_stats(plan: ChannelPlan) -> list[MonthStats]:
    """Per month (oldest first, every month between the first and last post): counts and views."""
    counts = plan.posts.month_counts()
    if not counts:
        return []
    first, last = min(counts), max(counts)
    return [
        MonthStats(month, *counts.get(month, [0, 0, 0, 0]))  # every month, empty ones too
        for month in range(first, last + 1)
    ]


def _axis(maximum: int, inner_height: float) -> list[str]:
    parts = []
    for step in (0, 0.5, 1):
        value = round(maximum * step)
        y = PAD_TOP + inner_height * (1 - step)
        parts.append(f'<line class="grid" x1="{PAD_LEFT}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_e(human_count(value))}</text>'
        )
    return parts


def _month_ticks(months: Sequence[int], x_of: list[float], slot: float) -> list[str]:
    """Month initials under the bars when there is room, and the year at each January."""
    parts = []
    every_month = slot >= 16
    letters = 3 if slot >= 28 else 1
    for month, x in zip(months, x_of, strict=True):
        if every_month:
            parts.append(
                f'<text class="axis" x="{x + slot / 2:.1f}" y="{HEIGHT - 12}" text-anchor="middle">'
                f"{_e(MONTH_NAMES[month % 12][:letters])}</text>"
            )
        if month % 12 == 0 or month == months[0]:
            parts.append(f'<text class="axis year" x="{x:.1f}" y="{HEIGHT}">{month // 12}</text>')
    return parts


def _svg_open(label: str) -> str:
    return f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{_e(label)}">'


def bar_chart(label: str, months: Sequence[int], values: Sequence[int | None], unit: str) -> Markup:
    """A bar per month; each bar has a tooltip (``<title>``) with the month and value.

    A month whose value is None (nothing recorded, as opposed to zero) gets no bar.
    """
    maximum = max((value for value in values if value is not None), default=0) or 1
    inner_w = WIDTH - PAD_LEFT
    inner_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = inner_w / max(len(values), 1)
    bar = max(slot * 0.8, 0.5)
    parts = [_svg_open(label)]
    parts.extend(_axis(maximum, inner_h))
    unit_text = _e(unit)
    width = f"{bar:.2f}"
    xs = []
    for position, (month, value) in enumerate(zip(months, values, strict=True)):
        xs.append(PAD_LEFT + position * slot)
        if value is None:
            continue
        height = inner_h * value / maximum
        x = PAD_LEFT + position * slot + (slot - bar) / 2
        parts.append(
            f'<rect class="bar" x="{x:.2f}" y="{PAD_TOP + inner_h - height:.2f}" width="{width}" '
            f'height="{height:.2f}"><title>{_e(month_label(month))}: {value:,} {unit_text}</title></rect>'
        )
    parts.extend(_month_ticks(months, xs, slot))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text escaped above, the rest numbers


def line_chart(label: str, points: Sequence[tuple[datetime, int]], zone: tzinfo, unit: str) -> Markup:
    """A line through dated values (such as subscriber counts), with a dot and tooltip per point."""
    if not points:
        return Markup("")
    maximum = max(value for _, value in points) or 1
    start = points[0][0].timestamp()
    span = (points[-1][0].timestamp() - start) or 1.0
    inner_w = WIDTH - PAD_LEFT - 8
    inner_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    coords = [
        (PAD_LEFT + inner_w * (moment.timestamp() - start) / span, PAD_TOP + inner_h * (1 - value / maximum))
        for moment, value in points
    ]
    parts = [_svg_open(label)]
    parts.extend(_axis(maximum, inner_h))
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    parts.append(f'<polyline class="line" points="{path}"/>')
    unit_text = _e(unit)
    for (moment, value), (x, y) in zip(points, coords, strict=True):
        parts.append(
            f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="2.5"><title>{_e(format_day(moment, zone))}: '
            f"{value:,} {unit_text}</title></circle>"
        )
    first_label = _e(format_day(points[0][0], zone))
    last_label = _e(format_day(points[-1][0], zone))
    parts.append(f'<text class="axis" x="{PAD_LEFT}" y="{HEIGHT - 6}">{first_label}</text>')
    parts.append(f'<text class="axis" x="{WIDTH}" y="{HEIGHT - 6}" text-anchor="end">{last_label}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text escaped above, the rest numbers


def views_over_time(points: Sequence[tuple[datetime, int]], zone: tzinfo) -> Markup | None:
    """A post's views as the archive saw them grow (its counter time series); None with fewer than two."""
    if len(points) < 2:
        return None
    return line_chart("Views over time", points, zone, "views")


def months_html(months: Sequence[Mapping[str, object]], has_views: bool) -> Markup:
    """The rows of the table by month, as the theme's ``stats.html`` loops over ``stats.months`` (the
    same bytes; ``months`` still goes to templates)."""
    rows = "".join(
        f'<tr><th scope="row">{_e(m["label"])}</th><td>{_e(m["posts"])}</td><td>{_e(m["deleted"])}</td>'
        + (f"<td>{_e(m['views'])}</td>" if has_views else "")
        + "</tr>"
        for m in months
    )
    return Markup(rows)  # noqa: S704 - every value escaped here


def stats_context(
    plan: ChannelPlan, observations: Sequence[tuple[datetime, int | None, str]], zone: tzinfo
) -> dict[str, object]:
    """Everything the statistics page shows: totals, a table per month and the charts."""
    rows = month_stats(plan)
    months = [row.month for row in rows]
    subscribers = [(moment, count) for moment, count, _ in observations if count is not None]
    total_views = sum(row.views_total for row in rows)
    # Telegram Desktop exports carry no view counts: then say so rather than show zeros and an empty chart
    has_views = any(row.views_posts for row in rows)
    table = [
        {
            "key": month_key(row.month),
            "label": month_label(row.month),
            "posts": row.posts,
            "deleted": row.deleted,
            "views": f"{row.views_average:,}" if row.views_posts else "",
        }
        for row in reversed(rows)
    ]
    return {
        "total_posts": len(plan.posts),
        "deleted_posts": sum(row.deleted for row in rows),
        "has_views": has_views,
        "total_views": f"{total_views:,}",
        "months": table,
        "months_html": months_html(table, has_views),
        "posts_chart": bar_chart("Posts per month", months, [row.posts for row in rows], "posts"),
        "views_chart": (
            bar_chart(
                "Average views per post, by month",
                months,
                [row.views_average if row.views_posts else None for row in rows],
                "views per post",
            )
            if has_views
            else None
        ),
        "subscribers_chart": (
            line_chart("Subscribers over time", subscribers, zone, "subscribers")
            if len(subscribers) > 1
            else None
        ),
        "subscribers_note": (
            f"{subscribers[0][1]:,} subscribers on {format_day(subscribers[0][0], zone)}"
            if len(subscribers) == 1
            else None
        ),
    }
