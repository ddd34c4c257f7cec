"""Realistic channel content for the fake Telegram, modelled on real exports (``/work/shared/data``).

:func:`build_realistic_channel` fills a channel with posts of every shape an archiver meets: multi-script
text with correctly measured (UTF-16) entities, replies, forwards, signatures, views, reactions, albums,
polls, web previews, locations, contacts, photos, every kind of document, service messages and edits.
:func:`add_post`, :func:`photo_media` and :func:`document_media` add single posts for targeted tests, and
:class:`TextBuilder` writes text with entities without counting code units by hand.

Generation is deterministic for a given seed, cheap (no file bytes are held: contents are derived from a
seed when downloaded) and fast enough for 100,000 posts.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import gc
import hashlib
import itertools
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from telethon.extensions import BinaryReader
from telethon.tl import types

from tgvault.testing.fake_telegram import DEFAULT_NOW, FakeChannel, FakeTelegram

__all__ = [
    "DOCUMENT_KINDS",
    "POST_KINDS",
    "TextBuilder",
    "add_post",
    "build_realistic_channel",
    "document_media",
    "photo_media",
    "utf16_len",
]

TL = Any
T = TypeVar("T")
EntityFactory = Callable[[int, int], TL]
"""Anything called as ``factory(offset, length)`` giving a ``MessageEntity`` (e.g. ``MessageEntityBold``)."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram's entity offsets (🇷🇺 is 4)."""
    return len(text.encode("utf-16-le")) // 2


class TextBuilder:
    """Builds message text and its entities, measuring offsets in UTF-16 code units.

    >>> tb = TextBuilder().add("Привет, ").add("🇷🇺 мир", types.MessageEntityBold)
    >>> text, entities = tb.build()     # entities == [MessageEntityBold(offset=8, length=8)]

    ``spans`` keeps ``(entity, substring)`` pairs, so tests can check offsets against intent.
    """

    def __init__(self) -> None:
        """An empty text."""
        self._parts: list[str] = []
        self._offset = 0
        self.spans: list[tuple[TL, str]] = []

    @property
    def offset(self) -> int:
        """Current length in UTF-16 code units."""
        return self._offset

    def add(self, text: str, *entities: EntityFactory) -> TextBuilder:
        """Append ``text``, covered by one entity per factory."""
        length = utf16_len(text)
        for factory in entities:
            self.spans.append((factory(self._offset, length), text))
        self._parts.append(text)
        self._offset += length
        return self

    def cover(self, start: int, factory: EntityFactory, start_index: int) -> TextBuilder:
        """Add an entity over everything appended since ``start`` (an earlier :attr:`offset`) and part
        index ``start_index`` (an earlier ``len(builder)``) — for entities that contain others."""
        self.spans.append((factory(start, self._offset - start), "".join(self._parts[start_index:])))
        return self

    def __len__(self) -> int:
        """Number of parts appended so far."""
        return len(self._parts)

    def build(self) -> tuple[str, list[TL]]:
        """The text and its entities sorted like Telegram's (by offset, outer entity first)."""
        entities = sorted((entity for entity, _ in self.spans), key=lambda e: (e.offset, -e.length))
        return "".join(self._parts), entities


# -- corpora (written for these fakes) -------------------------------------------------------------------

