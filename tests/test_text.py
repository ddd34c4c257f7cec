"""UTF-16 helpers: Telegram's offsets count UTF-16 code units, Python's count code points."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tgvault.domain import EntityKind, TextEntity
from tgvault.text import (
    Utf16Index,
    _nested,
    index_to_utf16,
    split_by_entities,
    utf16_len,
    utf16_slice,
    utf16_to_index,
)

FLAG_RU = "🇷🇺"  # two regional indicators, both astral: 2 characters, 4 units
FAMILY = "👨‍👩‍👧‍👦"  # four astral people joined by three ZWJs: 7 characters, 11 units
ARABIC = "مرحبا بالعالم"  # BMP only: one unit per character
ASTRAL = "𝔸𝔹"  # mathematical double-struck letters: 2 characters, 4 units
FIXTURES = Path(__file__).parent / "fixtures"


def reference_slice(text: str, offset: int, length: int) -> str:
    """An independent UTF-16 slice through the codec, for offsets on character boundaries."""
    data = text.encode("utf-16-le")
    return data[2 * offset : 2 * (offset + length)].decode("utf-16-le")


def entity(kind: EntityKind, offset: int, length: int, **extra: object) -> TextEntity:
    return TextEntity(kind=kind, offset=offset, length=length, **extra)


# ---- lengths -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("abc", 3),
        (FLAG_RU, 4),
        (FAMILY, 11),
        (ARABIC, 13),
        (ASTRAL, 4),
        ("é", 1),  # precomposed BMP character
        ("e\u0301", 2),  # e + combining acute: two code points, two units
        ("\ud83d", 1),  # a lone surrogate (as JSON can carry) counts one unit and does not crash
    ],
)
def test_utf16_len_counts_code_units(text: str, expected: int) -> None:
    """Astral characters count two units, BMP characters one, matching Telegram's counting."""
    assert expected == utf16_len(text)


def test_utf16_len_agrees_with_the_codec() -> None:
    """utf16_len equals the length of the UTF-16 encoding for mixed emoji-heavy text."""
    text = f"Hi {FLAG_RU} {FAMILY} {ARABIC} {ASTRAL} ❤️ 🔥🔥"
    assert len(text.encode("utf-16-le")) // 2 == utf16_len(text)


# ---- offsets -------------------------------------------------------------------------------------


def test_utf16_to_index_maps_offsets_around_a_flag() -> None:
    """Offsets before, inside and after 🇷🇺 map to Python indexes; mid-pair offsets round down."""
    text = f"a{FLAG_RU}b"  # units: a=0, 🇷=1-2, 🇺=3-4, b=5; total 6
    expected = {0: 0, 1: 1, 2: 1, 3: 2, 4: 2, 5: 3, 6: 4}
    assert expected == {offset: utf16_to_index(text, offset) for offset in expected}


@pytest.mark.parametrize(("offset", "expected"), [(-5, 0), (-1, 0), (100, 4), (7, 4)])
def test_utf16_to_index_clamps_out_of_range_offsets(offset: int, expected: int) -> None:
    """Negative offsets clamp to 0 and offsets past the end clamp to len(text)."""
    assert expected == utf16_to_index(f"a{FLAG_RU}b", offset)


def test_utf16_to_index_on_empty_text_is_zero() -> None:
    """Any offset into empty text is index 0."""
    expected = [0, 0, 0]
    assert expected == [utf16_to_index("", offset) for offset in (-1, 0, 5)]


def test_index_to_utf16_maps_indexes_and_clamps() -> None:
    """Python indexes map to UTF-16 offsets; out-of-range indexes clamp to the ends."""
    text = f"a{FLAG_RU}b"
    expected = {-1: 0, 0: 0, 1: 1, 2: 3, 3: 5, 4: 6, 99: 6}
    assert expected == {index: index_to_utf16(text, index) for index in expected}


def test_offsets_round_trip_at_every_character_boundary() -> None:
    """index → utf16 → index is the identity for every index of a mixed text."""
    text = f"x{FAMILY}{ARABIC}{ASTRAL}{FLAG_RU}!"
    assert list(range(len(text) + 1)) == [
        utf16_to_index(text, index_to_utf16(text, index)) for index in range(len(text) + 1)
    ]


def test_utf16_index_rounds_up_inside_a_pair_when_asked() -> None:
    """An end offset inside a surrogate pair is widened to the end of the character."""
    index = Utf16Index(ASTRAL)
    expected = (0, 1, 1, 2)
    assert expected == (
        index.to_index(1),
        index.to_index(1, round_up=True),
        index.to_index(2),
        index.to_index(3, round_up=True),
    )
    expected_length = 4
    assert expected_length == index.utf16_length


