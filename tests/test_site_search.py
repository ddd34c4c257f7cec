"""The search index: normalising and cutting text (the same in Python and in search.js), posting lists,
answers checked against a brute-force scan of every post's text, and incremental builds that rewrite
only the buckets of the words that changed."""

from __future__ import annotations

import itertools
import json
import random
import shutil
import subprocess
from array import array
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search_archive import CHANNELS, MARKED, STAMP, UoW, build, fill, sqlite_archive
from tgvault.domain import Post
from tgvault.export.site import SiteOptions, build_site
from tgvault.export.site.search import recent
from tgvault.export.site.search import spill as spill_module
from tgvault.export.site.search.entries import searchable_text
from tgvault.export.site.search.lookup import IndexReader
from tgvault.export.site.search.postings import (
    CHUNK,
    CodeLayout,
    chunk_groups,
    chunked,
    chunked_codes,
    code_groups,
    code_posting,
    decode,
    decode_codes,
    encode,
    encode_codes,
    encode_groups,
    order,
    packed_layout,
    posting_code,
)
from tgvault.export.site.search.spill import PostingSpill, merged
from tgvault.export.site.search.tokens import (
    MAX_KEY,
    bucket_of,
    index_keys,
    lookup_key,
    normalise,
    query_terms,
    words,
)
from tgvault.storage.media_store import LocalMediaStore

SEARCH_JS = Path(__file__).resolve().parent.parent / "src/tgvault/export/site/static/search.js"

# ---- normalising and cutting ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GitHub", "github"),
        ("Café CRÈME", "cafe creme"),
        ("Ёлка и йогурт", "елка и иогурт"),  # diacritics go, in Cyrillic too
        ("ｆｕｌｌ－ｗｉｄｔｈ ①", "full-width 1"),  # NFKC
        ("Straße ΟΔΟΣ", "strasse οδοσ"),
        ("عَلَىٰ نَهجِ أَ", "على نهج ا"),  # harakat are marks
    ],
)
def test_normalise_folds_case_width_and_diacritics(text: str, expected: str) -> None:
    assert expected == normalise(text)


def test_words_split_on_punctuation_and_pair_scripts_without_spaces() -> None:
    assert ["github", "com", "tgvault"] == list(words(normalise("GitHub.com/tgvault")))
    assert ["東京", "京都", "都"] == list(words("東京都"))
    assert ["iphone15", "を", "買っ", "った", "た"] == list(words(normalise("iPhone15を 買った")))
    assert ["ภา", "าษ", "ษา", "า"] == list(words("ภาษา"))


def test_query_terms_cut_like_the_index() -> None:
    assert ["github", "com"] == query_terms("GitHub.com")
    assert ["東京", "京都"] == query_terms("東京都")
    assert ["猫"] == query_terms("猫")
    assert ["cafe"] == query_terms("café CAFE")
    assert [] == query_terms(" .,!? ")


def test_index_keys_are_grams_and_suffixes() -> None:
    keys = index_keys("Hub")
    assert {"h", "u", "b", "hu", "ub", "hub"} == keys
    long = "a" * 5 + "b" * 30
    keys = index_keys(long)
    assert max(len(key) for key in keys) == MAX_KEY
    assert long[:MAX_KEY] in keys
    assert lookup_key("x" * 40) == "x" * MAX_KEY


# Characters from every kind the cutting tells apart: ASCII, Latin with marks, Cyrillic, Arabic with
# harakat, CJK and kana, Thai, digits, punctuation, spaces of every sort, marks alone, emoji, fillers.
_MIXED = "aZ09 _-.,!?\t\n\u00a0\u2003\u3000éÉßςЁёйعَلَىٰ東京都ひらカナ々ไทย①ｆ\u0301\u200b\u2800🙂𝔸"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(_MIXED) | st.characters(), max_size=60))
def test_index_keys_are_the_keys_of_the_words(text: str) -> None:
    """The fast path (text without scripts written without spaces, split at its separators) files a text
    under exactly the keys of the words :func:`words` cuts it into."""
    expected: set[str] = set()
    for word in words(normalise(text)):
        expected.update(word[i : i + n] for n in (1, 2, 3) for i in range(len(word) - n + 1))
        expected.update(word[i : i + MAX_KEY] for i in range(len(word) - 3))
    assert index_keys(text) == expected


