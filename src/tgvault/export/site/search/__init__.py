"""Search without a server: an inverted index of our own, cut into small files a query loads few of.

``tokens`` (normalising and cutting text into terms and index keys, the same rules as ``static/search.js``),
``postings`` (posting lists and their chunks), ``buckets`` (bucket files), ``spill`` (a full build's
postings in temporary files), ``builder`` (:class:`SearchIndex`, from scratch or patched), ``entries``
(what is kept of a post), ``scripts`` (the index files are scripts, so they load from ``file://`` too).
The layout is described in ``docs/search.md``.
"""

from tgvault.export.site.search.builder import SearchIndex
from tgvault.export.site.search.entries import SearchEntry, month_script, search_entry, searchable_text

__all__ = ["SearchEntry", "SearchIndex", "month_script", "search_entry", "searchable_text"]
