"""Realistic comment threads for a channel's discussion group: many commenters, some threads long, a share
of replies to other comments, some photos; deterministic for a given seed."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta

from telethon.tl import types

from tgvault.testing.content.media import photo_media
from tgvault.testing.fake_telegram import FakeTelegram
from tgvault.testing.fake_telegram.discussions import FakeDiscussion

__all__ = ["add_comments", "commenters"]

_FIRST = ("Anna", "Boris", "Chen", "Dara", "Émile", "Fatima", "Gør", "Hiro", "Ирина", "Jonas", "Kwame", "Lea")
_LAST = ("", "Novak", "Silva", "Okafor", "Müller", "Ivanova", "Tanaka", "O'Brien")
_WORDS = (
    "agree",
    "source?",
    "this is wrong",
    "thanks for the update",
    "the photo is from 2019",
    "link broken",
    "same here",
    "finally",
    "who said that",
    "correction: it was Tuesday",
    "🔥",
    "ну и ну",
    "שלום",
    "why",
)


def commenters(world: FakeTelegram, count: int, seed: int = 1) -> list[types.User]:
    """``count`` users of the world with varied names, about half with an @username."""
    rng = random.Random(seed)
    users = []
    for number in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        username = f"reader_{seed}_{number}" if rng.random() < 0.5 else None
        users.append(world.add_user(first, last, username=username))
    return users


def add_comments(
    world: FakeTelegram,
    discussion: FakeDiscussion,
    post_ids: Sequence[int],
    total: int,
    *,
    seed: int = 1,
    users: Sequence[types.User] | None = None,
    photos: float = 0.02,
) -> list[types.Message]:
    """Spread ``total`` comments over ``post_ids`` (every post gets at least one; a few get many), a third
    of them replies to an earlier comment of the same thread, ``photos`` of them with a photo."""
    if total < len(post_ids):
        raise ValueError("every post given gets at least one comment")
    rng = random.Random(seed)
    people = list(users) if users is not None else commenters(world, 150, seed)
    shares = [rng.paretovariate(1.2) for _ in post_ids]
    extra = total - len(post_ids)
    counts = [1 + int(extra * share / sum(shares)) for share in shares]
    counts[0] += total - sum(counts)
    added = []
    for post_id, count in zip(post_ids, counts, strict=True):
        post = discussion.channel.messages[post_id]
        when = post.date + timedelta(minutes=1)
        thread: list[int] = []
        for _ in range(count):
            when += timedelta(seconds=rng.randint(5, 900))
            media = (
                photo_media(discussion.group, size=rng.randint(20_000, 90_000), seed=rng.randint(1, 9999))
                if rng.random() < photos
                else None
            )
            reply_to = rng.choice(thread) if thread and rng.random() < 0.33 else None
            message = discussion.add_comment(
                post_id,
                rng.choice(people),
                " ".join(rng.sample(_WORDS, 2)),
                date=when,
                reply_to=reply_to,
                media=media,
            )
            thread.append(message.id)
            added.append(message)
    return added
