"""Building the search index during a site build: from scratch, or patched where posts changed.

The page builders hand every month they (re)write to :meth:`SearchIndex.month`; :meth:`SearchIndex.finish`
then writes the index. A build from scratch (a full build, a new plan, or no usable earlier index)
spills every post's keys to temporary files (:mod:`~tgvault.export.site.search.spill`) and writes every
bucket; months it was not handed are read from the archive. An incremental build compares each month
handed over with the texts the earlier build kept (``search/t/...``) and rewrites only the buckets of the
keys that gained or lost a post, plus the manifest. A mark beside the site folder
(``<folder>.tgvault-search-unfinished``) stays while the index is being written: a build that stopped
half way is followed by one that writes the index from scratch.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter, defaultdict, deque
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from tgvault.export.site.comment_threads import comment_search_texts
from tgvault.export.site.context import BuildContext
from tgvault.export.site.formatting import month_key
from tgvault.export.site.manifest import manifest_path
from tgvault.export.site.options import SiteError
from tgvault.export.site.page_links import PageLinks
from tgvault.export.site.plan import ChannelPlan
from tgvault.export.site.richtext import clean_text
from tgvault.export.site.search.buckets import BucketFile, bucket_path
from tgvault.export.site.search.entries import SearchEntry, search_entry
from tgvault.export.site.search.postings import CodeLayout, packed_layout
from tgvault.export.site.search.recent import RecentPart, drop_all
from tgvault.export.site.search.scripts import js_call, read_script
from tgvault.export.site.search.spill import PostingSpill, SpillPart, merged
from tgvault.export.site.search.text_blocks import (
    BLOCK_SHIFT,
    block_path,
    blocks_of,
    changed_blocks,
    kept_rows,
)
from tgvault.export.site.search.tokens import bucket_of, index_keys
from tgvault.export.site.writer import BatchResult, BatchWriter, SiteWriter

_partitions: tuple[SearchIndex, PostingSpill] | None = None  # set before the partitions' workers fork


def _write_partition(partition: int) -> tuple[list[int], BatchResult]:
    """The buckets of one partition of the spill, written in a worker: the buckets and what was written."""
    if _partitions is None:  # pragma: no cover - only ever run inside SearchIndex._write_all
        raise RuntimeError("_write_partition runs only inside SearchIndex._write_all")
    index, spill = _partitions
    writer = index.writer
    out = BatchWriter(writer.out_dir, {}, full=writer.full, rerender=writer.rerender)
    buckets = _write_buckets(spill.partition(partition), out, spill.layout)
    return buckets, out.finish()


def _write_buckets(
    partition: dict[int, dict[str, list[bytes]]], writer: SiteWriter | BatchWriter, layout: CodeLayout
) -> list[int]:
    """The buckets of a partition of the spill; each key's runs are merged, written and let go in
    turn, so only one key's list is ever whole in memory (8 bytes a posting)."""
    buckets = list(partition)
    for bucket in buckets:
        keys = partition.pop(bucket)
        file = BucketFile(writer, bucket)
        for key in sorted(keys):
            file.set_codes(key, merged(keys.pop(key)), layout=layout)
        file.save()
    return buckets


VERSION = 4  # of the index layout; another version makes the next build start from scratch
MANIFEST_PATH = "search/index.js"
PAGE_SIZE = 20  # results a page of search results shows
POSTS_PER_BUCKET = 12  # a build from scratch picks about one bucket per this many posts
PENDING_PER_WORKER = 4  # partitions of the spill handed out ahead per worker


def bucket_count(posts: int) -> int:
    """Buckets for an archive of ``posts`` posts: a power of two from 16 to 65,536."""
    count = 16
    while count < 65_536 and count * POSTS_PER_BUCKET < posts:
        count *= 2
    return count


def patch_buckets(
    writer: SiteWriter, buckets: int, added: Mapping[str, set[int]], removed: Mapping[str, set[int]]
) -> None:
    """Rewrite the buckets (and their keys' chunks) whose keys gained (``added``) or lost (``removed``)
    postings, given as posting codes (:func:`~tgvault.export.site.search.postings.posting_code`)."""
    touched: dict[int, set[str]] = defaultdict(set)
    for key in added.keys() | removed.keys():
        touched[bucket_of(key, buckets)].add(key)
    nothing: set[int] = set()
    for bucket, keys in sorted(touched.items()):
        file = BucketFile.read(writer, bucket)
        for key in sorted(keys):
            gone = removed.get(key, nothing)
            new = added.get(key, nothing)
            if not file.patch_first_chunk(key, new, gone):
                postings = set(file.codes(key))
                postings -= gone
                postings |= new
                file.set_codes(key, sorted(postings))
        file.save()


