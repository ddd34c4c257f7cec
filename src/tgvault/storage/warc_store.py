"""The web source's captures as WARC files: ``warc/<channel id>/<YYYY-MM-DD>.warc.gz`` in the media store.

Each fetched page becomes a ``request`` and a ``response`` record (headers as sent, the body's exact bytes),
each record its own gzip member, so any web-archive tool (warcio, pywb, replayweb.page) reads and replays
the files. A capture is built in memory, then appended to the day's file with one ``write`` and
``fsync``: a crash can leave at most the last capture cut short, and the first append to a file in a
process cuts such a broken tail off before writing (:meth:`WarcArchive.append`). A capture whose
transaction rolled back stays in the file, unreferenced: harmless, the next run fetches the page again.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
import zlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from tgvault.domain import PageCapture

FOLDER: Final = "warc"
READ_CHUNK: Final = 1 << 20
_APPENDING = threading.Lock()  # pages and files of one channel may be appended from two threads


@dataclass(frozen=True)
class CaptureRef:
    """Where a capture was kept: its response record's WARC-Record-ID, the sha256 of the page's bytes,
    and the file (relative to the WARC folder)."""

    record_id: str
    payload_sha256: str
    path: str


@dataclass(frozen=True)
class StoredResponse:
    """A response record read back: its id, target URL and the sha256 of its payload."""

    record_id: str
    url: str
    payload_sha256: str
    path: str


def capture_bytes(capture: PageCapture) -> tuple[bytes, str]:
    """The capture as WARC bytes (request and response records, gzipped one by one) and the response's id."""
    buffer = io.BytesIO()
    record_id = _write_exchange(
        WARCWriter(buffer, gzip=True), capture, io.BytesIO(capture.body), len(capture.body)
    )
    return buffer.getvalue(), record_id


def _write_exchange(writer: WARCWriter, capture: PageCapture, payload: BinaryIO, length: int) -> str:
    """Write the exchange's response record (``payload``: its body, ``length`` bytes) and its request
    record; returns the response's WARC-Record-ID."""
    date = capture.fetched_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    status = f"{capture.status} {capture.reason}".strip()
    response = writer.create_warc_record(
        capture.url,
        "response",
        payload=payload,
        length=length,
        warc_headers_dict={"WARC-Date": date},
        http_headers=StatusAndHeaders(status, list(capture.response_headers), protocol=capture.http_version),
    )
    target = capture.url.split("://", 1)[-1]
    path = "/" + target.split("/", 1)[1] if "/" in target else "/"
    request = writer.create_warc_record(
        capture.url,
        "request",
        payload=io.BytesIO(capture.request_body),
        length=len(capture.request_body),
        warc_headers_dict={"WARC-Date": date},
        http_headers=StatusAndHeaders(
            f"{capture.method} {path} {capture.http_version}",
            list(capture.request_headers),
            is_http_request=True,
        ),
    )
    record_id = str(response.rec_headers.get_header("WARC-Record-ID"))
    request.rec_headers.add_header("WARC-Concurrent-To", record_id)
    writer.write_record(response)
    writer.write_record(request)
    return record_id


