"""A channel's Atom and RSS feeds show each entry's content, rendered once for both."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from test_site_archive import NEWS, UoW, make_archive
from test_site_incremental import Sites
from tgvault.storage.media_store import LocalMediaStore

ATOM = "{http://www.w3.org/2005/Atom}"


def test_both_feeds_carry_each_posts_content(unit_of_work: UoW, tmp_path: Path) -> None:
    """Every entry of the Atom feed has the content of the RSS item of the same post, and posts with text
    show it (escaped as XML text, its HTML inside)."""
    store = LocalMediaStore(tmp_path / "media")
    make_archive(unit_of_work, store)
    Sites(unit_of_work, store, tmp_path).build("site")
    folder = tmp_path / "site" / "c" / str(NEWS.id)
    atom = ET.parse(folder / "feed.atom").getroot()
    rss = ET.parse(folder / "feed.rss").getroot()
    atom_content = {
        entry.findtext(f"{ATOM}id", "").rsplit(":", 1)[1]: entry.findtext(f"{ATOM}content", "")
        for entry in atom.iter(f"{ATOM}entry")
    }
    rss_content = {
        item.findtext("guid", "").rsplit(":", 1)[1]: item.findtext("description", "")
        for item in rss.iter("item")
    }
    assert atom_content and atom_content == rss_content
    assert (
        sum(1 for content in atom_content.values() if "white-space:pre-wrap" in content)
        >= len(atom_content) // 2
    )