_LATIN = [
    "The archive keeps every edit, every deletion and every reaction, so nothing posted here is ever lost.",
    "Tomorrow's meeting moves to the small hall on the second floor; bring the printed agenda and a pen.",
    "We tested the new build overnight: 4,812 posts imported, 37 albums stitched back together, zero gaps.",
    "Café owners in the old town say the winter season started early this year — and nobody complains.",
    "A reminder for new readers: corrections are marked as edits, and deleted posts remain in the archive.",
    "Über 300 Teilnehmer, drei Sprachen und eine sehr lange Nacht: so sah der Hackathon am Ende aus.",
    "La reunión empezó tarde, pero terminó con un acuerdo que nadie esperaba. ¿Quién lo habría dicho?",
    "Chapter 1157 is out. Spoilers below the fold, so scroll carefully if you have not read it yet!",
]
_CYRILLIC = [
    "Архив сохраняет каждую правку и каждое удаление, поэтому ничего из опубликованного не пропадёт.",
    "Завтра в 10:00 начинаем разбор новых материалов. Присоединяйтесь, будет интересно и полезно.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю — классика для проверки шрифтов.",
    "Подписчиков стало больше ста тысяч. Спасибо всем, кто читает, пересылает и спорит в комментариях!",
    "Украинский и белорусский тоже бывают в лентах: ґанок, їжак, ў — буквы, которых нет в русском.",
]
_ARABIC = [
    "عَلَىٰ نَهجِ السَّلَفِ: هذه القناة تنشر الفوائد العلمية والدروس المختصرة كل يوم بإذن الله.",
    "الأرشيف يحفظ كل تعديل وكل حذف، فلا يضيع شيء مما نُشر هنا أبداً.",
    "قال الشيخ رحمه الله: العلم قبل القول والعمل، فاحرصوا على الطلب والمراجعة.",
    "موعد الدرس القادم يوم الجمعة بعد صلاة العصر، والبث المباشر على هذه القناة.",
]
_CJK = [
    "ハリアクサ ✨ 今日の更新です。次の章は来週公開予定、お楽しみに！",
    "档案保存每一次编辑和删除，发布过的内容永远不会丢失。",
]
_EMOJI = [
    "🇷🇺",
    "🇺🇦",
    "🇪🇬",
    "🇯🇵",
    "🇧🇷",
    "🏳️‍🌈",
    "🏴‍☠️",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "👨‍👩‍👧‍👦",
    "👩🏽‍💻",
    "🧑‍🚀",
    "🤷‍♂️",
    "❤️",
    "🔥",
    "👍🏻",
    "1️⃣",
    "🫶",
    "😂",
    "🥇",
    "✨",
    "☪️",
    "📚",
]
_SCRIPTS = [_LATIN, _LATIN, _CYRILLIC, _ARABIC, _CJK]
_HEADLINES = [
    "BREAKING: the archive is complete",
    "Итоги недели",
    "فائدة عظيمة",
    "Poll ended, here's the result",
    "TCB Scans — No break next week",
    "Обновление 2.0 🎉",
]
_PHRASES = ["very important", "не пропустите", "بإذن الله", "read twice", "важно 🇷🇺", "final answer"]
_SPOILERS = ["Luffy wins", "он выжил", "the butler did it 🤫", "الجواب في الدرس القادم"]
_CODE = ["pip install tgvault", "tgvault backfill @channel", "SELECT count(*) FROM posts;", "sha256sum a.jpg"]
_PRE = [
    ("python", 'async for post in client.iter_messages("@channel"):\n    print(post.id, post.text)'),
    ("json", '{\n  "id": 3757,\n  "views": 1353,\n  "reactions": ["🔥", "👍"]\n}'),
    ("bash", "tgvault run --config tgvault.toml\n# then open site/index.html"),
    ("", "plain preformatted\n   with   spaces\tand tabs"),
]
_LINKS = [
    ("read the full article", "https://example.org/articles/2025/archive-everything"),
    ("подробнее", "https://example.ru/новости/архив?utm_source=telegram"),
    ("المصدر", "https://example.com/ar/درس-اليوم"),
]
_URLS = ["https://t.me/onepiecespoilhere/3757", "https://example.org/a?b=1&c=2#frag", "example.com/path"]
_MENTIONS = ["@durov", "@onepiecespoilhere", "@uponthepathofsalaf", "@tgvault_keeper"]
_HASHTAGS = ["#Meme", "#новости", "#فوائد", "#Side_Benefits@madrasatunaa", "#archive2025"]
_CASHTAGS = ["$BTC", "$TON", "$AAPL"]
_EMAILS = ["editor@example.org", "почта@пример.рф"]
_PHONES = ["+1 202 555 0143", "+7 (495) 123-45-67"]
_COMMANDS = ["/start", "/help@tgvault_bot", "/subscribe"]
_AUTHORS = ["🇲 .🇦 .🇸 .🇭", "ハリアクサ ✨", "Иван Петров", "عبد الله", "Editor"]
_REACTIONS = ["🔥", "👍", "❤", "🤯", "😂", "🍌", "🏆", "🙈", "🤷‍♂", "💋", "🥰", "👏"]
_CUSTOM_EMOJI_IDS = [5_368_324_170_671_202_286, 5_377_305_978_079_288_312, 5_449_505_950_283_078_474]
_FILE_NAMES = [
    ("application/pdf", "One Piece Chapter 1157 — scans (translated).pdf", True),
    ("application/pdf", "النقاب — رسالة.pdf", True),
    ("application/zip", "архив_2025.zip", False),
    ("text/plain", "notes.txt", False),
    ("application/octet-stream", "..\\..\\windows\\win.ini", False),
    ("text/markdown", "report: 2025? <final>.md", False),
]
_AUDIO = [
    ("خطبة عيد الأضحى المبارك", "الشيخ أبو عبد الرحمن", "خطبة العيد.mp3"),
    ("Лекция №3", "Иван Петров", "lecture_03.mp3"),
    ("Sea Shanty", "<unknown>", "track01.mp3"),
]
_POLLS = [
    ("Who will save him, will it be...", ["Rocks", "Dragon", "Roger", "Kuma", "Others (comment)"]),
    ("Какой формат удобнее?", ["Текст", "Видео", "Голосовые 🎙"]),
    ("ما هو أفضل وقت للدرس؟", ["بعد الفجر", "بعد العصر", "بعد العشاء"]),
]
_VENUES = [
    (55.7539, 37.6208, "Красная площадь", "Москва, Россия"),
    (30.0444, 31.2357, "ميدان التحرير", "القاهرة، مصر"),
    (51.5007, -0.1246, "Big Ben", "Westminster, London SW1A 0AA"),
]
_TITLES = ["One Piece Chapter 1158 (on break)", "Вести · News · أخبار 📰", "Archive of the Salaf 📚"]

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
DOCUMENT_KINDS = ("video", "round", "gif", "voice", "audio", "file", "passwd", "sticker")
"""Kinds :func:`document_media` accepts."""
_MEDIA_KINDS = frozenset({"photo", "album", *DOCUMENT_KINDS})
_WEIGHTS = {
    "text": 30, "photo": 26, "album": 5, "video": 4, "round": 1, "gif": 2, "voice": 2, "audio": 2,
    "file": 3, "passwd": 0, "sticker": 3, "poll": 3, "webpage": 5, "geo": 1, "venue": 1, "contact": 1,
    "unsupported": 1, "pin": 1, "title": 1,
}  # fmt: skip
_MESSAGE = types.Message
_PHOTO_SHAPES = ((1280, 960), (800, 1280), (2560, 1440), (640, 640))
_MODIFIERS = ("fwd_channel", "fwd_user", "fwd_hidden", "reply", "edited", "author", "custom_reaction")


