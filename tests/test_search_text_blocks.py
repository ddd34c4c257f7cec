"""What a patch of a month's search text blocks reads (``text_blocks.changed_blocks``): the blocks of the
posts handed over alone while the others are as the last build left them, the whole month otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from tgvault.export.site.formatting import month_key
from tgvault.export.site.search.entries import SearchEntry
from tgvault.export.site.search.scripts import js_call
from tgvault.export.site.search.text_blocks import block_path, blocks_of, changed_blocks

CHANNEL = 1001
MONTH = 2024 * 12 + 2  # March 2024
KEPT = range(1, 36)  # the posts the last build indexed: blocks 0 (1-15), 1 (16-31) and 2 (32-35)
NEW = range(36, 41)  # new posts, in block 2


def _entry(message_id: int, text: str = "") -> SearchEntry:
    return SearchEntry(
        message_id, f"2024/03.html#post-{message_id}", "1 March 2024", text or f"post {message_id}"
    )


def _write_blocks(out: Path, message_ids: range) -> None:
    """The month's text blocks as a build writes them."""
    for block, rows in blocks_of([_entry(i) for i in message_ids]).items():
        path = out / block_path(CHANNEL, MONTH, block)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(js_call("text", f"{CHANNEL}/{month_key(MONTH)}/{block}", rows))


@pytest.fixture
def out(tmp_path: Path) -> Path:
    _write_blocks(tmp_path, KEPT)
    return tmp_path


def _patch(out: Path, counted: int | None) -> tuple[list[int], list[int], int]:
    month_ids = [*KEPT, *NEW]
    inside, old_rows, left = changed_blocks(out, CHANNEL, MONTH, month_ids, [_entry(i) for i in NEW], counted)
    return list(inside), sorted(old_rows), left


def test_new_posts_read_only_their_own_block_when_the_count_adds_up(out: Path) -> None:
    inside, old_rows, left = _patch(out, counted=len(KEPT))
    assert inside == list(range(32, 41))  # block 2: the 4 kept posts and the 5 new ones
    assert old_rows == [32, 33, 34, 35]  # block 2 as the last build kept it
    assert left == 31  # blocks 0 and 1, counted and left as they are


@pytest.mark.parametrize("counted", [len(KEPT) - 1, len(KEPT) + 1, None])
def test_a_count_that_does_not_add_up_reads_the_whole_month(out: Path, counted: int | None) -> None:
    """The search manifest counting another number of the month's posts than the blocks hold (a post gone
    from an untouched block, say), or none, means the untouched blocks cannot be trusted."""
    inside, old_rows, left = _patch(out, counted)
    assert inside == [*KEPT, *NEW]
    assert old_rows == list(KEPT)
    assert left == 0


def test_a_missing_or_foreign_block_reads_the_whole_month(out: Path) -> None:
    (out / block_path(CHANNEL, MONTH, 1)).unlink()  # an untouched block lost
    inside, old_rows, left = _patch(out, counted=len(KEPT))
    assert (inside, old_rows, left) == ([*KEPT, *NEW], [*range(1, 16), 32, 33, 34, 35], 0)
    _write_blocks(out, range(16, 32))
    _write_blocks(out, range(112, 113))  # block 7: none of the month's posts are in it
    inside, old_rows, left = _patch(out, counted=len(KEPT))
    assert (inside, left) == ([*KEPT, *NEW], 0)
    assert old_rows == [*KEPT, 112]