def _with_unchanged(
    ctx: BuildContext,
    plan: ChannelPlan,
    month_ids: Sequence[int],
    changed: Sequence[SearchEntry],
    old_rows: dict[int, list[Any]],
) -> list[SearchEntry]:
    """Every post of a month in order: the entries given, the others as the last build kept them (read
    from the archive when it kept nothing of one)."""
    given = {entry.message_id: entry for entry in changed}
    missing = [i for i in month_ids if i not in given and i not in old_rows]
    if missing:
        given.update(_archived_entries(ctx, plan, missing))
    merged: list[SearchEntry] = []
    for message_id in month_ids:
        entry = given.get(message_id)
        row = old_rows.get(message_id) if entry is None else None
        if row is not None:
            entry = SearchEntry(message_id, str(row[1]), str(row[2]), str(row[3]))
        if entry is not None:  # (not in the archive any more)
            merged.append(entry)
    return merged


def _archived_entries(
    ctx: BuildContext, plan: ChannelPlan, message_ids: Sequence[int]
) -> dict[int, SearchEntry]:
    """The entries of some posts of a channel, read from the archive."""
    links = PageLinks("search.html", ctx.site)
    with ctx.uow_factory() as uow:
        posts = uow.posts.for_display(plan.channel.id, list(message_ids))
    said = comment_search_texts(ctx, plan.channel, [i for i, post in posts.items() if post.replies])
    return {
        i: search_entry(ctx, links, plan.pages[plan.posts.page_of(i)].path, post, said.get(i, ""))
        for i, post in posts.items()
    }


