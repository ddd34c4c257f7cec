"""Post texts for testing and measuring search: many scripts, a vocabulary that keeps growing with the
number of posts (as real archives do), common words far more frequent than rare ones, and the things
readers search for (site names in links, hashtags, diacritics, Japanese and Chinese without spaces,
Thai). Deterministic for a given seed; nothing here touches Telegram.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from tgvault.testing.content.corpora import ARABIC, CJK, CYRILLIC, HASHTAGS, LATIN

__all__ = ["SYLLABLES", "search_texts"]

# Syllables of made-up words, per script: words are drawn from a Zipf-like vocabulary built from them.
SYLLABLES = {
    "latin": [
        "ka",
        "lo",
        "mi",
        "ne",
        "ru",
        "sta",
        "ver",
        "qu",
        "é",
        "ü",
        "ñ",
        "tion",
        "ar",
        "chi",
        "bo",
        "de",
    ],
    "cyrillic": ["ка", "ло", "ми", "не", "ру", "ста", "вер", "ё", "щи", "ой", "ть", "пра", "зо", "ды"],
    "arabic": ["كا", "لو", "مي", "نَ", "رو", "ست", "فر", "قا", "عل", "حم", "سلا", "دي"],
    "cjk": [
        "東",
        "京",
        "都",
        "大",
        "阪",
        "市",
        "日",
        "本",
        "語",
        "档",
        "案",
        "保",
        "存",
        "の",
        "で",
        "す",
        "カ",
        "タ",
    ],
    "thai": ["กา", "ขอ", "ภา", "ษา", "ไท", "ย", "สวั", "สดี", "ครับ", "ค่ะ"],
}
SENTENCES = LATIN + CYRILLIC + ARABIC + CJK + ["ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ ข่าวสารประจำวัน"]
SITES = ["GitHub.com", "github.com/tgvault/tgvault", "t.me/durov", "example.org/a?b=1", "YouTube.com/watch"]


def _word(rng: random.Random, script: str) -> str:
    parts = SYLLABLES[script]
    return "".join(rng.choice(parts) for _ in range(rng.randint(1, 4)))


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    scripts = ["latin"] * 5 + ["cyrillic"] * 3 + ["arabic"] * 2 + ["cjk", "thai"]
    return [_word(rng, rng.choice(scripts)) for _ in range(size)]


def search_texts(count: int, seed: int = 1, start: datetime | None = None) -> Iterator[tuple[datetime, str]]:
    """``count`` (date, text) pairs, oldest first, about an hour apart."""
    rng = random.Random(seed)
    vocabulary = _vocabulary(rng, max(500, int(40 * count**0.6)))
    when = start or datetime(2019, 1, 1, tzinfo=UTC)
    for _ in range(count):
        when += timedelta(minutes=rng.randint(5, 120))
        parts: list[str] = []
        for _ in range(rng.randint(1, 3)):
            kind = rng.random()
            if kind < 0.45:
                parts.append(rng.choice(SENTENCES))
            elif kind < 0.85:
                words = [
                    vocabulary[min(int(rng.paretovariate(1.1)) - 1, len(vocabulary) - 1)] for _ in range(8)
                ]
                words += [rng.choice(vocabulary) for _ in range(rng.randint(2, 12))]
                rng.shuffle(words)
                parts.append(" ".join(words).capitalize() + ".")
            elif kind < 0.93:
                parts.append(f"See https://{rng.choice(SITES)} — {rng.choice(HASHTAGS)}")
            else:
                parts.append(f"{rng.randint(1, 99_999)} {rng.choice(vocabulary).upper()}!")
        yield when, "\n".join(parts)
