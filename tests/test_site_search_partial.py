"""A rebuild hands the search index only the posts of a month that may have changed; the index keeps
what it has of the month's other posts, and reads from the archive any it lost."""

from __future__ import annotations

from pathlib import Path

from test_site_archive import UoW
from test_site_incremental import Sites, assert_same_site
from test_site_timeline_frames import _add_posts, _fill, _rewrite_text_behind_the_stamp
from tgvault.export.site import Order
from tgvault.storage.media_store import LocalMediaStore

BLOCK = "search/t/1001/2024-01/0.js"  # the text block of posts 1-15


def test_new_posts_leave_the_months_other_entries_as_indexed(unit_of_work: UoW, tmp_path: Path) -> None:
    """Post 5's text changes behind its stamp (so a post whose entry is re-read would show it); 20 new
    posts later, the month's other entries are those kept, and the new posts are found."""
    store = LocalMediaStore(tmp_path / "media")
    _fill(unit_of_work)
    sites = Sites(unit_of_work, store, tmp_path, Order.OLDEST, per_page=10)
    sites.build("site")
    _rewrite_text_behind_the_stamp(unit_of_work, 5, "rewritten behind the stamp")
    _add_posts(unit_of_work, 301, 20)
    assert sites.build("site").incremental
    block = (tmp_path / "site" / BLOCK).read_text()
    assert '"post 5"' in block
    assert "rewritten" not in block
    _rewrite_text_behind_the_stamp(unit_of_work, 5, "post 5")
    sites.fresh()
    assert_same_site(tmp_path / "site", tmp_path / "fresh")


def test_a_text_block_lost_from_the_site_is_read_again_from_the_archive(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    store = LocalMediaStore(tmp_path / "media")
    _fill(unit_of_work)
    sites = Sites(unit_of_work, store, tmp_path, Order.OLDEST, per_page=10)
    sites.build("site")
    (tmp_path / "site" / BLOCK).unlink()
    _add_posts(unit_of_work, 301, 20)
    assert sites.build("site").incremental
    assert '"post 5"' in (tmp_path / "site" / BLOCK).read_text()
    sites.fresh()
    assert_same_site(tmp_path / "site", tmp_path / "fresh")
