"""Media in S3-compatible storage: a moto server on 127.0.0.1 plays S3, the fake Telegram plays Telegram.

A sync writes media to the bucket (large files multipart) and the static site reads them back; a failed
upload records nothing and the next run resumes the multipart upload; ``media migrate`` copies a local
archive's media, verified, idempotent and resumable.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner

from tgvault.cli import main
from tgvault.config import Settings, load_settings
from tgvault.domain import MediaStatus, Post, RunCounts
from tgvault.errors import ConfigError, StorageError
from tgvault.export.site import SiteOptions, build_site
from tgvault.export.site.links import media_site_path
from tgvault.services.archiver import Archiver
from tgvault.services.media_migrate import migrate_media
from tgvault.services.plans import ChannelPlan, MediaPolicy
from tgvault.sources.telegram import TelegramSource
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.s3_store import S3Location, S3MediaStore, S3Options, make_s3_client, parse_s3_url
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing import FakeChannel, FakeTelegram, add_post, document_media, fake_client, photo_media

UoW = Callable[[], UnitOfWork]
PART = 5 * 1024 * 1024
PREFIX = "archive/media"


class FaultyS3:
    """The real boto3 client, except that chosen uploads fail like a dropped connection (a fault seam)."""

    def __init__(self, client: Any, *, fail_part: int | None = None, puts_allowed: int | None = None) -> None:
        self._client = client
        self.fail_part = fail_part
        self.puts_allowed = puts_allowed
        self.parts_sent: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    @staticmethod
    def _fail(operation: str) -> ClientError:
        return ClientError({"Error": {"Code": "InternalError", "Message": "injected failure"}}, operation)

    def upload_part(self, **kwargs: Any) -> Any:
        if kwargs["PartNumber"] == self.fail_part:
            raise self._fail("UploadPart")
        self.parts_sent.append(kwargs["PartNumber"])
        return self._client.upload_part(**kwargs)

    def put_object(self, **kwargs: Any) -> Any:
        if self.puts_allowed is not None:
            if self.puts_allowed <= 0:
                raise self._fail("PutObject")
            self.puts_allowed -= 1
        return self._client.put_object(**kwargs)


def client_for(endpoint: str) -> Any:
    return make_s3_client(S3Options(endpoint_url=endpoint))


def s3_store(endpoint: str, bucket: str, local: Path, client: Any = None) -> S3MediaStore:
    return S3MediaStore(
        S3Location(bucket, PREFIX),
        local,
        client=client if client is not None else client_for(endpoint),
        multipart_threshold=PART,
        part_size=PART,
    )


def media_world() -> tuple[FakeTelegram, FakeChannel]:
    world = FakeTelegram()
    channel = world.add_channel("mediachan", "Media channel")
    add_post(channel, "a photo", media=photo_media(channel, size=40_000, seed=1))
    add_post(channel, "a file", media=document_media(channel, "file", size=20_000, seed=2))
    add_post(channel, "a long video", media=document_media(channel, "video", size=2 * PART + 12_345, seed=3))
    return world, channel


def sync(
    world: FakeTelegram,
    unit_of_work: UoW,
    store: LocalMediaStore,
    clock: Callable[[], datetime] | None = None,
) -> RunCounts:
    async def go() -> RunCounts:
        async with fake_client(world) as client:
            source = TelegramSource(client, request_delay=0)
            archiver = Archiver(source, unit_of_work, store, clock=clock or world.now)
            return await archiver.sync(
                ChannelPlan(key="@mediachan", media=MediaPolicy(max_size=10**9, retry_delay=timedelta(0)))
            )

    return asyncio.run(go())


def posts_with_media(unit_of_work: UoW, channel_id: int) -> list[Post]:
    with unit_of_work() as uow:
        return [post for post in uow.posts.iter_channel(channel_id) if post.media is not None]


def bucket_objects(client: Any, bucket: str) -> dict[str, bytes]:
    listing = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {item["Key"]: client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listing}


def test_a_sync_writes_media_to_s3_and_the_site_reads_it_back(
    unit_of_work: UoW, s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    world, channel = media_world()
    store = s3_store(s3_endpoint, s3_bucket, tmp_path / "local")
    counts = sync(world, unit_of_work, store)

    assert 3 == counts.media_files
    posts = posts_with_media(unit_of_work, channel.id)
    recorded = {f"{PREFIX}/{post.media.path}": post.media.sha256 for post in posts if post.media}
    objects = bucket_objects(client_for(s3_endpoint), s3_bucket)
    assert sorted(recorded) == sorted(objects)
    for key, content in objects.items():
        assert recorded[key] == hashlib.sha256(content).hexdigest()
    assert [] == list((tmp_path / "local" / ".tmp").iterdir()), "no temporary file is left behind"
    big = max(objects.values(), key=len)
    assert 2 * PART + 12_345 == len(big)

    report = build_site(unit_of_work, store, SiteOptions(out_dir=tmp_path / "site"))
    assert 0 == report.media_missing
    for post in posts:
        assert post.media is not None and post.media.path is not None
        site_path = media_site_path(post.media.path)
        assert site_path is not None
        content = (tmp_path / "site" / site_path).read_bytes()
        assert post.media.sha256 == hashlib.sha256(content).hexdigest()


def test_a_failed_upload_records_nothing_and_the_next_run_resumes_the_upload(
    unit_of_work: UoW, s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    world, channel = media_world()
    now = [world.now()]
    failing = FaultyS3(client_for(s3_endpoint), fail_part=2, puts_allowed=0)
    sync(world, unit_of_work, s3_store(s3_endpoint, s3_bucket, tmp_path / "local", failing), lambda: now[0])

    posts = posts_with_media(unit_of_work, channel.id)
    assert 3 == len(posts)
    for post in posts:
        assert post.media is not None
        assert (MediaStatus.FAILED, None, None) == (post.media.status, post.media.path, post.media.sha256)
    assert {} == bucket_objects(client_for(s3_endpoint), s3_bucket)
    assert [1] == failing.parts_sent

    now[0] += timedelta(hours=7)  # past the retry schedule of files that failed every attempt
    healthy = FaultyS3(client_for(s3_endpoint))
    store = s3_store(s3_endpoint, s3_bucket, tmp_path / "local", healthy)
    counts = sync(world, unit_of_work, store, lambda: now[0])

    assert 3 == counts.media_files
    assert [2, 3] == healthy.parts_sent, "the part already uploaded is reused"
    objects = bucket_objects(client_for(s3_endpoint), s3_bucket)
    for post in posts_with_media(unit_of_work, channel.id):
        assert post.media is not None and post.media.status is MediaStatus.DOWNLOADED
        content = objects[f"{PREFIX}/{post.media.path}"]
        assert post.media.sha256 == hashlib.sha256(content).hexdigest()


def test_an_object_of_the_wrong_size_under_a_files_name_is_replaced(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    store = s3_store(s3_endpoint, s3_bucket, tmp_path / "local")
    data = b"the real content" * 100
    digest = hashlib.sha256(data).hexdigest()
    key = f"{PREFIX}/{digest[:2]}/{digest[2:4]}/{digest}.txt"
    client = client_for(s3_endpoint)
    client.put_object(Bucket=s3_bucket, Key=key, Body=b"truncated")

    stored = store.put_bytes(data, "text/plain")

    assert f"{digest[:2]}/{digest[2:4]}/{digest}.txt" == stored.path
    assert data == client.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
    assert [stored.path] == store.find(digest)


def local_archive(unit_of_work: UoW, media: Path) -> FakeChannel:
    world = FakeTelegram()
    channel = world.add_channel("mediachan", "Media channel")
    for seed in range(6):
        add_post(channel, f"file {seed}", media=document_media(channel, "file", size=3000 + seed, seed=seed))
    sync(world, unit_of_work, LocalMediaStore(media))
    return channel


def test_media_migrate_copies_a_local_archive_verified_and_resumes_after_a_failure(
    unit_of_work: UoW, s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    channel = local_archive(unit_of_work, media)
    local = LocalMediaStore(media)
    assert 6 == len(local.files())

    failing = FaultyS3(client_for(s3_endpoint), puts_allowed=2)
    with pytest.raises(StorageError, match="injected failure"):
        migrate_media(local, s3_store(s3_endpoint, s3_bucket, media, failing), unit_of_work)
    assert 2 == len(bucket_objects(client_for(s3_endpoint), s3_bucket))

    target = s3_store(s3_endpoint, s3_bucket, media)
    first = migrate_media(local, target, unit_of_work)
    again = migrate_media(local, target, unit_of_work)

    assert (4, 2, True) == (first.copied, first.already_there, first.complete)
    assert (0, 6, True) == (again.copied, again.already_there, again.complete)
    objects = bucket_objects(client_for(s3_endpoint), s3_bucket)
    for post in posts_with_media(unit_of_work, channel.id):
        assert post.media is not None and post.media.path is not None
        assert (media / post.media.path).read_bytes() == objects[f"{PREFIX}/{post.media.path}"]


def test_media_migrate_never_copies_a_damaged_file(
    unit_of_work: UoW, s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    local_archive(unit_of_work, media)
    local = LocalMediaStore(media)
    damaged = local.files()[0]
    (media / damaged.path).write_bytes(b"x" * damaged.size)  # same size, other content: bit rot

    report = migrate_media(local, s3_store(s3_endpoint, s3_bucket, media), unit_of_work)

    assert [damaged.path] == report.damaged
    assert [damaged.path] == report.missing
    assert not report.complete
    assert f"{PREFIX}/{damaged.path}" not in bucket_objects(client_for(s3_endpoint), s3_bucket)


def test_media_migrate_from_the_command_line_tells_what_to_configure(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = f"sqlite:///{tmp_path / 'archive.db'}"
    media = tmp_path / "media"
    from tgvault.app import open_archive

    archive = open_archive(Settings(database={"url": database}, media={"dir": media}))
    try:
        local_archive(archive.unit_of_work, media)
    finally:
        archive.close()
    monkeypatch.setenv("TGVAULT_DATABASE__URL", database)
    monkeypatch.setenv("TGVAULT_MEDIA__DIR", str(media))
    target = f"s3://{s3_bucket}/{PREFIX}"

    result = CliRunner().invoke(main, ["media", "migrate", "--to", target, "--endpoint-url", s3_endpoint])

    assert 0 == result.exit_code, result.output
    assert "6 files copied" in result.output
    assert f'store = "{target}"' in result.output
    assert "tgvault-test-secret" not in result.output

    monkeypatch.setenv("TGVAULT_MEDIA__STORE", target)
    monkeypatch.setenv("TGVAULT_MEDIA__ENDPOINT_URL", s3_endpoint)
    site = CliRunner().invoke(main, ["export", "site", "--out", str(tmp_path / "site")])
    assert 0 == site.exit_code, site.output
    copied = [path for path in (tmp_path / "site" / "media").rglob("*") if path.is_file()]
    assert 6 == len(copied)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("s3://", "not an S3 address"),
        ("s3://Bad_Bucket/x", "not an S3 address"),
        ("https://bucket/x", "not an S3 address"),
        ("s3://bucket/a/../b", "must not contain"),
    ],
)
def test_a_bad_s3_address_is_explained(url: str, fragment: str) -> None:
    with pytest.raises(StorageError, match=fragment):
        parse_s3_url(url)


def test_s3_addresses_keep_bucket_and_prefix() -> None:
    assert S3Location("archive", "tg/media") == parse_s3_url("s3://archive/tg/media/")
    assert "s3://archive" == parse_s3_url("s3://archive").url
    assert "tg/media/ab/cd/x.jpg" == parse_s3_url("s3://archive/tg/media").key("ab/cd/x.jpg")


def test_a_bad_media_store_in_the_config_names_the_field(tmp_path: Path) -> None:
    config = tmp_path / "tgvault.toml"
    config.write_text('[media]\nstore = "s3://No_Such"\nendpoint_url = "http://key:secret@minio:9000"\n')
    with pytest.raises(ConfigError) as raised:
        load_settings(config, env={})
    message = str(raised.value)
    assert "media.store" in message and "not an S3 address" in message
    assert "media.endpoint_url" in message and "secret" not in message