def test_chunks_are_cut_from_the_oldest_so_newer_postings_leave_them_alone() -> None:
    rng = random.Random(7)
    older = sorted(
        {(rng.randrange(600, 620), rng.randrange(3), rng.randrange(10**6)) for _ in range(3000)}, key=order
    )
    newer = sorted(
        {(rng.choice((620, 621)), rng.randrange(3), rng.randrange(10**6)) for _ in range(700)}, key=order
    )
    before, after = chunked(older), chunked(sorted([*older, *newer], key=order))
    assert len(before) > 3
    assert after[-(len(before) - 1) :] == before[1:]  # every chunk but the first is the same
    assert [p for chunk in after for p in chunk] == sorted([*older, *newer], key=order)


def test_postings_round_trip_and_chunks_hold_whole_groups() -> None:
    rng = random.Random(3)
    postings = sorted(
        {(rng.randint(24000, 24010), rng.randint(0, 2), rng.randint(1, 5000)) for _ in range(3000)}, key=order
    )
    assert postings == decode(encode(postings))
    chunks = chunked(postings)
    assert postings == [p for chunk in chunks for p in chunk]
    assert all(len(chunk) <= CHUNK or len({p[:2] for p in chunk}) == 1 for chunk in chunks)
    for before, after in itertools.pairwise(chunks):
        assert before[-1][:2] != after[0][:2]  # a channel's month is never split between chunks


def test_posting_codes_sort_cut_and_encode_as_postings_do() -> None:
    rng = random.Random(5)
    postings = list(
        {
            (
                rng.choice([1, 24000, 24003, 0xFFFFF]),
                rng.choice([0, 1, 7, 0xFFFFFF]),
                rng.randint(1, 2**32 - 1),
            )
            for _ in range(4000)
        }
        | {(24001, 0, rng.randint(1, 900)) for _ in range(900)}  # a group longer than a chunk
    )
    codes = sorted(posting_code(p) for p in postings)
    postings.sort(key=order)
    assert codes == [posting_code(p) for p in postings]  # the codes' order is the lists' order
    assert [encode(chunk) for chunk in chunked(postings)] == [encode_codes(c) for c in chunked_codes(codes)]
    assert decode(encode_codes(codes)) == postings
    assert decode_codes(encode(postings)) == codes
    assert [code_posting(code) for code in codes] == postings


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(24_000, 24_004), st.integers(0, 2), st.integers(1, 2_000)),
        max_size=1_500,
        unique=True,
    )
)
def test_chunks_encoded_from_groups_found_once_are_the_chunks_encoded_one_by_one(
    postings: list[tuple[int, int, int]],
) -> None:
    """The fast path of a full build (groups found once for the cuts and the encoding, gaps of a chunk
    taken at once) writes what encoding each chunk of :func:`chunked_codes` alone does, and what
    :func:`encode` writes of :func:`chunked` postings."""
    layout = packed_layout(range(24_000, 24_005), 3)
    assert layout is not None
    codes = array("Q", sorted(layout.code(p) for p in postings))
    groups = code_groups(codes)
    fast = [encode_groups(codes, groups[first:last], layout) for first, last in chunk_groups(groups)]
    assert fast == [encode_codes(chunk, layout) for chunk in chunked_codes(codes)]
    assert fast == [encode(chunk) for chunk in chunked(sorted(postings, key=order))]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run search.js outside a browser")
def test_search_js_cuts_and_hashes_like_python() -> None:
    queries = [
        "GitHub.com",
        "Café Ёлка",
        "東京都の天気",
        "ภาษาไทย",
        "عَلَىٰ نَهجِ السَّلَفِ",
        "Straße ΟΔΟΣ ｆｕｌｌ",
        "iPhone15を買った",
        "x" * 30,
        "🇷🇺 #новости @durov",
    ]
    script = (
        "global.window = {}; global.document = {};\n"
        + SEARCH_JS.read_text("utf-8")
        + "\nconst q = JSON.parse(process.argv[1]);\n"
        + "console.log(JSON.stringify(q.map(t => [window.tgvaultSearch.terms(t),"
        + " window.tgvaultSearch.terms(t).map(k => window.tgvaultSearch.bucketOf(k.slice(0, 20), 4096))])));"
    )
    out = subprocess.run(
        ["node", "-e", script, json.dumps(queries)], capture_output=True, text=True, check=True, timeout=60
    )
    expected = [[query_terms(q), [bucket_of(lookup_key(t), 4096) for t in query_terms(q)]] for q in queries]
    assert expected == json.loads(out.stdout)


