"""``[media]``: where media files are stored and how their downloads are paced and retried."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from tgvault.config.paths import resolve_path
from tgvault.config.section_model import SettingsSection
from tgvault.errors import StorageError


class MediaSettings(SettingsSection):
    """``[media]``: the content-addressed media store."""

    dir: Path = Path("data/media")
    concurrency: int = Field(default=3, ge=1, le=64)
    store: str | None = None
    """``s3://bucket/prefix`` keeps media in S3-compatible storage (``dir`` then holds only temporary
    files and a read cache); unset keeps media in ``dir``."""
    endpoint_url: str | None = None
    region: str | None = None
    max_attempts: int = Field(default=5, ge=1, le=100)
    retry_delay_seconds: int = Field(default=10, ge=0, le=86400)
    failed_retry_hours: int = Field(default=6, ge=1, le=24 * 365)

    _resolve_dir = field_validator("dir")(resolve_path)

    @field_validator("store")
    @classmethod
    def _check_store(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from tgvault.storage.s3_store import parse_s3_url

        try:
            return parse_s3_url(value).url
        except StorageError as error:
            raise ValueError(str(error)) from None

    @field_validator("endpoint_url")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        split = urlsplit(value.strip())
        if split.scheme not in ("http", "https") or not split.netloc or split.username or split.password:
            raise ValueError(
                f"{split.scheme}://{split.hostname or ''}... is not an http(s) endpoint without credentials; "
                "expected e.g. 'http://minio:9000' (keys go in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
            )
        return value.strip().rstrip("/")
