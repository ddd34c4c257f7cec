"""Answering a query from a built site's index files, as ``static/search.js`` does, every chunk read.

The browser loads chunks only as far as the results shown need; this reads them all. The tests compare
its answers with a brute-force scan of the posts' text, and the benchmark counts recall with it. The
recent part (:mod:`~tgvault.export.site.search.recent`) is read as the browser reads it: the bucket
postings of the posts it owns are ignored, their keys taken from its shards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tgvault.export.site.options import SiteError
from tgvault.export.site.search.buckets import bucket_path, chunk_path
from tgvault.export.site.search.postings import decode, order
from tgvault.export.site.search.recent import shard_path
from tgvault.export.site.search.scripts import read_script
from tgvault.export.site.search.tokens import BUCKET_PREFIX, bucket_of, lookup_key, query_terms

Found = tuple[int, int]  # (channel id, message id)


class IndexReader:
    """The index of a site folder (``search/`` in it)."""

    def __init__(self, site: Path) -> None:
        self.site = site
        manifest = read_script(site / "search/index.js", "index")
        if not manifest or not isinstance(manifest[0], dict):
            raise SiteError(f"no search index in {site}")
        self.manifest: dict[str, Any] = manifest[0]
        self.channels = {int(slot): int(channel_id) for slot, channel_id, _title in self.manifest["channels"]}
        recent = self.manifest.get("recent") or {}
        self.recent_shards = int(recent.get("shards", 1))
        self.recent_files = {int(shard) for shard in recent.get("files", [])}
        self.owned = {(slot, message_id) for _month, slot, message_id in decode(recent.get("owned", []))}

    def _bucket(self, bucket: int) -> dict[str, Any]:
        arguments = read_script(self.site / bucket_path(bucket), "bucket")
        return arguments[1] if arguments and len(arguments) == 2 else {}

    def _recent(self, shard: int) -> dict[str, Any]:
        if shard not in self.recent_files:
            return {}
        arguments = read_script(self.site / shard_path(shard), "recent")
        return arguments[1] if arguments and len(arguments) == 2 else {}

    def term_postings(self, term: str) -> set[tuple[int, int, int]]:
        """Every posting of every key a term is looked up by."""
        key = lookup_key(term)
        bucket = bucket_of(key, int(self.manifest["buckets"]))

        def matches(name: str) -> bool:
            return (name == key) if len(key) < BUCKET_PREFIX else name.startswith(key)

        found: set[tuple[int, int, int]] = set()
        for name, entry in self._bucket(bucket).items():
            if not matches(name):
                continue
            postings = decode(entry[2])
            for number in range(1, int(entry[1])):
                chunk = read_script(self.site / chunk_path(bucket, entry[3], number), "chunk")
                if chunk:
                    postings.extend(decode(chunk[1]))
            found.update(p for p in postings if (p[1], p[2]) not in self.owned)
        for name, flat in self._recent(bucket % self.recent_shards).items():
            if matches(name):
                found.update(decode(flat))
        return found

    def search(self, query: str) -> list[Found]:
        """The posts holding every term of the query, newest first."""
        terms = query_terms(query)
        if not terms:
            return []
        postings = self.term_postings(terms[0])
        for term in terms[1:]:
            postings &= self.term_postings(term)
        return [(self.channels[slot], message_id) for _month, slot, message_id in sorted(postings, key=order)]