# ---- answers against a brute-force scan ----------------------------------------------------------


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[tuple[int, int], str]]:
    root = tmp_path_factory.mktemp("search-index")
    texts = {}
    with sqlite_archive(root) as uow:
        fill(uow, 1500)
        build(uow, root / "site")
        with uow() as unit:
            for channel in CHANNELS:
                for post in unit.posts.iter_channel(channel.id):
                    texts[(post.channel_id, post.message_id)] = normalise(searchable_text(post))
    return root / "site", texts


def brute_force(texts: dict[tuple[int, int], str], query: str) -> set[tuple[int, int]]:
    """Every post whose normalised text holds every term of the query (see tokens.py for why this is the
    definition)."""
    terms = query_terms(query)
    return {key for key, text in texts.items() if all(term in text for term in terms)}


def sample_queries(texts: dict[tuple[int, int], str], count: int) -> list[str]:
    rng = random.Random(11)
    queries = [
        "GitHub.com",
        "github",
        "hub",
        "Zanzibar",
        "Занзибар",
        "زنجبار",
        "東京都",
        "東京",
        "都",
        "天気予報",
    ]
    queries += ["ภาษา", "é", "e", "ка", "cafe", "café", "archive edit", "the", "#новости", "t.me", "99"]
    posts = sorted(texts.values())
    while len(queries) < count:
        ws = list(words(rng.choice(posts)))
        if not ws:
            continue
        picked = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            word = rng.choice(ws)
            start = rng.randrange(len(word))
            picked.append(word[start : start + rng.randint(1, 9)])
        queries.append(" ".join(picked))
    return queries


def test_the_index_finds_exactly_the_posts_holding_every_term(
    indexed: tuple[Path, dict[tuple[int, int], str]],
) -> None:
    site, texts = indexed
    reader = IndexReader(site)
    assert len(texts) > 1500
    checked = 0
    for query in sample_queries(texts, 400):
        expected = brute_force(texts, query)
        found = reader.search(query)
        assert len(found) == len(set(found)), query
        assert expected == set(found), query
        checked += len(expected)
    assert checked > 10_000  # the queries found many posts, not just a handful


def test_long_terms_find_a_superset_never_less(indexed: tuple[Path, dict[tuple[int, int], str]]) -> None:
    site, texts = indexed
    reader = IndexReader(site)
    long_word = max(
        (w for text in texts.values() for w in words(text) if len(w) > MAX_KEY), key=len, default=""
    )
    assert long_word, "the corpus has words longer than a key"
    assert brute_force(texts, long_word) <= set(reader.search(long_word))


def test_results_are_newest_first_and_long_lists_are_chunked(
    indexed: tuple[Path, dict[tuple[int, int], str]],
) -> None:
    site, _texts = indexed
    reader = IndexReader(site)
    chunks = list((site / "search/i").glob("*/*.js"))
    assert chunks, "frequent keys have more than one chunk"
    bucket_files = list((site / "search/i").glob("*.js"))
    assert len(bucket_files) == reader.manifest["buckets"]
    assert max(path.stat().st_size for path in bucket_files) < 120_000


# ---- incremental builds ---------------------------------------------------------------------------


def index_files(site: Path) -> dict[str, bytes]:
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted((site / "search").rglob("*.js"))}


QUERIES = [
    "zanzibar",
    "the",
    "e",
    "ка",
    "東京",
    "quokka azuol",
    "猫舌",
    "wombat",
    "edited",
    "archive edit",
    "hub",
]


def same_answers(site: Path, fresh: Path, queries: list[str], step: int = 0) -> None:
    """Both indexes answer every query alike (in the same order)."""
    ours, theirs = IndexReader(site), IndexReader(fresh)
    for query in queries:
        assert theirs.search(query) == ours.search(query), (step, query)


def add_post(unit_of_work: UoW, channel_id: int, message_id: int, text: str, days: int = 3000) -> None:
    with unit_of_work() as uow:
        uow.posts.upsert_many(
            [
                Post(
                    channel_id=channel_id, message_id=message_id, date=STAMP + timedelta(days=days), text=text
                )
            ],
            STAMP + timedelta(days=1),
        )
        uow.commit()


def edit_post(unit_of_work: UoW, channel_id: int, message_id: int, text: str, day: int = 2) -> None:
    with unit_of_work() as uow:
        post = uow.posts.get(channel_id, message_id)
        assert post is not None
        uow.posts.upsert_many([post.model_copy(update={"text": text})], STAMP + timedelta(days=day))
        uow.commit()


