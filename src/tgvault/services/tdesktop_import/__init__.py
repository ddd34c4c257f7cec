"""The import of Telegram Desktop exports: ``import_tdesktop(path, uow_factory, media_store, ...)``.

The export is read by :mod:`tgvault.sources.tdesktop` (which only reads); this use case merges its posts
into the archive by the merge rule, copies the files beside the export into the media store, and writes
everything in one transaction. See :mod:`tgvault.services.tdesktop_import.importer`.
"""

from tgvault.services.tdesktop_import.importer import import_tdesktop
from tgvault.services.tdesktop_import.summaries import ChannelImportSummary, ImportSummary

__all__ = ["ChannelImportSummary", "ImportSummary", "import_tdesktop"]
