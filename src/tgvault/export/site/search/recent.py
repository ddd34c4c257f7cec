"""The recent part of the search index: what rebuilds changed since the buckets were last written.

Rewriting the buckets of every key a few new posts carry touches thousands of files. So an incremental
build files the keys of new, edited and deleted posts in a few **recent shards** instead
(``search/r/<shard>.js`` calling ``tgvaultSearch.recent(shard, {key: flat})``; a key's shard is its
bucket modulo the number of shards, so a term reads one shard, as it reads one bucket). The manifest
names the posts the recent part **owns** (``recent.owned``, a flat posting list): a reader ignores the
bucket postings of those posts (by channel slot and message id) and takes their keys from the shards
alone, so an edited or deleted post never shows what it said before.

The keys the buckets hold for owned posts, to be removed when the recent part is folded into them, are
kept in ``search/r/gone.js`` (read by the build only). A build folds the recent part into the buckets
(:meth:`RecentPart.fold`) once it owns more than :data:`FOLD_AT` posts; a build from scratch has none.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from pathlib import Path
from typing import Any, cast

from tgvault.export.site.search.postings import (
    Posting,
    decode,
    encode,
    encode_codes,
    order,
    posting_code,
)
from tgvault.export.site.search.scripts import read_script
from tgvault.export.site.search.shard_text import (
    add_codes,
    list_codes,
    list_numbers,
    list_text,
    lists_script,
    parse_lists,
    shard_script,
)
from tgvault.export.site.search.tokens import BUCKET_PREFIX, bucket_of, index_keys
from tgvault.export.site.writer import SiteWriter

SHARDS = 64  # recent shards at most (fewer when the index has fewer buckets)
FOLD_AT = 2000  # owned posts beyond which a build folds the recent part into the buckets
# owned posts a shard holds at most, about (what 64 shards hold when the part is folded): a small recent
# part is cut into fewer shards, so a rebuild writes fewer files and a term reads no more than then
POSTS_PER_SHARD = -(-FOLD_AT // SHARDS)
GONE_PATH = "search/r/gone.js"

KeyCodes = dict[str, set[int]]  # key → posting codes


def shard_path(shard: int) -> str:
    """Where a recent shard is."""
    return f"search/r/{shard}.js"


def shard_count(buckets: int, owned: int) -> int:
    """Recent shards for ``owned`` posts in an index of ``buckets`` buckets: a power of two (so a
    divisor of the buckets' number, and a term reads one shard) holding at most about
    :data:`POSTS_PER_SHARD` posts each, :data:`SHARDS` at most."""
    wanted = -(-owned // POSTS_PER_SHARD)
    shards = 1
    while shards < wanted and shards < SHARDS:
        shards *= 2
    return min(shards, buckets)


def drop_all(writer: SiteWriter) -> None:
    """Remove every recent file an earlier build may have left (before an index is built from scratch),
    those of a build that stopped half way (never recorded in the manifest) too."""
    folder = writer.out_dir / "search" / "r"
    if not folder.is_dir():
        return
    for path in folder.glob("*.js"):
        writer.drop(f"search/r/{path.name}")
        path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        folder.rmdir()


class RecentPart:
    """The recent part of an index being patched: read lazily, shard by shard, written where changed."""

    def __init__(self, writer: SiteWriter, buckets: int, manifest: dict[str, Any] | None) -> None:
        """The recent part an earlier build described in its manifest's ``recent`` (None: empty)."""
        self.writer = writer
        self.buckets = buckets
        self.shards = int(manifest["shards"]) if manifest else 1
        self.owned: set[Posting] = set(decode(manifest["owned"])) if manifest else set()
        self._files: set[int] = {int(shard) for shard in manifest["files"]} if manifest else set()
        # shard → key → postings: the list's text as read (or as merged with added postings), a set of
        # posting codes once a posting was taken from it
        self._loaded: dict[int, dict[str, str | set[int]]] = {}
        self._changed: set[int] = set()
        self._added: dict[str, list[int]] = {}  # key → codes of postings added, put in their shards at once
        self._sets: dict[int, set[str]] = defaultdict(set)  # shard → its keys whose postings are a set
        self._gone: dict[str, str | set[Posting]] | None = None  # key → list text, or a set once touched
        self._gone_changed = False
        self._shard_of: dict[str, int] = {}

    # ---- changes ----------------------------------------------------------------------------------

    def change(self, posting: Posting, before: str | None, after: str | None) -> None:
        """A post whose text went from ``before`` to ``after`` (None: not in the index)."""
        old_keys = index_keys(before) if before is not None else set()
        new_keys = index_keys(after) if after is not None else set()
        if posting in self.owned:  # its keys are the shards' alone: change those that differ
            self._file(old_keys - new_keys, posting, add=False)
            self._file(new_keys - old_keys, posting, add=True)
            return
        self.owned.add(posting)  # from now on readers ignore its bucket postings
        if old_keys:
            gone = self._gone_lists()
            for key in old_keys:
                postings = gone.get(key)
                if not isinstance(postings, set):
                    postings = gone[key] = set(decode(list_numbers(postings))) if postings else set()
                postings.add(posting)
            self._gone_changed = True
        self._file(new_keys, posting, add=True)

    def _file(self, keys: set[str], posting: Posting, *, add: bool) -> None:
        """Add ``posting`` to (or take it from) the lists of ``keys`` in their shards. Additions are
        gathered by key (:meth:`_put_added` files them, a shard at a time); a removal changes the key's
        list at once, those gathered for the key first."""
        code = posting_code(posting)
        added = self._added
        if add:
            gathered = added.get
            for key in keys:
                codes = gathered(key)
                if codes is None:
                    added[key] = [code]
                else:
                    codes.append(code)
            return
        for key in keys:
            shard = self._shard(key)
            table = self._keys(shard)
            postings = table.get(key)
            if not isinstance(postings, set):
                postings = table[key] = set(list_codes(postings)) if postings else set()
                self._sets[shard].add(key)
            postings.update(added.pop(key, ()))
            postings.discard(code)
            self._changed.add(shard)

    def _shard(self, key: str) -> int:
        prefix = key[:BUCKET_PREFIX]
        shard = self._shard_of.get(prefix)
        if shard is None:
            shard = self._shard_of[prefix] = bucket_of(prefix, self.buckets) % self.shards
        return shard

    def _put_added(self) -> None:
        """File the postings gathered by :meth:`_file` in their shards' lists (in front of a list's
        text when newer than all its postings: new posts)."""
        by_shard: dict[int, list[str]] = defaultdict(list)
        for key in self._added:
            by_shard[self._shard(key)].append(key)
        for shard, keys in by_shard.items():
            table = self._keys(shard)
            for key in keys:
                codes = sorted(set(self._added[key]))
                postings = table.get(key)
                if isinstance(postings, set):
                    postings.update(codes)
                elif postings:
                    table[key] = add_codes(postings, codes)
                else:
                    table[key] = list_text(encode_codes(codes))
            self._changed.add(shard)
        self._added.clear()

    def _keys(self, shard: int) -> dict[str, str | set[int]]:
        keys = self._loaded.get(shard)
        if keys is None:
            keys = {}
            if shard in self._files:
                path = self.writer.out_dir / shard_path(shard)
                keys = dict(_read_lists(path, f"tgvaultSearch.recent({shard},", "recent", 1))
            self._loaded[shard] = keys
        return keys

    def _gone_lists(self) -> dict[str, str | set[Posting]]:
        if self._gone is None:
            path = self.writer.out_dir / GONE_PATH
            self._gone = dict(_read_lists(path, "tgvaultSearch.gone(", "gone", 0))
        return self._gone

    def full(self) -> bool:
        """True when the recent part owns more than :data:`FOLD_AT` posts: the build folds it."""
        return len(self.owned) > FOLD_AT

    # ---- writing ------------------------------------------------------------------------------------

    def save(self) -> None:
        """Write the shards that changed (a shard left empty is removed) and the keys to remove at a fold."""
        self._put_added()
        shards = shard_count(self.buckets, len(self.owned))
        if shards != self.shards:
            self._reshard(shards)
        for shard in sorted(self._changed):
            table = self._loaded[shard]
            for key in self._sets.pop(shard, ()):  # the other keys' postings are a list's text already
                postings = table[key]
                if isinstance(postings, set):
                    if postings:
                        table[key] = list_text(encode_codes(sorted(postings)))
                    else:
                        del table[key]
            lists = cast(dict[str, str], table)
            if lists:
                self.writer.write(shard_path(shard), shard_script(shard, lists))
                self._files.add(shard)
            else:
                self.writer.drop(shard_path(shard))
                self._files.discard(shard)
        self._changed.clear()
        if self._gone_changed and self._gone is not None:
            gone = {
                key: list_text(encode(sorted(postings, key=order))) if isinstance(postings, set) else postings
                for key, postings in self._gone.items()
            }
            self.writer.write(GONE_PATH, lists_script("tgvaultSearch.gone(", gone))
            self._gone_changed = False

    def _reshard(self, shards: int) -> None:
        """Cut the part into ``shards`` shards: every key moves to its new shard, every shard is written
        and the files of shards there are no more are removed."""
        tables: dict[str, str | set[int]] = {}
        for shard in sorted(self._files | set(self._loaded)):
            tables.update(self._keys(shard))
        as_sets = set().union(*self._sets.values())
        for shard in self._files - set(range(shards)):
            self.writer.drop(shard_path(shard))
        self._files &= set(range(shards))
        self.shards = shards
        self._shard_of.clear()
        self._loaded = {shard: {} for shard in range(shards)}
        self._sets = defaultdict(set)
        for key, postings in tables.items():
            shard = self._shard(key)
            self._loaded[shard][key] = postings
            if key in as_sets:
                self._sets[shard].add(key)
        self._changed = set(range(shards))

    def manifest(self) -> dict[str, Any] | None:
        """What the search manifest says of the recent part (None when it is empty)."""
        if not self.owned:
            return None
        return {
            "shards": self.shards,
            "owned": encode(sorted(self.owned, key=order)),
            "files": sorted(self._files),
        }

    def fold(self) -> tuple[KeyCodes, KeyCodes]:
        """Empty the recent part, removing its files: the postings to add to the buckets and those to
        remove from them, by key, as posting codes (:func:`~tgvault.export.site.search.postings.posting_code`)."""
        self._put_added()
        added: KeyCodes = defaultdict(set)
        for shard in sorted(self._files | self._changed):
            for key, postings in self._keys(shard).items():
                added[key].update(postings if isinstance(postings, set) else list_codes(postings))
        removed: KeyCodes = {}
        for key, gone in self._gone_lists().items():
            removed[key] = set(map(posting_code, gone)) if isinstance(gone, set) else set(list_codes(gone))
        for shard in range(self.shards):
            self.writer.drop(shard_path(shard))
        self.writer.drop(GONE_PATH)
        self.owned.clear()
        self._files.clear()
        self._loaded.clear()
        self._changed.clear()
        self._added.clear()
        self._sets.clear()
        self._gone = {}
        self._gone_changed = False
        return added, removed


def _read_lists(path: Path, head: str, function: str, arguments: int) -> dict[str, str]:
    """The keys and lists' texts of a recent shard (``arguments`` 1: the shard's number before them)
    or of the gone keys (0): cut as text, or read as JSON when not in that form (empty when the file
    is missing or not ours)."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    lists = parse_lists(text, head)
    if lists is not None:
        return lists
    found = read_script(path, function)
    if not found or len(found) != arguments + 1 or not isinstance(found[arguments], dict):
        return {}
    return {key: list_text(flat) for key, flat in found[arguments].items()}
