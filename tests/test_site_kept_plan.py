"""The plan an incremental build keeps in the manifest, in chunks: what a rebuild writes of it, a
manifest of the previous format, and a build killed after it saved its plan but before it finished."""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from test_site_archive import NEWS, UoW, at, make_archive
from test_site_incremental import Sites, assert_same_site
from tgvault.domain import Post
from tgvault.export.site import incremental
from tgvault.export.site.manifest import SiteManifest, manifest_path, unchanged_parts
from tgvault.export.site.planned_posts import PlannedPost, PlannedPosts
from tgvault.storage.media_store import LocalMediaStore


def _plan_rows(site: Path) -> dict[tuple[int, str], bytes]:
    with sqlite3.connect(manifest_path(site)) as db:
        return {
            (int(c), str(n)): bytes(d) for c, n, d in db.execute("SELECT channel_id, name, data FROM plan")
        }


def _new_posts(uow_factory: UoW, first_id: int, count: int) -> None:
    with uow_factory() as uow:
        posts = [
            Post(
                channel_id=NEWS.id,
                message_id=first_id + k,
                date=at(4, 2) + timedelta(minutes=k),
                text=f"new {k}",
            )
            for k in range(count)
        ]
        uow.posts.upsert_many(posts, at(4, 2))
        uow.commit()


def make_store(unit_of_work: UoW, tmp_path: Path) -> LocalMediaStore:
    store = LocalMediaStore(tmp_path / "media")
    make_archive(unit_of_work, store)
    return store


def test_a_rebuild_writes_only_the_chunks_of_the_kept_plan_that_changed(tmp_path: Path) -> None:
    """Of a kept plan saved again, the manifest writes only the parts whose bytes differ and removes
    those no longer there (counted by SQLite's own count of changed rows)."""
    site = tmp_path / "site"
    site.mkdir()
    before = {"meta": b"{}", "col.ids.0": b"a" * 8, "col.ids.1": b"b" * 8, "col.ids.2": b"c"}
    first = SiteManifest(site)
    first.save_channel_plan(7, before)
    first.commit()
    first.close()
    after = {"meta": b"{}", "col.ids.0": b"a" * 8, "col.ids.1": b"B" * 8}  # one changed, one gone
    second = SiteManifest(site)
    changes = second._db.total_changes
    assert {"meta", "col.ids.0"} == unchanged_parts(before, after)
    second.save_channel_plan(7, after, set(before), unchanged_parts(before, after))
    assert 2 == second._db.total_changes - changes  # one row replaced, one deleted; two kept as they were
    assert after == second.channel_plan(7)
    second.commit()
    second.close()


