"""A channel whose files try to run script in the site's origin, archived through the real pipeline.

FakeTelegram answers Telethon with real TL documents (HTML, SVG, XHTML, XML and JavaScript under their
own MIME types and names, an SVG named ``.png``, HTML declared as ``text/plain``), the Archiver stores
them, and the site and the JSON export are built from that archive. Every payload that runs leaves a
mark: ``localStorage.pwned`` and the document title ``pwned``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from tgvault.app import open_archive
from tgvault.config import Settings
from tgvault.services.archiver import Archiver
from tgvault.services.plans import ChannelPlan, MediaPolicy
from tgvault.sources.telegram import TelegramSource
from tgvault.testing import FakeChannel, FakeTelegram, add_post, document_media, fake_client, photo_media

USERNAME = "hostile_files"
MARK = "localStorage.setItem('pwned', '{tag}'); document.title = 'pwned';"


def _html(tag: str) -> bytes:
    return f"<!doctype html><title>{tag}</title><script>{MARK.format(tag=tag)}</script>".encode()


def _svg(tag: str) -> bytes:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" onload="{MARK.format(tag=tag)}">'
        f"<script>{MARK.format(tag=tag + '-script')}</script><circle r='5'/></svg>"
    ).encode()


@dataclass(frozen=True)
class HostileFile:
    """A document as Telegram hands it over, and the extension tgvault must publish it under."""

    mime_type: str
    file_name: str
    data: bytes
    published: str


HOSTILE_FILES = (
    HostileFile("text/html", "page.html", _html("html"), "bin"),
    HostileFile("image/svg+xml", "logo.svg", _svg("svg"), "bin"),
    HostileFile("application/octet-stream", "drawing.svg", _svg("svg-octet"), "bin"),
    HostileFile(
        "application/xhtml+xml",
        "page.xhtml",
        f'<html xmlns="http://www.w3.org/1999/xhtml"><body><script>{MARK.format(tag="xhtml")}'
        "</script></body></html>".encode(),
        "bin",
    ),
    HostileFile(
        "application/xml",
        "feed.xml",
        f'<?xml version="1.0"?><feed><script xmlns="http://www.w3.org/1999/xhtml">{MARK.format(tag="xml")}'
        "</script></feed>".encode(),
        "bin",
    ),
    HostileFile("application/javascript", "app.js", MARK.format(tag="js").encode(), "bin"),
    HostileFile("image/svg+xml", "innocent.png", _svg("svg-as-png"), "bin"),
    HostileFile("text/plain", "notes.html", _html("text-plain"), "txt"),
)
ACTIVE_EXTENSIONS = frozenset({"html", "htm", "svg", "svgz", "xhtml", "xht", "xml", "xsl", "js", "mjs"})


def build_hostile_channel(world: FakeTelegram) -> FakeChannel:
    """The channel: one post per hostile file, a real photo and a PDF sent as octet-stream."""
    channel = world.add_channel(USERNAME, "Hostile files")
    add_post(channel, "A real photo", media=photo_media(channel, size=4000, seed=1))
    for number, hostile in enumerate(HOSTILE_FILES):
        media = document_media(
            channel, "file", file_name=hostile.file_name, mime_type=hostile.mime_type, data=hostile.data
        )
        add_post(channel, f"Hostile file {number}: {hostile.file_name}", media=media)
    pdf = b"%PDF-1.4\n% a harmless report\n" * 20
    media = document_media(
        channel, "file", file_name="report.pdf", mime_type="application/octet-stream", data=pdf
    )
    add_post(channel, "The report", media=media)
    return channel


def archive_channel(world: FakeTelegram, settings: Settings) -> None:
    """Sync the channel and its files into the archive, as ``tgvault sync`` does."""
    archive = open_archive(settings)

    async def go() -> None:
        async with fake_client(world) as client:
            archiver = Archiver(
                TelegramSource(client, request_delay=0),
                archive.unit_of_work,
                archive.media_store,
                clock=world.now,
            )
            await archiver.sync(
                ChannelPlan(key=f"@{USERNAME}", media=MediaPolicy(max_size=10**9, retry_delay=timedelta(0)))
            )

    try:
        asyncio.run(go())
    finally:
        archive.close()


def hostile_settings(root: Path) -> Settings:
    """An archive in ``root`` (SQLite, local media folder, site in ``root/site``)."""
    return Settings(
        database={"url": f"sqlite:///{root / 'archive.db'}"},
        media={"dir": root / "media"},
        site={"dir": root / "site"},
    )


def published_media(site: Path) -> list[Path]:
    """Every file under the site's ``media/`` folder."""
    return sorted(path for path in (site / "media").rglob("*") if path.is_file())
