"""Media of realistic posts: photos and documents of every kind (registered on their channel), and polls."""

from __future__ import annotations

import hashlib
import random
from datetime import datetime

from telethon.tl import types

from tgvault.testing.content.corpora import AUDIO, FILE_NAMES, POLLS
from tgvault.testing.content.text import TL
from tgvault.testing.fake_telegram import FakeChannel

__all__ = ["DOCUMENT_KINDS", "document_media", "photo_media", "poll_media"]

DOCUMENT_KINDS = ("video", "round", "gif", "voice", "audio", "file", "passwd", "sticker")
"""Kinds :func:`document_media` accepts."""


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
        title, performer, default_name = AUDIO[seed % len(AUDIO)]
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
        mime, default_name, thumb = FILE_NAMES[seed % len(FILE_NAMES)]
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


def poll_media(rng: random.Random, seed: int) -> TL:
    """A ``MessageMediaPoll``: a poll (sometimes a quiz, closed or multiple-choice) with its results."""
    question, options = rng.choice(POLLS)
    quiz = rng.random() < 0.25
    correct = rng.randrange(len(options))
    answers = [
        types.PollAnswer(types.TextWithEntities(text, []), str(i).encode()) for i, text in enumerate(options)
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
