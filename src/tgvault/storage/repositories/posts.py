"""The post repository: the writes, reads and outline queries of posts behind one entry (``uow.posts``)."""

from __future__ import annotations

from tgvault.storage.repositories.outlines import OutlineReader
from tgvault.storage.repositories.post_inserts import NewPostWriter
from tgvault.storage.repositories.post_reads import PostReader
from tgvault.storage.repositories.post_writes import PostWriter


class PostRepository(PostWriter, NewPostWriter, PostReader, OutlineReader):
    """Posts with their media, revisions and tombstones.

    Each part works on its own with the same session: :class:`PostWriter` stores posts
    (:class:`NewPostWriter` those known to be new, in bulk), :class:`PostReader` reads them back,
    :class:`OutlineReader` serves the site build's outlines.
    """