# -- text ------------------------------------------------------------------------------------------------


def _paragraph(tb: TextBuilder, rng: random.Random) -> None:
    tb.add(rng.choice(rng.choice(_SCRIPTS)))


def _emphasis(tb: TextBuilder, rng: random.Random) -> None:
    tb.add(rng.choice(_LATIN)[:40].rstrip() + " ")
    tb.add(rng.choice(_PHRASES), types.MessageEntityItalic)
    tb.add(", ")
    tb.add(rng.choice(_PHRASES), types.MessageEntityUnderline)
    tb.add(" and ")
    tb.add("crossed out", types.MessageEntityStrike)
    tb.add(" — " + rng.choice(_EMOJI) + " ")
    tb.add(rng.choice(_PHRASES), types.MessageEntityBold, types.MessageEntityItalic)


def _headline(tb: TextBuilder, rng: random.Random) -> None:
    tb.add(rng.choice(_EMOJI) + " ")
    tb.add(rng.choice(_HEADLINES), types.MessageEntityBold)


def _spoiler(tb: TextBuilder, rng: random.Random) -> None:
    tb.add("Spoiler / спойлер: ")
    tb.add(rng.choice(_SPOILERS), types.MessageEntitySpoiler)


def _code(tb: TextBuilder, rng: random.Random) -> None:
    tb.add("Run ")
    tb.add(rng.choice(_CODE), types.MessageEntityCode)
    tb.add(" then:\n")
    language, body = rng.choice(_PRE)
    tb.add(body, functools.partial(types.MessageEntityPre, language=language))


def _links(tb: TextBuilder, rng: random.Random) -> None:
    label, url = rng.choice(_LINKS)
    tb.add("👉 ")
    tb.add(label, functools.partial(types.MessageEntityTextUrl, url=url))
    tb.add(" · ")
    tb.add(rng.choice(_URLS), types.MessageEntityUrl)
    tb.add("\nJoin ")
    tb.add(rng.choice(_MENTIONS), types.MessageEntityMention)


def _tags(tb: TextBuilder, rng: random.Random) -> None:
    tb.add(rng.choice(_HASHTAGS), types.MessageEntityHashtag)
    tb.add(" ")
    tb.add(rng.choice(_HASHTAGS), types.MessageEntityHashtag)
    tb.add(" ")
    tb.add(rng.choice(_CASHTAGS), types.MessageEntityCashtag)
    tb.add(" 📈")


