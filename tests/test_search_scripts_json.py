"""The search index's scripts (``js_call``) written by orjson: byte for byte what ``json.dumps`` wrote, for
every value the index writes and hostile strings (controls, quotes, U+2028/2029, emoji, lone surrogates),
big integers and keys that are not strings (those through ``json.dumps``)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tgvault.export.site.search.scripts import js_call


def json_dumps_call(function: str, *arguments: Any) -> bytes:
    """``js_call`` as it was written with ``json.dumps`` (the reference)."""
    parts = []
    for argument in arguments:
        data = json.dumps(argument, ensure_ascii=False, separators=(",", ":"))
        parts.append(data.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return f"tgvaultSearch.{function}({','.join(parts)});\n".encode("utf-8", "replace")


HOSTILE = "\u2028\u2029\x00\x01\x1f\x7f\x85\"\\/<>&'\n\r\t\b\f\ud800\udfff🇷🇺👩‍👩‍👧é东京ع\u200f"
strings = st.one_of(
    st.text(st.sampled_from(HOSTILE), max_size=12),
    st.text(st.characters(blacklist_categories=()), max_size=12),  # any code point, surrogates too
)
integers = st.one_of(st.integers(-(2**63), 2**64 - 1), st.integers())  # the postings' range, and any
scalars = st.one_of(st.none(), st.booleans(), integers, strings)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(strings, inner, max_size=4),
        st.dictionaries(st.integers(0, 9), inner, max_size=3),  # keys json.dumps writes as strings
    ),
    max_leaves=20,
)


@settings(max_examples=600, deadline=None)
@given(st.lists(values, min_size=1, max_size=3))
def test_js_call_writes_the_bytes_json_dumps_wrote(arguments: list[Any]) -> None:
    assert js_call("chunk", *arguments) == json_dumps_call("chunk", *arguments)


def test_the_index_s_own_shapes_are_the_same() -> None:
    """A text block, a chunk, a bucket and a month list as the build writes them."""
    rows = [[17, "../c/1001/2024/05.html#m17", "2024-05-01T10:00:00+03:00", "Привет\u2028мир 🇷🇺 <b>&"]]
    for function, arguments in (
        ("text", ("1001/2024-05/1", rows)),
        ("chunk", ("17.3", [647, 0, 3, 4294967295, 2, 5])),
        ("bucket", (5, [["ab", 12, 0, 3, [1, 2]], ["abcd", 1, 1, 0, []]])),
        ("month", ({"c": 1001, "m": "2024-05", "p": [3, 2, 1]},)),
    ):
        assert js_call(function, *arguments) == json_dumps_call(function, *arguments)
