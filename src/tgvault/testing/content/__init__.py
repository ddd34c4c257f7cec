"""Realistic channel content for the fake Telegram, modelled on real exports: text with entities measured
in UTF-16 (:class:`TextBuilder`), single posts (:func:`add_post`), photo and document media of every kind
(:func:`photo_media`, :func:`document_media`) and whole realistic channels with posts of every shape
(:func:`build_realistic_channel`), deterministic for a given seed."""

from tgvault.testing.content.media import DOCUMENT_KINDS, document_media, photo_media
from tgvault.testing.content.posts import add_post
from tgvault.testing.content.realistic import POST_KINDS, build_realistic_channel
from tgvault.testing.content.text import TextBuilder, utf16_len

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