def _contacts(tb: TextBuilder, rng: random.Random) -> None:
    tb.add("Write to ")
    tb.add(rng.choice(_EMAILS), types.MessageEntityEmail)
    tb.add(" or call ")
    tb.add(rng.choice(_PHONES), types.MessageEntityPhone)
    tb.add(", or send ")
    tb.add(rng.choice(_COMMANDS), types.MessageEntityBotCommand)
    tb.add(" to the bot 🤖")


def _quote(tb: TextBuilder, rng: random.Random) -> None:
    start, index = tb.offset, len(tb)
    tb.add(rng.choice(_HEADLINES), types.MessageEntityBold)
    tb.add("\n" + rng.choice(rng.choice(_SCRIPTS)))
    collapsed = rng.random() < 0.3
    tb.cover(start, functools.partial(types.MessageEntityBlockquote, collapsed=collapsed or None), index)


def _custom_emoji(tb: TextBuilder, rng: random.Random) -> None:
    for _ in range(rng.randint(1, 4)):
        document_id = rng.choice(_CUSTOM_EMOJI_IDS)
        tb.add(rng.choice(_EMOJI), functools.partial(types.MessageEntityCustomEmoji, document_id=document_id))
    tb.add(" " + rng.choice(_ARABIC)[:30])


def _emoji_line(tb: TextBuilder, rng: random.Random) -> None:
    tb.add("".join(rng.choice(_EMOJI) for _ in range(rng.randint(3, 9))))


_SEGMENTS = (
    _paragraph, _paragraph, _paragraph, _emphasis, _headline, _spoiler, _code, _links, _tags, _contacts,
    _quote, _custom_emoji, _emoji_line,
)  # fmt: skip


def _rich_text(rng: random.Random, segments: int) -> tuple[str, list[TL]]:
    tb = TextBuilder()
    for index in range(segments):
        if index:
            tb.add("\n\n")
        rng.choice(_SEGMENTS)(tb, rng)
    return tb.build()


def _all_segments_text(rng: random.Random) -> tuple[str, list[TL]]:
    """One text using every segment (so a short channel still has every entity type)."""
    tb = TextBuilder()
    for index, segment in enumerate(_SEGMENTS[2:]):
        if index:
            tb.add("\n\n")
        segment(tb, rng)
    return tb.build()


# -- media -----------------------------------------------------------------------------------------------


def photo_media(
    channel: FakeChannel,
    *,
    size: int = 48_000,
    w: int = 1280,
    h: int = 960,
    seed: int = 0,
    date: datetime | None = None,
    progressive: bool = True,
    data: bytes | None = None,
) -> TL:
    """A ``MessageMediaPhoto`` whose largest size is ``size`` bytes (or exactly ``data``), registered on
    ``channel`` so ``upload.getFile`` serves it."""
    photo = channel.new_photo(size=size, w=w, h=h, seed=seed, date=date, progressive=progressive, data=data)
    return types.MessageMediaPhoto(photo=photo)