def test_a_new_post_goes_to_the_recent_shards_of_its_keys(unit_of_work: UoW, tmp_path: Path) -> None:
    """A rebuild after a new post rewrites no bucket: the post's keys go to the recent shards of their
    buckets, and the index answers as a build from scratch does."""
    fill(unit_of_work, 400)
    build(unit_of_work, tmp_path / "site")
    before = index_files(tmp_path / "site")
    text = "Quokkaquest arrives: ĄŽUOLAS and 猫舌"
    add_post(unit_of_work, CHANNELS[0].id, 99_999, text)
    second = build(unit_of_work, tmp_path / "site")
    assert second.incremental
    after = index_files(tmp_path / "site")
    changed = {path for path in after if before.get(path) != after[path]}
    reader = IndexReader(tmp_path / "site")
    shards = reader.recent_shards
    assert shards == 1  # one post: one shard (the part grows by powers of two, recent.shard_count)
    touched = {
        f"search/r/{bucket_of(key, reader.manifest['buckets']) % shards}.js" for key in index_keys(text)
    }
    assert {path for path in changed if path.startswith("search/r/")} == touched
    assert changed - touched == {
        "search/index.js",
        f"search/t/{CHANNELS[0].id}/2033-03/6249.js",
        f"search/{CHANNELS[0].id}/2033-03.js",
    }
    assert [(CHANNELS[0].id, 99_999)] == reader.search("quokka azuol")
    assert [(CHANNELS[0].id, 99_999)] == reader.search("猫舌")
    build(unit_of_work, tmp_path / "fresh", full=True)
    assert not list((tmp_path / "fresh/search/r").glob("*"))  # a build from scratch has no recent part
    same_answers(tmp_path / "site", tmp_path / "fresh", QUERIES)


def test_a_new_post_rewrites_only_the_buckets_of_its_keys_when_folded(
    unit_of_work: UoW, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recent, "FOLD_AT", 0)  # every build folds what it changed into the buckets
    fill(unit_of_work, 400)
    first = build(unit_of_work, tmp_path / "site")
    assert not first.incremental
    before = index_files(tmp_path / "site")
    text = "Quokkaquest arrives: ĄŽUOLAS and 猫舌"
    add_post(unit_of_work, CHANNELS[0].id, 99_999, text)
    second = build(unit_of_work, tmp_path / "site")
    assert second.incremental
    after = index_files(tmp_path / "site")
    changed = {path for path in after if before.get(path) != after[path]}
    buckets = int(IndexReader(tmp_path / "site").manifest["buckets"])
    touched = {f"search/i/{bucket_of(key, buckets)}.js" for key in index_keys(text)}
    changed_buckets = {path for path in changed if path.count("/") == 2 and path.startswith("search/i/")}
    assert changed_buckets == touched
    assert len(touched) < buckets
    touched_numbers = {path.split("/")[-1].removesuffix(".js") for path in touched}
    others = changed - changed_buckets
    assert {"search/index.js", f"search/t/{CHANNELS[0].id}/2033-03/6249.js"} <= others
    for path in others - {"search/index.js"}:
        # the month's list of posts and its text block, or a new chunk of a key of a touched bucket
        assert path.startswith((f"search/{CHANNELS[0].id}/2033-03", "search/t/")) or (
            path.split("/")[2] in touched_numbers
        ), path
    reader = IndexReader(tmp_path / "site")
    assert [(CHANNELS[0].id, 99_999)] == reader.search("quokka azuol")
    assert [(CHANNELS[0].id, 99_999)] == reader.search("猫舌")
    # and the patched index is the one a build from scratch gives
    full = build(unit_of_work, tmp_path / "fresh", full=True)
    assert not full.incremental
    assert index_files(tmp_path / "fresh") == after


