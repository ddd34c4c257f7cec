"""How text becomes search terms, the same way here and in ``static/search.js``.

Normalising: Unicode NFKC, lower case, diacritics dropped (every non-spacing mark, Unicode category
Mn, after canonical decomposition: ``café`` = ``cafe``, ``ё`` = ``е``, Arabic harakat ignored), ``ß`` read
as ``ss`` and final ``ς`` as ``σ``.

Words: runs of letters, digits and spacing marks; everything else (spaces, punctuation, symbols, ``_``)
separates, so ``github.com`` is the words ``github`` and ``com``. Scripts written without spaces (Han,
Hiragana, Katakana, Thai, Lao, Khmer, Myanmar) are cut into overlapping character pairs plus the last
character of each run: ``東京都`` gives ``東京``, ``京都``, ``都``.

Matching (what the index finds, and the tests check by brute force): a query is cut the same way; a post
matches when every query term is a substring of one of its words (a pair from a query run must occur as
a pair, a single character anywhere in a run). Terms longer than :data:`MAX_KEY` characters are looked up
by their first :data:`MAX_KEY` characters, so they find a superset, never less.

Index keys: every substring of one to three characters of a word (``grams``, looked up exactly), and
every suffix of four or more (cut to :data:`MAX_KEY`), looked up by prefix. Keys go to a bucket by a hash
of their first four characters, so one query term reads one bucket.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

MAX_KEY = 20  # characters kept of a suffix key (and of a query term when looked up)
BUCKET_PREFIX = 4  # characters of a key that choose its bucket (shorter terms are looked up as grams)

# Scripts without spaces between words: cut into character pairs.
_NO_SPACE_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer symbols
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3021, 0x3029),  # Hangzhou numerals
    (0x3031, 0x3035),  # kana repeat marks
    (0x3038, 0x303C),
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),  # Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)

_WORD = 1
_NO_SPACE = 2
_KNOWN_CHARACTERS = 200_000  # characters whose kind is remembered


def _kind(ch: str) -> int:
    """0 for a separator, 1 for a character of a spaced word, 2 for one of a script without spaces."""
    if unicodedata.category(ch)[0] not in "LNM":
        return 0
    code = ord(ch)
    return _NO_SPACE if any(low <= code <= high for low, high in _NO_SPACE_RANGES) else _WORD


class _Kinds(dict[int, str]):
    """``str.translate`` table: a code point → its kind as a digit, worked out on first sight."""

    def __missing__(self, code: int) -> str:
        kind = str(_kind(chr(code)))
        if len(self) < _KNOWN_CHARACTERS:
            self[code] = kind
        return kind


_kinds = _Kinds()
_RUN = re.compile("1+|2+")


class _Spaces(dict[int, int]):
    """``str.translate`` table: a separator → a space, a character of a word → itself (on first sight)."""

    def __missing__(self, code: int) -> int:
        kept = code if _kind(chr(code)) else 0x20
        if len(self) < _KNOWN_CHARACTERS:
            self[code] = kept
        return kept


_spaces = _Spaces()
# Characters of the scripts without spaces (or sharing their blocks): a text without any is cut into
# words by str.split once its separators are spaces (no character of a word is white space to split).
_MAYBE_NO_SPACE = re.compile("[" + "".join(f"{chr(low)}-{chr(high)}" for low, high in _NO_SPACE_RANGES) + "]")


def normalise(text: str) -> str:
    """Text as the index sees it: NFKC, lower case, no diacritics, ``ß`` → ``ss``, ``ς`` → ``σ``."""
    if text.isascii():  # nothing to compose, decompose or drop
        return text.lower()
    folded = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).lower())
    stripped = folded.translate(_marks)
    return unicodedata.normalize("NFC", stripped).replace("ß", "ss").replace("ς", "σ")


class _Marks(dict[int, int | None]):
    """``str.translate`` table dropping the non-spacing marks (category Mn), worked out on first sight."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.category(chr(code)) == "Mn" else code
        if len(self) < _KNOWN_CHARACTERS:
            self[code] = kept
        return kept


_marks = _Marks()


def words(text: str) -> Iterator[str]:
    """The words of normalised ``text``: spaced words whole, runs without spaces as character pairs."""
    for kind, run in _runs(text):
        if kind == _WORD:
            yield run
        elif kind == _NO_SPACE:
            for i in range(len(run) - 1):
                yield run[i : i + 2]
            yield run[-1]


def query_terms(query: str) -> list[str]:
    """The distinct terms of a query, in order (a run without spaces of one character stays whole)."""
    terms: list[str] = []
    normalised = normalise(query)
    seen: set[str] = set()
    for kind, run in _runs(normalised):
        cut = [run] if kind == _WORD or len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
        for term in cut:
            if term not in seen:
                seen.add(term)
                terms.append(term)
    return terms


def _runs(text: str) -> Iterator[tuple[int, str]]:
    """Each run of one kind of character (a word, or text written without spaces) and its kind."""
    kinds = text.translate(_kinds)  # one digit per character, so the runs are found by a regex
    for run in _RUN.finditer(kinds):
        start, end = run.span()
        yield (_WORD if kinds[start] == "1" else _NO_SPACE), text[start:end]


def index_keys(text: str) -> set[str]:
    """Every key a text is filed under: the grams of one to three characters and the suffixes of its words."""
    known = _word_keys
    normalised = normalise(text)
    if _MAYBE_NO_SPACE.search(normalised) is None:
        found = set(normalised.translate(_spaces).split())
    else:
        found = set(words(normalised))
    each: list[frozenset[str]] = []
    for word in found:
        cached = known.get(word)
        if cached is None:
            cached = _keys_of_word(word)
            if len(known) < _KNOWN_WORDS:
                known[word] = cached
        each.append(cached)
    return set().union(*each)


_KNOWN_WORDS = 8192  # words whose keys are remembered (the frequent ones come first): ≈1.5 KB each
_word_keys: dict[str, frozenset[str]] = {}


def _keys_of_word(word: str) -> frozenset[str]:
    length = len(word)
    keys = set(word)
    keys.update(word[i : i + 2] for i in range(length - 1))
    keys.update(word[i : i + 3] for i in range(length - 2))
    keys.update(word[i : i + MAX_KEY] for i in range(length - BUCKET_PREFIX + 1))
    return frozenset(keys)


def lookup_key(term: str) -> str:
    """What a query term is looked up by: the term itself, cut to :data:`MAX_KEY` characters."""
    return term[:MAX_KEY]


def bucket_of(key: str, buckets: int) -> int:
    """The bucket of a key (or of a query term): FNV-1a of its first code points, as search.js does."""
    value = 0x811C9DC5
    for ch in key[:BUCKET_PREFIX]:
        value ^= ord(ch)
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value % buckets
