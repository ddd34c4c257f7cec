"""Incremental site builds: the last build's plan, brought up to date from the posts written since, gives
byte for byte the site a build from scratch gives, and reads and renders only what changed."""

from __future__ import annotations

import difflib
import json
import random
import re
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text as sql_text

from test_site_archive import NEWS, SECRET, UoW, at, make_archive, png
from tgvault.domain import EntityKind, MediaItem, MediaKind, MediaStatus, Post, TextEntity
from tgvault.export.site import Order, SiteBuildReport, SiteOptions, build_site, incremental
from tgvault.export.site import plan as site_plan
from tgvault.export.site.manifest import manifest_path
from tgvault.export.site.search import recent
from tgvault.export.site.search.lookup import IndexReader
from tgvault.export.site.search.tokens import words
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.repositories import PostOutline
from tgvault.text import utf16_len

TAGS = ("kenya", "Kenya", "news", "Новости", "tag_x", "weather")


@dataclass
class Sites:
    uow: UoW
    store: LocalMediaStore
    root: Path
    order: Order = Order.NEWEST
    per_page: int = 4

    def build(self, out: str, *, full: bool = False, **changes: Any) -> SiteBuildReport:
        options = SiteOptions(
            out_dir=self.root / out,
            title="Test <archive>",
            posts_per_page=self.per_page,
            order=self.order,
            media_mode=changes.pop("media_mode", "copy"),
            **changes,
        )
        return build_site(self.uow, self.store, options, full=full)

    def fresh(self) -> SiteBuildReport:
        shutil.rmtree(self.root / "fresh", ignore_errors=True)
        return self.build("fresh", full=True)


def tree(folder: Path) -> dict[str, bytes]:
    """Every file of a site with its bytes (the manifest is kept beside the folder)."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _index_file(path: str) -> bool:
    return path == "search/index.js" or path.startswith(("search/i/", "search/r/"))


def assert_same_answers(incremental: Path, fresh: Path, context: object = "") -> None:
    """The search indexes of both sites answer alike: every word of every post's text, and pairs."""
    ours, theirs = IndexReader(incremental), IndexReader(fresh)
    assert [c for c in ours.manifest["channels"]] == [c for c in theirs.manifest["channels"]], context
    texts = " ".join(p.read_text() for p in sorted((fresh / "search/t").rglob("*.js")))
    vocabulary = sorted({word for word in words(texts) if not word.isdigit()})[:150]
    queries = vocabulary + [f"{a} {b}" for a, b in zip(vocabulary[::7], vocabulary[3::7], strict=False)]
    for query in queries:
        assert theirs.search(query) == ours.search(query), (context, query)


def _has_recent_part(site: Path) -> bool:
    index = site / "search/index.js"
    return index.exists() and "recent" in IndexReader(site).manifest


def assert_same_site(incremental: Path, fresh: Path, context: object = "") -> None:
    """Byte for byte the same files; when a site's search index has a recent part (which a full build
    folds), the index is compared by the answers it gives instead."""
    ours, theirs = tree(incremental), tree(fresh)
    if _has_recent_part(incremental) or _has_recent_part(fresh):
        assert_same_answers(incremental, fresh, context)
        ours = {path: data for path, data in ours.items() if not _index_file(path)}
        theirs = {path: data for path, data in theirs.items() if not _index_file(path)}
    assert sorted(theirs) == sorted(ours), context
    different = [path for path in theirs if theirs[path] != ours[path]]
    if different:  # show the first difference
        lines = difflib.unified_diff(
            theirs[different[0]].decode(errors="replace").splitlines(),
            ours[different[0]].decode(errors="replace").splitlines(),
            "fresh",
            "incremental",
            lineterm="",
            n=1,
        )
        context = f"{context}\n" + "\n".join(list(lines)[:40])
    assert [] == different, context


