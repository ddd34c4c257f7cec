"""Realistic channels for the fake Telegram, modelled on real exports (``/work/shared/data``).

:func:`build_realistic_channel` fills a channel with posts of every shape an archiver meets: multi-script
text with correctly measured (UTF-16) entities, replies, forwards, signatures, views, reactions, albums,
polls, web previews, locations, contacts, photos, every kind of document, service messages and edits.

Generation is deterministic for a given seed, cheap (no file bytes are held: contents are derived from a
seed when downloaded) and fast enough for 100,000 posts.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from telethon.extensions import BinaryReader
from telethon.tl import types

from tgvault.testing.content.corpora import CYRILLIC, LINKS, TITLES, VENUES
from tgvault.testing.content.dice import Dice
from tgvault.testing.content.media import DOCUMENT_KINDS, document_media, photo_media, poll_media
from tgvault.testing.content.post_fields import PostFields
from tgvault.testing.content.posts import add_service
from tgvault.testing.content.segments import all_segments_text, rich_text
from tgvault.testing.content.text import TL, utf16_len
from tgvault.testing.fake_telegram import DEFAULT_NOW, FakeChannel, FakeTelegram

__all__ = ["POST_KINDS", "build_realistic_channel"]

POST_KINDS = (
    "text",
    "photo",
    "album",
    "video",
    "round",
    "gif",
    "voice",
    "audio",
    "file",
    "passwd",
    "sticker",
    "poll",
    "webpage",
    "geo",
    "venue",
    "contact",
    "unsupported",
    "pin",
    "title",
)
"""Every post shape :func:`build_realistic_channel` makes; a long enough channel has each of them."""
_MEDIA_KINDS = frozenset({"photo", "album", *DOCUMENT_KINDS})
_WEIGHTS = {
    "text": 30, "photo": 26, "album": 5, "video": 4, "round": 1, "gif": 2, "voice": 2, "audio": 2,
    "file": 3, "passwd": 0, "sticker": 3, "poll": 3, "webpage": 5, "geo": 1, "venue": 1, "contact": 1,
    "unsupported": 1, "pin": 1, "title": 1,
}  # fmt: skip
_MESSAGE = types.Message
_PHOTO_SHAPES = ((1280, 960), (800, 1280), (2560, 1440), (640, 640))
_MODIFIERS = ("fwd_channel", "fwd_user", "fwd_hidden", "reply", "edited", "author", "custom_reaction")


class _Builder:
    """State of one :func:`build_realistic_channel` run.

    Texts and reaction sets come from pools drawn once per run (nested TL objects such as entities may be
    shared between posts; treat them as immutable), which keeps 100,000 posts to a couple of seconds.
    """

    _TEXT_POOL = 512

    def __init__(
        self,
        channel: FakeChannel,
        world: FakeTelegram | None,
        seed: int,
        with_media: bool,
        max_file_size: int,
        n_posts: int,
    ) -> None:
        self.channel = channel
        self.dice = Dice(seed)
        self.seed = seed
        self.with_media = with_media
        self.max_file_size = max(1024, max_file_size)
        self.date = channel.last_date
        # Spread the posts between the newest one and "now", at most 4 hours apart.
        self.until = world.now() if world is not None else DEFAULT_NOW
        span = (self.until - self.date).total_seconds()
        self.max_gap = int(min(4 * 3600, max(90, 2 * span / max(1, n_posts))))
        self.regular_ids: list[int] = [i for i, m in channel.messages.items() if isinstance(m, types.Message)]
        self.kinds = [k for k in POST_KINDS if with_media or k not in _MEDIA_KINDS]
        weights = [_WEIGHTS[k] for k in self.kinds]
        self.cum_weights = list(itertools.accumulate(weights))
        rng = self.dice.rng
        self.full_text = all_segments_text(rng)
        self.texts = [rich_text(rng, rng.choice((1, 1, 2, 2, 3, 4))) for _ in range(self._TEXT_POOL)]
        self.fields = PostFields(channel, world, self.dice, seed, self.until)
        # Built and read back like Telegram's answers, so unset flags are False rather than None.
        template = types.Message(id=1, peer_id=channel.peer, date=channel.date, message="", post=True)
        with BinaryReader(bytes(template)) as reader:
            self.template = dict(reader.tgread_object().__dict__)

    def next_date(self) -> datetime:
        self.date += timedelta(seconds=self.dice.between(45, self.max_gap))
        return self.date

    def file_size(self, low: int, high: int) -> int:
        return self.dice.between(min(low, self.max_file_size), min(high, self.max_file_size))

    def text(self, full: bool = False) -> tuple[str, list[TL]]:
        return self.full_text if full else self.dice.pick(self.texts)

    def add(
        self,
        msg_id: int,
        date: datetime,
        text: str,
        entities: list[TL] | None,
        media: TL,
        fields: dict[str, Any],
    ) -> None:
        """Store a post; the same as ``add_post`` but without running ``Message.__init__``.

        Telethon's ``Message.__init__`` stores its arguments and derives sender/chat only from ``peer_id``,
        ``post`` and ``from_id``, which are the same for every post built here, so copying a template's
        attributes gives an identical object ~5x faster (``tests/test_fake_telegram.py`` checks this).
        """
        message = _MESSAGE.__new__(_MESSAGE)
        attributes = message.__dict__
        attributes.update(self.template)
        attributes.update(fields)
        attributes["id"] = msg_id
        attributes["date"] = date
        attributes["message"] = text
        attributes["entities"] = entities or None
        attributes["media"] = media
        self.channel.add_message(message)

    def post(self, msg_id: int, kind: str, modifier: str | None, remaining: int, full_text: bool) -> int:
        """Add one post (or an album) at ``msg_id``; returns how many messages it used."""
        dice = self.dice
        ch = self.channel
        date = self.next_date()
        if kind == "pin" and not self.regular_ids:
            kind = "text"
        if kind == "pin":
            target = dice.pick(self.regular_ids[-50:])
            ch.messages[target].pinned = True
            ch.pinned_msg_id = target
            reply = types.MessageReplyHeader(reply_to_msg_id=target)
            add_service(ch, msg_id, date, types.MessageActionPinMessage(), reply)
            return 1
        if kind == "title":
            ch.title = dice.pick(TITLES)
            add_service(ch, msg_id, date, types.MessageActionChatEditTitle(ch.title))
            return 1
        seed = dice.bits(48)
        if kind == "album":
            return self.album(msg_id, modifier, remaining, full_text, seed, date)
        media: TL = None
        with_text = kind in {"text", "photo", "video", "file"} or dice.random() < 0.4
        text, entities = self.text(full_text) if with_text else ("", [])
        if kind == "photo":
            w, h = dice.pick(_PHOTO_SHAPES)
            size = self.file_size(2048, 160_000)
            progressive = dice.random() < 0.6
            media = photo_media(ch, size=size, w=w, h=h, seed=seed, date=date, progressive=progressive)
        elif kind in DOCUMENT_KINDS:
            high = 64_000 if kind in {"voice", "sticker", "passwd"} else 1_000_000
            media = document_media(ch, kind, size=self.file_size(512, high), seed=seed, date=date)
        elif kind == "poll":
            media = poll_media(self.dice.rng, seed)
        elif kind == "webpage":
            media = self.webpage(seed, date)
            prefix, url = text + ("\n\n" if text else "") + "🔗 ", media.webpage.url
            entities = [*entities, types.MessageEntityUrl(utf16_len(prefix), utf16_len(url))]
            text = prefix + url
        elif kind in {"geo", "venue"}:
            lat, long, title, address = dice.pick(VENUES)
            radius = 50 if seed % 2 else None
            geo = types.GeoPoint(long=long, lat=lat, access_hash=seed, accuracy_radius=radius)
            if kind == "geo":
                media = types.MessageMediaGeo(geo)
            else:
                media = types.MessageMediaVenue(geo, title, address, "foursquare", f"{seed:x}", "")
        elif kind == "contact":
            media = types.MessageMediaContact("+15550123456", "Мария", "Ivanova", "", 0)
        elif kind == "unsupported":
            media = types.MessageMediaUnsupported()
        fields = self.fields.for_post(msg_id, modifier, self.date, self.regular_ids)
        self.add(msg_id, date, text, entities, media, fields)
        self.regular_ids.append(msg_id)
        return 1

    def album(
        self, msg_id: int, modifier: str | None, remaining: int, full_text: bool, seed: int, date: datetime
    ) -> int:
        """Several photo (and sometimes video) posts sharing a ``grouped_id``; the caption is on the first."""
        ch = self.channel
        dice = self.dice
        count = min(remaining, dice.between(2, 6))
        grouped_id = 13_000_000_000_000_000 + dice.bits(50)
        fields = self.fields.for_post(msg_id, modifier, self.date, self.regular_ids)
        text, entities = self.text(full_text)
        for index in range(count):
            if index and dice.random() < 0.2:
                size = self.file_size(4096, 400_000)
                media = document_media(ch, "video", size=size, seed=seed + index, date=date)
            else:
                media = photo_media(ch, size=self.file_size(2048, 120_000), seed=seed + index, date=date)
            caption, caption_entities = (text, entities) if index == 0 else ("", None)
            album_fields = {**fields, "grouped_id": grouped_id}
            self.add(msg_id + index, date, caption, caption_entities, media, album_fields)
            self.regular_ids.append(msg_id + index)
        return count

    def webpage(self, seed: int, date: datetime) -> TL:
        dice = self.dice
        label, url = dice.pick(LINKS)
        photo = None
        if self.with_media and dice.random() < 0.7:
            size = self.file_size(2048, 40_000)
            photo = self.channel.new_photo(size=size, w=800, h=418, seed=seed, date=date)
        page = types.WebPage(
            id=seed,
            url=url,
            display_url=url.removeprefix("https://"),
            hash=0,
            type="article" if photo is None else "photo",
            site_name="Example",
            title=label.capitalize(),
            description=dice.pick(CYRILLIC),
            photo=photo,
        )
        return types.MessageMediaWebPage(webpage=page)


def build_realistic_channel(
    world_or_channel: FakeTelegram | FakeChannel,
    n_posts: int,
    seed: int,
    *,
    with_media: bool = True,
    max_file_size: int = 64 * 1024,
    username: str | None = None,
    renames: bool = True,
) -> FakeChannel:
    """Fill a channel with ``n_posts`` realistic messages (ids continue from its newest; no gaps).

    Given a :class:`FakeTelegram`, a new channel is created (``username`` defaults to
    ``"realistic_<seed>"``, signatures on) with a forward-source channel and user; given a
    :class:`FakeChannel`, that channel is filled. An empty channel starts with its
    ``MessageActionChannelCreate``. The first posts walk through every kind in :data:`POST_KINDS` (and every
    forward/reply/edit/signature/reaction variant, and every entity type) so even a short channel is
    complete; the rest are drawn at random, deterministically from ``seed``. Documents are at most
    ``max_file_size`` bytes (small by default; raise it for big files). ``with_media=False`` leaves out
    photos and documents (polls, locations, contacts and link previews without pictures remain).
    ``renames=False`` leaves out channel renames (``MessageActionChatEditTitle``), which change the title.
    """
    if isinstance(world_or_channel, FakeTelegram):
        world: FakeTelegram | None = world_or_channel
        channel = world_or_channel.add_channel(
            username or f"realistic_{seed}",
            "Вести · News · أخبار 📰",
            about="Everything posted here, archived 🇷🇺🇪🇬🇬🇧\nАрхив канала · أرشيف القناة",
            participants_count=12_345 + seed % 1000,
            signatures=True,
        )
    else:
        world, channel = None, world_or_channel
    with _gc_paused():  # millions of small objects: generational GC passes would make this quadratic
        builder = _Builder(channel, world, seed, with_media, max_file_size, n_posts)
        if not renames:
            builder.kinds = [kind for kind in builder.kinds if kind != "title"]
            builder.cum_weights = list(itertools.accumulate(_WEIGHTS[kind] for kind in builder.kinds))
        msg_id = channel.next_id()
        end = msg_id + n_posts
        if msg_id == 1 and n_posts > 0:
            add_service(channel, 1, channel.date, types.MessageActionChannelCreate(channel.title))
            msg_id = 2
        total = builder.cum_weights[-1]
        position = 0
        while msg_id < end:
            kind = builder.kinds[position] if position < len(builder.kinds) else None
            if kind is None:
                kind = builder.kinds[bisect.bisect(builder.cum_weights, builder.dice.random() * total)]
            modifier = _MODIFIERS[position] if position < len(_MODIFIERS) else None
            msg_id += builder.post(msg_id, kind, modifier, end - msg_id, full_text=position == 0)
            position += 1
    return channel


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
