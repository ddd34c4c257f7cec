"""Export an archived channel as Telegram Desktop's ``result.json``: ``export_channel_json(...)``.

The writer speaks Desktop's format (its vocabulary lives in :mod:`tgvault.formats.desktop`, shared with
the importer, and is re-exported here): messages are written by
:mod:`~tgvault.export.desktop_json.messages`, their text by :mod:`~tgvault.export.desktop_json.text_parts`
and their files placed by :mod:`~tgvault.export.desktop_json.media_files`. See
:mod:`tgvault.export.desktop_json.channel_json`.
"""

from tgvault.export.desktop_json.channel_json import ExportSummary, export_channel_json
from tgvault.export.desktop_json.text_parts import desktop_text
from tgvault.formats.desktop import (
    DESKTOP_ACTIONS,
    DESKTOP_ENTITY_TYPES,
    DESKTOP_MEDIA_TYPES,
    FILE_NOT_INCLUDED,
    is_file_placeholder,
)

__all__ = [
    "DESKTOP_ACTIONS",
    "DESKTOP_ENTITY_TYPES",
    "DESKTOP_MEDIA_TYPES",
    "FILE_NOT_INCLUDED",
    "ExportSummary",
    "desktop_text",
    "export_channel_json",
    "is_file_placeholder",
]