def document_media(
    channel: FakeChannel,
    kind: str = "file",
    *,
    size: int = 32_000,
    seed: int = 0,
    date: datetime | None = None,
    file_name: str | None = None,
    mime_type: str | None = None,
    data: bytes | None = None,
) -> TL:
    """A ``MessageMediaDocument`` of one of :data:`DOCUMENT_KINDS`, with the attributes Telegram gives it
    (video, round video, GIF, voice, audio with title/performer, file with a name, sticker; ``passwd`` is a
    file named ``../../etc/passwd``). ``size`` bytes (or exactly ``data``)."""
    duration = 3 + seed % 598
    thumb = False
    flags: dict[str, bool] = {}
    attributes: list[TL]
    if kind == "video":
        mime = "video/mp4"
        attributes = [
            types.DocumentAttributeVideo(duration=float(duration), w=1280, h=720, supports_streaming=True)
        ]
        if file_name:
            attributes.append(types.DocumentAttributeFilename(file_name))
        thumb, flags = True, {"video": True}
    elif kind == "round":
        mime = "video/mp4"
        attributes = [
            types.DocumentAttributeVideo(duration=float(min(duration, 60)), w=384, h=384, round_message=True)
        ]
        thumb, flags = True, {"video": True, "round": True}
    elif kind == "gif":
        mime = "video/mp4"
        attributes = [
            types.DocumentAttributeVideo(duration=float(min(duration, 15)), w=480, h=270, nosound=True),
            types.DocumentAttributeFilename(file_name or "animation.gif.mp4"),
            types.DocumentAttributeAnimated(),
        ]
        thumb = True
    elif kind == "voice":
        mime = "audio/ogg"
        waveform = hashlib.shake_256(f"waveform {seed}".encode()).digest(63)
        attributes = [types.DocumentAttributeAudio(duration=duration, voice=True, waveform=waveform)]
        flags = {"voice": True}
    elif kind == "audio":
        title, performer, default_name = _AUDIO[seed % len(_AUDIO)]
        mime = "audio/mpeg"
        attributes = [
            types.DocumentAttributeAudio(duration=duration, title=title, performer=performer),
            types.DocumentAttributeFilename(file_name or default_name),
        ]
    elif kind == "sticker":
        mime = "image/webp"
        stickerset = types.InputStickerSetID(id=7_700_000_000_000_000_001, access_hash=-4_242_424_242)
        attributes = [
            types.DocumentAttributeImageSize(w=512, h=512),
            types.DocumentAttributeSticker(alt=("💠", "😂", "☪️")[seed % 3], stickerset=stickerset),
            types.DocumentAttributeFilename(file_name or "sticker.webp"),
        ]
        thumb = True
    elif kind == "passwd":
        mime = "text/plain"
        attributes = [types.DocumentAttributeFilename(file_name or "../../etc/passwd")]
    elif kind == "file":
        mime, default_name, thumb = _FILE_NAMES[seed % len(_FILE_NAMES)]
        attributes = [types.DocumentAttributeFilename(file_name or default_name)]
    else:
        raise ValueError(f"unknown document kind {kind!r}; expected one of {DOCUMENT_KINDS}")
    document = channel.new_document(
        mime_type=mime_type or mime,
        size=size,
        attributes=attributes,
        seed=seed,
        date=date,
        thumb=thumb,
        data=data,
    )
    return types.MessageMediaDocument(document=document, **flags)


# -- posts -----------------------------------------------------------------------------------------------


def add_post(
    channel: FakeChannel,
    text: str = "",
    entities: Iterable[TL] | None = None,
    *,
    media: TL = None,
    date: datetime | None = None,
    msg_id: int | None = None,
    **fields: Any,
) -> TL:
    """Add one channel post (``types.Message``) with the next id (or ``msg_id``) and return it.

    ``date`` defaults to one minute after the newest post. Other ``Message`` fields (``views``,
    ``reply_to``, ``fwd_from``, ``grouped_id``, ``edit_date``, ``reactions``, ...) pass through.
    """
    message = types.Message(
        id=msg_id if msg_id is not None else channel.next_id(),
        peer_id=channel.peer,
        date=date or channel.last_date + timedelta(minutes=1),
        message=text,
        post=True,
        media=media,
        entities=list(entities) if entities else None,
        **fields,
    )
    return channel.add_message(message)


def _add_service(channel: FakeChannel, msg_id: int, date: datetime, action: TL, reply_to: TL = None) -> TL:
    message = types.MessageService(
        id=msg_id, peer_id=channel.peer, date=date, action=action, post=True, reply_to=reply_to
    )
    return channel.add_message(message)


