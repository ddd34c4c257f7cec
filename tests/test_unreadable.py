"""Nothing unreadable blocks a channel: a message the mapping fails on is kept raw and reparsed later."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

from telethon.extensions import BinaryReader
from telethon.tl.functions.upload import GetFileRequest

from tgvault.domain import MediaStatus, Post
from tgvault.export.site import SiteOptions, build_site
from tgvault.services.archiver import Archiver
from tgvault.services.plans import ChannelPlan, MediaPolicy
from tgvault.services.reparse import reparse
from tgvault.sources.telegram import (
    NOT_UNDERSTOOD,
    TelegramSource,
    message_to_post,
    remap_raw,
    tl_from_raw,
    tl_to_raw,
)
from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.schema import upgrade
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing import FakeTelegram, add_post, build_realistic_channel, document_media, fake_client

UoW = Callable[[], UnitOfWork]
PLAN = ChannelPlan(key="@oddities", media=MediaPolicy(max_size=10**9))


def refusing(*message_ids: int) -> Callable[[Any, int], Post | None]:
    """A mapping that fails on some messages, as on a TL constructor it does not know yet."""

    def mapper(message: Any, channel_id: int) -> Post | None:
        if getattr(message, "id", None) in message_ids:
            raise TypeError("unexpected constructor MessageMediaHologram")
        return message_to_post(message, channel_id)

    return mapper


def run(
    world: FakeTelegram,
    unit_of_work: UoW,
    media_dir: Path,
    action: Callable[[Archiver], Coroutine[Any, Any, Any]],
    mapper: Callable[[Any, int], Post | None] = message_to_post,
) -> Any:
    async def go() -> Any:
        async with fake_client(world) as client:
            source = TelegramSource(client, request_delay=0, mapper=mapper)
            archiver = Archiver(source, unit_of_work, LocalMediaStore(media_dir), clock=world.now)
            return await action(archiver)

    return asyncio.run(go())


def over_the_wire(message: Any) -> Any:
    return BinaryReader(bytes(message)).tgread_object()


def test_an_unreadable_message_is_archived_raw_and_the_channel_goes_on(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    """Message 3 makes the mapping raise: it is kept with raw TL, text and a mark; the cursor passes it."""
    world = FakeTelegram()
    channel = world.add_channel("oddities")
    for number in range(1, 6):
        media = document_media(channel, "file", size=2000, seed=number) if number == 3 else None
        add_post(channel, f"post number {number}", media=media)
    counts = run(world, unit_of_work, tmp_path / "m", lambda a: a.backfill(PLAN), refusing(3))
    with unit_of_work() as uow:
        odd = uow.posts.get(channel.id, 3)
        state = uow.sync_state.get(channel.id)
    assert 5 == counts.posts_added
    assert odd is not None and odd.raw is not None
    assert "post number 3" == odd.text
    assert (odd.parse_error or "").startswith(f"{NOT_UNDERSTOOD}: TypeError: unexpected constructor")
    assert 3 == odd.raw["id"] and "MessageMediaDocument" == odd.raw["media"]["_"]
    assert (5, True) == (state.newest_id, state.backfill_complete)

    add_post(channel, "post number 6")
    add_post(channel, "post number 7")
    counts = run(world, unit_of_work, tmp_path / "m", lambda a: a.sync(PLAN), refusing(3, 7))
    with unit_of_work() as uow:
        assert 7 == uow.sync_state.get(channel.id).newest_id
        assert [1, 2, 3, 4, 5, 6, 7] == uow.posts.ids(channel.id)
    assert 2 == counts.posts_added


def test_the_site_shows_a_kept_raw_post_as_not_fully_understood(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    channel = world.add_channel("oddities")
    add_post(channel, "fine")
    add_post(channel, "odd one")
    run(world, unit_of_work, tmp_path / "m", lambda a: a.backfill(PLAN), refusing(2))
    build_site(unit_of_work, LocalMediaStore(tmp_path / "m"), SiteOptions(out_dir=tmp_path / "site"))
    pages = [page.read_text() for page in (tmp_path / "site").rglob("*.html")]
    flagged = [page for page in pages if "Not fully understood" in page]
    assert flagged, "some page shows the post as not fully understood"
    assert all("odd one" in page for page in flagged)


def test_reparse_upgrades_kept_raw_posts_and_their_media_is_then_downloaded(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    """Once the mapping reads the message, `reparse` turns the raw post into the full one (no revision)."""
    world = FakeTelegram()
    channel = world.add_channel("oddities")
    add_post(channel, "plain")
    odd = add_post(channel, "with a file", media=document_media(channel, "video", size=4000, seed=9))
    run(world, unit_of_work, tmp_path / "m", lambda a: a.backfill(PLAN), refusing(odd.id))
    with unit_of_work() as uow:
        kept = uow.posts.get(channel.id, odd.id)
    assert kept is not None and kept.media is None and kept.parse_error

    still = reparse(unit_of_work, lambda raw, cid: remap_raw(raw, cid, refusing(odd.id)), world.now)
    assert (1, 0, 1) == (still.examined, still.upgraded, still.still_failing)

    report = reparse(unit_of_work, remap_raw, world.now, channel.id)
    with unit_of_work() as uow:
        upgraded = uow.posts.get(channel.id, odd.id)
        revisions = uow.posts.revisions(channel.id, odd.id)
    expected = message_to_post(over_the_wire(odd), channel.id)
    assert (1, 1, 0) == (report.examined, report.upgraded, report.still_failing)
    assert upgraded is not None and expected is not None
    assert expected.model_copy(update={"raw": None}) == upgraded.model_copy(update={"raw": None})
    assert [] == revisions

    run(world, unit_of_work, tmp_path / "m", lambda a: a.sync(PLAN))
    with unit_of_work() as uow:
        after = uow.posts.get(channel.id, odd.id)
    assert after is not None and after.media is not None
    assert MediaStatus.DOWNLOADED == after.media.status


def test_raw_tl_reads_back_into_the_same_post_for_every_kind_of_message() -> None:
    """tl_from_raw inverts tl_to_raw closely enough that mapping the rebuilt message gives the same post."""
    world = FakeTelegram()
    channel = build_realistic_channel(world, 120, seed=3, username="realistic")
    for message in channel.messages.values():
        original = message_to_post(over_the_wire(message), channel.id)
        rebuilt = message_to_post(tl_from_raw(tl_to_raw(over_the_wire(message))), channel.id)
        assert original == rebuilt, message.id


def test_status_shows_the_media_backlog_and_reparse_runs_from_the_command_line(tmp_path: Path) -> None:
    """`tgvault status` lists the queued files; `tgvault reparse CHANNEL` upgrades the raw-kept post."""
    database = tmp_path / "data" / "tgvault.db"
    database.parent.mkdir()
    engine = create_archive_engine(f"sqlite:///{database}")
    upgrade(engine)
    factory = make_session_factory(engine)
    world = FakeTelegram()
    channel = world.add_channel("oddities")
    add_post(channel, "kept raw")
    add_post(channel, "a file", media=document_media(channel, "file", size=4000, seed=1))
    world.fail_next(GetFileRequest, "FILE_PARTS_INVALID", 400, times=5)
    quick = ChannelPlan(key="@oddities", media=MediaPolicy(max_size=10**9, retry_delay=timedelta(0)))
    run(
        world,
        lambda: UnitOfWork(factory),
        tmp_path / "data" / "media",
        lambda a: a.backfill(quick),
        refusing(1),
    )
    engine.dispose()
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    env["COLUMNS"] = "250"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tgvault", *args], cwd=tmp_path, env=env, capture_output=True, text=True
        )

    status = cli("status")
    assert 0 == status.returncode, status.stderr
    assert "1 file, 4,000 bytes (1 failed)" in status.stdout, status.stdout
    reparsed = cli("reparse", "@oddities")
    assert 0 == reparsed.returncode, reparsed.stderr
    assert "1 post with a parse error read again: 1 now fully understood" in reparsed.stdout
    unknown = cli("reparse", "@nobody")
    assert (1, "channel @nobody is not in the archive") == (
        unknown.returncode,
        unknown.stderr.split("error: ")[-1].split(" (")[0],
    )
