"""`tgvault export site --out s3://...`: the site published to S3-compatible storage (a moto server on
127.0.0.1), uploading only the files that changed since the last publish."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tgvault.app import open_archive
from tgvault.cli import main
from tgvault.config import Settings
from tgvault.export.site.manifest import read_manifest
from tgvault.export.site.publish import content_type
from tgvault.services.archiver import Archiver
from tgvault.services.plans import ChannelPlan, MediaPolicy
from tgvault.sources.telegram import TelegramSource
from tgvault.storage.s3_store import S3Options, make_s3_client
from tgvault.testing import FakeChannel, FakeTelegram, add_post, fake_client, photo_media


def sync(world: FakeTelegram, settings: Settings) -> None:
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
                ChannelPlan(key="@published", media=MediaPolicy(max_size=10**9, retry_delay=timedelta(0)))
            )

    try:
        asyncio.run(go())
    finally:
        archive.close()


def objects(client: Any, bucket: str) -> dict[str, dict[str, Any]]:
    found = {}
    for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        found[item["Key"]] = client.head_object(Bucket=bucket, Key=item["Key"])
    return found


def publish(tmp_path: Path, target: str) -> str:
    result = CliRunner().invoke(main, ["export", "site", "--out", target])
    assert 0 == result.exit_code, result.output
    return result.output


def test_the_site_is_published_to_s3_and_only_changed_files_are_uploaded_again(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = f"sqlite:///{tmp_path / 'archive.db'}"
    env = {
        "TGVAULT_DATABASE__URL": database,
        "TGVAULT_MEDIA__DIR": str(tmp_path / "media"),
        "TGVAULT_MEDIA__ENDPOINT_URL": s3_endpoint,
        "TGVAULT_SITE__DIR": str(tmp_path / "site"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(database={"url": database}, media={"dir": tmp_path / "media"})
    world = FakeTelegram()
    channel: FakeChannel = world.add_channel("published", "Published channel")
    for index in range(12):
        media = photo_media(channel, size=5000, seed=index) if index % 4 == 0 else None
        add_post(channel, f"post number {index}", media=media)
    sync(world, settings)
    target = f"s3://{s3_bucket}/www"
    client = make_s3_client(S3Options(endpoint_url=s3_endpoint))

    first = publish(tmp_path, target)

    built = read_manifest(tmp_path / "site")
    assert built is not None
    files = set(built[0]) | set(built[1])
    stored = objects(client, s3_bucket)
    assert {f"www/{path}" for path in files} | {"www/.tgvault-site.json"} == set(stored)
    assert f"{len(files)} files uploaded" in first
    assert "text/html; charset=utf-8" == stored["www/index.html"]["ContentType"]
    for path in files:
        body = client.get_object(Bucket=s3_bucket, Key=f"www/{path}")["Body"].read()
        assert (tmp_path / "site" / path).read_bytes() == body, path

    again = publish(tmp_path, target)
    assert "0 files uploaded" in again and f"{len(files)} unchanged" in again

    server_post = add_post(channel, "one more post")
    sync(world, settings)
    third = publish(tmp_path, target)

    uploaded = int(third.split("www: ")[1].split(" files uploaded")[0])
    assert 0 < uploaded <= len(files) // 2, third  # the changed pages, and the ledger's last file
    permalink = f"c/{channel.id}/posts/{server_post.id}.html"
    body = client.get_object(Bucket=s3_bucket, Key=f"www/{permalink}")["Body"].read()
    assert b"one more post" in body


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("index.html", "text/html; charset=utf-8"),
        ("static/site.css", "text/css; charset=utf-8"),
        ("search/index.js", "text/javascript; charset=utf-8"),
        ("media/ab/cd/x.jpg", "image/jpeg"),
        ("media/ab/cd/x.bin", "application/octet-stream"),
    ],
)
def test_published_files_carry_their_content_type(path: str, expected: str) -> None:
    assert expected == content_type(path)
