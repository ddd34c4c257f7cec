"""A month's text blocks: the link, date and text of its posts, loaded for the search results shown.

``search/t/<channel>/<month>/<block>.js`` calls ``tgvaultSearch.text(name, rows)`` with an
``[id, link, date, text]`` row for each post of the month whose message id, shifted right by
:data:`BLOCK_SHIFT`, is the block's number. A build writes them from the month's entries; a patched build
reads back the rows an earlier build kept, to compare them with the posts handed over.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tgvault.export.site.formatting import month_key
from tgvault.export.site.search.entries import SearchEntry
from tgvault.export.site.search.scripts import read_script

BLOCK_SHIFT = 4  # a text block holds the posts whose message ids agree but for the low 4 bits

Row = list[Any]  # [message id, link, date, text]


def month_folder(channel_id: int, month: int) -> str:
    """The folder of a month's text blocks, relative to the site."""
    return f"search/t/{channel_id}/{month_key(month)}"


def block_path(channel_id: int, month: int, block: int) -> str:
    """The text block holding a post's link, date and text (loaded for the results shown)."""
    return f"{month_folder(channel_id, month)}/{block}.js"


def month_block_paths(channel_id: int, month: int, message_ids: Iterable[int]) -> set[str]:
    """The text blocks a month's posts among ``message_ids`` go to."""
    return {block_path(channel_id, month, block) for block in {i >> BLOCK_SHIFT for i in message_ids}}


def blocks_of(entries: Sequence[SearchEntry]) -> dict[int, list[Row]]:
    """A month's posts by text block: (id, link, date, text) rows."""
    blocks: dict[int, list[Row]] = defaultdict(list)
    for entry in entries:
        blocks[entry.message_id >> BLOCK_SHIFT].append([entry.message_id, entry.url, entry.date, entry.text])
    return blocks


def kept_rows(
    out_dir: Path, channel_id: int, month: int, blocks: Iterable[int] | None = None
) -> dict[int, Row]:
    """A month's posts as an earlier build kept them (id, link, date, text), by message id: those of
    every text block, or of ``blocks`` alone (rows not in that form are left out)."""
    folder = out_dir / month_folder(channel_id, month)
    rows: dict[int, Row] = {}
    if not folder.is_dir():
        return rows
    paths = folder.glob("*.js") if blocks is None else (folder / f"{block}.js" for block in blocks)
    for path in paths:
        arguments = read_script(path, "text")
        if not arguments or len(arguments) != 2 or not isinstance(arguments[1], list):
            continue
        for row in arguments[1]:
            if isinstance(row, list) and len(row) == 4 and isinstance(row[0], int):
                rows[row[0]] = row
    return rows


def changed_blocks(
    out_dir: Path,
    channel_id: int,
    month: int,
    month_ids: Sequence[int],
    changed: Sequence[SearchEntry],
    counted: int | None,
) -> tuple[Sequence[int], dict[int, Row], int]:
    """What a patch of a month looks at: the ids of its posts in the text blocks of the posts handed over
    (``changed``), those blocks as the earlier build kept them, and how many of the month's posts the
    other blocks hold (left as they are). The whole month (and 0) when the other blocks may not be as
    they were: a block missing or no longer the month's, or a post gone from them (``counted``, the
    search manifest's count of the month's posts, says so)."""
    touched = {entry.message_id >> BLOCK_SHIFT for entry in changed}
    inside = [message_id for message_id in month_ids if message_id >> BLOCK_SHIFT in touched]
    others = {message_id >> BLOCK_SHIFT for message_id in month_ids} - touched
    folder = out_dir / month_folder(channel_id, month)
    names = [path.name for path in folder.iterdir()] if folder.is_dir() else []
    kept = {int(name[:-3]) for name in names if name.endswith(".js") and name[:-3].isdigit()}
    old_rows = kept_rows(out_dir, channel_id, month, touched)
    left = len(month_ids) - len(inside)
    if others <= kept <= others | touched and counted == len(old_rows) + left:
        return inside, old_rows, left
    return month_ids, kept_rows(out_dir, channel_id, month), 0
