"""The statistics page's charts, written with plain string formatting, against the ``Markup.format`` code
they replaced (kept here as the reference): byte for byte the same SVG for any months, values, dates and
labels, hostile labels escaped as markupsafe escapes them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from tgvault.export.site.formatting import MONTH_NAMES, format_day, human_count, month_label
from tgvault.export.site.stats import (
    HEIGHT,
    PAD_BOTTOM,
    PAD_LEFT,
    PAD_TOP,
    WIDTH,
    bar_chart,
    line_chart,
)

# ---- the reference: the charts as drawn with Markup.format before (issue 19) ---------------------------


def _axis(maximum: int, inner_height: float) -> list[Markup]:
    parts = []
    for step in (0, 0.5, 1):
        value = round(maximum * step)
        y = PAD_TOP + inner_height * (1 - step)
        parts.append(
            Markup('<line class="grid" x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}"/>').format(
                PAD_LEFT, WIDTH, y, y
            )
        )
        parts.append(
            Markup('<text class="axis" x="{}" y="{:.1f}" text-anchor="end">{}</text>').format(
                PAD_LEFT - 6, y + 4, human_count(value)
            )
        )
    return parts


def _month_ticks(months: Sequence[int], x_of: list[float], slot: float) -> list[Markup]:
    parts = []
    every_month = slot >= 16
    for month, x in zip(months, x_of, strict=True):
        if every_month:
            parts.append(
                Markup('<text class="axis" x="{:.1f}" y="{}" text-anchor="middle">{}</text>').format(
                    x + slot / 2, HEIGHT - 12, MONTH_NAMES[month % 12][: 3 if slot >= 28 else 1]
                )
            )
        if month % 12 == 0 or month == months[0]:
            parts.append(
                Markup('<text class="axis year" x="{:.1f}" y="{}">{}</text>').format(x, HEIGHT, month // 12)
            )
    return parts


def reference_bar_chart(label: str, months: Sequence[int], values: Sequence[int | None], unit: str) -> Markup:
    maximum = max((value for value in values if value is not None), default=0) or 1
    inner_w = WIDTH - PAD_LEFT
    inner_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = inner_w / max(len(values), 1)
    bar = max(slot * 0.8, 0.5)
    parts: list[Markup] = [
        Markup('<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}">').format(
            WIDTH, HEIGHT, label
        )
    ]
    parts.extend(_axis(maximum, inner_h))
    xs = []
    for position, (month, value) in enumerate(zip(months, values, strict=True)):
        xs.append(PAD_LEFT + position * slot)
        if value is None:
            continue
        height = inner_h * value / maximum
        x = PAD_LEFT + position * slot + (slot - bar) / 2
        parts.append(
            Markup(
                '<rect class="bar" x="{:.2f}" y="{:.2f}" width="{:.2f}" height="{:.2f}">'
                "<title>{}: {} {}</title></rect>"
            ).format(x, PAD_TOP + inner_h - height, bar, height, month_label(month), f"{value:,}", unit)
        )
    parts.extend(_month_ticks(months, xs, slot))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def reference_line_chart(
    label: str, points: Sequence[tuple[datetime, int]], zone: tzinfo, unit: str
) -> Markup:
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
    parts: list[Markup] = [
        Markup('<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}">').format(
            WIDTH, HEIGHT, label
        )
    ]
    parts.extend(_axis(maximum, inner_h))
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    parts.append(Markup('<polyline class="line" points="{}"/>').format(path))
    for (moment, value), (x, y) in zip(points, coords, strict=True):
        parts.append(
            Markup(
                '<circle class="dot" cx="{:.1f}" cy="{:.1f}" r="2.5"><title>{}: {} {}</title></circle>'
            ).format(x, y, format_day(moment, zone), f"{value:,}", unit)
        )
    first_label = format_day(points[0][0], zone)
    last_label = format_day(points[-1][0], zone)
    parts.append(
        Markup('<text class="axis" x="{}" y="{}">{}</text>').format(PAD_LEFT, HEIGHT - 6, first_label)
    )
    parts.append(
        Markup('<text class="axis" x="{}" y="{}" text-anchor="end">{}</text>').format(
            WIDTH, HEIGHT - 6, last_label
        )
    )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


# ---- the properties ------------------------------------------------------------------------------------

HOSTILE = [
    "",
    "Posts per month",
    "<script>x</script>",
    "\"'&<>",
    "a & b",
    "\u202e\u200f",
    "{} {:.2f}",
    "\x00",
]
texts = st.sampled_from(HOSTILE) | st.text(max_size=12)
counts = st.integers(min_value=0, max_value=3_000_000_000)


@st.composite
def monthly(draw: st.DrawFn) -> tuple[list[int], list[int | None]]:
    """Consecutive months (one to 150 of them: a slot wide enough for names, initials, neither) and a
    value, or none, for each."""
    first = draw(st.integers(min_value=2000 * 12, max_value=2030 * 12))
    values = draw(st.lists(st.none() | counts, min_size=1, max_size=150))
    return list(range(first, first + len(values))), values


zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-11))])


@st.composite
def dated(draw: st.DrawFn) -> list[tuple[datetime, int]]:
    start = draw(
        st.datetimes(min_value=datetime(2013, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))
    )
    steps = draw(st.lists(st.integers(min_value=0, max_value=10**8), max_size=40))
    moments = [start]
    for step in steps:
        moments.append(moments[-1] + timedelta(seconds=step))
    return [(moment, draw(counts)) for moment in moments]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=monthly(), label=texts, unit=texts)
def test_the_bar_chart_is_byte_for_byte_the_markup_format_one(
    data: tuple[list[int], list[int | None]], label: str, unit: str
) -> None:
    months, values = data
    drawn = bar_chart(label, months, values, unit)
    assert isinstance(drawn, Markup)
    assert str(drawn) == str(reference_bar_chart(label, months, values, unit))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(points=dated() | st.just([]), zone=zones, label=texts, unit=texts)
def test_the_line_chart_is_byte_for_byte_the_markup_format_one(
    points: list[tuple[datetime, int]], zone: tzinfo, label: str, unit: str
) -> None:
    drawn = line_chart(label, points, zone, unit)
    assert isinstance(drawn, Markup)
    assert str(drawn) == str(reference_line_chart(label, points, zone, unit))


def test_labels_and_units_are_escaped() -> None:
    svg = str(bar_chart('<b a="1">&', [2024 * 12], [7], "<i>'views'</i>"))
    assert 'aria-label="&lt;b a=&#34;1&#34;&gt;&amp;"' in svg
    assert "<title>January 2024: 7 &lt;i&gt;&#39;views&#39;&lt;/i&gt;</title>" in svg
    assert "<b" not in svg and "<i>" not in svg
    line = str(
        line_chart(
            "<x>", [(datetime(2024, 1, 1, tzinfo=UTC), 1), (datetime(2024, 2, 1, tzinfo=UTC), 3)], UTC, "<u>"
        )
    )
    assert 'aria-label="&lt;x&gt;"' in line and "3 &lt;u&gt;</title>" in line and "<u>" not in line