# ---- slices --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "offset", "length", "expected"),
    [
        (f"a{FLAG_RU}b", 1, 4, FLAG_RU),
        (f"a{FLAG_RU}b", 5, 1, "b"),
        (f"{FAMILY}!", 0, 11, FAMILY),
        (f"{FAMILY}!", 11, 1, "!"),
        (ARABIC, 6, 7, "بالعالم"),
        (f"{ASTRAL}z", 2, 3, "𝔹z"),
        ("", 0, 3, ""),
    ],
)
def test_utf16_slice_cuts_entity_text(text: str, offset: int, length: int, expected: str) -> None:
    """A UTF-16 span gives the same text as slicing the UTF-16 encoding."""
    assert expected == utf16_slice(text, offset, length)
    if text:
        assert reference_slice(text, offset, length) == utf16_slice(text, offset, length)


@pytest.mark.parametrize(
    ("offset", "length", "expected"),
    [
        (1, 1, "🇷"),  # starts inside nothing, ends inside 🇷: widened to the whole 🇷
        (2, 1, "🇷"),  # starts and ends inside 🇷
        (2, 2, "🇷🇺"),  # from the middle of 🇷 to the middle of 🇺
        (5, 100, "b"),  # runs past the end
        (100, 5, ""),  # starts past the end
        (-3, 4, "a"),  # starts before the text
        (1, 0, ""),  # empty span
        (1, -2, ""),  # negative length
    ],
)
def test_utf16_slice_clamps_odd_spans(offset: int, length: int, expected: str) -> None:
    """Spans cutting surrogate pairs or leaving the text are clamped, never raise."""
    assert expected == utf16_slice(f"a{FLAG_RU}b", offset, length)


# ---- runs ----------------------------------------------------------------------------------------


def test_split_empty_text_gives_no_runs() -> None:
    """Empty text has no runs, even with entities."""
    expected: list[tuple[str, tuple[TextEntity, ...]]] = []
    assert expected == split_by_entities("", [entity(EntityKind.BOLD, 0, 3)])


def test_split_without_entities_gives_one_plain_run() -> None:
    """Text without entities is a single run with no entities."""
    expected: list[tuple[str, tuple[TextEntity, ...]]] = [(ARABIC, ())]
    assert expected == split_by_entities(ARABIC, [])


def test_split_nests_bold_inside_a_text_link() -> None:
    """Bold inside a text link yields link-only and link+bold runs, the link listed first."""
    link = entity(EntityKind.TEXT_LINK, 5, 8, url="https://example.org")
    bold = entity(EntityKind.BOLD, 9, 4)
    expected = [("Read ", ()), ("the ", (link,)), ("docs", (link, bold)), (" now", ())]
    assert expected == split_by_entities("Read the docs now", [bold, link])


def test_split_overlapping_entities() -> None:
    """Partially overlapping bold and italic give bold, bold+italic and italic runs."""
    bold = entity(EntityKind.BOLD, 0, 7)
    italic = entity(EntityKind.ITALIC, 4, 7)
    expected = [("hell", (bold,)), ("o w", (bold, italic)), ("orld", (italic,))]
    assert expected == split_by_entities("hello world", [bold, italic])


def test_split_orders_outermost_first_and_keeps_input_order_for_equal_spans() -> None:
    """Equal spans keep their input order; a longer span starting at the same place comes first."""
    bold = entity(EntityKind.BOLD, 0, 3)
    italic = entity(EntityKind.ITALIC, 0, 3)
    quote = entity(EntityKind.BLOCKQUOTE, 0, 5)
    expected = [("abc", (quote, bold, italic)), ("de", (quote,))]
    assert expected == split_by_entities("abcde", [bold, italic, quote])


def test_split_counts_a_flag_as_four_units() -> None:
    """Entities after a flag are positioned by UTF-16 units (🇷🇺 = 4)."""
    flag = entity(EntityKind.BOLD, 0, 4)
    word = entity(EntityKind.ITALIC, 5, 4)
    expected = [(FLAG_RU, (flag,)), (" ", ()), ("flag", (word,))]
    assert expected == split_by_entities(f"{FLAG_RU} flag", [flag, word])


def test_split_zwj_family_and_arabic() -> None:
    """A ZWJ family (11 units) stays whole and the Arabic word after it lines up."""
    text = f"{FAMILY} {ARABIC}"
    family = entity(EntityKind.SPOILER, 0, 11)
    word = entity(EntityKind.BOLD, 12 + 6, 7)
    expected = [(FAMILY, (family,)), (" مرحبا ", ()), ("بالعالم", (word,))]
    assert expected == split_by_entities(text, [family, word])


def test_split_clamps_entities_inside_pairs_and_beyond_the_text() -> None:
    """Mid-pair, past-the-end, negative and empty entities never crash and never lose text."""
    text = f"{FLAG_RU}ok"
    mid = entity(EntityKind.BOLD, 1, 1)  # inside 🇷: widened to 🇷
    tail = entity(EntityKind.ITALIC, 4, 1000)  # runs past the end: clamped
    outside = entity(EntityKind.CODE, 50, 3)  # starts past the end: covers nothing
    empty = entity(EntityKind.UNDERLINE, 2, 0)  # covers nothing
    before = entity(EntityKind.STRIKETHROUGH, -2, 3)  # starts before the text: clamped to 🇷
    runs = split_by_entities(text, [mid, tail, outside, empty, before])
    # mid and before both clamp to exactly 🇷, so they keep their input order.
    expected = [("🇷", (mid, before)), ("🇺", ()), ("ok", (tail,))]
    assert expected == runs


