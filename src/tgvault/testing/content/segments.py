"""Realistic message texts: segments of every entity type, in many scripts, joined into posts."""

from __future__ import annotations

import functools
import random

from telethon.tl import types

from tgvault.testing.content.corpora import (
    ARABIC,
    CASHTAGS,
    CODE,
    COMMANDS,
    CUSTOM_EMOJI_IDS,
    EMAILS,
    EMOJI,
    HASHTAGS,
    HEADLINES,
    LATIN,
    LINKS,
    MENTIONS,
    PHONES,
    PHRASES,
    PRE,
    SCRIPTS,
    SPOILERS,
    URLS,
)
from tgvault.testing.content.text import TL, TextBuilder

__all__ = ["all_segments_text", "rich_text"]


def _paragraph(tb: TextBuilder, rng: random.Random) -> None:
    tb.add(rng.choice(rng.choice(SCRIPTS)))


def _emphasis(tb: TextBuilder, rng: random.Random) -> None:
    tb.add(rng.choice(LATIN)[:40].rstrip() + " ")
    tb.add(rng.choice(PHRASES), types.MessageEntityItalic)
    tb.add(", ")
    tb.add(rng.choice(PHRASES), types.MessageEntityUnderline)
    tb.add(" and ")
    tb.add("crossed out", types.MessageEntityStrike)
    tb.add(" — " + rng.choice(EMOJI) + " ")
    tb.add(rng.choice(PHRASES), types.MessageEntityBold, types.MessageEntityItalic)


def _headline(tb: TextBuilder, rng: random.Random) -> None:
    tb.add(rng.choice(EMOJI) + " ")
    tb.add(rng.choice(HEADLINES), types.MessageEntityBold)


def _spoiler(tb: TextBuilder, rng: random.Random) -> None:
    tb.add("Spoiler / спойлер: ")
    tb.add(rng.choice(SPOILERS), types.MessageEntitySpoiler)


def _code(tb: TextBuilder, rng: random.Random) -> None:
    tb.add("Run ")
    tb.add(rng.choice(CODE), types.MessageEntityCode)
    tb.add(" then:\n")
    language, body = rng.choice(PRE)
    tb.add(body, functools.partial(types.MessageEntityPre, language=language))


def _links(tb: TextBuilder, rng: random.Random) -> None:
    label, url = rng.choice(LINKS)
    tb.add("👉 ")
    tb.add(label, functools.partial(types.MessageEntityTextUrl, url=url))
    tb.add(" · ")
    tb.add(rng.choice(URLS), types.MessageEntityUrl)
    tb.add("\nJoin ")
    tb.add(rng.choice(MENTIONS), types.MessageEntityMention)


def _tags(tb: TextBuilder, rng: random.Random) -> None:
    tb.add(rng.choice(HASHTAGS), types.MessageEntityHashtag)
    tb.add(" ")
    tb.add(rng.choice(HASHTAGS), types.MessageEntityHashtag)
    tb.add(" ")
    tb.add(rng.choice(CASHTAGS), types.MessageEntityCashtag)
    tb.add(" 📈")


def _contacts(tb: TextBuilder, rng: random.Random) -> None:
    tb.add("Write to ")
    tb.add(rng.choice(EMAILS), types.MessageEntityEmail)
    tb.add(" or call ")
    tb.add(rng.choice(PHONES), types.MessageEntityPhone)
    tb.add(", or send ")
    tb.add(rng.choice(COMMANDS), types.MessageEntityBotCommand)
    tb.add(" to the bot 🤖")


def _quote(tb: TextBuilder, rng: random.Random) -> None:
    start, index = tb.offset, len(tb)
    tb.add(rng.choice(HEADLINES), types.MessageEntityBold)
    tb.add("\n" + rng.choice(rng.choice(SCRIPTS)))
    collapsed = rng.random() < 0.3
    tb.cover(start, functools.partial(types.MessageEntityBlockquote, collapsed=collapsed or None), index)


def _custom_emoji(tb: TextBuilder, rng: random.Random) -> None:
    for _ in range(rng.randint(1, 4)):
        document_id = rng.choice(CUSTOM_EMOJI_IDS)
        tb.add(rng.choice(EMOJI), functools.partial(types.MessageEntityCustomEmoji, document_id=document_id))
    tb.add(" " + rng.choice(ARABIC)[:30])


def _emoji_line(tb: TextBuilder, rng: random.Random) -> None:
    tb.add("".join(rng.choice(EMOJI) for _ in range(rng.randint(3, 9))))


_SEGMENTS = (
    _paragraph, _paragraph, _paragraph, _emphasis, _headline, _spoiler, _code, _links, _tags, _contacts,
    _quote, _custom_emoji, _emoji_line,
)  # fmt: skip


def rich_text(rng: random.Random, segments: int) -> tuple[str, list[TL]]:
    """A text of ``segments`` random segments, separated by blank lines, and its entities."""
    tb = TextBuilder()
    for index in range(segments):
        if index:
            tb.add("\n\n")
        rng.choice(_SEGMENTS)(tb, rng)
    return tb.build()


def all_segments_text(rng: random.Random) -> tuple[str, list[TL]]:
    """One text using every segment (so a short channel still has every entity type)."""
    tb = TextBuilder()
    for index, segment in enumerate(_SEGMENTS[2:]):
        if index:
            tb.add("\n\n")
        segment(tb, rng)
    return tb.build()
