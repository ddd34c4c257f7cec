"""The shortcuts of a post's page against the general code they stand for.

The site escapes with :func:`escape_text` (markupsafe's C escaping of a str, a Python fallback without
it). A permalink page's frame fills its slots with :func:`escape_text` (not a ``Markup`` object a value):
the bytes must be markupsafe's for any value, hostile or not. A card's and a post record's dates are
worked out from one local time (:func:`card_dates`): the same strings as ``iso``, ``format_time``,
``format_full`` and ``format_day`` of the moment, in any timezone, across daylight saving changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup, escape

from tgvault.export.site.formatting import card_dates, format_day, format_full, format_time, iso
from tgvault.export.site.frame import Frame, slot
from tgvault.export.site.richtext import _escape_python, escape_text

HOSTILE = [
    "",
    "<script>alert(1)</script>",
    "\"'&<>",
    "&amp;&#34;&lt;",
    "javascript:alert(1)",
    "שלום \u202e مرحبا",
    "😀🇷🇺",
    "\x00\u2028",
]
values = st.sampled_from(HOSTILE) | st.text(max_size=20) | st.integers() | st.none()
markup = st.sampled_from([Markup("<b>card</b>"), Markup("&amp;"), Markup("")])
ZONES: list[tzinfo] = [
    UTC,
    ZoneInfo("Europe/Berlin"),
    ZoneInfo("America/St_Johns"),
    timezone(timedelta(hours=-9, minutes=-30)),
]


@settings(max_examples=300, deadline=None)
@given(st.lists(values | markup, min_size=1, max_size=5), st.lists(st.sampled_from(HOSTILE), max_size=6))
def test_a_frame_fills_its_slots_as_markupsafe_escapes(filled: list[object], literals: list[str]) -> None:
    names = [f"slot_{chr(97 + i)}" for i in range(len(filled))]
    template = "".join(
        f"{escape(literals[i % len(literals)]) if literals else ''}{slot(name)}"
        for i, name in enumerate(names)
    )
    frame = Frame(template + "</html>")
    by_name = dict(zip(names, filled, strict=True))
    expected = "".join(
        f"{escape(literals[i % len(literals)]) if literals else ''}{escape(value)}"
        for i, value in enumerate(filled)
    )
    assert frame.fill(by_name) == expected + "</html>"


@settings(max_examples=500, deadline=None)
@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    st.sampled_from(ZONES),
)
def test_card_dates_are_the_three_formats_of_the_moment(moment: datetime, zone: tzinfo) -> None:
    local_iso, clock, full = card_dates(moment, zone)
    assert local_iso == iso(moment, zone)
    assert clock == format_time(moment, zone)
    assert full == format_full(moment, zone)
    assert full.partition(",")[0] == format_day(moment, zone)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(HOSTILE) | st.text() | st.integers() | st.none() | st.floats())
def test_escape_text_and_its_python_fallback_escape_as_markupsafe(value: object) -> None:
    expected = str(escape(value))
    assert escape_text(value) == expected
    assert _escape_python(str(value)) == expected
