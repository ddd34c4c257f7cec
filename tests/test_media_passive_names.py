"""Media files are stored and published only under passive names (issue 17, finding 1).

A file whose MIME type or name says HTML, SVG, XHTML, XML or JavaScript would run script in the site's
origin when opened directly. Through the real pipeline (FakeTelegram → Telethon → Archiver → media
store → ``tgvault export site`` / ``export json``) such files must come out as ``.bin``, documents must
link as downloads with a clean name, and files an older version stored as ``.svg`` or ``.html`` must be
published as ``.bin`` too — including by an incremental build of a site an older version built.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from hostile_media import (
    ACTIVE_EXTENSIONS,
    HOSTILE_FILES,
    USERNAME,
    archive_channel,
    build_hostile_channel,
    hostile_settings,
    published_media,
)
from test_site_archive import PageScan, png
from test_site_incremental import assert_same_site
from tgvault.cli import main
from tgvault.domain import Channel, MediaItem, MediaKind, MediaStatus, Post
from tgvault.export.desktop_json import export_channel_json
from tgvault.export.site import SiteOptions, build_site
from tgvault.export.site.links import download_name, media_site_path
from tgvault.export.site.manifest import OLD_MANIFEST_DB, manifest_path
from tgvault.storage.media_store import LocalMediaStore, StoredFile, content_path, safe_extension
from tgvault.storage.media_types import PASSIVE_TYPES, passive_extension
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing import FakeTelegram

UoW = Callable[[], UnitOfWork]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def extension(path: Path | str) -> str:
    return str(path).rpartition(".")[2]


def page_tags(site: Path) -> list[tuple[str, dict[str, str | None], str]]:
    """Every tag of every page of the site, with the page it is on."""
    found = []
    for page in sorted(site.rglob("*.html")):
        scan = PageScan()
        scan.feed(page.read_text("utf-8"))
        found.extend((tag, attrs, str(page.relative_to(site))) for tag, attrs in scan.tags)
    return found


# ---- the real pipeline ------------------------------------------------------------------------------


@dataclass
class Exported:
    root: Path
    site: Path
    json_dir: Path
    media: Path


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """The hostile channel archived from FakeTelegram and exported by the real commands."""
    root = tmp_path_factory.mktemp("hostile")
    world = FakeTelegram()
    build_hostile_channel(world)
    archive_channel(world, hostile_settings(root))
    env = {
        "TGVAULT_DATABASE__URL": f"sqlite:///{root / 'archive.db'}",
        "TGVAULT_MEDIA__DIR": str(root / "media"),
        "TGVAULT_SITE__DIR": str(root / "site"),
    }
    runner = CliRunner()
    site = runner.invoke(main, ["export", "site"], env=env)
    assert 0 == site.exit_code, site.output
    json_dir = root / "json"
    export = runner.invoke(
        main, ["export", "json", f"@{USERNAME}", "--out", str(json_dir / "result.json")], env=env
    )
    assert 0 == export.exit_code, export.output
    return Exported(root, root / "site", json_dir, root / "media")


def test_hostile_files_are_stored_under_passive_names(exported: Exported) -> None:
    """New files get an extension from the allow-list: HTML, SVG, XML and JavaScript are stored as .bin."""
    stored = {
        extension(path) for path in exported.media.rglob("*") if path.is_file() and ".tmp" not in path.parts
    }
    assert set() == stored - set(PASSIVE_TYPES)
    for hostile in HOSTILE_FILES:
        digest = sha(hostile.data)
        assert [content_path(digest, hostile.published)] == [
            path.relative_to(exported.media).as_posix() for path in exported.media.rglob(f"{digest}.*")
        ], hostile.file_name


def test_the_site_and_the_json_export_publish_no_file_under_an_active_extension(exported: Exported) -> None:
    """Nothing under the site's or the JSON export's media/ has an extension a browser would run."""
    for folder in (exported.site, exported.json_dir):
        names = published_media(folder)
        assert len(HOSTILE_FILES) + 2 <= len(names), folder  # the hostile files, the photo, the PDF
        assert set() == {extension(path) for path in names} - set(PASSIVE_TYPES), folder
        assert set() == {extension(path) for path in names} & ACTIVE_EXTENSIONS, folder
        for hostile in HOSTILE_FILES:
            digest = sha(hostile.data)
            expected = folder / "media" / content_path(digest, hostile.published)
            assert expected.read_bytes() == hostile.data, hostile.file_name


def test_documents_link_as_downloads_with_a_clean_name_and_a_passive_type(exported: Exported) -> None:
    """Each hostile file is a download link (download, rel=noopener, the type of its published name),
    never an inline image, player, frame or object."""
    tags = page_tags(exported.site)
    for hostile in HOSTILE_FILES:
        digest = sha(hostile.data)
        links = [
            (attrs, page) for tag, attrs, page in tags if tag == "a" and digest in (attrs.get("href") or "")
        ]
        assert links, hostile.file_name
        expected_type = PASSIVE_TYPES[hostile.published].mime_type
        for attrs, page in links:
            assert (hostile.file_name, "noopener", expected_type) == (
                attrs.get("download"),
                attrs.get("rel"),
                attrs.get("type"),
            ), page
            assert (attrs.get("href") or "").endswith(f"{digest}.{hostile.published}"), page
        embedded = [
            (tag, page)
            for tag, attrs, page in tags
            if tag in ("img", "video", "audio", "source", "iframe", "object", "embed")
            and digest in (attrs.get("src") or attrs.get("data") or "")
        ]
        assert [] == embedded, hostile.file_name


def test_a_real_photo_is_still_shown_inline_and_a_pdf_keeps_its_name(exported: Exported) -> None:
    tags = page_tags(exported.site)
    images = [
        attrs.get("src") or ""
        for tag, attrs, _ in tags
        if tag == "img" and "/media/" in (attrs.get("src") or "")
    ]
    assert any(src.endswith(".jpg") for src in images), images
    pdf = [attrs for tag, attrs, _ in tags if tag == "a" and (attrs.get("href") or "").endswith(".pdf")]
    assert pdf and all(("report.pdf", "application/pdf") == (a.get("download"), a.get("type")) for a in pdf)


# ---- an archive an older version filled ------------------------------------------------------------

CHANNEL = Channel(id=4242, username="old_files", title="Old files")
SVG_PHOTO = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="5"/></svg>'
HTML_DOC = b"<!doctype html><script>alert(2)</script>"
PNG_PHOTO = png(32, 32, (10, 120, 200))


def store_as(store: LocalMediaStore, data: bytes, extension: str) -> StoredFile:
    """A file as an older version stored it, under whatever extension it chose."""
    relative = content_path(sha(data), extension)
    target = store.root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return StoredFile(sha256=sha(data), size=len(data), path=relative)


def media(file: StoredFile, kind: MediaKind, **extra: object) -> MediaItem:
    return MediaItem.model_validate(
        {
            "kind": kind,
            "status": MediaStatus.DOWNLOADED,
            "sha256": file.sha256,
            "path": file.path,
            "size": file.size,
        }
        | extra
    )


def old_archive(uow_factory: UoW, store: LocalMediaStore) -> dict[str, StoredFile]:
    files = {
        "svg": store_as(store, SVG_PHOTO, "svg"),
        "html": store_as(store, HTML_DOC, "html"),
        "png": store_as(store, PNG_PHOTO, "png"),
    }
    day = datetime(2024, 5, 1, 12, tzinfo=UTC)
    posts = [
        Post(
            channel_id=CHANNEL.id,
            message_id=1,
            date=day,
            text="svg photo",
            media=media(files["svg"], MediaKind.PHOTO),
        ),
        Post(
            channel_id=CHANNEL.id,
            message_id=2,
            date=day.replace(hour=13),
            text="html file",
            media=media(files["html"], MediaKind.DOCUMENT, file_name="../index.html", mime_type="text/html"),
        ),
        Post(
            channel_id=CHANNEL.id,
            message_id=3,
            date=day.replace(hour=14),
            text="png",
            media=media(files["png"], MediaKind.PHOTO),
        ),
    ]
    with uow_factory() as uow:
        uow.channels.upsert(CHANNEL, day)
        uow.posts.upsert_many(posts, day)
        uow.commit()
    return files


def build(uow_factory: UoW, store: LocalMediaStore, out: Path, full: bool = False) -> object:
    return build_site(uow_factory, store, SiteOptions(out_dir=out, title="Old files"), full=full)


def test_files_an_older_version_stored_as_svg_or_html_are_published_as_bin(
    uow_factory: UoW, tmp_path: Path
) -> None:
    """The store keeps its old names; the site and the JSON export publish them as .bin, and an SVG
    "photo" is offered as a download, not shown inline."""
    store = LocalMediaStore(tmp_path / "media")
    files = old_archive(uow_factory, store)
    site = tmp_path / "site"
    build(uow_factory, store, site)
    names = {path.relative_to(site).as_posix() for path in published_media(site)}
    assert {
        f"media/{content_path(files['svg'].sha256, 'bin')}",
        f"media/{content_path(files['html'].sha256, 'bin')}",
        f"media/{content_path(files['png'].sha256, 'png')}",
    } == names
    tags = page_tags(site)
    svg, png_sha = files["svg"].sha256, files["png"].sha256
    assert not [a for tag, a, _ in tags if tag == "img" and svg in (a.get("src") or "")]
    assert [a for tag, a, _ in tags if tag == "img" and png_sha in (a.get("src") or "")]
    svg_links = [a for tag, a, _ in tags if tag == "a" and svg in (a.get("href") or "")]
    assert svg_links and all("Photo" == a.get("download") for a in svg_links)
    html_links = [a for tag, a, _ in tags if tag == "a" and files["html"].sha256 in (a.get("href") or "")]
    assert html_links and all("index.html" == a.get("download") for a in html_links)

    with uow_factory() as uow:
        summary = export_channel_json(uow, CHANNEL, tmp_path / "json" / "result.json", store)
    assert 3 == summary.media_files
    exported = {extension(path) for path in published_media(tmp_path / "json")}
    assert {"bin", "png"} == exported


def _old_media_site_path(store_path: str | None) -> str | None:
    """How the site named media before passive names: the store's own name."""
    if not store_path or not re.match(r"^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]{1,10}$", store_path):
        return None
    return "media/" + store_path