def kept_plan(site: Path) -> dict[tuple[int, str], object]:
    """The plan a build kept in the site's manifest, part by part, to compare with a build from scratch:
    of each channel's meta, all but where the next build reads changes from (which depends on when the
    build ran); its hashtags as a map, as the order the plan lists them in depends on when each
    appeared (``tags``: key -> label and ids, in place of the ``tag_ids`` chunks)."""
    with sqlite3.connect(manifest_path(site)) as db:
        rows = db.execute("SELECT channel_id, name, data FROM plan").fetchall()
    found: dict[tuple[int, str], object] = {}
    tag_ids: dict[int, list[tuple[int, bytes]]] = {}
    tags: dict[int, list[list[Any]]] = {}
    for channel_id, name, data in rows:
        if name.startswith("tag_ids."):
            tag_ids.setdefault(channel_id, []).append((int(name.rsplit(".", 1)[1]), bytes(data)))
        elif name == "meta":
            meta = json.loads(bytes(data))
            tags[channel_id] = meta.pop("tags")
            found[(channel_id, name)] = {
                key: part for key, part in meta.items() if key not in ("posts_since", "media_since")
            }
        else:
            found[(channel_id, name)] = bytes(data)
    for channel_id, listed in tags.items():
        ids = b"".join(chunk for _, chunk in sorted(tag_ids.get(channel_id, [])))
        by_key, start = {}, 0
        for key, label, size in listed:
            by_key[key] = (label, ids[8 * start : 8 * (start + size)])
            start += size
        assert 8 * start == len(ids)
        found[(channel_id, "tags")] = by_key
    return found


def tagged(text: str, tags: list[str]) -> tuple[str, tuple[TextEntity, ...]]:
    entities = []
    for tag in tags:
        offset = utf16_len(text) + 1
        text = f"{text} #{tag}"
        entities.append(TextEntity(kind=EntityKind.HASHTAG, offset=offset, length=utf16_len(tag) + 1))
    return text, tuple(entities)


