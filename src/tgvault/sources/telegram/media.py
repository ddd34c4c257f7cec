"""A message's media as post fields: photos and documents as ``MediaItem``s, web pages as link previews."""

from __future__ import annotations

from typing import Any

from telethon.tl import types

from tgvault.domain import MediaItem, MediaKind, MediaStatus, WebPagePreview
from tgvault.sources.telegram.reading import (
    Reader,
    Unexpected,
    nonempty,
    opt_float,
    opt_int,
    opt_str,
    optional_types,
    type_name,
)
from tgvault.sources.telegram.structured_media import contact_of, location_of, poll_of

_KNOWN_UNMODELLED_MEDIA = optional_types(
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
        w = opt_int(candidate[0], "w") or 0
        h = opt_int(candidate[1], "h") or 0
        byte_count = opt_int(candidate[2], "size")
        if best is None or (w * h, byte_count or 0) > (best[0] * best[1], best[2] or 0):
            best = (w, h, byte_count)
    if best is None:
        return None, None, None
    return best[0] or None, best[1] or None, best[2]


def photo_item(photo: Any, *, spoiler: bool) -> MediaItem:
    """A photo as a ``MediaItem`` (its largest size); an empty or expired one is recorded as skipped."""
    if photo is None or isinstance(photo, types.PhotoEmpty):
        return MediaItem(
            kind=MediaKind.PHOTO,
            telegram_id=opt_int(getattr(photo, "id", None), "photo.id"),
            spoiler=spoiler,
            status=MediaStatus.SKIPPED,
            error="photo not available (empty or expired)",
        )
    if not isinstance(photo, types.Photo):
        raise Unexpected(f"unexpected {type_name(photo)}")
    width, height, size = _largest_photo_size(photo.sizes)
    return MediaItem(
        kind=MediaKind.PHOTO,
        telegram_id=opt_int(photo.id, "photo.id"),
        mime_type="image/jpeg",  # Telegram re-encodes every photo as JPEG
        size=size,
        width=width,
        height=height,
        spoiler=spoiler,
    )


def _document_item(media: Any, reader: Reader) -> MediaItem:
    spoiler = bool(getattr(media, "spoiler", False))
    document = getattr(media, "document", None)
    if document is None or isinstance(document, types.DocumentEmpty):
        return MediaItem(
            kind=MediaKind.DOCUMENT,
            telegram_id=opt_int(getattr(document, "id", None), "document.id"),
            spoiler=spoiler,
            status=MediaStatus.SKIPPED,
            error="document not available (empty or expired)",
        )
    if not isinstance(document, types.Document):
        raise Unexpected(f"unexpected {type_name(document)}")

    file_name: str | None = None
    width = height = None
    duration: float | None = None
    title = performer = sticker_emoji = None
    video: Any = None
    audio: Any = None
    animated = sticker = False
    for attribute in document.attributes or ():
        if isinstance(attribute, types.DocumentAttributeFilename):
            file_name = nonempty(attribute.file_name, "file_name")
        elif isinstance(attribute, types.DocumentAttributeVideo):
            video = attribute
            width, height = opt_int(attribute.w, "w"), opt_int(attribute.h, "h")
            duration = opt_float(attribute.duration, "duration")
        elif isinstance(attribute, types.DocumentAttributeImageSize):
            if width is None and height is None:
                width, height = opt_int(attribute.w, "w"), opt_int(attribute.h, "h")
        elif isinstance(attribute, types.DocumentAttributeAudio):
            audio = attribute
            if duration is None:
                duration = opt_float(attribute.duration, "duration")
            title = nonempty(attribute.title, "title")
            performer = nonempty(attribute.performer, "performer")
        elif isinstance(attribute, types.DocumentAttributeAnimated):
            animated = True
        elif isinstance(attribute, types.DocumentAttributeSticker | types.DocumentAttributeCustomEmoji):
            sticker = True
            sticker_emoji = nonempty(attribute.alt, "alt")
        elif isinstance(attribute, types.DocumentAttributeHasStickers):
            pass
        else:
            reader.note("media", f"unexpected {type_name(attribute)} ignored")

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
        telegram_id=opt_int(document.id, "document.id"),
        mime_type=nonempty(document.mime_type, "mime_type"),
        file_name=file_name,
        size=opt_int(document.size, "size"),
        width=width,
        height=height,
        duration=duration,
        performer=performer,
        title=title,
        sticker_emoji=sticker_emoji,
        spoiler=spoiler,
    )


def _web_page(page: Any) -> WebPagePreview | None:
    if isinstance(page, types.WebPage):
        return WebPagePreview(
            url=opt_str(page.url, "url") or "",
            site_name=nonempty(page.site_name, "site_name"),
            title=nonempty(page.title, "title"),
            description=nonempty(page.description, "description"),
        )
    if isinstance(page, types.WebPagePending | types.WebPageEmpty):
        # Telegram has not built (or will not build) the preview; keep the link when it is known.
        url = nonempty(getattr(page, "url", None), "url")
        return WebPagePreview(url=url) if url else None
    if isinstance(page, types.WebPageNotModified):
        return None
    raise Unexpected(f"unexpected {type_name(page)}")


def media_fields(media: Any, reader: Reader) -> dict[str, Any]:
    """Post fields (``media``, ``poll``, ``web_page``, ``location``, ``contact``) for a message's media."""
    if media is None:
        return {}
    if isinstance(media, types.MessageMediaPhoto):
        return {"media": photo_item(media.photo, spoiler=bool(media.spoiler))}
    if isinstance(media, types.MessageMediaDocument):
        return {"media": _document_item(media, reader)}
    if isinstance(media, types.MessageMediaPoll):
        return {"poll": poll_of(media)}
    if isinstance(media, types.MessageMediaWebPage):
        return {"web_page": _web_page(media.webpage)}
    if isinstance(media, types.MessageMediaVenue):
        return {
            "location": location_of(
                media.geo, title=nonempty(media.title, "title"), address=nonempty(media.address, "address")
            )
        }
    if isinstance(media, types.MessageMediaGeoLive):
        return {"location": location_of(media.geo, live_period=opt_int(media.period, "period"))}
    if isinstance(media, types.MessageMediaGeo):
        return {"location": location_of(media.geo)}
    if isinstance(media, types.MessageMediaContact):
        return {"contact": contact_of(media)}
    if isinstance(media, _KNOWN_UNMODELLED_MEDIA):
        return {}
    raise Unexpected(f"unexpected {type_name(media)}")