class SearchIndex:
    """The search index of one build (see the module's docstring)."""

    def __init__(self, ctx: BuildContext) -> None:
        self.ctx = ctx
        self.writer = ctx.writer
        old = read_script(self.writer.out_dir / MANIFEST_PATH, "index")
        self._old: dict[str, Any] | None = old[0] if old and isinstance(old[0], dict) else None
        self._patching: bool | None = None  # decided when the first month arrives
        self._buckets = 0
        self._slots: dict[int, int] = {}
        self._months: dict[int, dict[str, int]] = defaultdict(dict)  # channel → month key → posts
        self._seen: set[tuple[int, int]] = set()
        self._spill: PostingSpill | None = None
        self._unfinished = manifest_path(self.writer.out_dir).with_name(
            f"{self.writer.out_dir.name}.tgvault-search-unfinished"
        )
        self._recent: RecentPart | None = None  # while patching

    # ---- the interface of the page builders -------------------------------------------------------

    def prepare(self) -> None:
        """Decide between a build from scratch and a patch before the page builders start (and fork)."""
        self._start()

    @property
    def spilling(self) -> bool:
        """True in a build from scratch (once :meth:`prepare` ran): months are filed by their workers."""
        return self._spill is not None

    def spill_part(self) -> SpillPart | None:
        """Where a process files the keys of the months it renders (a build from scratch), else None."""
        return None if self._spill is None else self._spill.part()

    def file_keys(
        self,
        part: SpillPart,
        out: BatchWriter,
        plan: ChannelPlan,
        month: int,
        entries: Sequence[SearchEntry],
    ) -> None:
        """File the keys of a month's posts in ``part`` and write its text blocks through ``out`` (in the
        worker that rendered the month, in a build from scratch; the parent is then handed the month
        with ``spilled=True``)."""
        slot = self._slots[plan.channel.id]
        for entry in entries:
            part.add(index_keys(entry.text), (month, slot, entry.message_id))
        part.flush()
        for block, rows in blocks_of(entries).items():
            name = f"{plan.channel.id}/{month_key(month)}/{block}"
            out.write(block_path(plan.channel.id, month, block), js_call("text", name, rows))

    def month(
        self,
        plan: ChannelPlan,
        month: int,
        entries: Sequence[SearchEntry],
        *,
        spilled: bool = False,
        month_ids: Sequence[int] | None = None,
    ) -> None:
        """Index (or index again) every post of a channel's month; writes the month's text blocks.

        ``spilled``: the month's keys are already filed and its text blocks written (:meth:`file_keys`).
        ``month_ids``: every post of the month, in order, when ``entries`` holds only those that may have
        changed since the last build (an index being patched keeps what it has of the others).
        """
        self._start()
        channel_id = plan.channel.id
        self._seen.add((channel_id, month))
        slot = self._slot(channel_id)
        key = month_key(month)
        left = 0  # posts of the month in text blocks this build neither reads nor writes
        if month_ids is not None:
            if not self._patching:  # pragma: no cover - the page builders hand over whole months then
                raise RuntimeError("a month's changed posts alone are handed over only to a patched index")
            counted = self._months[channel_id].get(key)
            month_ids, old_rows, left = changed_blocks(
                self.writer.out_dir, channel_id, month, month_ids, entries, counted
            )
            entries = _with_unchanged(self.ctx, plan, month_ids, entries, old_rows)
        else:
            old_rows = kept_rows(self.writer.out_dir, channel_id, month) if self._patching else {}
        old = {message_id: str(row[3]) for message_id, row in old_rows.items()}
        blocks = {} if spilled else blocks_of(entries)
        kept = Counter(message_id >> BLOCK_SHIFT for message_id in old_rows)  # posts of each old block
        for block, rows in blocks.items():
            if kept[block] == len(rows) and all(old_rows.get(row[0]) == row for row in rows):
                continue  # an incremental build keeps the block as it is
            name = f"{channel_id}/{key}/{block}"
            self.writer.write(block_path(channel_id, month, block), js_call("text", name, rows))
        for block in {message_id >> BLOCK_SHIFT for message_id in old} - set(blocks):
            self.writer.drop(block_path(channel_id, month, block))
        if entries or left:
            self._months[channel_id][key] = len(entries) + left
        else:
            self._months[channel_id].pop(key, None)
        if self._spill is not None:
            if not spilled:
                for entry in entries:
                    self._spill.add(index_keys(entry.text), (month, slot, entry.message_id))
            return
        recent = self._recent
        if recent is None:  # pragma: no cover - patching always has a recent part
            raise RuntimeError("an index is patched through its recent part")
        new = {entry.message_id: entry.text for entry in entries}
        for message_id in old.keys() | new.keys():
            before, after = old.get(message_id), new.get(message_id)
            if before != after:
                recent.change((month, slot, message_id), before, after)

    def finish(self, plans: Sequence[ChannelPlan]) -> None:
        """Write the index: every bucket (from scratch) or the buckets changes reach, and the manifest."""
        self._start()
        try:
            if self._spill is not None:
                self._index_unseen_months(plans)
                self._write_all(self._spill)
            else:
                self._forget_missing_months(plans)
                self._save_recent()
            self._write_manifest(plans)
            self._unfinished.unlink(missing_ok=True)
        finally:
            if self._spill is not None:
                self._spill.close()

    # ---- from scratch or patched ------------------------------------------------------------------

    def _start(self) -> None:
        if self._patching is not None:
            return
        old = self._old
        # A build that stopped half way leaves this mark: its index may be half patched, so start afresh.
        interrupted = self._unfinished.exists()
        try:
            self._unfinished.touch()
        except OSError as exc:
            raise SiteError(f"cannot write beside the site folder: {exc.strerror or exc}") from exc
        self._patching = bool(
            not interrupted
            and self.writer.incremental
            and not self.writer.full
            and old
            and old.get("v") == VERSION
            and isinstance(old.get("buckets"), int)
        )
        if self._patching and old:
            self._buckets = int(old["buckets"])
            self._slots = {int(channel[1]): int(channel[0]) for channel in old.get("channels", [])}
            for channel_id, months in (old.get("months") or {}).items():
                self._months[int(channel_id)] = dict(months)
            recent = old.get("recent")
            self._recent = RecentPart(
                self.writer, self._buckets, recent if isinstance(recent, dict) else None
            )
        else:
            drop_all(self.writer)
            posts = sum(len(plan.posts) for plan in self.ctx.site.channels.values())
            self._buckets = bucket_count(posts)
            self._slots = {channel_id: slot for slot, channel_id in enumerate(sorted(self.ctx.site.channels))}
            months = {month for plan in self.ctx.site.channels.values() for month in plan.months}
            layout = packed_layout(months, len(self._slots))
            if layout is None:
                raise SiteError(
                    "too many channels over too many years for the search index (64-bit postings)"
                )
            self._spill = PostingSpill(self._buckets, max(16, self._buckets // 16), layout)

    def _slot(self, channel_id: int) -> int:
        slot = self._slots.get(channel_id)
        if slot is None:
            slot = max(self._slots.values(), default=-1) + 1
            self._slots[channel_id] = slot
        return slot

    def _index_unseen_months(self, plans: Sequence[ChannelPlan]) -> None:
        """Months no page builder handed over (their pages were current): read from the archive."""
        ctx = self.ctx
        links = PageLinks("search.html", ctx.site)
        for plan in plans:
            channel_id = plan.channel.id
            for month, indexes in sorted(plan.months.items()):
                if (channel_id, month) in self._seen:
                    continue
                entries: list[SearchEntry] = []
                with ctx.uow_factory() as uow:
                    for index in indexes:
                        page = plan.pages[index]
                        posts = uow.posts.for_display(channel_id, list(page.ids))
                        entries.extend(
                            search_entry(ctx, links, page.path, posts[i]) for i in page.ids if i in posts
                        )
                self.month(plan, month, entries)

    def _write_all(self, spill: PostingSpill) -> None:
        """Every bucket from the spill: its partitions on every core when the build may (each a
        :class:`BatchWriter` recorded in partition order, so the manifest is that of one process)."""
        writer = self.writer
        written: set[int] = set()
        workers = min(self.ctx.options.worker_count(), spill.partitions)
        if workers > 1 and "fork" in multiprocessing.get_all_start_methods() and self._nothing_to_keep():
            global _partitions
            spill.flush()
            _partitions = (self, spill)
            try:
                pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
                with pool:
                    # A few partitions handed out ahead, not all: what a partition wrote waits in the
                    # parent until it is recorded (a million posts' index: millions of chunk files).
                    pending: deque[Future[tuple[list[int], BatchResult]]] = deque()
                    for partition in range(spill.partitions):
                        pending.append(pool.submit(_write_partition, partition))
                        if len(pending) >= workers * PENDING_PER_WORKER:
                            self._record_partition(pending.popleft().result(), written)
                    while pending:
                        self._record_partition(pending.popleft().result(), written)
            finally:
                _partitions = None
        else:
            for postings in spill.each_partition():
                written.update(_write_buckets(postings, writer, spill.layout))
        for bucket in range(self._buckets):
            if bucket not in written:
                BucketFile(writer, bucket).save()

    def _record_partition(self, done: tuple[list[int], BatchResult], written: set[int]) -> None:
        buckets, batch = done
        self.writer.record_batch(batch)
        written.update(buckets)

    def _nothing_to_keep(self) -> bool:
        """True when no bucket of this size is in the manifest (a full build, or a first index): the
        buckets are then written without comparing them with an earlier build's."""
        if self.writer.full:
            return True
        return not self.writer.batch_entries([bucket_path(bucket) for bucket in range(self._buckets)])

    def _forget_missing_months(self, plans: Sequence[ChannelPlan]) -> None:
        """Months (and channels) the site no longer has: their posts leave the index."""
        current = {plan.channel.id: {month_key(month): month for month in plan.months} for plan in plans}
        for channel_id, months in list(self._months.items()):
            for key in list(months):
                if key in current.get(channel_id, {}):
                    continue
                year, number = key.split("-")
                month = int(year) * 12 + int(number) - 1
                slot = self._slot(channel_id)
                for message_id, row in kept_rows(self.writer.out_dir, channel_id, month).items():
                    if self._recent is not None:
                        self._recent.change((month, slot, message_id), str(row[3]), None)
                    self.writer.drop(block_path(channel_id, month, message_id >> BLOCK_SHIFT))
                del months[key]
            if channel_id not in current:
                del self._months[channel_id]
                self._slots.pop(channel_id, None)

    def _save_recent(self) -> None:
        """Write the recent part, or fold it into the buckets once it is full."""
        recent = self._recent
        if recent is None:  # pragma: no cover - patching always has a recent part
            raise RuntimeError("an index is patched through its recent part")
        if not recent.full():
            recent.save()
            return
        added, removed = recent.fold()
        patch_buckets(self.writer, self._buckets, added, removed)

    def _write_manifest(self, plans: Sequence[ChannelPlan]) -> None:
        channels = []
        for plan in plans:
            channel_id = plan.channel.id
            channels.append([self._slot(channel_id), channel_id, clean_text(plan.channel.title)])
        manifest = {
            "v": VERSION,
            "buckets": self._buckets,
            "page": PAGE_SIZE,
            "blockShift": BLOCK_SHIFT,
            "channels": channels,
            "months": {
                str(channel_id): dict(sorted(months.items()))
                for channel_id, months in sorted(self._months.items())
            },
        }
        recent = self._recent.manifest() if self._recent is not None else None
        if recent is not None:
            manifest["recent"] = recent
        self.writer.write(MANIFEST_PATH, js_call("index", manifest))