class Churn:
    """Random changes to the archive, through the real repositories, at ever later times."""

    def __init__(self, sites: Sites, seed: int) -> None:
        self.sites = sites
        self.random = random.Random(seed)
        self.now = datetime(2024, 4, 1, tzinfo=UTC)
        self.next_id = {NEWS.id: 1000, SECRET.id: 1000}
        self.next_group = 9000
        self.pending: list[tuple[int, int]] = []  # posts whose photo is downloaded later
        self.title_round = -1

    def tick(self) -> datetime:
        self.now += timedelta(minutes=7)
        return self.now

    def ids(self, channel_id: int) -> list[int]:
        with self.sites.uow() as uow:
            return uow.posts.ids(channel_id, include_deleted=True)

    def new_posts(self, channel_id: int, count: int, start: datetime) -> list[Post]:
        rng = self.random
        known = self.ids(channel_id)
        posts: list[Post] = []
        moment = start
        while len(posts) < count:
            moment += timedelta(minutes=rng.choice((1, 30, 300, 1500)))
            album = rng.random() < 0.2
            group = None
            size = 1
            if album:
                self.next_group += 1
                group, size = self.next_group, rng.randint(2, 4)
            for _ in range(size):
                message_id = self.next_id[channel_id]
                self.next_id[channel_id] += 1
                text, entities = tagged(f"Post {message_id} words", rng.sample(TAGS, rng.randint(0, 2)))
                values: dict[str, Any] = {
                    "channel_id": channel_id,
                    "message_id": message_id,
                    "date": moment,
                    "text": text,
                    "entities": entities,
                    "grouped_id": group,
                    "views": rng.randint(0, 500),
                }
                roll = rng.random()
                if roll < 0.2 and known:
                    values["reply_to_message_id"] = rng.choice(known)
                elif roll < 0.25:  # a post not archived yet: its reply link appears once it is
                    values["reply_to_message_id"] = self.next_id[channel_id] + rng.randint(1, 3)
                elif roll < 0.3:
                    values["reply_to_channel_id"] = NEWS.id
                    values["reply_to_message_id"] = rng.choice((2, 12, 1001))
                if group is not None or rng.random() < 0.1:
                    values["media"] = MediaItem(kind=MediaKind.PHOTO, status=MediaStatus.PENDING, width=8)
                    self.pending.append((channel_id, message_id))
                posts.append(Post.model_validate(values))
        return posts

    def round(self, number: int) -> list[str]:
        """One round of changes; returns what it did."""
        rng = self.random
        done: list[str] = []
        with self.sites.uow() as uow:
            for channel_id in (NEWS.id, SECRET.id):
                if rng.random() < 0.8:
                    # mostly after the newest post; now and then a new month, or a post dated in the past
                    roll = rng.random()
                    if roll < 0.2:
                        start = datetime(2024, 3 + number, 2, 9, tzinfo=UTC)
                    elif roll < 0.35:
                        start = at(2, rng.randint(1, 20))
                    else:
                        start = datetime(2024, 3, 25, tzinfo=UTC) + timedelta(days=2 * number)
                    posts = self.new_posts(channel_id, rng.randint(1, 7), start)
                    uow.posts.upsert_many(posts, self.tick())
                    done.append(f"{len(posts)} new posts in {channel_id}")
            ids = uow.posts.ids(NEWS.id)
            if ids and rng.random() < 0.7:
                for message_id in rng.sample(ids, min(3, len(ids))):
                    post = uow.posts.get(NEWS.id, message_id)
                    assert post is not None
                    if post.service is not None:
                        continue
                    text, entities = tagged(f"Edited {number}", rng.sample(TAGS, rng.randint(0, 2)))
                    uow.posts.upsert_many(
                        [post.model_copy(update={"text": text, "entities": entities})], self.tick()
                    )
                    done.append(f"edit {message_id}")
            if ids and rng.random() < 0.6:
                gone = rng.sample(ids, 2)
                uow.posts.mark_deleted(NEWS.id, gone, self.tick())
                done.append(f"tombstones {gone}")
            live = uow.posts.ids(SECRET.id)
            if live and rng.random() < 0.7:
                posts = list(uow.posts.get_many(SECRET.id, rng.sample(live, min(4, len(live)))).values())
                changed = [
                    post.model_copy(update={"views": (post.views or 0) + rng.randint(1, 99)})
                    for post in posts
                ]
                uow.posts.upsert_many(changed, self.tick())
                done.append(f"counters of {[post.message_id for post in posts]}")
            uow.commit()
        if self.pending and rng.random() < 0.7:
            with self.sites.uow() as uow:
                for channel_id, message_id in rng.sample(self.pending, min(3, len(self.pending))):
                    self.pending.remove((channel_id, message_id))
                    colour = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
                    item = self.sites.store.put_bytes(png(8, 8, colour), "image/png")
                    if rng.random() < 0.3:
                        uow.media.mark_thumbnail(channel_id, message_id, sha256=item.sha256, path=item.path)
                    else:
                        uow.media.mark_downloaded(
                            channel_id, message_id, sha256=item.sha256, path=item.path, size=item.size
                        )
                    done.append(f"media of {channel_id}/{message_id}")
                uow.commit()
        if number == self.title_round:
            with self.sites.uow() as uow:
                uow.channels.upsert(
                    SECRET.model_copy(update={"title": f"Secret, round {number}"}), self.tick()
                )
                uow.commit()
            done.append("channel title")
        return done