def test_new_posts_leave_the_older_chunks_of_long_lists_as_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks are numbered from the oldest: new posts change a key's first chunk or add chunks, and the
    chunk files already written are neither rewritten nor renumbered (when the recent part is folded)."""
    monkeypatch.setattr(recent, "FOLD_AT", 0)
    with sqlite_archive(tmp_path) as uow:
        fill(uow, 1200)  # 128 buckets, as for the 1,530 posts after (a build from scratch sizes them)
        build(uow, tmp_path / "site")
        before = index_files(tmp_path / "site")
        old_chunks = {path for path in before if path.startswith("search/i/") and path.count("/") == 3}
        assert old_chunks, "frequent keys have more than one chunk"
        later = STAMP + timedelta(days=3000)
        with uow() as unit:
            unit.posts.upsert_many(
                [
                    Post(
                        channel_id=CHANNELS[0].id,
                        message_id=900_000 + k,
                        date=later,
                        text=f"the zanzibar {k}",
                    )
                    for k in range(330)  # most of a chunk: first chunks overflow
                ],
                STAMP + timedelta(days=1),
            )
            unit.commit()
        report = build(uow, tmp_path / "site")
        assert report.incremental
        after = index_files(tmp_path / "site")
        assert {path: after.get(path) for path in old_chunks} == {path: before[path] for path in old_chunks}
        assert (set(after) - set(before)) & {
            p for p in after if p.count("/") == 3 and p.startswith("search/i/")
        }
        reader = IndexReader(tmp_path / "site")
        assert {(CHANNELS[0].id, 900_000 + k) for k in range(330)} <= set(reader.search("zanzibar"))
        build(uow, tmp_path / "fresh", full=True)
        assert index_files(tmp_path / "fresh") == after


@pytest.mark.parametrize("fold", [False, True], ids=["recent", "folded"])
def test_edits_leave_the_index(
    unit_of_work: UoW, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fold: bool
) -> None:
    if fold:
        monkeypatch.setattr(recent, "FOLD_AT", 0)
    fill(unit_of_work, 300)
    build(unit_of_work, tmp_path / "site")
    channel_id, message_id = next(iter(MARKED))
    edit_post(unit_of_work, channel_id, message_id, "Now about Wombats only")
    again = build(unit_of_work, tmp_path / "site")
    assert again.incremental
    reader = IndexReader(tmp_path / "site")
    assert (channel_id, message_id) in reader.search("wombat")
    assert (channel_id, message_id) not in reader.search("zanzibar")
    assert reader.search("zanzibar")  # the other posts about it are still found
    build(unit_of_work, tmp_path / "fresh", full=True)
    same_answers(tmp_path / "site", tmp_path / "fresh", QUERIES)
    if fold:
        assert index_files(tmp_path / "fresh") == index_files(tmp_path / "site")


def test_rebuilds_gather_in_the_recent_part_and_fold_into_what_a_full_build_writes(
    unit_of_work: UoW, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New posts, edits of old and of new posts, edits of an edit, deletions: after each rebuild the
    index answers as a build from scratch; folding the recent part gives that build's index, byte for
    byte, with no recent file left."""
    fill(unit_of_work, 300)
    site, fresh = tmp_path / "site", tmp_path / "fresh"
    build(unit_of_work, site)
    old_posts = list(MARKED)
    queries = [*QUERIES, "wombat zanzibar", "quokka", "platypus", "kiwi"]
    steps = [
        lambda: add_post(unit_of_work, CHANNELS[0].id, 99_001, "Quokka and Zanzibar news"),
        lambda: edit_post(unit_of_work, *old_posts[0], "Now about Wombats only"),
        lambda: edit_post(unit_of_work, *old_posts[0], "Wombats and a platypus, edited again", 3),
        lambda: edit_post(unit_of_work, CHANNELS[0].id, 99_001, "Quokka edited: kiwi", 4),
        lambda: add_post(unit_of_work, CHANNELS[1].id, 99_002, "Kiwi wombat in 東京", days=10),
        lambda: edit_post(unit_of_work, *old_posts[1], "GitHub edited away", 5),
    ]
    for number, step in enumerate(steps):
        step()
        before = index_files(site)
        assert build(unit_of_work, site).incremental
        changed = {path for path, data in index_files(site).items() if before.get(path) != data}
        assert not {path for path in changed if path.startswith("search/i/")}, number  # no bucket
        build(unit_of_work, fresh, full=True)
        same_answers(site, fresh, queries, number)
    with unit_of_work() as uow:
        deleted = uow.posts.mark_deleted(old_posts[2][0], [old_posts[2][1]], STAMP + timedelta(days=6))
        uow.commit()
    assert deleted == 1
    build(unit_of_work, site)
    build(unit_of_work, fresh, full=True)
    same_answers(site, fresh, [*queries, "زنجبار"])
    owned = IndexReader(site).owned
    assert len(owned) == 4  # two new posts, two old ones edited (a deleted post stays in the archive)
    assert (site / recent.GONE_PATH).exists()  # the old posts' bucket keys, removed when folded
    monkeypatch.setattr(recent, "FOLD_AT", 3)  # the next rebuild folds
    build(unit_of_work, site)
    assert not (site / "search/r").exists()
    assert "recent" not in IndexReader(site).manifest
    assert index_files(fresh) == index_files(site)


