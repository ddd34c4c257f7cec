"""Turn Telethon TL objects into tgvault domain records, without losing anything.

Everything Telegram sent is kept: the fields tgvault understands become domain fields, and the whole TL
object is stored as JSON-safe ``raw`` so a later version can re-read what is not parsed today.

Mapping never crashes on a message's content. Each part (text, entities, media, forward, reactions, ...)
is read on its own; a part with an unexpected shape is left out, and ``Post.parse_error`` says what failed,
e.g. ``"media: unexpected MessageMediaFoo"``. Parts that are understood but not modelled by the domain
(dice, games, invoices, stories, giveaways, paid media, to-do lists, ``MessageMediaUnsupported``) are not
errors: they live in ``raw`` only.

Only two inputs are refused, with :class:`MappingError`: an object that is not a Telegram message at all,
and a message without an integer id. A ``MessageEmpty`` (a deleted or inaccessible id) is not a post:
:func:`message_to_post` returns ``None`` for it.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import orjson
from pydantic import ValidationError
from telethon import utils as tl_utils
from telethon.tl import types
from telethon.tl.custom.message import Message as CustomMessage
from telethon.tl.tlobject import TLObject

from tgvault.domain import (
    Channel,
    ChannelKind,
    Contact,
    EntityKind,
    Forward,
    Location,
    MediaItem,
    MediaKind,
    MediaStatus,
    Poll,
    PollAnswer,
    Post,
    Reaction,
    ServiceAction,
    TextEntity,
    WebPagePreview,
)
from tgvault.errors import TgvaultError

__all__ = [
    "MISSING_DATE",
    "MappingError",
    "channel_to_record",
    "message_to_post",
    "raw_to_json_safe",
    "service_action_type",
    "tl_to_raw",
]

T = TypeVar("T")

MISSING_DATE = datetime(1970, 1, 1, tzinfo=UTC)
"""Stands in for ``Post.date`` when a message carries no date (``parse_error`` then says so)."""


class MappingError(TgvaultError, TypeError):
    """The object handed to the mapping is not what it maps (not a message, not a channel)."""


class _Unexpected(Exception):
    """A TL shape this module does not understand; its message is used as is in ``parse_error``."""


def _tl_base(cls: Any) -> Any:
    """The generated ``telethon.tl.types`` class behind a patched one (``types.Message`` is patched)."""
    for klass in getattr(cls, "__mro__", ()):
        if getattr(klass, "__module__", "") == "telethon.tl.types":
            return klass
    return cls


def _optional_types(*names: str) -> tuple[type, ...]:
    """The ``types`` classes that exist in this Telethon version among ``names``."""
    found = (getattr(types, name, None) for name in names)
    return tuple(cls for cls in found if isinstance(cls, type))


_MESSAGE = _tl_base(types.Message)
_MESSAGE_SERVICE = _tl_base(types.MessageService)
_MESSAGE_EMPTY = _tl_base(types.MessageEmpty)

_KNOWN_UNMODELLED_MEDIA = _optional_types(
    "MessageMediaEmpty",
    "MessageMediaUnsupported",
    "MessageMediaDice",
    "MessageMediaGame",
    "MessageMediaInvoice",
    "MessageMediaStory",
    "MessageMediaGiveaway",
    "MessageMediaGiveawayResults",
    "MessageMediaPaidMedia",
    "MessageMediaToDo",
    "MessageMediaVideoStream",
)

_ENTITY_KINDS: dict[str, EntityKind] = {
    "MessageEntityBold": EntityKind.BOLD,
    "MessageEntityItalic": EntityKind.ITALIC,
    "MessageEntityUnderline": EntityKind.UNDERLINE,
    "MessageEntityStrike": EntityKind.STRIKETHROUGH,
    "MessageEntitySpoiler": EntityKind.SPOILER,
    "MessageEntityCode": EntityKind.CODE,
    "MessageEntityPre": EntityKind.PRE,
    "MessageEntityBlockquote": EntityKind.BLOCKQUOTE,
    "MessageEntityUrl": EntityKind.URL,
    "MessageEntityTextUrl": EntityKind.TEXT_LINK,
    "MessageEntityMention": EntityKind.MENTION,
    "MessageEntityMentionName": EntityKind.MENTION_NAME,
    "InputMessageEntityMentionName": EntityKind.MENTION_NAME,
    "MessageEntityHashtag": EntityKind.HASHTAG,
    "MessageEntityCashtag": EntityKind.CASHTAG,
    "MessageEntityEmail": EntityKind.EMAIL,
    "MessageEntityPhone": EntityKind.PHONE,
    "MessageEntityBotCommand": EntityKind.BOT_COMMAND,
    "MessageEntityBankCard": EntityKind.BANK_CARD,
    "MessageEntityCustomEmoji": EntityKind.CUSTOM_EMOJI,
    "MessageEntityUnknown": EntityKind.UNKNOWN,
    # Known to this layer but not modelled by the domain; their details stay in ``raw``.
    "MessageEntityFormattedDate": EntityKind.UNKNOWN,
    "MessageEntityDiffInsert": EntityKind.UNKNOWN,
    "MessageEntityDiffReplace": EntityKind.UNKNOWN,
    "MessageEntityDiffDelete": EntityKind.UNKNOWN,
}


# ---- helpers -------------------------------------------------------------------------------------


def _name(obj: object) -> str:
    return type(obj).__name__


def _describe(exc: Exception) -> str:
    if isinstance(exc, _Unexpected):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class _Reader:
    """Reads one part of a message at a time and remembers what failed."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def note(self, part: str, problem: str) -> None:
        self.errors.append(f"{part}: {problem}")

    def read(self, part: str, read: Callable[[], T], default: T) -> T:
        try:
            return read()
        except Exception as exc:
            self.note(part, _describe(exc))
            return default

    def each(self, part: str, items: object, read: Callable[[Any], T | None]) -> tuple[T, ...]:
        """Map every item of a TL vector, skipping (and noting) items that fail."""
        if items is None:
            return ()
        if not isinstance(items, Iterable) or isinstance(items, str | bytes | Mapping):
            raise _Unexpected(f"expected a list, got {_name(items)}")
        out: list[T] = []
        for item in items:
            try:
                mapped = read(item)
            except Exception as exc:
                self.note(part, _describe(exc))
                continue
            if mapped is not None:
                out.append(mapped)
        return tuple(out)

    @property
    def parse_error(self) -> str | None:
        return "; ".join(self.errors) or None


