"""Publishing a built site to S3-compatible storage, uploading only what changed.

The site is built into a local folder as usual; its manifest (every page's content hash, every media
file's size) is compared with the manifest uploaded by the last publish (``.tgvault-site.json``).
Changed and new files are uploaded (verified), files the site no longer has are deleted, and the
manifest goes up last — so a publish stopped midway is completed by the next one. The uploaded JSON
manifest lists only the published files (path, content hash, size); the build's own manifest (the plan,
beside the local folder) is never uploaded, nor any file whose name starts with a dot. Media files go
up with the Content-Type of their passive extension (``application/octet-stream`` for ``.bin``).
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from tgvault.errors import StorageError
from tgvault.export.progress import ExportProgress, NoProgress
from tgvault.export.site.links import media_type
from tgvault.export.site.manifest import MANIFEST_VERSION, manifest_path, parse_legacy_manifest, read_manifest
from tgvault.export.site.options import SiteError
from tgvault.export.site.writer import MANIFEST, is_safe_path
from tgvault.storage.s3_store import S3Writer

_TEXT_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript", ".xml": "application/xml"}


@dataclass
class PublishReport:
    """What a publish did."""

    uploaded: int = 0
    uploaded_bytes: int = 0
    unchanged: int = 0
    deleted: int = 0


def content_type(path: str) -> str:
    """The Content-Type a static file is served with (text in UTF-8; media by their passive extension)."""
    if path.startswith("media/"):
        return media_type(path)
    suffix = Path(path).suffix.lower()
    if suffix in _TEXT_TYPES:
        return f"{_TEXT_TYPES[suffix]}; charset=utf-8"
    guessed, _ = mimetypes.guess_type(path)
    if guessed is None:
        return "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def _remote_manifest(writer: S3Writer) -> bytes:
    key = writer.location.key(MANIFEST)
    if writer.head(key) is None:
        return b""
    try:
        body: bytes = writer.client.get_object(Bucket=writer.location.bucket, Key=key)["Body"].read()
    except Exception as exc:
        raise StorageError(f"{writer.location.url}: cannot read {MANIFEST}: {exc}") from exc
    return body


def publish_site(
    out_dir: Path, writer: S3Writer, *, full: bool = False, progress: ExportProgress | None = None
) -> PublishReport:
    """Upload the site built in ``out_dir`` to ``writer``'s bucket/prefix: only files changed since the
    last publish (every file with ``full``); files no longer in the site are deleted there. ``progress``
    counts the files uploaded of those to upload."""
    progress = progress or NoProgress()
    local = read_manifest(out_dir)
    if local is None:
        raise SiteError(f"{out_dir} holds no finished site build; build the site first")
    pages, media = local
    remote_pages, remote_media = ({}, {}) if full else parse_legacy_manifest(_remote_manifest(writer))
    report = PublishReport()
    wanted: list[str] = []
    for path, digest in sorted(pages.items()):
        if not is_safe_path(path):  # a tampered manifest uploads nothing odd
            continue
        if full or remote_pages.get(path, [None, None])[1] != digest:
            wanted.append(path)
        else:
            report.unchanged += 1
    for path, size in sorted(media.items()):
        if not is_safe_path(path):
            continue
        if full or remote_media.get(path) != size:
            wanted.append(path)
        else:
            report.unchanged += 1
    progress.started(writer.location.url, len(wanted), "files uploaded")
    for path in wanted:
        file = out_dir / path
        try:
            size = file.stat().st_size
        except OSError as exc:
            raise SiteError(f"{file} is missing; rebuild the site with --full") from exc
        writer.upload(file, writer.location.key(path), size, content_type=content_type(path))
        report.uploaded += 1
        report.uploaded_bytes += size
        progress.advance(1, size)
    progress.finished()
    gone = (set(remote_pages) - set(pages)) | (set(remote_media) - set(media))
    for path in sorted(filter(is_safe_path, gone)):  # a tampered manifest deletes nothing odd
        writer.delete(writer.location.key(path))
        report.deleted += 1
    local_raw = json.dumps(
        {
            "version": MANIFEST_VERSION,
            "pages": {path: [None, digest] for path, digest in pages.items()},
            "media": media,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode("utf-8")
    beside = manifest_path(out_dir)  # written outside the site folder, like the build's manifest
    temp = beside.with_name(f"{beside.name}.publish.json")
    temp.write_bytes(local_raw)
    try:
        writer.upload(temp, writer.location.key(MANIFEST), len(local_raw), content_type="application/json")
    finally:
        temp.unlink(missing_ok=True)
    return report