def build_as_older_version(
    uow_factory: UoW, store: LocalMediaStore, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A site as the version before passive names left it: media under their stored names, linked
    from the pages, and its manifest (without a media naming) inside the site folder."""
    with monkeypatch.context() as patch:
        for module in ("card_views", "writer", "planning"):
            patch.setattr(f"tgvault.export.site.{module}.media_site_path", _old_media_site_path)
        build(uow_factory, store, site)
    with sqlite3.connect(manifest_path(site)) as db:
        db.execute("DELETE FROM meta WHERE name = 'media_naming'")
    shutil.move(manifest_path(site), site / OLD_MANIFEST_DB)


def test_a_site_an_older_version_built_loses_its_active_media_names_on_the_next_build(
    uow_factory: UoW, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The manifest knows what the older build published: the next build removes the .svg and .html
    files, links the pages to the .bin names, and the site equals a fresh build; the build after is
    incremental again."""
    store = LocalMediaStore(tmp_path / "media")
    files = old_archive(uow_factory, store)
    site = tmp_path / "site"
    build_as_older_version(uow_factory, store, site, monkeypatch)
    old_svg = site / "media" / files["svg"].path
    assert old_svg.is_file() and files["svg"].path in (site / "c/4242/2024/05.html").read_text()

    build(uow_factory, store, site)

    assert set() == {extension(path) for path in published_media(site)} & ACTIVE_EXTENSIONS
    assert not old_svg.exists() and not (site / "media" / files["html"].path).exists()
    month = (site / "c/4242/2024/05.html").read_text()
    assert files["svg"].path not in month and content_path(files["svg"].sha256, "bin") in month
    assert not (site / OLD_MANIFEST_DB).exists()
    build(uow_factory, store, tmp_path / "fresh", full=True)
    assert_same_site(site, tmp_path / "fresh")
    again = build_site(uow_factory, store, SiteOptions(out_dir=site, title="Old files"))
    assert (True, 0) == (again.incremental, again.written)  # type: ignore[attr-defined]


# ---- the rules themselves ---------------------------------------------------------------------------


def test_the_allow_list_holds_no_type_a_browser_runs() -> None:
    assert set() == set(PASSIVE_TYPES) & ACTIVE_EXTENSIONS
    for name, passive in PASSIVE_TYPES.items():
        assert not re.search(r"html|svg|script|[/+]xml\b", passive.mime_type), name


@pytest.mark.parametrize(
    ("mime_type", "file_name", "expected"),
    [
        ("image/jpeg", None, "jpg"),
        ("video/mp4", "clip.html", "mp4"),
        ("audio/ogg", None, "ogg"),
        ("application/pdf", "a.pdf", "pdf"),
        ("application/octet-stream", "Report.PDF", "pdf"),
        (None, "archive.zip", "zip"),
        ("text/plain", "notes.html", "txt"),
        ("text/html", "page.html", "bin"),
        ("text/html", "page.jpg", "bin"),
        ("image/svg+xml", "logo.svg", "bin"),
        ("image/svg+xml", "logo.png", "bin"),
        ("application/xhtml+xml", "a.jpg", "bin"),
        ("application/javascript", None, "bin"),
        ("application/octet-stream", "drawing.svg", "bin"),
        ("application/octet-stream", "run.js", "bin"),
        ("audio/x-opus+ogg", "voice.ogg", "ogg"),  # an unlisted audio type named as audio
        ("audio/x-opus+ogg", "voice.html", "bin"),
        ("application/x-tgsticker", "sticker.tgs", "bin"),
        ("application/x-msdownload", "setup.exe", "bin"),
        ("IMAGE/PNG; charset=binary", None, "png"),
        (None, None, "bin"),
    ],
)
def test_a_new_file_is_stored_under_a_passive_extension(
    mime_type: str | None, file_name: str | None, expected: str
) -> None:
    assert expected == safe_extension(mime_type, file_name)


@pytest.mark.parametrize(
    ("stored", "published"),
    [
        ("jpg", "jpg"),
        ("svg", "bin"),
        ("html", "bin"),
        ("xml", "bin"),
        ("js", "bin"),
        ("tgs", "bin"),
        ("pdf", "pdf"),
    ],
)
def test_a_stored_file_is_published_under_a_passive_extension(stored: str, published: str) -> None:
    digest = "ab" + "c" * 62
    assert f"media/ab/cc/{digest}.{published}" == media_site_path(f"ab/cc/{digest}.{stored}")
    assert published == passive_extension(stored)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "etc_passwd"),
        ("invoice\u202efdp.exe", "invoice_fdp.exe"),  # right-to-left override would show "exe.pdf"
        ("a\nb\tc.txt", "a b c.txt"),
        ('con:*?"<>|.txt', "con_______.txt"),
        ("...", "file.bin"),
        ("", "file.bin"),
        ("x" * 300 + ".docx", "x" * 115 + ".docx"),
    ],
)
def test_a_download_offers_a_clean_file_name(name: str, expected: str) -> None:
    assert expected == download_name(name, "media/ab/cd/x.bin")