def _opt_int(value: object, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Unexpected(f"{what} is {_name(value)}, expected int")
    return value


def _req_int(value: object, what: str) -> int:
    result = _opt_int(value, what)
    if result is None:
        raise _Unexpected(f"{what} is missing")
    return result


def _opt_float(value: object, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Unexpected(f"{what} is {_name(value)}, expected a number")
    return float(value)


def _opt_str(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Unexpected(f"{what} is {_name(value)}, expected str")
    return value


def _nonempty(value: object, what: str) -> str | None:
    """Optional TL strings arrive as ``""`` when absent; the domain says ``None``."""
    return _opt_str(value, what) or None


def _tl_text(value: object, what: str) -> str:
    """Text that newer layers wrap in ``TextWithEntities`` (poll questions and answers)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, types.TextWithEntities):
        return _opt_str(value.text, what) or ""
    raise _Unexpected(f"{what} is {_name(value)}, expected str or TextWithEntities")


def _utc(value: object, what: str) -> datetime | None:
    """A TL date as an aware UTC datetime; naive datetimes are taken to be UTC already."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    raise _Unexpected(f"{what} is {_name(value)}, expected datetime")


# ---- raw -----------------------------------------------------------------------------------------


# Exact types that are JSON-safe as they are. Checked with ``type(value) in _PLAIN`` before any call:
# a to_dict() tree is mostly these, and this conversion runs on every archived message.
_PLAIN = frozenset({str, int, bool, type(None)})


def raw_to_json_safe(obj: Any) -> Any:
    """``obj`` (a TL object, its ``to_dict()``, or any value inside one) as plain JSON-safe data.

    TL objects become their ``to_dict()``; bytes become ``{"_bytes": "<base64>"}``; datetimes become ISO
    strings with their UTC offset (naive ones are taken as UTC); tuples and sets become lists; dict keys
    become strings; non-finite floats become strings. Key order follows ``to_dict()``, so the result is
    deterministic. Anything else unknown becomes ``{"_repr": ..., "_type": ...}``.
    """
    kind = type(obj)
    if kind is dict:  # fast paths for the plain containers of a to_dict() tree
        return _dict_to_json_safe(obj)
    if kind is list:
        return [item if type(item) in _PLAIN else raw_to_json_safe(item) for item in obj]
    if kind in _PLAIN:
        return obj
    return _other_to_json_safe(obj)


def _dict_to_json_safe(obj: dict[Any, Any]) -> dict[str, Any]:
    return {
        (key if type(key) is str else str(key)): (value if type(value) in _PLAIN else raw_to_json_safe(value))
        for key, value in obj.items()
    }


def _other_to_json_safe(obj: Any) -> Any:
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, bytes | bytearray | memoryview):
        return {"_bytes": base64.b64encode(bytes(obj)).decode("ascii")}
    if isinstance(obj, datetime):
        aware = obj.replace(tzinfo=UTC) if obj.tzinfo is None else obj
        return aware.isoformat()
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, TLObject):
        return tl_to_raw(obj)
    if isinstance(obj, Mapping):
        return {str(key): raw_to_json_safe(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [raw_to_json_safe(item) for item in obj]
    if isinstance(obj, set | frozenset):
        return sorted((raw_to_json_safe(item) for item in obj), key=repr)
    return {"_repr": repr(obj), "_type": _name(obj)}


# The fast path of tl_to_raw: orjson walks the to_dict() tree in C (dates as ISO strings with their
# offset, naive ones as UTC, int keys as strings) and calls back only for what it cannot write itself.
_ORJSON_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS


def _orjson_default(obj: Any) -> Any:
    """orjson's callback for values it cannot write: bytes, sets, TL objects, unknown objects."""
    return _other_to_json_safe(obj)


def tl_to_raw(obj: Any) -> dict[str, Any]:
    """A TL object's ``to_dict()`` made JSON-safe (see :func:`raw_to_json_safe`), for ``Post.raw``.

    A bare ``telethon.tl.custom.Message`` (which has no ``to_dict``) is read from its public attributes.
    The conversion runs in orjson (one encode and decode in C, several times faster than walking the tree
    in Python, which matters on every archived message); what orjson refuses (an integer beyond 64 bits,
    a lone surrogate) takes the pure-Python path, which gives the same result. One difference: a
    non-finite double, which Telegram never sends, becomes ``null`` on the fast path.
    """
    try:
        as_dict = obj.to_dict()
    except NotImplementedError:
        as_dict = None
    if not isinstance(as_dict, Mapping):
        as_dict = {
            "_": "MessageService" if getattr(obj, "action", None) is not None else _name(obj),
            **{key: value for key, value in vars(obj).items() if not key.startswith("_")},
        }
    plain = as_dict if type(as_dict) is dict else dict(as_dict)
    try:
        fast: dict[str, Any] = orjson.loads(
            orjson.dumps(plain, default=_orjson_default, option=_ORJSON_OPTIONS)
        )
    except (TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError
        return _dict_to_json_safe(plain)
    return fast


# ---- entities ------------------------------------------------------------------------------------


def _input_user_id(user: object) -> int | None:
    if isinstance(user, int) and not isinstance(user, bool):
        return user
    return _opt_int(getattr(user, "user_id", None), "user_id")


# Entity kinds with nothing but a kind, an offset and a length.
_PLAIN_ENTITY_KINDS = frozenset(EntityKind) - {
    EntityKind.TEXT_LINK,
    EntityKind.PRE,
    EntityKind.BLOCKQUOTE,
    EntityKind.MENTION_NAME,
    EntityKind.CUSTOM_EMOJI,
}


def _entity(entity: Any, reader: _Reader) -> TextEntity:
    name = _name(entity)
    kind = _ENTITY_KINDS.get(name)
    if kind is None:
        reader.note("entities", f"unexpected {name} kept as unknown")
        kind = EntityKind.UNKNOWN
    offset = getattr(entity, "offset", None)
    length = getattr(entity, "length", None)
    if type(offset) is not int or type(length) is not int:
        # Checked (and the message of a failure written) only off the common path: this runs for
        # every entity of every post.
        offset = _req_int(offset, f"{name}.offset")
        length = _req_int(length, f"{name}.length")
    if kind in _PLAIN_ENTITY_KINDS:
        return TextEntity(kind=kind, offset=offset, length=length)
    extra: dict[str, Any] = {}
    if kind is EntityKind.TEXT_LINK:
        extra["url"] = _opt_str(entity.url, "url")
    elif kind is EntityKind.PRE:
        extra["language"] = _nonempty(entity.language, "language")
    elif kind is EntityKind.BLOCKQUOTE:
        extra["collapsed"] = bool(getattr(entity, "collapsed", False))
    elif kind is EntityKind.MENTION_NAME:
        extra["user_id"] = _input_user_id(entity.user_id)
    elif kind is EntityKind.CUSTOM_EMOJI:
        extra["document_id"] = _opt_int(entity.document_id, "document_id")
    return TextEntity(kind=kind, offset=offset, length=length, **extra)


def _entities(entities: object, reader: _Reader) -> tuple[TextEntity, ...]:
    return reader.each("entities", entities, lambda entity: _entity(entity, reader))


# ---- media ---------------------------------------------------------------------------------------


def _largest_photo_size(sizes: object) -> tuple[int | None, int | None, int | None]:
    """``(width, height, bytes)`` of the largest downloadable size of a photo."""
    best: tuple[int, int, int | None] | None = None
    for size in sizes if isinstance(sizes, list | tuple) else ():
        if isinstance(size, types.PhotoSize):
            candidate = (size.w, size.h, size.size)
        elif isinstance(size, types.PhotoSizeProgressive):
            # Progressive JPEG: ``sizes`` lists the byte counts of its scans; the last is the whole file.
            candidate = (size.w, size.h, max(size.sizes) if size.sizes else None)
        elif isinstance(size, types.PhotoCachedSize):
            candidate = (size.w, size.h, len(size.bytes))
        else:  # stripped/path thumbnails and PhotoSizeEmpty are not the photo
            continue
        w = _opt_int(candidate[0], "w") or 0
        h = _opt_int(candidate[1], "h") or 0
        byte_count = _opt_int(candidate[2], "size")
        if best is None or (w * h, byte_count or 0) > (best[0] * best[1], best[2] or 0):
            best = (w, h, byte_count)
    if best is None:
        return None, None, None
    return best[0] or None, best[1] or None, best[2]


def _photo_item(photo: Any, *, spoiler: bool) -> MediaItem:
    if photo is None or isinstance(photo, types.PhotoEmpty):
        return MediaItem(
            kind=MediaKind.PHOTO,
            telegram_id=_opt_int(getattr(photo, "id", None), "photo.id"),
            spoiler=spoiler,
            status=MediaStatus.SKIPPED,
            error="photo not available (empty or expired)",
        )
    if not isinstance(photo, types.Photo):
        raise _Unexpected(f"unexpected {_name(photo)}")
    width, height, size = _largest_photo_size(photo.sizes)
    return MediaItem(
        kind=MediaKind.PHOTO,
        telegram_id=_opt_int(photo.id, "photo.id"),
        mime_type="image/jpeg",  # Telegram re-encodes every photo as JPEG
        size=size,
        width=width,
        height=height,
        spoiler=spoiler,
    )


def _document_item(media: Any, reader: _Reader) -> MediaItem:
    spoiler = bool(getattr(media, "spoiler", False))
    document = getattr(media, "document", None)
    if document is None or isinstance(document, types.DocumentEmpty):
        return MediaItem(
            kind=MediaKind.DOCUMENT,
            telegram_id=_opt_int(getattr(document, "id", None), "document.id"),
            spoiler=spoiler,
            status=MediaStatus.SKIPPED,
            error="document not available (empty or expired)",
        )
    if not isinstance(document, types.Document):
        raise _Unexpected(f"unexpected {_name(document)}")

    file_name: str | None = None
    width = height = None
    duration: float | None = None
    title = performer = sticker_emoji = None
    video: Any = None
    audio: Any = None
    animated = sticker = False
    for attribute in document.attributes or ():
        if isinstance(attribute, types.DocumentAttributeFilename):
            file_name = _nonempty(attribute.file_name, "file_name")
        elif isinstance(attribute, types.DocumentAttributeVideo):
            video = attribute
            width, height = _opt_int(attribute.w, "w"), _opt_int(attribute.h, "h")
            duration = _opt_float(attribute.duration, "duration")
        elif isinstance(attribute, types.DocumentAttributeImageSize):
            if width is None and height is None:
                width, height = _opt_int(attribute.w, "w"), _opt_int(attribute.h, "h")
        elif isinstance(attribute, types.DocumentAttributeAudio):
            audio = attribute
            if duration is None:
                duration = _opt_float(attribute.duration, "duration")
            title = _nonempty(attribute.title, "title")
            performer = _nonempty(attribute.performer, "performer")
        elif isinstance(attribute, types.DocumentAttributeAnimated):
            animated = True
        elif isinstance(attribute, types.DocumentAttributeSticker | types.DocumentAttributeCustomEmoji):
            sticker = True
            sticker_emoji = _nonempty(attribute.alt, "alt")
        elif isinstance(attribute, types.DocumentAttributeHasStickers):
            pass
        else:
            reader.note("media", f"unexpected {_name(attribute)} ignored")

    if sticker:
        kind = MediaKind.STICKER
    elif animated:
        kind = MediaKind.ANIMATION
    elif (video is not None and video.round_message) or getattr(media, "round", False):
        kind = MediaKind.ROUND_VIDEO
    elif video is not None or getattr(media, "video", False):
        kind = MediaKind.VIDEO
    elif (audio is not None and audio.voice) or getattr(media, "voice", False):
        kind = MediaKind.VOICE
    elif audio is not None:
        kind = MediaKind.AUDIO
    else:
        kind = MediaKind.DOCUMENT

    return MediaItem(
        kind=kind,
        telegram_id=_opt_int(document.id, "document.id"),
        mime_type=_nonempty(document.mime_type, "mime_type"),
        file_name=file_name,
        size=_opt_int(document.size, "size"),
        width=width,
        height=height,
        duration=duration,
        performer=performer,
        title=title,
        sticker_emoji=sticker_emoji,
        spoiler=spoiler,
    )


def _poll(media: Any) -> Poll:
    poll = media.poll
    if not isinstance(poll, types.Poll):
        raise _Unexpected(f"unexpected {_name(poll)}")
    results = getattr(media, "results", None)
    voters_by_option: dict[bytes, Any] = {}
    total_voters: int | None = None
    if isinstance(results, types.PollResults):
        total_voters = _opt_int(results.total_voters, "total_voters")
        for counted in results.results or ():
            voters_by_option[bytes(counted.option)] = counted
    elif results is not None:
        raise _Unexpected(f"unexpected {_name(results)}")

    answers = []
    for answer in poll.answers or ():
        counted = voters_by_option.get(bytes(answer.option))
        answers.append(
            PollAnswer(
                text=_tl_text(answer.text, "answer"),
                voters=_opt_int(counted.voters, "voters") if counted is not None else None,
                chosen=bool(counted is not None and counted.chosen),
                correct=bool(counted is not None and counted.correct),
            )
        )
    return Poll(
        question=_tl_text(poll.question, "question"),
        answers=tuple(answers),
        total_voters=total_voters,
        closed=bool(poll.closed),
        quiz=bool(poll.quiz),
        multiple_choice=bool(poll.multiple_choice),
        public_voters=bool(poll.public_voters),
    )


def _web_page(page: Any) -> WebPagePreview | None:
    if isinstance(page, types.WebPage):
        return WebPagePreview(
            url=_opt_str(page.url, "url") or "",
            site_name=_nonempty(page.site_name, "site_name"),
            title=_nonempty(page.title, "title"),
            description=_nonempty(page.description, "description"),
        )
    if isinstance(page, types.WebPagePending | types.WebPageEmpty):
        # Telegram has not built (or will not build) the preview; keep the link when it is known.
        url = _nonempty(getattr(page, "url", None), "url")
        return WebPagePreview(url=url) if url else None
    if isinstance(page, types.WebPageNotModified):
        return None
    raise _Unexpected(f"unexpected {_name(page)}")


def _location(geo: Any, **extra: Any) -> Location | None:
    if geo is None or isinstance(geo, types.GeoPointEmpty):
        return None
    if not isinstance(geo, types.GeoPoint):
        raise _Unexpected(f"unexpected {_name(geo)}")
    return Location(latitude=float(geo.lat), longitude=float(geo.long), **extra)


def _contact(media: Any) -> Contact:
    user_id = _opt_int(media.user_id, "user_id")
    return Contact(
        first_name=_opt_str(media.first_name, "first_name") or "",
        last_name=_nonempty(media.last_name, "last_name"),
        phone_number=_nonempty(media.phone_number, "phone_number"),
        user_id=user_id or None,  # 0 means the contact has no Telegram account
    )


def _media(media: Any, reader: _Reader) -> dict[str, Any]:
    """Post fields (``media``, ``poll``, ``web_page``, ``location``, ``contact``) for a message's media."""
    if media is None:
        return {}
    if isinstance(media, types.MessageMediaPhoto):
        return {"media": _photo_item(media.photo, spoiler=bool(media.spoiler))}
    if isinstance(media, types.MessageMediaDocument):
        return {"media": _document_item(media, reader)}
    if isinstance(media, types.MessageMediaPoll):
        return {"poll": _poll(media)}
    if isinstance(media, types.MessageMediaWebPage):
        return {"web_page": _web_page(media.webpage)}
    if isinstance(media, types.MessageMediaVenue):
        return {
            "location": _location(
                media.geo, title=_nonempty(media.title, "title"), address=_nonempty(media.address, "address")
            )
        }
    if isinstance(media, types.MessageMediaGeoLive):
        return {"location": _location(media.geo, live_period=_opt_int(media.period, "period"))}
    if isinstance(media, types.MessageMediaGeo):
        return {"location": _location(media.geo)}
    if isinstance(media, types.MessageMediaContact):
        return {"contact": _contact(media)}
    if isinstance(media, _KNOWN_UNMODELLED_MEDIA):
        return {}
    raise _Unexpected(f"unexpected {_name(media)}")


# ---- headers -------------------------------------------------------------------------------------


def _reply(reply_to: Any, reader: _Reader) -> dict[str, Any]:
    if reply_to is None or isinstance(reply_to, types.MessageReplyStoryHeader):
        return {}
    if not isinstance(reply_to, types.MessageReplyHeader):
        raise _Unexpected(f"unexpected {_name(reply_to)}")
    message_id = _opt_int(reply_to.reply_to_msg_id, "reply_to_msg_id")
    peer = reply_to.reply_to_peer_id
    if peer is None:
        return {"reply_to_message_id": message_id}
    if isinstance(peer, types.PeerChannel):
        channel = _opt_int(peer.channel_id, "channel_id")
        return {"reply_to_message_id": message_id, "reply_to_channel_id": channel}
    # A reply to a message in a user's or a basic group's chat: its id means nothing in this channel.
    reader.note("reply_to", f"reply to a message in {_name(peer)} is kept in raw only")
    return {}


def _forward(header: Any, reader: _Reader) -> Forward | None:
    if header is None:
        return None
    if not isinstance(header, types.MessageFwdHeader):
        raise _Unexpected(f"unexpected {_name(header)}")
    origin = header.from_id
    channel_id = user_id = None
    if isinstance(origin, types.PeerChannel):
        channel_id = _opt_int(origin.channel_id, "channel_id")
    elif isinstance(origin, types.PeerUser):
        user_id = _opt_int(origin.user_id, "user_id")
    elif origin is not None:
        reader.note("forward", f"origin {_name(origin)} is kept in raw only")
    return Forward(
        from_channel_id=channel_id,
        from_user_id=user_id,
        from_name=_nonempty(header.from_name, "from_name"),
        from_message_id=_opt_int(header.channel_post, "channel_post"),
        date=_utc(header.date, "date"),
        post_author=_nonempty(header.post_author, "post_author"),
    )


def _reaction(counted: Any) -> Reaction | None:
    if not isinstance(counted, types.ReactionCount):
        raise _Unexpected(f"unexpected {_name(counted)}")
    count = _req_int(counted.count, "count")
    reaction = counted.reaction
    if isinstance(reaction, types.ReactionEmoji):
        return Reaction(emoji=_opt_str(reaction.emoticon, "emoticon"), count=count)
    if isinstance(reaction, types.ReactionCustomEmoji):
        return Reaction(custom_emoji_id=_opt_int(reaction.document_id, "document_id"), count=count)
    if isinstance(reaction, types.ReactionPaid):
        return Reaction(paid=True, count=count)
    if isinstance(reaction, types.ReactionEmpty):
        return None
    raise _Unexpected(f"unexpected {_name(reaction)}")


def _reactions(reactions: Any, reader: _Reader) -> tuple[Reaction, ...]:
    if reactions is None:
        return ()
    if not isinstance(reactions, types.MessageReactions):
        raise _Unexpected(f"unexpected {_name(reactions)}")
    return reader.each("reactions", reactions.results, _reaction)


def _replies(replies: Any) -> int | None:
    if replies is None:
        return None
    if not isinstance(replies, types.MessageReplies):
        raise _Unexpected(f"unexpected {_name(replies)}")
    return _opt_int(replies.replies, "replies")


# ---- service -------------------------------------------------------------------------------------

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def service_action_type(action: object) -> str:
    """Snake-case name of a service action: ``MessageActionChatEditTitle`` → ``"chat_edit_title"``."""
    name = _name(action).removeprefix("MessageAction") or _name(action)
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def _service(message: Any) -> ServiceAction:
    action = getattr(message, "action", None)
    if action is None:
        raise _Unexpected("service message without an action")
    pinned_message_id = None
    if isinstance(action, types.MessageActionPinMessage):
        reply_to = getattr(message, "reply_to", None)
        pinned_message_id = _opt_int(getattr(reply_to, "reply_to_msg_id", None), "reply_to_msg_id")
    text = None
    if isinstance(action, types.MessageActionCustomAction):
        text = _opt_str(action.message, "message")
    title = getattr(action, "title", None)
    return ServiceAction(
        type=service_action_type(action),
        title=title if isinstance(title, str) else None,
        pinned_message_id=pinned_message_id,
        text=text,
    )


def _service_media(message: Any) -> dict[str, Any]:
    action = getattr(message, "action", None)
    if isinstance(action, types.MessageActionChatEditPhoto):
        return {"media": _photo_item(action.photo, spoiler=False)}
    return {}


# ---- posts ---------------------------------------------------------------------------------------


def _is_service(message: Any) -> bool:
    if isinstance(message, _MESSAGE_SERVICE):
        return True
    if isinstance(message, _MESSAGE):
        return False
    if isinstance(message, CustomMessage):  # a bare custom Message aggregates both kinds
        return getattr(message, "action", None) is not None
    raise MappingError(f"expected a Telegram Message or MessageService, got {_name(message)}")


def _build_post(fields: dict[str, Any], reader: _Reader) -> Post:
    """Build the Post, dropping (and noting) any optional field the domain still refuses."""
    required = {"channel_id", "message_id", "date"}
    while True:
        try:
            return Post(**fields, parse_error=reader.parse_error)
        except ValidationError as exc:
            bad = {str(error["loc"][0]) for error in exc.errors() if error["loc"]} - required
            bad &= fields.keys()
            if not bad:
                raise
            for key in sorted(bad):
                reader.note(key, "rejected by the domain model")
                del fields[key]


def message_to_post(message: Any, channel_id: int) -> Post | None:
    """Map a Telethon ``Message`` or ``MessageService`` of channel ``channel_id`` to a :class:`Post`.

    Returns ``None`` for ``MessageEmpty``. Raises :class:`MappingError` for anything that is not a
    message or has no integer id. Never raises because of a message's content: what cannot be read is
    left out and described in ``Post.parse_error``, and the full TL is always kept in ``Post.raw``.
    """
    if isinstance(message, _MESSAGE_EMPTY):
        return None
    service = _is_service(message)
    message_id = getattr(message, "id", None)
    if isinstance(message_id, bool) or not isinstance(message_id, int):
        raise MappingError(f"message id is {_name(message_id)}, expected int")

    reader = _Reader()

    def attr(name: str) -> Any:
        return getattr(message, name, None)

    posted_at = reader.read("date", lambda: _utc(attr("date"), "date"), None)
    if posted_at is None:
        if not any(error.startswith("date:") for error in reader.errors):
            reader.note("date", "missing")
        posted_at = MISSING_DATE

    no_reactions: tuple[Reaction, ...] = ()
    no_entities: tuple[TextEntity, ...] = ()
    no_fields: dict[str, Any] = {}
    fields: dict[str, Any] = {
        "channel_id": channel_id,
        "message_id": message_id,
        "date": posted_at,
        "raw": reader.read("raw", lambda: tl_to_raw(message), None),
        "edit_date": reader.read("edit_date", lambda: _utc(attr("edit_date"), "edit_date"), None),
        "pinned": bool(attr("pinned")),
        "author": reader.read("author", lambda: _nonempty(attr("post_author"), "post_author"), None),
        "grouped_id": reader.read("grouped_id", lambda: _opt_int(attr("grouped_id"), "grouped_id"), None),
        "views": reader.read("views", lambda: _opt_int(attr("views"), "views"), None),
        "forwards": reader.read("forwards", lambda: _opt_int(attr("forwards"), "forwards"), None),
        "replies": reader.read("replies", lambda: _replies(attr("replies")), None),
        "reactions": reader.read("reactions", lambda: _reactions(attr("reactions"), reader), no_reactions),
        "forward": reader.read("forward", lambda: _forward(attr("fwd_from"), reader), None),
    }
    fields.update(reader.read("reply_to", lambda: _reply(attr("reply_to"), reader), no_fields))
    if service:
        fields["service"] = reader.read("service", lambda: _service(message), None)
        fields.update(reader.read("media", lambda: _service_media(message), no_fields))
    else:
        fields["text"] = reader.read("text", lambda: _opt_str(attr("message"), "text") or "", "")
        fields["entities"] = reader.read("entities", lambda: _entities(attr("entities"), reader), no_entities)
        fields.update(reader.read("media", lambda: _media(attr("media"), reader), no_fields))
    return _build_post(fields, reader)


# ---- channels ------------------------------------------------------------------------------------


def channel_to_record(chat: Any, full: Any = None) -> Channel:
    """Map a Telethon ``Channel`` (or ``ChannelForbidden``) to a :class:`Channel`.

    ``full`` is the optional ``messages.ChatFull`` (or its ``ChannelFull``) from ``GetFullChannelRequest``,
    which adds the description and the subscriber count. ``created_at`` is left unset: ``Channel.date`` is
    the date *you joined* when you are a member, so it is not a reliable creation date.
    """
    if not isinstance(chat, types.Channel | types.ChannelForbidden):
        raise MappingError(f"expected a Telegram Channel, got {_name(chat)}")
    channel_id = chat.id
    if isinstance(channel_id, bool) or not isinstance(channel_id, int):
        raise MappingError(f"channel id is {_name(channel_id)}, expected int")
    if channel_id < 0:  # a marked id such as -1001234567890
        channel_id = int(tl_utils.resolve_id(channel_id)[0])

    username = _nonempty(getattr(chat, "username", None), "username")
    if username is None:
        for handle in getattr(chat, "usernames", None) or ():
            if getattr(handle, "active", False) and isinstance(handle.username, str):
                username = handle.username
                break

    full_chat = getattr(full, "full_chat", full)
    description = None
    subscribers = _opt_int(getattr(chat, "participants_count", None), "participants_count")
    if full_chat is not None:
        if not isinstance(full_chat, types.ChannelFull):
            raise MappingError(f"expected ChannelFull, got {_name(full_chat)}")
        if full_chat.id != channel_id:
            raise MappingError(f"full info is for channel {full_chat.id}, not {channel_id}")
        description = _nonempty(full_chat.about, "about")
        full_count = _opt_int(full_chat.participants_count, "participants_count")
        if full_count is not None:
            subscribers = full_count

    supergroup = bool(getattr(chat, "megagroup", False) or getattr(chat, "gigagroup", False))
    return Channel(
        id=channel_id,
        username=username,
        title=_opt_str(chat.title, "title") or "",
        description=description,
        subscribers=subscribers,
        kind=ChannelKind.SUPERGROUP if supergroup else ChannelKind.CHANNEL,
    )
