"""TL builders for media: a photo's or document's TL object with the file serving its bytes, and the
photos and documents a message's media carries."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime

from telethon.tl import types

from tgvault.testing.fake_telegram.files import FakeFile
from tgvault.testing.fake_telegram.hashes import mix64
from tgvault.testing.fake_telegram.rpc import TL

__all__ = ["build_document", "build_photo", "media_objects"]

_STRIPPED_TAIL = hashlib.shake_256(b"stripped").digest(40)
_STRIPPED_PHOTO = types.PhotoStrippedSize("i", b"\x01\x28\x1e" + _STRIPPED_TAIL)
_STRIPPED_THUMB = types.PhotoStrippedSize("i", b"\x01\x16\x28" + _STRIPPED_TAIL)
_PHOTO_STEPS = (("m", 320), ("x", 800), ("y", 1280), ("w", 2560))


@functools.lru_cache(maxsize=256)
def _photo_layout(w: int, h: int) -> tuple[tuple[str, int, int], ...]:
    """Telegram's photo sizes for a ``w`` x ``h`` photo: ``(type, width, height)``, largest last."""
    scale = max(w, h, 1)
    layout = [(kind, w * px // scale, h * px // scale) for kind, px in _PHOTO_STEPS if px < scale]
    main = next((kind for kind, px in _PHOTO_STEPS if px >= scale), "w")
    return (*layout, (main, w, h))


def build_photo(
    media_id: int,
    *,
    size: int,
    w: int,
    h: int,
    seed: int,
    date: datetime,
    progressive: bool,
    data: bytes | None,
    dc_id: int,
) -> tuple[FakeFile, TL]:
    """The file and the ``Photo`` of a photo whose largest size has ``size`` bytes (or exactly ``data``).

    Sizes are like Telegram's: a stripped ``i`` preview, ``m`` (320 px), ``x`` (800 px) and, for large
    photos, the largest as ``y`` (a ``PhotoSizeProgressive`` when ``progressive``).
    """
    size = len(data) if data is not None else max(16, size)
    layout = _photo_layout(w, h)
    thumbs: list[TL] = [_STRIPPED_PHOTO]
    sizes: dict[str, int] = {}
    last = len(layout) - 1
    for index, (kind, sw, sh) in enumerate(layout):
        byte_size = size if index == last else max(8, size * (index + 1) // (len(layout) * 4))
        sizes[kind] = byte_size
        if index == last and progressive:
            steps = [byte_size * k // 5 for k in (1, 2, 3, 4)] + [byte_size]
            thumbs.append(types.PhotoSizeProgressive(kind, sw, sh, steps))
        else:
            thumbs.append(types.PhotoSize(kind, sw, sh, byte_size))
    main = layout[-1][0]
    file = FakeFile(
        id=media_id,
        access_hash=mix64(media_id),
        kind="photo",
        mime_type="image/jpeg",
        date=date,
        sizes=sizes,
        main=main,
        seed=seed,
        dc_id=dc_id,
        data={main: data} if data is not None else None,
    )
    photo = types.Photo(
        id=media_id,
        access_hash=file.access_hash,
        file_reference=file.file_reference,
        date=file.date,
        sizes=thumbs,
        dc_id=dc_id,
        has_stickers=False,
        video_sizes=[],
    )
    return file, photo


def build_document(
    media_id: int,
    *,
    mime_type: str,
    size: int,
    attributes: Iterable[TL],
    seed: int,
    date: datetime,
    thumb: bool,
    data: bytes | None,
    dc_id: int,
) -> tuple[FakeFile, TL]:
    """The file and the ``types.Document`` of a document of ``size`` bytes (or exactly ``data``).

    With ``thumb``, it gets a stripped preview and a 320 px ``m`` JPEG thumbnail, like videos and PDFs.
    """
    size = len(data) if data is not None else max(1, size)
    sizes = {"": size}
    thumbs: list[TL] | None = None
    if thumb:
        thumb_size = 2_000 + seed % 6_000
        sizes["m"] = thumb_size
        thumbs = [_STRIPPED_THUMB, types.PhotoSize("m", 320, 180, thumb_size)]
    file = FakeFile(
        id=media_id,
        access_hash=mix64(media_id ^ 0x5A5A),
        kind="document",
        mime_type=mime_type,
        date=date,
        sizes=sizes,
        main="",
        seed=seed,
        dc_id=dc_id,
        data={"": data} if data is not None else None,
    )
    document = types.Document(
        id=media_id,
        access_hash=file.access_hash,
        file_reference=file.file_reference,
        date=file.date,
        mime_type=mime_type,
        size=size,
        dc_id=dc_id,
        attributes=list(attributes),
        thumbs=thumbs,
        video_thumbs=None,
    )
    return file, document


def media_objects(media: TL) -> Iterator[TL]:
    """The ``Photo``/``Document`` objects carried by a ``MessageMedia`` (including web page previews)."""
    if media is None:
        return
    for name in ("photo", "document", "video_cover"):
        value = getattr(media, name, None)
        if isinstance(value, types.Photo | types.Document):
            yield value
    for value in getattr(media, "alt_documents", None) or ():
        if isinstance(value, types.Document):
            yield value
    webpage = getattr(media, "webpage", None)
    if isinstance(webpage, types.WebPage):
        yield from media_objects(webpage)
