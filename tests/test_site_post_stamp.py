"""A post page says whether its ledger entry is covered by a trusted timestamp: "Timestamped by <authority>
on <time>" or "Not yet timestamped"; the build after a token is taken rewrites the pages of the posts it
newly covers, no other, and a build with no new token rewrites none. (Real SQLite and PostgreSQL, a local
`openssl ts` authority.)"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tests.test_ledger import CHANNEL, T0, archive_with_history, make_post
from tests.test_site_post_record import mtimes, page, record_of
from tests.tsa_support import LocalTsa, local_tsa

from tgvault.export.site import SiteOptions, build_site
from tgvault.services.timestamps import TimestampAuthority, stamp_heads
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[LocalTsa]:
    with local_tsa(tmp_path / "tsa") as running:
        yield running


def stamp_of(html: str) -> str:
    found = re.search(r"<dt>Trusted timestamp</dt><dd>(.*?)</dd>", record_of(html), re.S)
    assert found, "the archive record says nothing of a timestamp"
    return found.group(1)


def rewritten(before: dict[str, int], after: dict[str, int]) -> list[str]:
    return sorted(name for name in after if after[name] != before.get(name))


def test_a_post_page_says_which_token_covers_its_entry(
    unit_of_work: UoW, tmp_path: Path, tsa: LocalTsa
) -> None:
    store = LocalMediaStore(tmp_path / "media")
    store.prepare()
    archive_with_history(unit_of_work, store)
    site = tmp_path / "site"
    options = SiteOptions(out_dir=site)
    build_site(unit_of_work, store, options)
    assert stamp_of(page(site, 1)).startswith("Not yet timestamped")

    authority = TimestampAuthority.from_files(tsa.url, tsa.ca_file)
    assert stamp_heads(unit_of_work, authority) == 1
    with unit_of_work() as uow:
        (token,) = uow.ledger.stamps(CHANNEL.id)
    before = mtimes(site)
    assert build_site(unit_of_work, store, options).incremental
    after = mtimes(site)
    assert rewritten(before, after) == sorted(before)  # every post is covered by the first token
    said = stamp_of(page(site, 2))
    assert said.startswith("Timestamped by 127.0.0.1 on <time datetime=")
    assert f"(RFC 3161 token over entry {token.seq})" in said
    assert said == stamp_of(page(site, 5))

    build_site(unit_of_work, store, options)  # no new token: no page rewritten
    assert mtimes(site) == after

    with unit_of_work() as uow:  # a later run: post 1 edited, post 9 new (another month); not stamped yet
        later = make_post(9, date=T0 + timedelta(days=62))
        uow.posts.upsert_many([make_post(1, "hello, corrected"), later], T0 + timedelta(days=3))
        uow.commit()
    build_site(unit_of_work, store, options)
    assert stamp_of(page(site, 1)).startswith("Not yet timestamped")
    assert stamp_of(page(site, 9)).startswith("Not yet timestamped")
    assert stamp_of(page(site, 2)) == said  # earlier entries stay covered by the first token
    before = mtimes(site)
    assert stamp_heads(unit_of_work, authority) == 1
    with unit_of_work() as uow:
        second = uow.ledger.stamps(CHANNEL.id)[-1]
    build_site(unit_of_work, store, options)
    assert rewritten(before, mtimes(site)) == ["1.html", "9.html"]
    for message_id in (1, 9):
        assert f"(RFC 3161 token over entry {second.seq})" in stamp_of(page(site, message_id))
    assert stamp_of(page(site, 2)) == said