@pytest.mark.parametrize("order", [Order.NEWEST, Order.OLDEST])
def test_an_incremental_rebuild_is_byte_identical_to_a_build_from_scratch(
    unit_of_work: UoW, tmp_path: Path, order: Order, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rounds of random changes (new posts, albums, hashtags, new and old months, edits, tombstones,
    counters, files downloaded later, a channel title): after each, the incremental rebuild of the site
    equals a fresh full build file by file. Newest first, every build folds the search index's recent
    part (so the index too is byte for byte); oldest first, the recent part grows and the index answers
    every query as the fresh one does."""
    monkeypatch.setattr(site_plan, "TAG_PAGE_SIZE", 3)  # hashtags of many pages that grow and shrink
    monkeypatch.setattr(incremental, "CHUNK_ROWS", 3)  # the kept plan in many chunks, shifting as it changes
    folding = order is Order.NEWEST
    if folding:
        monkeypatch.setattr(recent, "FOLD_AT", 0)
    store = LocalMediaStore(tmp_path / "media")
    make_archive(unit_of_work, store)
    sites = Sites(unit_of_work, store, tmp_path, order)
    churn = Churn(sites, seed=7 if order is Order.NEWEST else 8)
    churn.title_round = 4
    with unit_of_work() as uow:  # a hashtag in both channels (the first one changes every page's header)
        text, entities = tagged("Opening", ["news"])
        post = Post(channel_id=SECRET.id, message_id=999, date=at(3, 1), text=text, entities=entities)
        uow.posts.upsert_many([post], churn.tick())
        uow.commit()
    sites.build("site")
    incremental_rounds = 0
    for number in range(1, 9):
        done = churn.round(number)
        report = sites.build("site")
        sites.fresh()
        assert_same_site(tmp_path / "site", tmp_path / "fresh", (number, done))
        assert kept_plan(tmp_path / "fresh") == kept_plan(tmp_path / "site"), (number, done)
        assert _has_recent_part(tmp_path / "site") is (not folding and bool(report.incremental))
        incremental_rounds += report.incremental
        if number == churn.title_round:  # a title is on every page: planned from scratch
            assert not report.incremental
    again = sites.build("site")
    assert (True, 0, 0) == (again.incremental, again.written, again.removed)
    assert incremental_rounds >= 6


def test_a_rebuild_after_new_posts_reads_and_renders_only_what_they_reach(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    """20 new posts on a day of their own after 300: 20 posts read again, their pages and the
    channel's own pages rendered, the other pages not even looked at."""
    store = LocalMediaStore(tmp_path / "media")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with unit_of_work() as uow:
        uow.channels.upsert(NEWS, start)
        uow.posts.upsert_many(
            [
                Post(channel_id=NEWS.id, message_id=i, date=start + timedelta(hours=i), text=f"post {i}")
                for i in range(1, 301)
            ],
            start,
        )
        uow.commit()
    sites = Sites(unit_of_work, store, tmp_path, per_page=10)
    first = sites.build("site")
    assert not first.incremental
    later = datetime(2024, 1, 14, 12, tzinfo=UTC)
    with unit_of_work() as uow:
        uow.posts.upsert_many(
            [
                Post(channel_id=NEWS.id, message_id=i, date=later + timedelta(minutes=i), text=f"new {i}")
                for i in range(301, 321)
            ],
            start + timedelta(days=30),
        )
        uow.commit()
    second = sites.build("site")
    assert (True, 20) == (second.incremental, second.changed_posts)
    # 20 permalinks, the month's last page and the 2 new ones, the page before them (its pager), the
    # month's pages' day navigation (a new day): 31 timeline pages of January; then the shard, the
    # channel's index, stats, feeds, the root, search page and index, the static files; and the search
    # index's text blocks of the new posts (ids 288-303, 304-319, 320-335) and the recent shards of their
    # words.
    index_files = sum(1 for path in second.written_paths if path.startswith(("search/r/", "search/t/")))
    shards = sum(1 for path in second.written_paths if path.startswith("search/r/"))
    assert {"search/t/1001/2024-01/18.js", "search/t/1001/2024-01/20.js"} <= set(second.written_paths)
    assert 20 + 31 + 1 + 4 + 3 <= second.rendered - index_files <= 20 + 32 + 1 + 4 + 3 + 10
    assert 20 + 2 + 1 + 4 + 2 <= second.written <= second.rendered
    assert first.pages + 20 + 2 + 2 + shards == second.pages  # 2 new text blocks, the recent shards
    sites.fresh()
    assert_same_site(tmp_path / "site", tmp_path / "fresh")
    third = sites.build("site")
    assert (True, 0) == (third.incremental, third.written)
    assert third.rendered < 15  # the channel's own pages and the site's, nothing of the timeline


def test_a_large_hashtag_is_paged_and_a_new_post_rewrites_only_its_newest_pages(
    unit_of_work: UoW, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hashtag of 95 posts on pages of 10: the landing page shows the newest 5 and the total, numbered
    pages the rest, each post on exactly one page; one new post rewrites the landing page alone, six
    more open a new landing page and move the old one to its number."""
    monkeypatch.setattr(site_plan, "TAG_PAGE_SIZE", 10)
    store = LocalMediaStore(tmp_path / "media")
    start = datetime(2024, 1, 1, tzinfo=UTC)

    def tagged_posts(ids: range, written: datetime) -> None:
        with unit_of_work() as uow:
            uow.channels.upsert(NEWS, start)
            posts = []
            for i in ids:
                text, entities = tagged(f"post {i}", ["news"])
                date = start + timedelta(hours=i)
                posts.append(Post(channel_id=NEWS.id, message_id=i, date=date, text=text, entities=entities))
            uow.posts.upsert_many(posts, written)
            uow.commit()

    tagged_posts(range(1, 96), start)
    sites = Sites(unit_of_work, store, tmp_path, per_page=10)
    sites.build("site")
    tags = tmp_path / "site" / "c" / str(NEWS.id) / "tags"
    landing = (tags / "news.html").read_text()
    assert "95 posts" in landing
    assert 5 == landing.count('<li class="tag-post')
    assert 'href="news/9.html">Older posts' in landing
    assert ">Newer posts" not in landing
    numbered = sorted(path.name for path in (tags / "news").iterdir())
    assert [f"{n}.html" for n in range(1, 10)] == sorted(numbered, key=lambda name: int(name[:-5]))
    first = (tags / "news" / "1.html").read_text()
    assert 10 == first.count('<li class="tag-post')
    assert "posts</small>" not in first  # the total is on the landing page only
    assert 'href="2.html">' in first and "Older posts" not in first
    listed = [
        int(found)
        for page in [landing, *((tags / "news" / name).read_text() for name in numbered)]
        for found in re.findall(r'class="tag-date" href="[^"#]*#post-(\d+)"', page)
    ]
    assert list(range(1, 96)) == sorted(listed)

    def tag_pages_written(report: SiteBuildReport) -> list[str]:
        prefix = f"c/{NEWS.id}/tags/"
        return sorted(path.removeprefix(prefix) for path in report.written_paths if path.startswith(prefix))

    tagged_posts(range(96, 97), start + timedelta(days=30))
    assert ["index.html", "news.html"] == tag_pages_written(sites.build("site"))

    tagged_posts(range(97, 102), start + timedelta(days=31))
    # page 9's "newer" link now leads to page 10
    assert ["index.html", "news.html", "news/10.html", "news/9.html"] == tag_pages_written(
        sites.build("site")
    )
    assert 1 == (tags / "news.html").read_text().count('<li class="tag-post')
    assert 10 == (tags / "news" / "10.html").read_text().count('<li class="tag-post')
    sites.fresh()
    assert_same_site(tmp_path / "site", tmp_path / "fresh")

    # a full landing page, then one post more: the new post opens page 12, page 11 moves to its number,
    # and page 10 (which changed nothing itself) links to it instead of to the landing page
    tagged_posts(range(102, 111), start + timedelta(days=32))
    sites.build("site")
    tagged_posts(range(111, 112), start + timedelta(days=33))
    assert ["index.html", "news.html", "news/10.html", "news/11.html"] == tag_pages_written(
        sites.build("site")
    )
    assert 'href="11.html">← Newer posts' in (tags / "news" / "10.html").read_text()
    sites.fresh()
    assert_same_site(tmp_path / "site", tmp_path / "fresh")


def test_a_kept_plan_that_is_unreadable_or_behind_a_removal_is_replanned_from_scratch(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    """A broken kept plan, or a post removed from the archive outright (which no change feed shows),
    makes the build plan from scratch; the site still equals a fresh build."""
    store = LocalMediaStore(tmp_path / "media")
    make_archive(unit_of_work, store)
    sites = Sites(unit_of_work, store, tmp_path)
    sites.build("site")
    with sqlite3.connect(manifest_path(tmp_path / "site")) as db:
        db.execute("UPDATE plan SET data = x'00ff' WHERE name LIKE 'page_ids.%'")
    broken = sites.build("site")
    assert (False, 0) == (broken.incremental, broken.written)
    assert sites.build("site").incremental  # the plan was kept again
    with unit_of_work() as uow:
        session = uow._session
        assert session is not None
        session.execute(
            sql_text("DELETE FROM posts WHERE channel_id = :c AND message_id = 13"), {"c": NEWS.id}
        )
        uow.commit()
    removed = sites.build("site")
    assert not removed.incremental
    assert "c/1001/posts/13.html" in removed.removed_paths
    sites.fresh()
    assert_same_site(tmp_path / "site", tmp_path / "fresh")


def test_a_kept_plan_of_the_previous_format_means_a_full_rebuild(unit_of_work: UoW, tmp_path: Path) -> None:
    """A manifest written before the plan's columns were sized to the data (format 1: int64 columns
    without typecodes) is not read as the new format: the build plans from scratch, and equals a fresh one."""
    store = LocalMediaStore(tmp_path / "media")
    make_archive(unit_of_work, store)
    sites = Sites(unit_of_work, store, tmp_path)
    sites.build("site")
    with sqlite3.connect(manifest_path(tmp_path / "site")) as db:
        for channel_id, data in db.execute(
            "SELECT channel_id, data FROM plan WHERE name = 'meta'"
        ).fetchall():
            meta = json.loads(data)
            assert 3 == meta["format"] and "I" == meta["typecodes"]["ids"]
            meta["format"] = 1
            del meta["typecodes"]
            db.execute(
                "UPDATE plan SET data = ? WHERE channel_id = ? AND name = 'meta'",
                (json.dumps(meta).encode(), channel_id),
            )
    old = sites.build("site")
    assert not old.incremental
    assert sites.build("site").incremental  # the plan was kept again, in the new format
    sites.fresh()
    assert_same_site(tmp_path / "site", tmp_path / "fresh")


@pytest.mark.parametrize("seed", range(6))
def test_statistics_of_the_plan_equal_a_plain_count_over_every_post(seed: int) -> None:
    """The month counts and most viewed posts that the statistics page reads from the plan's columns
    (fast paths, run on every build) equal a plain loop over the posts: months out of order, deleted and
    service posts, posts without views, ties."""
    rng = random.Random(seed)
    posts = site_plan.PlannedPosts()
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for message_id in range(1, rng.randint(0, 400) + 2):
        posts.append(
            site_plan.PlannedPost(
                message_id=message_id,
                date=start,
                month=rng.choice((24288, 24289, 24289, 24290)),
                day=0,
                group=None,
                reply_to=None,
                stamp=0,
                views=rng.choice((None, 0, 5, 5, rng.randint(0, 10**9))),
                deleted=rng.random() < 0.1,
                service=rng.random() < 0.05,
            )
        )
    posts.seal()
    expected: dict[int, list[int]] = {}
    for post in posts.values():
        row = expected.setdefault(post.month, [0, 0, 0, 0])
        row[0] += 1
        row[1] += post.deleted
        if post.views is not None:
            row[2] += post.views
            row[3] += 1
    assert expected == posts.month_counts()
    ranked = sorted(
        (-post.views, post.message_id)
        for post in posts.values()
        if post.views is not None and not post.service
    )
    for count in (1, 10, 500):
        assert [message_id for _, message_id in ranked[:count]] == posts.most_viewed(count)


def test_a_plan_with_a_media_sink_hands_over_every_file_and_keeps_none() -> None:
    """A build plans with a sink for the files posts show (they go to the manifest in batches), so a
    channel of many files does not hold a map of them in memory."""
    outlines = [
        PostOutline(
            message_id=message_id,
            date=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=message_id),
            version="1",
            media_path=f"ab/cd/{message_id % 700:064x}.jpg" if message_id % 3 else None,
            grouped_id=None,
            reply_to_message_id=None,
            reply_to_channel_id=None,
            views=None,
            is_service=False,
            deleted=False,
            text="",
            hashtags=(),
        )
        for message_id in range(1, 2501)
    ]
    batches: list[list[tuple[int, str]]] = []
    options = SiteOptions(out_dir=Path("unused"), title="t")
    sunk = site_plan.plan_channel(NEWS, outlines, options, media_sink=batches.append)
    kept = site_plan.plan_channel(NEWS, outlines, options)
    assert all(len(batch) <= site_plan.MEDIA_BATCH for batch in batches) and len(batches) >= 2
    shown = {o.message_id: o.media_path for o in outlines if o.media_path}
    assert shown == {message_id: path for batch in batches for message_id, path in batch}
    assert sum(map(len, batches)) == len(shown)  # each once
    assert kept.posts.to_columns() == sunk.posts.to_columns()
