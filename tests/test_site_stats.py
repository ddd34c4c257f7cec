"""The statistics page of a channel with view counts, without any (a Telegram Desktop import), and with some."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from served_site import build_archive_site
from tgvault.domain import Channel, Post
from tgvault.export.site.stats import bar_chart
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork

CHANNEL = Channel(id=4004, username=None, title="Imported")
NO_VIEWS = "No view counts recorded"


def _archive(
    views: Callable[[int], int | None],
) -> Callable[[Callable[[], UnitOfWork], LocalMediaStore], None]:
    """Thirty posts over three months (January to March 2024), post ``n`` with ``views(n)`` views."""

    def fill(uow_factory: Callable[[], UnitOfWork], store: LocalMediaStore) -> None:
        posts = [
            Post(
                channel_id=CHANNEL.id,
                message_id=n,
                date=datetime(2024, 1 + (n - 1) // 10, 1 + n % 10, 12, tzinfo=UTC),
                text=f"Post {n}",
                views=views(n),
            )
            for n in range(1, 31)
        ]
        with uow_factory() as uow:
            uow.channels.upsert(CHANNEL, datetime(2024, 1, 1, tzinfo=UTC))
            uow.posts.upsert_many(posts, datetime(2024, 4, 1, tzinfo=UTC))
            uow.commit()

    return fill


def _stats_page(tmp_path: Path, views: Callable[[int], int | None]) -> str:
    site = build_archive_site(tmp_path, _archive(views), title="Stats")
    return (site / "c" / str(CHANNEL.id) / "stats.html").read_text(encoding="utf-8")


def _bars(svg: str) -> list[str]:
    """The tooltips of a chart's bars."""
    return re.findall(r'<rect class="bar"[^>]*><title>([^<]*)</title>', svg)


def test_without_view_counts_the_page_says_so_instead_of_zeros_and_an_empty_chart(tmp_path: Path) -> None:
    page = _stats_page(tmp_path, lambda n: None)
    assert 1 == page.count(NO_VIEWS)
    assert "Views (sum)" not in page
    assert "Avg. views" not in page
    assert 'aria-label="Average views per post, by month"' not in page
    assert 1 == page.count('<svg class="chart"')  # posts per month only
    assert "Most viewed" not in page


def test_with_view_counts_the_sum_and_the_chart_are_shown(tmp_path: Path) -> None:
    page = _stats_page(tmp_path, lambda n: 100 * n)
    assert NO_VIEWS not in page
    assert "<dt>Views (sum)</dt><dd>46,500</dd>" in page
    assert 'aria-label="Average views per post, by month"' in page
    assert "Most viewed" in page


def test_a_month_without_view_counts_gets_no_bar_rather_than_a_zero(tmp_path: Path) -> None:
    """February imported from an export (no views), January and March synced (with views)."""
    page = _stats_page(tmp_path, lambda n: None if 11 <= n <= 20 else 10)
    chart = page.split('aria-label="Average views per post, by month"', 1)[1].split("</svg>", 1)[0]
    assert ["January 2024: 10 views per post", "March 2024: 10 views per post"] == _bars(chart)
    assert NO_VIEWS not in page


def test_a_bar_chart_leaves_out_months_without_a_value() -> None:
    svg = str(bar_chart("Views", [2024 * 12, 2024 * 12 + 1, 2024 * 12 + 2], [5, None, 0], "views"))
    assert ["January 2024: 5 views", "March 2024: 0 views"] == _bars(svg)
