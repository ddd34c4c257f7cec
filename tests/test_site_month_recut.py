"""A month that posts join is cut into pages again from its first change on: the pages before it are
kept as they were, joining posts are put in among the others by date, the pages next to a month's new
last page are linked to it, and the site and the kept plan equal a build from scratch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from test_site_archive import NEWS, UoW
from test_site_incremental import Sites, assert_same_site, kept_plan
from tgvault.domain import Post
from tgvault.storage.media_store import LocalMediaStore

START = datetime(2024, 1, 1, 8, tzinfo=UTC)


def _post(message_id: int, date: datetime, group: int | None = None) -> Post:
    return Post(
        channel_id=NEWS.id, message_id=message_id, date=date, text=f"post {message_id}", grouped_id=group
    )


def _sites(unit_of_work: UoW, tmp_path: Path) -> Sites:
    """January of 120 posts, five an hour, with albums of three across page boundaries (10 a page)."""
    with unit_of_work() as uow:
        uow.channels.upsert(NEWS, START)
        posts = []
        for i in range(1, 121):
            group = 9000 + i // 3 if 8 <= i % 10 or i % 10 == 0 else None
            posts.append(_post(i, START + timedelta(minutes=12 * i), group))
        uow.posts.upsert_many(posts, START)
        uow.commit()
    sites = Sites(unit_of_work, LocalMediaStore(tmp_path / "media"), tmp_path, per_page=10)
    assert not sites.build("site").incremental
    return sites


def _same_as_fresh(sites: Sites, tmp_path: Path) -> None:
    sites.fresh()
    assert_same_site(tmp_path / "site", tmp_path / "fresh")
    assert kept_plan(tmp_path / "fresh") == kept_plan(tmp_path / "site")


def test_posts_dated_among_a_months_posts_are_put_in_among_them(unit_of_work: UoW, tmp_path: Path) -> None:
    """New posts (new ids) dated in the middle and at the end of the month, an album among them, then
    one dated before every other post of the month: each rebuild equals a fresh build."""
    sites = _sites(unit_of_work, tmp_path)
    with unit_of_work() as uow:
        uow.posts.upsert_many(
            [
                _post(121, START + timedelta(minutes=12 * 70 + 5)),
                _post(122, START + timedelta(minutes=12 * 90 + 1), 7000),
                _post(123, START + timedelta(minutes=12 * 90 + 1), 7000),
                _post(124, START + timedelta(minutes=12 * 130)),
            ],
            START + timedelta(days=40),
        )
        uow.commit()
    assert sites.build("site").incremental
    _same_as_fresh(sites, tmp_path)
    with unit_of_work() as uow:  # and one before every other post of the month
        uow.posts.upsert_many([_post(125, START - timedelta(hours=1))], START + timedelta(days=41))
        uow.commit()
    assert sites.build("site").incremental
    _same_as_fresh(sites, tmp_path)


def test_a_month_that_grows_a_page_changes_the_link_to_it_from_the_next_month(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    """Posts dated late in January after February has pages: January's new last page is the
    neighbour of February's first, whose link to it changes; the rebuild equals a fresh build."""
    sites = _sites(unit_of_work, tmp_path)
    february = datetime(2024, 2, 3, tzinfo=UTC)
    with unit_of_work() as uow:
        uow.posts.upsert_many(
            [_post(i, february + timedelta(hours=i - 120)) for i in range(121, 136)],
            START + timedelta(days=40),
        )
        uow.commit()
    assert sites.build("site").incremental
    with unit_of_work() as uow:
        late = datetime(2024, 1, 20, tzinfo=UTC)
        uow.posts.upsert_many(
            [_post(i, late + timedelta(hours=i - 135)) for i in range(136, 148)], START + timedelta(days=41)
        )
        uow.commit()
    assert sites.build("site").incremental
    _same_as_fresh(sites, tmp_path)
