"""The recent shards read and written as text (``search/shard_text.py``): the bytes are those of the
JSON the browser reads (``js_call``), a list gains new postings as encoding all of them would give, a
file not in the usual form is read as JSON, and rounds of random changes leave in the shards exactly
the keys a plain model of the recent part holds."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tgvault.export.site.options import SiteBuildReport
from tgvault.export.site.search import recent
from tgvault.export.site.search.postings import (
    Posting,
    decode_codes,
    encode,
    encode_codes,
    order,
    posting_code,
)
from tgvault.export.site.search.recent import GONE_PATH, POSTS_PER_SHARD, RecentPart, shard_path
from tgvault.export.site.search.scripts import js_call, read_script
from tgvault.export.site.search.shard_text import add_codes, list_text, parse_shard, shard_script
from tgvault.export.site.search.tokens import BUCKET_PREFIX, bucket_of, index_keys
from tgvault.export.site.writer import SiteWriter

KEY = st.text(st.characters(categories=("L", "N", "M")), min_size=1, max_size=6)
POSTING = st.tuples(st.integers(24_000, 24_003), st.integers(0, 3), st.integers(1, 400))


def codes_of(postings: set[Posting]) -> list[int]:
    return sorted(map(posting_code, postings))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 63), st.dictionaries(KEY, st.sets(POSTING, min_size=1, max_size=30), max_size=12))
def test_a_shard_is_written_and_read_as_its_json(shard: int, keys: dict[str, set[Posting]]) -> None:
    lists = {key: list_text(encode_codes(codes_of(postings))) for key, postings in keys.items()}
    entries = {key: encode_codes(codes_of(keys[key])) for key in sorted(keys)}
    expected = js_call("recent", shard, entries)
    if not keys:
        return
    assert shard_script(shard, lists) == expected
    parsed = parse_shard(expected.decode("utf-8"), shard)
    assert parsed == {key: lists[key] for key in sorted(keys)}


@settings(max_examples=400, deadline=None)
@given(st.sets(POSTING, min_size=1, max_size=60), st.sets(POSTING, min_size=1, max_size=30), st.booleans())
def test_postings_added_to_a_list_text_are_the_list_encoded_whole(
    old: set[Posting], new: set[Posting], newer: bool
) -> None:
    """Postings newer than the whole list (new posts: put in front, joining its first group when of the
    same channel and month) or anywhere in it (merged): the text of the whole list encoded."""
    if newer:  # every new posting newer than the list's newest: a later month, or a larger id
        newest = min(old, key=posting_code)
        new = {(newest[0], newest[1], newest[2] + 1 + (i % 500)) for i, _ in enumerate(new)} | {
            (month, slot, i) for month, slot, i in new if month > newest[0]
        }
    codes = sorted(set(map(posting_code, new)))
    text = list_text(encode_codes(codes_of(old)))
    assert add_codes(text, codes) == list_text(encode_codes(sorted(set(codes_of(old)) | set(codes))))


def test_a_shard_not_in_the_usual_form_is_left_to_json() -> None:
    """Spaces, escapes, leading zeros, empty or negative numbers: not cut as text (read as JSON, as
    before, so a file JSON refuses is still ignored)."""
    usual = 'tgvaultSearch.recent(3,{"ab":[24313,0,2,100,1],"в":[24313,0,1,7]});\n'
    assert parse_shard(usual, 3) == {"ab": "24313,0,2,100,1", "в": "24313,0,1,7"}
    for odd in [
        usual.replace(",0,2", ", 0,2"),
        usual.replace('"ab"', '"a\\u0062"'),
        usual.replace(",100,", ",0100,"),
        usual.replace(",100,", ",,"),
        usual.replace(",100,", ",-100,"),
        usual.replace(",100,", ",1.5,"),
        usual.replace("[24313,0,1,7]", "[]"),
        usual.replace("recent(3,", "recent(4,"),
        usual.replace("});", "})"),
    ]:
        assert parse_shard(odd, 3) is None, odd


def test_a_shard_json_wrote_otherwise_is_read_as_json(tmp_path: Path) -> None:
    site = tmp_path / "site"
    writer = SiteWriter(site, SiteBuildReport())
    writer.incremental = True
    posting = (24_313, 0, 500)
    shard = bucket_of("zz"[:BUCKET_PREFIX], 64) % 64
    spaced = f'tgvaultSearch.recent({shard}, {{"zz": [24313, 0, 1, 400]}});\n'
    (site / "search/r").mkdir(parents=True)
    (site / shard_path(shard)).write_text(spaced, "utf-8")
    part = RecentPart(writer, 64, {"shards": 64, "owned": [24313, 0, 1, 400], "files": [shard]})
    part.change(posting, None, "zz")
    part.save()
    manifest = part.manifest()
    assert manifest is not None
    assert manifest["shards"] == 1  # two posts owned: one shard holds them
    arguments = read_script(site / shard_path(bucket_of("zz", 64) % 1), "recent")
    assert arguments is not None
    assert arguments[1]["zz"] == encode_codes(sorted([posting_code(posting), posting_code((24313, 0, 400))]))


WORDS = ["alpha", "beta", "gamma", "delta", "wombat", "квокка", "ёжик", "東京都", "kiwi", "zanzibar", "ab"]


def random_text(rng: random.Random) -> str:
    return " ".join(rng.sample(WORDS, rng.randint(1, 4)))


def test_rounds_of_random_changes_leave_the_keys_a_model_holds(tmp_path: Path) -> None:
    """Builds of new posts (newer and older than the shards' postings, in other months and channels),
    edits and deletions of owned posts and of posts the buckets hold, a post changed twice in a build:
    the shards hold, byte for byte, what ``js_call`` writes of a plain model's keys; the fold gives
    the model's postings."""
    rng = random.Random(19)
    site = tmp_path / "site"
    buckets = 16
    model: dict[str, set[int]] = {}
    gone_model: dict[str, set[Posting]] = {}  # the keys the buckets hold for posts the recent part owns
    texts: dict[Posting, str] = {}  # the posts the recent part owns, with their texts
    bucket_texts = {(24_300, 1, i): random_text(rng) for i in range(1, 40)}  # posts the buckets hold
    manifest = None
    next_id = 1_000
    counts = set()
    for build in range(12):
        writer = SiteWriter(site, SiteBuildReport())
        writer.incremental = True
        part = RecentPart(writer, buckets, manifest)
        for _ in range(rng.randint(1, 25)):
            roll = rng.random()
            if roll < 0.5 or not texts:
                month = rng.choice([24_310, 24_310, 24_309, 24_311])
                next_id += rng.randint(1, 3)
                posting = (
                    month,
                    rng.choice([0, 0, 2]),
                    next_id if rng.random() < 0.8 else rng.randint(1, 999),
                )
                if posting in texts or posting in bucket_texts:
                    continue
                before, after = None, random_text(rng)
            elif roll < 0.8:
                posting = rng.choice(sorted(texts))
                before, after = texts[posting], rng.choice([random_text(rng), None])
            else:
                posting = rng.choice(sorted(bucket_texts))
                if posting in texts:
                    continue
                before, after = bucket_texts[posting], random_text(rng)
            part.change(posting, before, after)
            if posting not in texts and before is not None:
                for key in index_keys(before):
                    gone_model.setdefault(key, set()).add(posting)
            code = posting_code(posting)
            old_keys = index_keys(texts[posting]) if posting in texts else set()
            new_keys = index_keys(after) if after is not None else set()
            for key in old_keys - new_keys:
                model[key].discard(code)
            for key in new_keys - old_keys:
                model.setdefault(key, set()).add(code)
            if after is None:
                texts[posting] = ""  # owned, with no key left
            else:
                texts[posting] = after
        part.save()
        manifest = part.manifest()
        writer.finish()
        # as many shards as the owned posts need, about POSTS_PER_SHARD each (a power of two)
        assert manifest is not None
        count = manifest["shards"]
        counts.add(count)
        assert count == min(buckets, 1 << max(0, (-(-len(texts) // POSTS_PER_SHARD) - 1).bit_length()))
        assert count >= len(texts) / POSTS_PER_SHARD or count == buckets
        shards: dict[int, dict[str, list[int]]] = {}
        for key, codes in model.items():
            if codes:
                shard = bucket_of(key[:BUCKET_PREFIX], buckets) % count
                shards.setdefault(shard, {})[key] = encode_codes(sorted(codes))
        for shard in range(buckets):
            path = site / shard_path(shard)
            if shard in shards:
                entries = {key: shards[shard][key] for key in sorted(shards[shard])}
                assert path.read_bytes() == js_call("recent", shard, entries), (build, shard)
            else:
                assert not path.exists(), (build, shard)
        if gone_model:
            gone = {key: encode(sorted(gone_model[key], key=order)) for key in sorted(gone_model)}
            assert (site / GONE_PATH).read_bytes() == js_call("gone", gone), build
    assert len(counts) >= 3  # the part was cut into more shards as it grew
    writer = SiteWriter(site, SiteBuildReport())
    part = RecentPart(writer, buckets, manifest)
    part.change((24_311, 0, 99_999), None, "wombat fold")  # gathered, not yet in a shard: folded too
    model.setdefault("wombat", set()).add(posting_code((24_311, 0, 99_999)))
    for key in index_keys("wombat fold") - {"wombat"}:
        model.setdefault(key, set()).add(posting_code((24_311, 0, 99_999)))
    added, removed = part.fold()
    assert {key: codes for key, codes in added.items() if codes} == {
        key: codes for key, codes in model.items() if codes
    }
    assert removed == {key: set(map(posting_code, postings)) for key, postings in gone_model.items()}
    assert json.dumps(sorted(decode_codes(encode_codes(sorted(model["wombat"]))))) == json.dumps(
        sorted(model["wombat"])
    )


def test_a_part_written_in_more_shards_than_it_needs_is_cut_into_fewer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recent part an earlier tgvault wrote in 16 shards for a few posts is cut into the shards its
    posts need at the next build: the other shards' files are removed and every key is where a reader
    looks for it."""
    site = tmp_path / "site"
    buckets = 16
    texts = {
        (24_310, 0, 1_000 + i): text for i, text in enumerate(["alpha beta", "квокка ёжик", "東京都 kiwi"])
    }
    monkeypatch.setattr(recent, "shard_count", lambda buckets, owned=0: buckets)  # as 64 shards were
    writer = SiteWriter(site, SiteBuildReport())
    writer.incremental = True
    part = RecentPart(writer, buckets, None)
    for posting, text in texts.items():
        part.change(posting, None, text)
    part.save()
    manifest = part.manifest()
    writer.finish()
    writer.close()
    assert manifest is not None and manifest["shards"] == buckets
    assert len(manifest["files"]) > 2
    monkeypatch.undo()
    writer = SiteWriter(site, SiteBuildReport())
    writer.incremental = True
    part = RecentPart(writer, buckets, manifest)
    texts[(24_310, 0, 1_010)] = "wombat"
    part.change((24_310, 0, 1_010), None, "wombat")
    part.save()
    manifest = part.manifest()
    writer.finish()
    writer.close()
    assert manifest is not None and (manifest["shards"], manifest["files"]) == (1, [0])
    assert sorted(path.name for path in (site / "search/r").glob("*.js")) == ["0.js"]
    arguments = read_script(site / shard_path(0), "recent")
    assert arguments is not None
    expected: dict[str, set[int]] = {}
    for posting, text in texts.items():
        for key in index_keys(text):
            expected.setdefault(key, set()).add(posting_code(posting))
    assert {key: sorted(decode_codes(flat)) for key, flat in arguments[1].items()} == {
        key: sorted(codes) for key, codes in expected.items()
    }
