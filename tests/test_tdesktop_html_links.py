"""Issue 18.3: the HTML import keeps links written without a scheme as links, on SQLite and PostgreSQL.

Telegram Desktop writes a link it found in a post's text as it was typed: ``<a href="github.com">github.com</a>``.
Read as a custom emoji's file (a relative link), it lost its link on the site, made the importer warn that
the file ``github.com`` is not in the export, and made an HTML import over the JSON export of the same chat
record an edit that never happened.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from test_tdesktop_html_import import CHANNEL_ID, CURRENT, FIXTURES, posts_of
from tgvault.domain import EntityKind
from tgvault.export.site import SiteOptions, build_site
from tgvault.services.progress import SilentProgress
from tgvault.services.tdesktop_import import import_tdesktop
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]
WAS = "https://example.com/a?b=1"
LINKS = {WAS: "github.com", "https://example.org/page": "github.com/tgvault/tgvault"}


class Recording(SilentProgress):
    """Keeps every warning the import reports."""

    def __init__(self) -> None:
        super().__init__()
        self.warned: list[dict[str, object]] = []

    def warn(self, kind: str, **fields: object) -> None:
        self.warned.append({"kind": kind, **fields})
        super().warn(kind, **fields)


def _html_export(tmp_path: Path) -> Path:
    """The fixture export with post 2's links written without a scheme, as Desktop writes typed links."""
    folder = tmp_path / "html"
    shutil.copytree(CURRENT, folder)
    page = folder / "messages.html"
    html = page.read_text(encoding="utf-8")
    old = f'<a href="{WAS}">{WAS}</a> <a href="https://example.org/page">a site</a>'
    assert old in html
    new = '<a href="github.com">github.com</a> <a href="github.com/tgvault/tgvault">a site</a>'
    page.write_text(html.replace(old, new), encoding="utf-8")
    return folder


def _json_export(tmp_path: Path) -> Path:
    """The JSON export of the same chat, with the same links."""
    folder = tmp_path / "json"
    shutil.copytree(CURRENT, folder, ignore=shutil.ignore_patterns("messages*.html"))
    document = json.loads((FIXTURES / "current.result.json").read_text(encoding="utf-8"))
    message = next(m for m in document["messages"] if m["id"] == 2)
    for key in ("text", "text_entities"):
        parts: list[Any] = message[key]
        for part in parts:
            if isinstance(part, dict) and part.get("type") == "link" and part["text"] == WAS:
                part["text"] = LINKS[WAS]
            if isinstance(part, dict) and part.get("type") == "text_link":
                part["href"] = LINKS.get(part["href"], part["href"])
    (folder / "result.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.fixture
def store(tmp_path: Path) -> LocalMediaStore:
    return LocalMediaStore(tmp_path / "store")


def test_a_link_without_a_scheme_is_a_link_not_a_custom_emoji(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """Issue 18.3: a URL entity (and a text link) over the text, no warning about a missing file."""
    progress = Recording()
    import_tdesktop(
        _html_export(tmp_path), unit_of_work, store, channel_name=str(CHANNEL_ID), progress=progress
    )
    post = posts_of(unit_of_work)[2]
    spans = {post.text[e.offset : e.offset + e.length]: e for e in post.entities}
    assert EntityKind.URL is spans["github.com"].kind
    assert (EntityKind.TEXT_LINK, "github.com/tgvault/tgvault") == (spans["a site"].kind, spans["a site"].url)
    assert EntityKind.CUSTOM_EMOJI not in {entity.kind for entity in post.entities}
    assert [] == [warning for warning in progress.warned if "github.com" in json.dumps(warning, default=str)]
    # the custom emoji the export saved is still one, with its file
    emoji = posts_of(unit_of_work)[13]
    assert [EntityKind.CUSTOM_EMOJI] == [e.kind for e in emoji.entities if e.kind is EntityKind.CUSTOM_EMOJI]


def test_the_html_export_over_the_json_one_records_no_edit(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """Issue 18.3: both formats read the scheme-less link alike, so importing one over the other changes nothing."""
    import_tdesktop(_json_export(tmp_path), unit_of_work, store)
    summary = import_tdesktop(_html_export(tmp_path), unit_of_work, store, channel_name=str(CHANNEL_ID))
    assert (0, 0) == (summary.posts_added, summary.posts_edited)
    with unit_of_work() as uow:
        assert [] == uow.posts.revisions(CHANNEL_ID, 2)


def test_the_site_links_a_scheme_less_link(unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path) -> None:
    """Issue 18.3: the site shows the link (to http://github.com), not an emoji without a target."""
    import_tdesktop(_html_export(tmp_path), unit_of_work, store, channel_name=str(CHANNEL_ID))
    out = tmp_path / "site"
    build_site(unit_of_work, store, SiteOptions(out_dir=out))
    pages = [page.read_text(encoding="utf-8") for page in out.rglob("*.html")]
    assert any('href="http://github.com"' in page for page in pages)