class WarcArchive:
    """The WARC files of every channel under one folder (see the module)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._checked: set[Path] = set()

    def channel_files(self, channel_id: int) -> list[Path]:
        """The channel's WARC files, oldest day first."""
        folder = self.root / str(channel_id)
        return sorted(folder.glob("*.warc.gz")) if folder.is_dir() else []

    def append(self, channel_id: int, capture: PageCapture) -> CaptureRef:
        """Append the capture to the channel's file of its day; durable when this returns."""
        data, record_id = capture_bytes(capture)
        relative = self._append(channel_id, capture, io.BytesIO(data))
        return CaptureRef(record_id, hashlib.sha256(capture.body).hexdigest(), relative)

    def append_file(self, channel_id: int, exchange: PageCapture, file: Path) -> CaptureRef:
        """Append a downloaded file as the response record of ``exchange`` (whose body is not held: the
        file is read from disk, in chunks) with its request record; durable when this returns."""
        digest = hashlib.sha256()
        with file.open("rb") as handle:
            while chunk := handle.read(READ_CHUNK):
                digest.update(chunk)
        folder = self.root / str(channel_id)
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder) as records, file.open("rb") as payload:
            record_id = _write_exchange(
                WARCWriter(records, gzip=True), exchange, payload, file.stat().st_size
            )
            records.seek(0)
            relative = self._append(channel_id, exchange, records)
        return CaptureRef(record_id, digest.hexdigest(), relative)

    def _append(self, channel_id: int, capture: PageCapture, records: BinaryIO) -> str:
        """Append whole records to the channel's file of the capture's day (a crash's broken tail cut off
        first, once per file and instance; one writer at a time in a process); returns the file's name."""
        relative = f"{channel_id}/{capture.fetched_at.strftime('%Y-%m-%d')}.warc.gz"
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with _APPENDING:
            if path not in self._checked:  # under the lock: never while another append is writing
                cut_broken_tail(path)
                self._checked.add(path)
            descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                while data := records.read(READ_CHUNK):
                    view = memoryview(data)
                    while view:
                        view = view[os.write(descriptor, view) :]
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        return relative

    def responses(self, channel_id: int) -> Iterator[StoredResponse]:
        """Every response record of the channel's files, with its payload hashed; a broken tail ends a file."""
        for path in self.channel_files(channel_id):
            yield from read_responses(path, path.relative_to(self.root).as_posix())

    def copy_records(self, channel_id: int, response_ids: Collection[str], target: Path) -> set[str]:
        """Copy the named response records of the channel and the request records sent for them
        (``WARC-Concurrent-To``) into a new WARC file ``target``, byte for byte (each record is its own
        gzip member, so the copy is a valid file); returns the ids of the responses found. No file is
        written when none is found."""
        wanted = set(response_ids)
        found: set[str] = set()
        members: list[bytes] = []
        for path in self.channel_files(channel_id):
            with path.open("rb") as handle, path.open("rb") as source:
                iterator = ArchiveIterator(handle)
                try:
                    for record in iterator:
                        record_id = record.rec_headers.get_header("WARC-Record-ID")
                        answered = record.rec_headers.get_header("WARC-Concurrent-To")
                        if record_id not in wanted and answered not in wanted:
                            continue
                        if record.rec_type == "response":
                            found.add(str(record_id))
                        source.seek(iterator.get_record_offset())
                        members.append(source.read(iterator.get_record_length()))
                except (ArchiveLoadFailed, EOFError, OSError, ValueError):
                    continue
        if members:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"".join(members))
        return found


def read_responses(path: Path, name: str) -> Iterator[StoredResponse]:
    """The response records of one WARC file (``name``: how to call it), payloads hashed; a broken tail
    ends the file."""
    with path.open("rb") as handle:
        try:
            for record in ArchiveIterator(handle):
                if record.rec_type != "response":
                    continue
                digest = hashlib.sha256()
                stream = record.raw_stream
                while chunk := stream.read(READ_CHUNK):
                    digest.update(chunk)
                yield StoredResponse(
                    str(record.rec_headers.get_header("WARC-Record-ID")),
                    str(record.rec_headers.get_header("WARC-Target-URI")),
                    digest.hexdigest(),
                    name,
                )
        except (ArchiveLoadFailed, EOFError, OSError, ValueError):
            return


def cut_broken_tail(path: Path) -> int:
    """Cut a record a crash left half written off the end of ``path``; returns the bytes cut (0: none)."""
    if not path.is_file():
        return 0
    size = path.stat().st_size
    good = complete_length(path)
    if good < size:
        with path.open("r+b") as handle:
            handle.truncate(good)
            handle.flush()
            os.fsync(handle.fileno())
    return size - good


def complete_length(path: Path) -> int:
    """How many bytes at the start of ``path`` are whole gzip members (every record is one)."""
    good = position = 0
    inflater = zlib.decompressobj(31)
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            position += len(chunk)
            while chunk:
                try:
                    inflater.decompress(chunk)
                except zlib.error:
                    return good
                if not inflater.eof:
                    break
                chunk = inflater.unused_data
                good = position - len(chunk)
                inflater = zlib.decompressobj(31)
    return good
