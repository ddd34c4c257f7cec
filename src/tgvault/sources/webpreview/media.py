"""The file a preview post shows (photo, video, voice note, document, sticker) and where it is served."""

from __future__ import annotations

from selectolax.lexbor import LexborNode

from tgvault.domain import MediaItem, MediaKind
from tgvault.sources.html_text import classes_of
from tgvault.sources.webpreview.nodes import inside, own, plain
from tgvault.sources.webpreview.notes import Notes
from tgvault.sources.webpreview.records import WebMedia
from tgvault.sources.webpreview.values import http_url, parse_duration, parse_size, style_url

PLAYERS = frozenset({"tgme_widget_message_video_player", "tgme_widget_message_roundvideo_player"})
MEDIA_SELECTOR = ", ".join(
    (
        "a.tgme_widget_message_photo_wrap",
        ".tgme_widget_message_video_player",
        ".tgme_widget_message_roundvideo_player",
        ".tgme_widget_message_voice_player",
        "audio.tgme_widget_message_voice",
        "a.tgme_widget_message_document_wrap",
        ".tgme_widget_message_sticker_wrap",
    )
)
_NO_DOCUMENT_FILE = (
    "the web preview shows this file's name and size but offers no download; a Telegram sync can fetch it"
)
_THUMBNAIL_ONLY = (
    "the web preview shows only a thumbnail of this video (too large to play in a browser); "
    "a Telegram sync can fetch it"
)


def media_of(node: LexborNode, base: str, notes: Notes) -> tuple[MediaItem, WebMedia] | None:
    """The file a media element of a post shows (a photo, a video, a voice note, a document, ...)."""
    classes = classes_of(node)
    if "tgme_widget_message_photo_wrap" in classes:
        url = style_url(node, base)
        if url is None:
            notes.add("a photo without an image URL")
        return MediaItem(kind=MediaKind.PHOTO, mime_type="image/jpeg"), WebMedia(url)
    if classes & PLAYERS:
        round_video = "tgme_widget_message_roundvideo_player" in classes
        video = node.css_first("video")
        src = http_url(video.attributes.get("src") if video is not None else None, base)
        duration = parse_duration(
            plain(
                node.css_first(
                    ".tgme_widget_message_roundvideo_duration"
                    if round_video
                    else ".message_video_duration, .tgme_widget_message_video_duration"
                )
            )
        )
        if round_video:
            kind = MediaKind.ROUND_VIDEO
        else:
            kind = MediaKind.VIDEO if duration is not None else MediaKind.ANIMATION  # GIFs show no duration
        item = MediaItem(kind=kind, mime_type="video/mp4", duration=duration)
        thumbnail = style_url(
            node.css_first(".tgme_widget_message_video_thumb, .tgme_widget_message_roundvideo_thumb"), base
        )
        return item, WebMedia(src) if src else WebMedia(None, _THUMBNAIL_ONLY, thumbnail)
    if "tgme_widget_message_voice_player" in classes or node.tag == "audio":
        audio = node if node.tag == "audio" else node.css_first("audio")
        wrap = node.parent if node.tag == "audio" and node.parent is not None else node
        src = http_url(audio.attributes.get("src") if audio is not None else None, base)
        duration = parse_duration(plain(wrap.css_first(".tgme_widget_message_voice_duration")))
        item = MediaItem(kind=MediaKind.VOICE, mime_type="audio/ogg", duration=duration)
        return item, WebMedia(src) if src else WebMedia(
            None, "the web preview offers no file for this voice note"
        )
    if "tgme_widget_message_document_wrap" in classes:
        title = plain(node.css_first(".tgme_widget_message_document_title"))
        extra = plain(node.css_first(".tgme_widget_message_document_extra"))
        size = parse_size(extra)
        icon = node.css_first(".tgme_widget_message_document_icon")
        if icon is not None and "audio" in classes_of(icon):
            item = MediaItem(
                kind=MediaKind.AUDIO, title=title, performer=extra if size is None else None, size=size
            )
        else:
            item = MediaItem(kind=MediaKind.DOCUMENT, file_name=title, size=size)
        thumbnail = style_url(node.css_first(".tgme_widget_message_document_thumb"), base) or style_url(
            icon, base
        )
        return item, WebMedia(None, _NO_DOCUMENT_FILE, thumbnail)
    if "tgme_widget_message_sticker_wrap" in classes:
        tgs = node.css_first('source[type="application/x-tgsticker"]')
        video = node.css_first("video")
        image = node.css_first(".tgme_widget_message_sticker")
        if tgs is not None:
            src = http_url((tgs.attributes.get("srcset") or "").split(" ")[0], base)
            mime = "application/x-tgsticker"
        elif video is not None:
            src, mime = http_url(video.attributes.get("src"), base), "video/webm"
        else:
            webp = image.attributes.get("data-webp") if image is not None else None
            src, mime = http_url(webp, base) or style_url(image, base), "image/webp"
        emoji = node.attributes.get("data-sticker-emoji")
        item = MediaItem(kind=MediaKind.STICKER, mime_type=mime, sticker_emoji=emoji or None)
        return item, WebMedia(src) if src else WebMedia(
            None, "the web preview offers no file for this sticker"
        )
    return None


def shown_media(bubble: LexborNode, base: str, notes: Notes) -> tuple[MediaItem | None, WebMedia | None]:
    """The file a message bubble shows: its first media element (a voice player's <audio> counted once)."""
    nodes = [
        node
        for node in own(bubble, MEDIA_SELECTOR)
        if not inside(node, bubble, frozenset({"tgme_widget_message_voice_player"}))
    ]
    if not nodes:
        return None, None
    found = media_of(nodes[0], base, notes)
    if len(nodes) > 1:
        notes.add(f"{len(nodes)} files shown; only the first was read")
    return found if found is not None else (None, None)
