"""Read Telegram Desktop's HTML chat exports (``messages.html``, ``messages2.html``, ...) into posts.

The ``html_*`` modules of this package are the only ones that know the HTML export's markup. They parse
with a real HTML parser (selectolax/Lexbor); the few regular expressions in them read *values* (a date, a
duration, a size), never markup.

What an HTML export gives, and how it maps (the structure Desktop has written since 2018):

- ``div.message`` with ``id="message<id>"`` is one message; negative ids are the day separators.
  ``.service`` messages carry their action as a sentence (``Channel «X» created``, ``X pinned this
  message``); known sentences map to the same action types as the JSON export's, others are kept as text.
- ``.joined`` messages continue the previous sender (they have no ``.from_name``).
- The date is the ``title`` of ``div.date``: ``DD.MM.YYYY HH:MM:SS`` and, in newer exports, a
  `` UTC+03:00`` suffix. Without the suffix it is local time, read in the zone given by the caller.
- Text is rebuilt with its formatting as :class:`~tgvault.domain.TextEntity` spans in UTF-16 units.
  HTML loses a little against JSON: a mention of a user without a username has no user id, a custom
  emoji has no document id, and a bank card number is plain text.
- ``div.forwarded.body`` holds a forward (its ``from_name`` is the origin); ``div.reply_to`` links to the
  message replied to (``#go_to_message<id>``, possibly on another page); ``div.signature`` is the
  author's signature.
- Media: photos, videos, animations and stickers are links to the file in the export folder; other
  files, and every file the export did not include, are a generic block with a title, a description
  ("Not included, change data exporting settings to download.") and a status (duration, size as
  shown). A size is only shown, rounded, for files not included; it is kept in ``raw`` and not taken
  as the file's size.
- ``Post.raw`` is ``{"tdesktop_html": {...}}``: the page, the sender, and values read as shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import tzinfo
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

from tgvault.errors import ImportFormatError, SourceError
from tgvault.sources.tdesktop.html_messages import PageReader
from tgvault.sources.tdesktop.html_values import DATE_TITLE, node_text
from tgvault.sources.tdesktop.records import ExportMessage

__all__ = ["html_pages", "needs_timezone", "read_html_export", "read_title"]

_PAGE = re.compile(r"^messages(\d*)\.html$")


def html_pages(folder: Path) -> list[Path]:
    """The export's pages in order: ``messages.html``, ``messages2.html``, ``messages3.html``, ..."""
    found: list[tuple[int, Path]] = []
    for path in folder.iterdir():
        match = _PAGE.match(path.name)
        if match and path.is_file():
            found.append((int(match.group(1) or 1), path))
    return [path for _, path in sorted(found)]


def read_html_export(
    folder: Path, channel_id: int, zone: tzinfo | None, *, on_page: Callable[[Path], None] | None = None
) -> Iterator[ExportMessage]:
    """The messages of every page of an HTML export in ``folder``, page by page; posts get ``channel_id``.

    ``on_page`` is told each page read. One page at a time is parsed, so an export of any number of pages is read in flat memory. Raises
    :class:`ImportFormatError` naming the page and message for a malformed or truncated page,
    :class:`TimezoneRequiredError` when a date has no UTC offset and ``zone`` is None.
    """
    pages = html_pages(folder)
    if not pages:
        raise ImportFormatError("no messages.html in this folder", location=str(folder))
    reader = PageReader(root=folder, channel_id=channel_id, zone=zone)
    for page in pages:
        yield from reader.page(page)
        if on_page is not None:
            on_page(page)


def read_title(page: Path) -> str:
    """The chat's name, from the header of an export page."""
    try:
        tree = LexborHTMLParser(page.read_bytes().decode("utf-8", errors="replace"))
    except OSError as exc:
        raise SourceError(f"{page}: cannot be read: {exc.strerror}") from exc
    header = tree.css_first(".page_header .text")
    title = node_text(header)
    if not title:
        raise ImportFormatError("no chat name in the page header (.page_header .text)", location=str(page))
    return title


def needs_timezone(folder: Path) -> bool:
    """True when some date of the export has no UTC offset (an older export)."""
    for page in html_pages(folder):
        tree = LexborHTMLParser(page.read_bytes().decode("utf-8", errors="replace"))
        for node in tree.css(".history .date[title]"):
            value = (node.attributes.get("title") or "").partition("\n")[0].strip()
            if DATE_TITLE.match(value) and " UTC" not in value:
                return True
    return False