def test_a_build_that_stopped_half_way_is_followed_by_an_index_from_scratch(
    unit_of_work: UoW, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(unit_of_work, 200)
    site = tmp_path / "site"
    build(unit_of_work, site)
    unfinished = tmp_path / "site.tgvault-search-unfinished"
    assert not unfinished.exists()  # only while the index is written
    with unit_of_work() as uow:
        uow.posts.upsert_many(
            [Post(channel_id=CHANNELS[1].id, message_id=77_777, date=STAMP, text="Platypus")],
            STAMP + timedelta(days=1),
        )
        uow.commit()
    saved = recent.RecentPart.save

    def save_then_stop(self: recent.RecentPart) -> None:
        saved(self)
        raise KeyboardInterrupt  # the build is stopped after its text blocks and recent shards are written

    monkeypatch.setattr(recent.RecentPart, "save", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        build(unit_of_work, site)
    assert unfinished.exists()
    monkeypatch.setattr(recent.RecentPart, "save", saved)
    assert build(unit_of_work, site).incremental  # the pages are brought up to date as usual
    assert not unfinished.exists()
    assert [(CHANNELS[1].id, 77_777)] == IndexReader(site).search("platypus")
    build(unit_of_work, tmp_path / "fresh", full=True)
    assert index_files(tmp_path / "fresh") == index_files(site)


# ---- the spill of a build from scratch -----------------------------------------------------------


def test_the_spill_gives_back_every_key_sorted_from_many_small_overlapping_runs() -> None:
    """Flushes of a few postings each, months filed in no order: a key's runs interleave, and what the
    spill gives back is the key's list sorted, as one list of codes would be."""
    rng = random.Random(5)
    months = [24_100 + k for k in range(30)]
    layout = packed_layout(months, 3)
    assert layout is not None
    spill = PostingSpill(64, 4, layout)
    part = spill.part()
    part.flush_at = 7
    expected: dict[str, list[int]] = {}
    postings = [(m, s, i) for m in months for s in range(3) for i in rng.sample(range(1, 5000), 12)]
    rng.shuffle(postings)
    for posting in postings:
        keys = {rng.choice("abcdefgh") * rng.randint(1, 3) for _ in range(3)}
        part.add(keys, posting)
        for key in keys:
            expected.setdefault(key, []).append(layout.code(posting))
    part.flush()
    got: dict[str, list[int]] = {}
    runs = 0
    try:
        for partition in spill.each_partition():
            for keys in partition.values():
                for key, pieces in keys.items():
                    runs += len(pieces)
                    got[key] = list(merged(pieces))
    finally:
        spill.close()
    assert runs > 10 * len(expected)  # many runs a key, overlapping
    assert got == {key: sorted(codes) for key, codes in expected.items()}
    # and they encode as the postings do
    for key, codes in got.items():
        flat = encode_codes(codes, layout)
        assert flat == encode(sorted((layout_posting(layout, c) for c in codes), key=order)), key


def layout_posting(layout: CodeLayout, code: int) -> tuple[int, int, int]:
    high = code >> 32
    return (
        layout.newest - (high >> layout.slot_bits),
        high & ((1 << layout.slot_bits) - 1),
        0xFFFFFFFF - (code & 0xFFFFFFFF),
    )


def test_an_index_spilled_in_tiny_runs_is_the_index_spilled_in_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same site built with the spill flushed every few postings (on one worker: months of both
    channels in each run, runs that interleave) and as usual: the same index, byte for byte."""
    with sqlite_archive(tmp_path) as uow:
        fill(uow, 700)
        options = SiteOptions(out_dir=tmp_path / "plain", title="Search test", posts_per_page=50, workers=1)
        build_site(uow, LocalMediaStore(tmp_path / "media"), options, full=True)
        monkeypatch.setattr(spill_module, "FLUSH_AT", 50)
        options = SiteOptions(out_dir=tmp_path / "tiny", title="Search test", posts_per_page=50, workers=1)
        build_site(uow, LocalMediaStore(tmp_path / "media"), options, full=True)
    plain, tiny = index_files(tmp_path / "plain"), index_files(tmp_path / "tiny")
    assert any(path.count("/") == 3 for path in plain), "frequent keys have more than one chunk"
    assert tiny == plain
