"""Media on S3-compatible object storage (AWS S3, MinIO, Cloudflare R2, ...), through boto3.

The same content-addressed names as the local store (``<prefix>/ab/cd/<sha256>.<ext>``). A file is
downloaded into the local temporary area first, then uploaded:

* small files in one ``PutObject`` with ``Content-MD5`` (the server refuses damaged bytes);
* large files in a multipart upload whose parts carry ``Content-MD5`` too. An unfinished multipart
  upload of the same key (a crash, a network failure) is resumed: parts already on the server with the
  right size and MD5 are kept, only the missing ones are sent.

Nothing is recorded until a ``HeadObject`` shows the object with the right size, the right sha256 in its
metadata and the ETag S3 computes from the MD5s it received. Credentials come from boto3's usual chain
(``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, a profile, an instance role) and are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tgvault.errors import MediaUploadError, StorageError
from tgvault.storage.media_store import LocalMediaStore, parse_content_path

MULTIPART_THRESHOLD = 16 * 1024 * 1024
PART_SIZE = 8 * 1024 * 1024
MIN_PART_SIZE = 5 * 1024 * 1024
SHA256_METADATA = "sha256"


@dataclass(frozen=True)
class S3Location:
    """A bucket and a key prefix (without a trailing slash; empty for the bucket's root)."""

    bucket: str
    prefix: str

    @property
    def url(self) -> str:
        """``s3://bucket/prefix``."""
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def key(self, relative: str) -> str:
        """The object key of a path relative to the prefix."""
        return f"{self.prefix}/{relative}" if self.prefix else relative


def is_s3_url(value: str | os.PathLike[str]) -> bool:
    """True for ``s3://...`` addresses."""
    return str(value).startswith("s3://")


def parse_s3_url(url: str) -> S3Location:
    """``s3://bucket/some/prefix`` as an :class:`S3Location`; StorageError explains a bad address."""
    split = urlsplit(url.strip())
    bucket = split.netloc
    valid = (
        split.scheme == "s3"
        and 3 <= len(bucket) <= 63
        and all(c.isalnum() or c in "-." for c in bucket)
        and bucket == bucket.lower()
        and not split.query
        and not split.fragment
    )
    if not valid:
        raise StorageError(
            f"{url!r} is not an S3 address; expected s3://bucket or s3://bucket/prefix "
            "(a lower-case bucket name of 3 to 63 letters, digits, dots or hyphens)"
        )
    prefix = split.path.strip("/")
    if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
        raise StorageError(f"{url!r}: the prefix must not contain empty, '.' or '..' parts")
    return S3Location(bucket, prefix)


@dataclass(frozen=True)
class S3Options:
    """How to reach the storage: endpoint (MinIO, R2, a test server) and region; None means boto3's default."""

    endpoint_url: str | None = None
    region: str | None = None


def make_s3_client(options: S3Options) -> Any:
    """A boto3 S3 client (credentials from boto3's chain); StorageError when boto3 is not installed."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:
        raise StorageError("S3 storage needs boto3: pip install 'tgvault[s3]'") from exc
    config = Config(retries={"max_attempts": 5, "mode": "standard"}, s3={"addressing_style": "path"})
    return boto3.client(
        "s3", endpoint_url=options.endpoint_url, region_name=options.region or "us-east-1", config=config
    )


def _client_error() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def _error_code(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _md5_b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _parts(path: Path, part_size: int) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        number = 1
        while True:
            data = handle.read(part_size)
            if not data:
                return
            yield number, data
            number += 1


class S3Writer:
    """Uploads complete local files to one bucket/prefix, verified, multipart and resumable when large."""

    def __init__(
        self,
        client: Any,
        location: S3Location,
        *,
        multipart_threshold: int = MULTIPART_THRESHOLD,
        part_size: int = PART_SIZE,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise StorageError(f"S3 part size {part_size} is below S3's minimum of {MIN_PART_SIZE} bytes")
        self.client = client
        self.location = location
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size

    def head(self, key: str) -> dict[str, Any] | None:
        """The object's metadata, or None when there is no such object."""
        try:
            response: dict[str, Any] = self.client.head_object(Bucket=self.location.bucket, Key=key)
        except _client_error() as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StorageError(f"{self.location.url}: cannot read {key}: {exc}") from exc
        return response

    def is_current(self, key: str, size: int, sha256: str | None) -> bool:
        """True when the object exists with this size (and, when given, this sha256 in its metadata)."""
        head = self.head(key)
        if head is None or int(head.get("ContentLength", -1)) != size:
            return False
        return sha256 is None or head.get("Metadata", {}).get(SHA256_METADATA) == sha256

    def upload(
        self, local: Path, key: str, size: int, *, sha256: str | None = None, content_type: str | None = None
    ) -> None:
        """Upload ``local`` to ``key`` and verify it; StorageError when it did not arrive intact."""
        metadata = {SHA256_METADATA: sha256} if sha256 else {}
        extra: dict[str, Any] = {"Metadata": metadata}
        if content_type:
            extra["ContentType"] = content_type
        try:
            if size < self.multipart_threshold:
                expected_etag = self._put(local, key, extra)
            else:
                expected_etag = self._multipart(local, key, extra)
        except _client_error() as exc:
            raise MediaUploadError(f"{self.location.url}: upload of {key} failed: {exc}") from exc
        head = self.head(key)
        problems = []
        if head is None:
            problems.append("the object is missing after the upload")
        else:
            if int(head.get("ContentLength", -1)) != size:
                problems.append(f"it has {head.get('ContentLength')} bytes instead of {size}")
            if sha256 and head.get("Metadata", {}).get(SHA256_METADATA) != sha256:
                problems.append("its sha256 metadata differs")
            if str(head.get("ETag", "")).strip('"') != expected_etag:
                problems.append("its checksum (ETag) differs from the bytes sent")
        if problems:
            raise MediaUploadError(
                f"{self.location.url}: {key} did not arrive intact: " + "; ".join(problems)
            )

    def _put(self, local: Path, key: str, extra: dict[str, Any]) -> str:
        data = local.read_bytes()
        md5 = hashlib.md5(data, usedforsecurity=False).digest()
        self.client.put_object(
            Bucket=self.location.bucket, Key=key, Body=data, ContentMD5=_md5_b64(md5), **extra
        )
        return md5.hex()

    def _multipart(self, local: Path, key: str, extra: dict[str, Any]) -> str:
        bucket = self.location.bucket
        upload_id, existing = self._resumable(key)
        if upload_id is None:
            upload_id = self.client.create_multipart_upload(Bucket=bucket, Key=key, **extra)["UploadId"]
        completed = []
        digests = b""
        for number, data in _parts(local, self.part_size):
            md5 = hashlib.md5(data, usedforsecurity=False).digest()
            digests += md5
            etag = existing.get(number)
            if etag != (md5.hex(), len(data)):
                response = self.client.upload_part(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=data,
                    ContentMD5=_md5_b64(md5),
                )
                if str(response["ETag"]).strip('"') != md5.hex():
                    raise MediaUploadError(f"{self.location.url}: part {number} of {key} arrived damaged")
            completed.append({"PartNumber": number, "ETag": f'"{md5.hex()}"'})
        self.client.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": completed}
        )
        combined = hashlib.md5(digests, usedforsecurity=False).hexdigest()
        return f"{combined}-{len(completed)}"

    def _resumable(self, key: str) -> tuple[str | None, dict[int, tuple[str, int]]]:
        """An unfinished multipart upload of ``key`` and its parts (number -> (md5, size))."""
        bucket = self.location.bucket
        listing = self.client.list_multipart_uploads(Bucket=bucket, Prefix=key)
        uploads = [upload for upload in listing.get("Uploads", []) if upload.get("Key") == key]
        if not uploads:
            return None, {}
        upload_id = str(sorted(uploads, key=lambda upload: upload["Initiated"])[-1]["UploadId"])
        parts: dict[int, tuple[str, int]] = {}
        marker = 0
        while True:
            page = self.client.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker)
            for part in page.get("Parts", []):
                parts[int(part["PartNumber"])] = (str(part["ETag"]).strip('"'), int(part["Size"]))
            if not page.get("IsTruncated"):
                return upload_id, parts
            marker = int(page["NextPartNumberMarker"])

    def download(self, key: str, target: Path) -> None:
        """Fetch an object into ``target`` atomically (temporary file and rename)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.parent / f".{target.name}.{uuid.uuid4().hex}.part"
        try:
            self.client.download_file(self.location.bucket, key, str(temp))
            temp.replace(target)
        except _client_error() as exc:
            temp.unlink(missing_ok=True)
            raise StorageError(f"{self.location.url}: cannot fetch {key}: {exc}") from exc
        except OSError:
            temp.unlink(missing_ok=True)
            raise

    def delete(self, key: str) -> None:
        """Remove an object (no error when it is already gone)."""
        try:
            self.client.delete_object(Bucket=self.location.bucket, Key=key)
        except _client_error() as exc:
            raise StorageError(f"{self.location.url}: cannot delete {key}: {exc}") from exc

    def check_bucket(self) -> None:
        """Raise StorageError naming the fix when the bucket cannot be reached."""
        try:
            self.client.head_bucket(Bucket=self.location.bucket)
        except _client_error() as exc:
            raise StorageError(
                f"{self.location.url}: the bucket cannot be reached ({exc}); check the bucket name, "
                "[media] endpoint_url / region and the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables"
            ) from exc


class S3MediaStore(LocalMediaStore):
    """Media files in an S3-compatible bucket. Files are written (and resumed) in a local temporary
    folder exactly as in the local store, then uploaded by :meth:`place`; ``root`` is a local read cache."""

    def __init__(
        self,
        location: S3Location,
        local_dir: Path,
        *,
        client: Any = None,
        options: S3Options | None = None,
        multipart_threshold: int = MULTIPART_THRESHOLD,
        part_size: int = PART_SIZE,
    ) -> None:
        super().__init__(local_dir / "cache")
        self.location = location
        self._local = local_dir
        self.writer = S3Writer(
            client if client is not None else make_s3_client(options or S3Options()),
            location,
            multipart_threshold=multipart_threshold,
            part_size=part_size,
        )
        self._prepared = False

    @property
    def temp_dir(self) -> Path:
        """Where files are written before they are complete and uploaded."""
        return self._local / ".tmp"

    def describe(self) -> str:
        """The bucket address."""
        return self.location.url

    def prepare(self) -> None:
        """Create the local temporary folder and check the bucket once."""
        super().prepare()
        if not self._prepared:
            self.writer.check_bucket()
            self._prepared = True

    def place(self, local: Path, relative: str, size: int, sha256: str) -> None:
        """Upload the complete file unless an identical object is already there; verified."""
        key = self.location.key(relative)
        try:
            if self.writer.is_current(key, size, sha256):
                return
            self.writer.upload(local, key, size, sha256=sha256)
        except MediaUploadError:
            raise
        except StorageError as exc:  # the storage went away mid-run: try the file again later
            raise MediaUploadError(str(exc)) from exc

    def path_of(self, relative: str) -> Path:
        """The file in the local cache, fetched from the bucket when not there yet."""
        if parse_content_path(relative) is None:
            raise StorageError(f"media path {relative!r} is not a stored file's path")
        cached = self.root / relative
        if not cached.is_file():
            key = self.location.key(relative)
            if self.writer.head(key) is None:
                return cached  # missing: callers check is_file()
            self.writer.download(key, cached)
        return cached

    def exists(self, relative: str) -> bool:
        """True when the object is in the bucket."""
        if parse_content_path(relative) is None:
            return False
        return self.writer.head(self.location.key(relative)) is not None

    def find(self, sha256: str) -> list[str]:
        """Stored objects with this content hash (any extension)."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            return []
        prefix = self.location.key(f"{sha256[:2]}/{sha256[2:4]}/{sha256}.")
        try:
            listing = self.writer.client.list_objects_v2(Bucket=self.location.bucket, Prefix=prefix)
        except _client_error() as exc:
            raise StorageError(f"{self.location.url}: cannot list {prefix}: {exc}") from exc
        cut = len(self.location.prefix) + 1 if self.location.prefix else 0
        return sorted(str(item["Key"])[cut:] for item in listing.get("Contents", []))

    def listing(self) -> dict[str, int]:
        """Every stored file under the prefix: relative path -> size (one LIST request per 1000)."""
        cut = len(self.location.prefix) + 1 if self.location.prefix else 0
        found: dict[str, int] = {}
        try:
            pages = self.writer.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.location.bucket, Prefix=self.location.key("")
            )
            for page in pages:
                for item in page.get("Contents", []):
                    relative = str(item["Key"])[cut:]
                    if parse_content_path(relative) is not None:
                        found[relative] = int(item["Size"])
        except _client_error() as exc:
            raise StorageError(f"{self.location.url}: cannot list the stored files: {exc}") from exc
        return found