class _Dice:
    """``random.Random`` with cheaper picks (the builder draws dozens of numbers per post)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.random = self.rng.random

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self.random() * len(items))]

    def between(self, low: int, high: int) -> int:
        return low + int(self.random() * (high - low + 1))

    def bits(self, n: int) -> int:
        return self.rng.getrandbits(n)


class _Builder:
    """State of one :func:`build_realistic_channel` run.

    Texts and reaction sets come from pools drawn once per run (nested TL objects such as entities may be
    shared between posts; treat them as immutable), which keeps 100,000 posts to a couple of seconds.
    """

    _TEXT_POOL = 512
    _REACTION_POOL = 128

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
        self.dice = _Dice(seed)
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
        self.source_channel, self.source_user = self._forward_sources(world)
        rng = self.dice.rng
        self.full_text = _all_segments_text(rng)
        self.texts = [_rich_text(rng, rng.choice((1, 1, 2, 2, 3, 4))) for _ in range(self._TEXT_POOL)]
        self.reaction_sets = [self._reactions(force_custom=False) for _ in range(self._REACTION_POOL)]
        self.custom_reactions = self._reactions(force_custom=True)
        # Built and read back like Telegram's answers, so unset flags are False rather than None.
        template = types.Message(id=1, peer_id=channel.peer, date=channel.date, message="", post=True)
        with BinaryReader(bytes(template)) as reader:
            self.template = dict(reader.tgread_object().__dict__)

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
        picked = rng.sample(_REACTIONS, rng.randint(1, 5))
        results = [types.ReactionCount(types.ReactionEmoji(e), rng.randint(1, 400)) for e in picked]
        if force_custom or rng.random() < 0.2:
            doc_id = rng.choice(_CUSTOM_EMOJI_IDS)
            results.append(types.ReactionCount(types.ReactionCustomEmoji(doc_id), rng.randint(1, 50)))
        results.sort(key=lambda r: -r.count)
        return types.MessageReactions(results=results)

    def next_date(self) -> datetime:
        self.date += timedelta(seconds=self.dice.between(45, self.max_gap))
        return self.date

    def file_size(self, low: int, high: int) -> int:
        return self.dice.between(min(low, self.max_file_size), min(high, self.max_file_size))

    def post_fields(self, msg_id: int, modifier: str | None) -> dict[str, Any]:
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
                date=self.date - timedelta(hours=dice.between(1, 500)),
                from_id=types.PeerChannel(self.source_channel.id),
                channel_post=dice.between(1, 5000),
                post_author=dice.pick(_AUTHORS) if random_() < 0.5 else None,
            )
        elif modifier == "fwd_user" or roll < 0.08:
            fields["fwd_from"] = types.MessageFwdHeader(
                date=self.date - timedelta(hours=dice.between(1, 500)),
                from_id=types.PeerUser(self.source_user.id),
            )
        elif modifier == "fwd_hidden" or roll < 0.10:
            fields["fwd_from"] = types.MessageFwdHeader(
                date=self.date - timedelta(hours=dice.between(1, 500)), from_name="Hidden Sender 🕵️"
            )
        if (modifier == "reply" or (modifier is None and random_() < 0.08)) and self.regular_ids:
            target = self.regular_ids[-dice.between(1, min(30, len(self.regular_ids)))]
            fields["reply_to"] = types.MessageReplyHeader(reply_to_msg_id=target)
        if modifier == "edited" or (modifier is None and random_() < 0.15):
            edited = self.date + timedelta(seconds=dice.between(20, 86_400))
            fields["edit_date"] = min(edited, max(self.until, self.date + timedelta(seconds=20)))
        if ch.signatures and (modifier == "author" or random_() < 0.5):
            fields["post_author"] = dice.pick(_AUTHORS)
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
            _add_service(ch, msg_id, date, types.MessageActionPinMessage(), reply)
            return 1
        if kind == "title":
            ch.title = dice.pick(_TITLES)
            _add_service(ch, msg_id, date, types.MessageActionChatEditTitle(ch.title))
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
            media = self.poll(seed)
        elif kind == "webpage":
            media = self.webpage(seed, date)
            prefix, url = text + ("\n\n" if text else "") + "🔗 ", media.webpage.url
            entities = [*entities, types.MessageEntityUrl(utf16_len(prefix), utf16_len(url))]
            text = prefix + url
        elif kind in {"geo", "venue"}:
            lat, long, title, address = dice.pick(_VENUES)
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
        fields = self.post_fields(msg_id, modifier)
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
        fields = self.post_fields(msg_id, modifier)
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

    def poll(self, seed: int) -> TL:
        rng = self.dice.rng
        question, options = rng.choice(_POLLS)
        quiz = rng.random() < 0.25
        correct = rng.randrange(len(options))
        answers = [
            types.PollAnswer(types.TextWithEntities(text, []), str(i).encode())
            for i, text in enumerate(options)
        ]
        voters = [rng.randint(0, 300) for _ in options]
        poll = types.Poll(
            id=seed,
            question=types.TextWithEntities(question, []),
            answers=answers,
            hash=0,
            closed=rng.random() < 0.5,
            quiz=quiz,
            multiple_choice=not quiz and rng.random() < 0.3,
        )
        results = types.PollResults(
            results=[
                types.PollAnswerVoters(
                    str(i).encode(), voters=v, recent_voters=[], correct=(quiz and i == correct) or None
                )
                for i, v in enumerate(voters)
            ],
            total_voters=sum(voters),
        )
        return types.MessageMediaPoll(poll=poll, results=results)

    def webpage(self, seed: int, date: datetime) -> TL:
        dice = self.dice
        label, url = dice.pick(_LINKS)
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
            description=dice.pick(_CYRILLIC),
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
            _add_service(channel, 1, channel.date, types.MessageActionChannelCreate(channel.title))
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
