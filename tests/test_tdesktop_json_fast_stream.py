"""The quick way through a chat's ``result.json`` (messages built by ijson's C code) reads what the
explaining walk reads, and leaves every problem to the walk, which names it the same way."""

from __future__ import annotations

import io
import json
import resource
from pathlib import Path
from typing import Any

import pytest

from tgvault.errors import ImportFormatError
from tgvault.sources.tdesktop.json_fast_stream import fast_chat_head, nesting
from tgvault.sources.tdesktop.json_messages import message_of
from tgvault.sources.tdesktop.json_stream import (
    ChatStart,
    CountingReader,
    RawMessage,
    stream_export,
    stream_export_walked,
)

REAL = Path(__file__).parent / "fixtures" / "tdesktop" / "uponthepathofsalaf-public-channel-2026.result.json"


def read(path: Path, walked: bool) -> list[tuple[str, Any, Any]]:
    """Everything the stream hands over, as comparable values."""
    streamed = stream_export_walked if walked else stream_export
    with path.open("rb") as handle:
        return [
            ("chat", item.where, item.values)
            if isinstance(item, ChatStart)
            else ("message", item.position, item.data)
            for item in streamed(path, CountingReader(handle))
        ]


def failure(path: Path, walked: bool) -> str:
    with pytest.raises(ImportFormatError) as caught:
        read(path, walked)
    return f"{caught.value.location}: {caught.value}"


def test_the_quick_path_is_taken_for_a_real_export_and_reads_what_the_walk_reads() -> None:
    head = fast_chat_head(REAL)
    assert head is not None and (3204528972, "public_channel") == (head["id"], head["type"])
    quick, walked = read(REAL, walked=False), read(REAL, walked=True)
    assert len(quick) > 200
    assert quick == walked
    assert ("chat", str(REAL), head) == quick[0]


@pytest.mark.parametrize(
    "document",
    [
        {"chats": {"list": []}, "messages": []},  # a full-account export's sections
        {"about": [1], "messages": []},  # a list before the messages
        {"about": {"x": 1}, "messages": []},
        {"name": "a", "messages": {"id": 1}},  # messages that are not a list
        {"name": "a"},  # no messages
    ],
)
def test_other_shapes_are_left_to_the_walk(tmp_path: Path, document: dict[str, Any]) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert fast_chat_head(path) is None


def test_a_repeated_key_before_the_messages_is_left_to_the_walk(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text('{"name": "a", "name": "b", "messages": []}', encoding="utf-8")
    assert fast_chat_head(path) is None


@pytest.mark.parametrize("cut", [0.02, 0.5, 0.97, -3])
def test_damaged_json_found_on_the_quick_path_is_named_as_the_walk_names_it(
    tmp_path: Path, cut: float
) -> None:
    """A truncated file (in a message, or after the messages): the same error, naming message and field."""
    text = REAL.read_bytes()
    end = int(len(text) * cut) if cut > 0 else len(text) + int(cut)
    path = tmp_path / "result.json"
    path.write_bytes(text[:end])
    assert fast_chat_head(path) is not None
    quick = failure(path, walked=False)
    assert quick == failure(path, walked=True)
    assert "truncated" in quick


def test_a_message_nested_deeper_than_allowed_is_named_by_the_walk(tmp_path: Path) -> None:
    deep = "[" * 70 + "]" * 70
    path = tmp_path / "result.json"
    path.write_text(
        f'{{"name": "a", "type": "public_channel", "id": 1, "messages": [{{"id": 1}}, {{"id": 2, "x": {deep}}}]}}',
        encoding="utf-8",
    )
    assert fast_chat_head(path) is not None
    quick = failure(path, walked=False)
    assert quick == failure(path, walked=True)
    assert "nested more than 64 levels deep" in quick and "after message id 2" in quick


def test_nesting_counts_levels_of_lists_and_objects() -> None:
    assert [0, 1, 2, 3] == [
        nesting(1, 9),
        nesting([], 9),
        nesting([[]], 9),
        nesting({"a": [{"b": 1}], "c": []}, 9),
    ]
    assert 6 == nesting(json.loads("[" * 100 + "]" * 100), 5)  # stops counting past the limit


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 8, 64])
@pytest.mark.parametrize(
    ("data", "escapes"),
    [
        (b'"plain text, \\u00e9 and \\n"', False),
        (b'"\\ud800 alone"', True),
        (b'"a pair \\uD83D\\uDE00"', True),
        (b'"' + b"x" * 20 + b'\\uDC00"', True),
    ],
)
def test_the_reader_notices_an_escaped_surrogate_wherever_the_chunks_cut_it(
    data: bytes, escapes: bool, chunk: int
) -> None:
    reader = CountingReader(io.BytesIO(data))
    while reader.read(chunk):
        pass
    assert (len(data), escapes) == (reader.position, reader.surrogate_escapes)


def test_a_message_mapped_as_checked_is_the_message_mapped_with_every_check() -> None:
    with REAL.open("rb") as handle:
        items = [item for item in stream_export(REAL, CountingReader(handle)) if isinstance(item, RawMessage)]
    for item in items:
        where = f"result.json, message #{item.position}"
        assert message_of(item.data, where, 1, None, checked=True) == message_of(item.data, where, 1, None)


@pytest.mark.parametrize(("depth", "key"), [(100_000, ""), (4_000, "k" * 50), (300, "k" * 3_000)])
def test_deep_nesting_is_left_to_the_walk_before_the_c_parser_holds_its_paths(
    tmp_path: Path, depth: int, key: str
) -> None:
    """ijson keeps the path of every open level (100,000 levels: gigabytes); the quick path hands the
    walk any stretch that could nest that deep, so the import stays small (the bench measures memory;
    here the walk's error shows that it took over)."""
    deep = f'{{"{key}": ' * depth + "1" + "}" * depth if key else "[" * depth + "]" * depth
    path = tmp_path / "result.json"
    path.write_text(
        f'{{"name": "a", "type": "public_channel", "id": 1, "messages": [{{"id": 1}}, {{"id": 2, "x": {deep}}}]}}',
        encoding="utf-8",
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert "nested more than 64 levels deep" in failure(path, walked=False)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KiB


def test_when_the_walk_takes_over_a_valid_export_every_message_is_handed_over_once(tmp_path: Path) -> None:
    """Text full of brackets looks as if it could nest deep: the walk takes over from where the quick
    path stopped, and the stream is the walk's own."""
    messages = [{"id": number, "type": "message", "text": f"post {number}"} for number in range(1, 400)]
    messages[200]["text"] = "[{" * 40_000
    path = tmp_path / "result.json"
    path.write_text(
        json.dumps({"name": "a", "type": "public_channel", "id": 1, "messages": messages}), encoding="utf-8"
    )
    quick = read(path, walked=False)
    assert quick == read(path, walked=True)
    assert [number for number in range(1, 400)] == [item[2]["id"] for item in quick[1:]]


def test_the_chat_values_are_the_walks_also_with_other_values_before_the_messages(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(
        json.dumps({"about": "x", "name": "a", "type": "public_channel", "id": 7, "messages": [{"id": 1}]}),
        encoding="utf-8",
    )
    assert {"name": "a", "type": "public_channel", "id": 7} == fast_chat_head(path)
    assert read(path, walked=False) == read(path, walked=True)
