"""Data formats tgvault both reads and writes, kept neutral so that sources and exports share them.

:mod:`tgvault.formats.desktop` is Telegram Desktop's export vocabulary (entity, media, action and chat
type names, the placeholder of a file not exported, the ``Post.raw`` keys of imported messages). These
modules import only the kernel (:mod:`tgvault.domain`, :mod:`tgvault.errors`, :mod:`tgvault.text`).
"""

from tgvault.formats.desktop import (
    CHANNEL_TYPES,
    DESKTOP_ACTIONS,
    DESKTOP_ENTITY_TYPES,
    DESKTOP_MEDIA_TYPES,
    FILE_NOT_INCLUDED,
    RAW_FILES_KEY,
    RAW_HTML_KEY,
    RAW_MESSAGE_KEY,
    is_file_placeholder,
)

__all__ = [
    "CHANNEL_TYPES",
    "DESKTOP_ACTIONS",
    "DESKTOP_ENTITY_TYPES",
    "DESKTOP_MEDIA_TYPES",
    "FILE_NOT_INCLUDED",
    "RAW_FILES_KEY",
    "RAW_HTML_KEY",
    "RAW_MESSAGE_KEY",
    "is_file_placeholder",
]
