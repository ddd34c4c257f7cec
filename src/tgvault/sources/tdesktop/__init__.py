"""Read Telegram Desktop exports ("Export chat history", JSON or HTML) into records for the archive.

The reader hands over what an export holds, as a stream read in flat memory: its channels, their
messages mapped to posts with the paths of the files they name (:class:`ExportMessage`), and those files
as found beside the export (:func:`find_file`, giving an :class:`ExportFile`, only ever inside the
export's folder). It reads only; writing the archive is
the import use case's job (:mod:`tgvault.services.tdesktop_import`). JSON exports are read by the
``json_*`` modules, HTML exports (``messages.html``, ``messages2.html``, ...) by the ``html_*`` modules.
"""

from tgvault.sources.tdesktop.files import find_file
from tgvault.sources.tdesktop.html_export import html_pages, needs_timezone, read_html_export, read_title
from tgvault.sources.tdesktop.json_export import JsonExportStream, read_json_export
from tgvault.sources.tdesktop.locating import locate_export
from tgvault.sources.tdesktop.records import ExportFile, ExportMessage, ExportSender

__all__ = [
    "ExportFile",
    "ExportMessage",
    "ExportSender",
    "JsonExportStream",
    "find_file",
    "html_pages",
    "locate_export",
    "needs_timezone",
    "read_html_export",
    "read_json_export",
    "read_title",
]