def test_split_runs_always_rebuild_the_text_and_match_the_codec() -> None:
    """For many random entity sets on emoji-heavy text, runs join back to the text and each run's
    entities are exactly those whose UTF-16 span covers it (checked through the UTF-16 codec)."""
    text = f"Hi {FLAG_RU}! {FAMILY} — {ARABIC} {ASTRAL} ok ❤️ 🔥"
    total = utf16_len(text)
    # Offsets on character boundaries, so the codec reference applies.
    boundaries = [index_to_utf16(text, i) for i in range(len(text) + 1)]
    rng = random.Random(20240607)
    kinds = list(EntityKind)
    for _ in range(300):
        entities = []
        for _ in range(rng.randint(0, 6)):
            start = rng.choice(boundaries)
            end = rng.choice([b for b in boundaries if b >= start])
            entities.append(entity(rng.choice(kinds), start, end - start))
        runs = split_by_entities(text, entities)
        assert text == "".join(piece for piece, _ in runs)
        position = 0
        for piece, active in runs:
            width = utf16_len(piece)
            covering = [
                e
                for e in entities
                if e.length > 0 and e.offset <= position and position + width <= e.offset + e.length
            ]
            assert sorted(covering, key=id) == sorted(active, key=id)
            for e in active:
                assert piece in reference_slice(text, e.offset, e.length)
            position += width
        assert total == position


def test_split_side_by_side_entities_as_the_general_cut_does() -> None:
    """Entities none inside another (the common case, cut in one pass) give the runs that cutting at
    every start and end gives: same pieces, same entities, nothing merged or dropped."""
    text = f"Hi {FLAG_RU}! {FAMILY} — {ARABIC} {ASTRAL} ok ❤️ 🔥 and some more words"
    total = utf16_len(text)
    rng = random.Random(20261207)
    kinds = list(EntityKind)
    checked = 0
    for _ in range(500):
        cuts = sorted(rng.sample(range(total + 3), rng.randint(0, 10)))  # offsets past the end too
        entities = [
            entity(rng.choice(kinds), start, end - start)
            for start, end in zip(cuts[::2], cuts[1::2], strict=False)
            if rng.random() < 0.8
        ]
        rng.shuffle(entities)
        runs = split_by_entities(text, entities)
        index = Utf16Index(text)
        spans = []
        for position, item in enumerate(entities):
            start, end = index.span(item.offset, item.length)
            if end > start:
                spans.append((start, end, position, item))
        spans.sort(key=lambda span: (span[0], -span[1], span[2]))
        if all(spans[k][0] >= spans[k - 1][1] for k in range(1, len(spans))):
            checked += 1
        assert runs == _nested(text, spans)
    assert checked > 300


def test_split_real_post_with_stacked_bold_italic_and_mention() -> None:
    """A real channel post: bold+italic header, then a bold+italic mention, cut at the right places."""
    line = (FIXTURES / "telethon_messages.jsonl").read_text(encoding="utf-8").splitlines()[4]
    message = json.loads(line)
    kinds = {
        "MessageEntityBold": EntityKind.BOLD,
        "MessageEntityItalic": EntityKind.ITALIC,
        "MessageEntityMention": EntityKind.MENTION,
    }
    entities = [entity(kinds[e["_"]], e["offset"], e["length"]) for e in message["entities"]]
    runs = split_by_entities(message["message"], entities)
    expected = [
        ("TCB Scans \n\nBreak next week \n\nJoin ", ("bold", "italic")),
        ("@onepiecespoilhere", ("mention", "bold", "italic")),
    ]
    assert expected == [(piece, tuple(e.kind.value for e in active)) for piece, active in runs]


def test_utf16_index_agrees_with_a_unit_by_unit_walk_on_random_texts() -> None:
    """Every offset of random texts (ASCII, BMP, astral characters, lone surrogates) maps like a walk
    over the text one UTF-16 unit at a time."""
    alphabet = ["a", " ", "é", "Ж", "\u200d", "\ud83d", "\U0001f600", "\U0001f1f7", "𝐁", "\n"]
    generator = random.Random(7)
    for _ in range(300):
        text = "".join(generator.choice(alphabet) for _ in range(generator.randint(0, 30)))
        starts = [0]
        for ch in text:
            starts.append(starts[-1] + (2 if ord(ch) > 0xFFFF else 1))
        index = Utf16Index(text)
        assert starts[-1] == index.utf16_length
        for offset in range(-1, starts[-1] + 2):
            down = max(i for i, start in enumerate(starts) if start <= max(offset, 0))
            up = min((i for i, start in enumerate(starts) if start >= offset), default=len(text))
            assert down == index.to_index(offset), (text, offset)
            assert up == index.to_index(offset, round_up=True), (text, offset)
        assert starts == [index.to_utf16(i) for i in range(len(text) + 1)]
