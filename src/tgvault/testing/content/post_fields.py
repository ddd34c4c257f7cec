"""What surrounds a realistic post's content: views, forwards and forward headers, replies, edits,
signatures, reactions and comments."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from telethon.tl import types

from tgvault.testing.content.corpora import AUTHORS, CUSTOM_EMOJI_IDS, REACTIONS
from tgvault.testing.content.dice import Dice
from tgvault.testing.content.text import TL
from tgvault.testing.fake_telegram import FakeChannel, FakeTelegram

__all__ = ["PostFields"]


class PostFields:
    """The ``Message`` fields around the content of one :func:`build_realistic_channel` run's posts.

    Forwards come from one source channel and one user, made once per run; reaction sets come from a pool
    drawn once (shared between posts: treat them as immutable).
    """

    _REACTION_POOL = 128

    def __init__(
        self, channel: FakeChannel, world: FakeTelegram | None, dice: Dice, seed: int, until: datetime
    ) -> None:
        """Fields for posts of ``channel`` (whose forward sources are added to ``world``, if given) up to
        ``until``, drawn from ``dice``."""
        self.channel = channel
        self.dice = dice
        self.seed = seed
        self.until = until
        self.source_channel, self.source_user = self._forward_sources(world)
        self.reaction_sets = [self._reactions(force_custom=False) for _ in range(self._REACTION_POOL)]
        self.custom_reactions = self._reactions(force_custom=True)

    def _forward_sources(self, world: FakeTelegram | None) -> tuple[TL, TL]:
        ch = self.channel
        title = "Markaz · Источник · مصدر"
        if world is not None:
            src = world.add_channel(f"src{ch.id}_{self.seed % 10_000}", title, signatures=True)
            user = world.add_user("Амир", "Al-Fārūqī", username=f"amir_{ch.id % 100_000}_{self.seed % 1000}")
            return src.to_tl(), user
        cid, uid = 1_298_426_144 + ch.id % 1000, 6_067_278_051 + ch.id % 1000
        src_tl = types.Channel(
            id=cid, title=title, photo=types.ChatPhotoEmpty(), date=ch.date, broadcast=True,
            access_hash=cid * 31, username=None, min=True,
        )  # fmt: skip
        user = types.User(id=uid, access_hash=uid * 17, first_name="Амир", last_name="Al-Fārūqī", min=True)
        ch.related_chats[cid] = src_tl
        ch.related_users[uid] = user
        return src_tl, user

    def _reactions(self, force_custom: bool) -> TL:
        rng = self.dice.rng
        picked = rng.sample(REACTIONS, rng.randint(1, 5))
        results = [types.ReactionCount(types.ReactionEmoji(e), rng.randint(1, 400)) for e in picked]
        if force_custom or rng.random() < 0.2:
            doc_id = rng.choice(CUSTOM_EMOJI_IDS)
            results.append(types.ReactionCount(types.ReactionCustomEmoji(doc_id), rng.randint(1, 50)))
        results.sort(key=lambda r: -r.count)
        return types.MessageReactions(results=results)

    def for_post(
        self, msg_id: int, modifier: str | None, date: datetime, regular_ids: list[int]
    ) -> dict[str, Any]:
        """The fields of the post ``msg_id`` made on ``date`` (``modifier`` forces a variant: "fwd_channel",
        "reply", "edited", ...); replies go to one of ``regular_ids``."""
        dice = self.dice
        random_ = dice.random
        ch = self.channel
        fields: dict[str, Any] = {
            "views": dice.between(50, max(100, ch.participants_count * 3)),
            "forwards": dice.between(0, 60),
        }
        roll = random_() if modifier is None else 1.0
        if modifier == "fwd_channel" or roll < 0.05:
            fields["fwd_from"] = types.MessageFwdHeader(
                date=date - timedelta(hours=dice.between(1, 500)),
                from_id=types.PeerChannel(self.source_channel.id),
                channel_post=dice.between(1, 5000),
                post_author=dice.pick(AUTHORS) if random_() < 0.5 else None,
            )
        elif modifier == "fwd_user" or roll < 0.08:
            fields["fwd_from"] = types.MessageFwdHeader(
                date=date - timedelta(hours=dice.between(1, 500)),
                from_id=types.PeerUser(self.source_user.id),
            )
        elif modifier == "fwd_hidden" or roll < 0.10:
            fields["fwd_from"] = types.MessageFwdHeader(
                date=date - timedelta(hours=dice.between(1, 500)), from_name="Hidden Sender 🕵️"
            )
        if (modifier == "reply" or (modifier is None and random_() < 0.08)) and regular_ids:
            target = regular_ids[-dice.between(1, min(30, len(regular_ids)))]
            fields["reply_to"] = types.MessageReplyHeader(reply_to_msg_id=target)
        if modifier == "edited" or (modifier is None and random_() < 0.15):
            edited = date + timedelta(seconds=dice.between(20, 86_400))
            fields["edit_date"] = min(edited, max(self.until, date + timedelta(seconds=20)))
        if ch.signatures and (modifier == "author" or random_() < 0.5):
            fields["post_author"] = dice.pick(AUTHORS)
        if modifier == "custom_reaction":
            fields["reactions"] = self.custom_reactions
        elif random_() < 0.55:
            fields["reactions"] = dice.pick(self.reaction_sets)
        if random_() < 0.3:
            fields["replies"] = types.MessageReplies(
                replies=dice.between(0, 40),
                replies_pts=ch.pts,
                comments=True,
                channel_id=ch.id + 1,
                max_id=msg_id,
            )
        return fields