def test_new_posts_change_only_the_last_chunks_and_the_site_equals_a_fresh_build(
    unit_of_work: UoW, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New posts (the highest ids) change the kept plan's last chunks alone: the earlier chunks of every
    column keep their bytes, and the rebuilt site equals a fresh one."""
    monkeypatch.setattr(incremental, "CHUNK_ROWS", 8)
    store = make_store(unit_of_work, tmp_path)
    sites = Sites(unit_of_work, store, tmp_path)
    sites.build("site")
    before = _plan_rows(tmp_path / "site")
    assert any(name.endswith(".2") for _, name in before)  # several chunks a column
    _new_posts(unit_of_work, 500, 3)
    assert sites.build("site").incremental
    after = _plan_rows(tmp_path / "site")
    changed = {key for key in after if before.get(key) != after[key]}
    ids_chunks = sorted(
        int(name.rsplit(".", 1)[1])
        for channel, name in before
        if channel == NEWS.id and name.startswith("col.ids.")
    )
    assert (NEWS.id, "col.ids.0") not in changed
    assert {name for channel, name in changed if name.startswith("col.ids.")} <= {
        f"col.ids.{ids_chunks[-1]}",
        f"col.ids.{ids_chunks[-1] + 1}",
    }
    sites.fresh()
    assert_same_site(tmp_path / "site", tmp_path / "fresh")


def test_a_kept_plan_of_format_2_unchunked_means_one_full_rebuild(unit_of_work: UoW, tmp_path: Path) -> None:
    """A manifest whose plan is kept as format 2 wrote it (each column whole, no chunks, no row counts)
    is not read: the build plans from scratch once, the next one is incremental, and the site equals a
    fresh build."""
    store = make_store(unit_of_work, tmp_path)
    sites = Sites(unit_of_work, store, tmp_path)
    sites.build("site")
    rows = _plan_rows(tmp_path / "site")
    with sqlite3.connect(manifest_path(tmp_path / "site")) as db:
        db.execute("DELETE FROM plan")
        for channel_id in {channel for channel, _ in rows}:
            meta = json.loads(rows[(channel_id, "meta")])
            assert 3 == meta["format"]
            meta["format"] = 2
            del meta["rows"]
            whole: dict[str, bytes] = {"meta": json.dumps(meta).encode()}
            for (channel, name), data in sorted(
                rows.items(),
                key=lambda item: (
                    item[0][1].rsplit(".", 1)[0],
                    int(item[0][1].rsplit(".", 1)[1]) if item[0][1] != "meta" else 0,
                ),
            ):
                if channel == channel_id and name != "meta":
                    column = name.rsplit(".", 1)[0]
                    whole[column] = whole.get(column, b"") + data
            db.executemany(
                "INSERT INTO plan VALUES (?, ?, ?)", [(channel_id, n, d) for n, d in whole.items()]
            )
    _new_posts(unit_of_work, 500, 2)
    old = sites.build("site")
    assert not old.incremental
    assert sites.build("site").incremental  # kept again, in chunks
    sites.fresh()
    assert_same_site(tmp_path / "site", tmp_path / "fresh")


class Killed(BaseException):
    """Stands for the process being killed (not an error the build handles)."""


def test_a_build_killed_after_saving_its_plan_leaves_what_the_next_build_completes(
    unit_of_work: UoW, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild killed after it wrote its pages and saved its plan, before the manifest's commit: the
    manifest still holds the previous build's plan, and the next build brings the site to what a fresh
    build gives."""
    monkeypatch.setattr(incremental, "CHUNK_ROWS", 8)
    store = make_store(unit_of_work, tmp_path)
    sites = Sites(unit_of_work, store, tmp_path)
    sites.build("site")
    kept = _plan_rows(tmp_path / "site")
    _new_posts(unit_of_work, 500, 3)

    def killed(self: SiteManifest) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(SiteManifest, "commit", killed)
        with pytest.raises(Killed):
            sites.build("site")
    assert kept == _plan_rows(tmp_path / "site")  # the previous plan, whole
    assert (tmp_path / "site" / "c/1001/posts/500.html").is_file()  # pages the killed build wrote
    again = sites.build("site")
    assert again.incremental
    sites.fresh()
    assert_same_site(tmp_path / "site", tmp_path / "fresh")


def _random_post(rng: random.Random, message_id: int) -> PlannedPost:
    return PlannedPost(
        message_id=message_id,
        date=datetime(2024, 1, 1, tzinfo=UTC),
        month=rng.choice((24288, 24289, 24289, 24290)),
        day=0,
        group=None,
        reply_to=None,
        stamp=0,
        views=rng.choice((None, 0, 5, 5, rng.randint(0, 1000), rng.randint(0, 10**9))),
        deleted=rng.random() < 0.1,
        service=rng.random() < 0.05,
    )


def _plain_stats(posts: PlannedPosts, count: int) -> tuple[dict[int, list[int]], list[int]]:
    totals: dict[int, list[int]] = {}
    for post in posts.values():
        row = totals.setdefault(post.month, [0, 0, 0, 0])
        row[0] += 1
        row[1] += post.deleted
        if post.views is not None:
            row[2] += post.views
            row[3] += 1
    ranked = sorted((-p.views, p.message_id) for p in posts.values() if p.views is not None and not p.service)
    return totals, [message_id for _, message_id in ranked[:count]]


@pytest.mark.parametrize("seed", range(12))
def test_the_statistics_kept_with_the_plan_follow_every_change(seed: int) -> None:
    """Month totals and most viewed posts counted once, kept with the plan and brought up to date as
    posts are put in, replaced (views up and down, deleted, service) and moved to another month, equal
    a plain count over every post after each round, also once kept and read back."""
    rng = random.Random(seed)
    posts = PlannedPosts()
    for message_id in range(1, rng.randint(1, 300) + 1):
        posts.append(_random_post(rng, message_id))
    posts.seal()
    count = rng.choice((1, 3, 10))
    assert _plain_stats(posts, count) == (posts.month_counts(), posts.most_viewed(count))
    for _ in range(8):
        ids = list(posts)
        for _ in range(rng.randint(1, 20)):
            action = rng.random()
            if action < 0.4:
                posts.put(_random_post(rng, max(ids) + rng.randint(1, 5)))
            elif action < 0.8:
                posts.put(_random_post(rng, rng.choice(ids)))
            else:
                posts.set_place(rng.randrange(len(posts)), rng.choice((24288, 24291)), 0)
            ids = list(posts)
        if rng.random() < 0.5:  # kept and read back, as a rebuild does
            again = PlannedPosts.from_columns(
                {k: bytes(v) for k, v in posts.to_columns().items()}, posts.typecodes()
            )
            again.running.from_json(
                json.loads(json.dumps(posts.running.to_json())), len(again), again.__contains__
            )
            posts = again
        assert _plain_stats(posts, count) == (posts.month_counts(), posts.most_viewed(count))
