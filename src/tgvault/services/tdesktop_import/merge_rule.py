"""The merge rule of an import: what an export's post does to the post already archived.

**Merge rule** for a post already archived (identity ``(channel_id, message_id)``):

- archived from an earlier Desktop import (``Post.raw["tdesktop"]``): replaced by the export's state when
  that is at least as new (``edit_date`` or else ``date``); a different text, formatting or attachment
  turns the archived state into a revision. An older state than the archived one is not stored.
- archived from the web preview: the export is richer, so its state is written and merged field by
  field with the web's record (:mod:`tgvault.merge`: the web's views and author fill what the export
  lacks; a differing text of the web's is kept as a revision).
- archived through Telethon: Telethon's data is richer (ids, views, reactions, file
  references), so the post is kept as it is, unless the export's *text* differs and the export's state is
  newer: then the post takes the export's text and entities (everything else stays), and the Telethon state
  becomes a revision.
- a deleted post keeps its tombstone and content; an import never revives it.
- in every case, a file the archive still lacks is taken from the export when it matches (same kind and
  size), and recorded as downloaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from tgvault.domain import MediaItem, Post, SourceKind
from tgvault.formats.desktop import RAW_HTML_KEY, RAW_MESSAGE_KEY

__all__ = ["align_size", "decide", "is_imported"]


def align_size(media: MediaItem, old: Post | None) -> MediaItem:
    """Keep a known size unknown (or an unknown one known) so that only a real change makes a revision.

    Older exports give no size for files they did not include; the size of a stored file is then set by
    ``mark_downloaded`` after the upsert, without counting as an edit.
    """
    have = None if old is None else old.media
    if have is None or have.kind is not media.kind:
        return media
    if media.size is None and have.size is not None:
        return media.model_copy(update={"size": have.size})
    if media.size is not None and have.size is None:
        return media.model_copy(update={"size": None})
    return media


def is_imported(post: Post) -> bool:
    """True for a post archived from an earlier Desktop import (JSON or HTML)."""
    return isinstance(post.raw, Mapping) and (RAW_MESSAGE_KEY in post.raw or RAW_HTML_KEY in post.raw)


def decide(new: Post, old: Post | None) -> Literal["insert", "update", "merge", "keep", "older"]:
    """What the merge rule (see the module docstring) does with the export's ``new`` over ``old``."""
    if old is None:
        return "insert"
    if old.deleted_at is not None:
        return "keep"
    if old.source is SourceKind.WEB:
        return "update"  # the export is richer: merged field by field over the web's record
    new_time = new.edit_date or new.date
    old_time = old.edit_date or old.date
    if is_imported(old):
        if new_time >= old_time:
            return "update"
        return "keep" if (new.text, new.entities) == (old.text, old.entities) else "older"
    if new.text == old.text:
        return "keep"
    return "merge" if new_time > old_time else "older"
