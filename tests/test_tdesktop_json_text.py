"""A Desktop message's text parts: the quick reading of well-formed parts and the long one agree, and a
part the quick reading cannot vouch for is named by the long one (file, message, field)."""

from __future__ import annotations

from typing import Any

import pytest

from tgvault.domain import EntityKind
from tgvault.errors import ImportFormatError
from tgvault.sources.tdesktop.json_messages import message_of

PARTS: list[Any] = [
    "🇷🇺 ",
    {"type": "plain", "text": "plain 𝔸 "},
    {"type": "bold", "text": "bold"},
    {"type": "italic", "text": "ital"},
    {"type": "link", "text": "example.org"},
    {"type": "text_link", "text": "a link", "href": "https://example.com/"},
    {"type": "text_link", "text": "no href"},
    {"type": "blockquote", "text": "quoted"},
    {"type": "blockquote", "text": "folded", "collapsed": True},
    {"type": "pre", "text": "code", "language": "python"},
    {"type": "mention_name", "text": "Someone", "user_id": 12},
    {"type": "custom_emoji", "text": "🙂", "document_id": 77},
    {"type": "something_new", "text": "?"},
    {"type": "bold", "text": ""},
]


def message(parts: list[Any]) -> dict[str, Any]:
    return {
        "id": 7,
        "type": "message",
        "date": "2024-01-01T00:00:00",
        "date_unixtime": "1704067200",
        "text_entities": parts,
    }


def test_quick_and_long_readings_of_text_parts_agree() -> None:
    quick = message_of(message(PARTS), "result.json, message #0", 1, None, checked=True).post
    long = message_of(message(PARTS), "result.json, message #0", 1, None, checked=False).post
    assert quick.text == long.text and quick.entities == long.entities
    assert [
        (EntityKind.BOLD, 14, 4),
        (EntityKind.ITALIC, 18, 4),
        (EntityKind.URL, 22, 11),
        (EntityKind.TEXT_LINK, 33, 6),
        (EntityKind.TEXT_LINK, 39, 7),
        (EntityKind.BLOCKQUOTE, 46, 6),
        (EntityKind.BLOCKQUOTE, 52, 6),
        (EntityKind.PRE, 58, 4),
        (EntityKind.MENTION_NAME, 62, 7),
        (EntityKind.CUSTOM_EMOJI, 69, 2),
        (EntityKind.UNKNOWN, 71, 1),
    ] == [(e.kind, e.offset, e.length) for e in quick.entities]
    assert [("https://example.com/", False), (None, False), (None, False), (None, True)] == [
        (e.url, e.collapsed)
        for e in quick.entities
        if e.kind in (EntityKind.TEXT_LINK, EntityKind.BLOCKQUOTE)
    ]


@pytest.mark.parametrize("checked", [True, False])
@pytest.mark.parametrize(
    ("part", "field"),
    [
        ({"type": "text_link", "text": "a link", "href": 5}, "href"),
        ({"type": "blockquote", "text": "quoted", "collapsed": "yes"}, "collapsed"),
        ({"type": "bold", "text": 5}, "text"),
        ({"type": "bold"}, "text"),
        ({"type": 5, "text": "x"}, "type"),
    ],
)
def test_malformed_text_parts_are_named(part: dict[str, Any], field: str, checked: bool) -> None:
    with pytest.raises(
        ImportFormatError, match=rf"message #0 \(id 7\), field 'text_entities\[1\]', field '{field}'"
    ):
        message_of(message(["a", part]), "result.json, message #0", 1, None, checked=checked)
