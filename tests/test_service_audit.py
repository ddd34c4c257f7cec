"""The service audits each channel on its audit_schedule, in slices that let the channel's syncs through."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from service_support import FAST, OneArchiver, UoW, eventually
from tgvault.app import plan_for
from tgvault.config import ChannelConfig, Settings
from tgvault.daemon.orchestrator import Service
from tgvault.domain import RunStatus
from tgvault.services.archiver import Archiver
from tgvault.sources.telegram import TelegramSource
from tgvault.storage.media_store import LocalMediaStore
from tgvault.testing import FakeTelegram, add_post, fake_client


def test_the_service_audits_in_slices_between_the_syncs_and_records_old_changes(
    uow_factory: UoW, tmp_path: Path
) -> None:
    world = FakeTelegram()
    channel = world.add_channel("auditsvc")
    start = world.now() - timedelta(days=500)
    for number in range(600):
        add_post(channel, f"post {number}", date=start + timedelta(hours=number), views=3, forwards=0)
    settings = Settings(
        database={"url": f"sqlite:///{tmp_path / 'archive.db'}"},
        media={"dir": tmp_path / "media"},
        sync={"refresh_posts": 10, "refresh_days": 0, "audit_pause": 0.3},
        channels=[ChannelConfig(name="@auditsvc", schedule="1s", audit_schedule="3s")],
    )
    options = replace(FAST, audit_slice=1)

    def audited() -> bool:
        """The audit finished and its last slice's run is recorded as finished too."""
        with uow_factory() as uow:
            done = uow.audits.get(channel.id).last_completed_at is not None
            slices = [run for run in uow.runs.recent(500) if run.kind == "audit"]
        return done and all(run.finished_at is not None for run in slices)

    async def go() -> None:
        async with fake_client(world) as client:
            archiver = Archiver(
                TelegramSource(client, request_delay=0), uow_factory, LocalMediaStore(tmp_path)
            )
            await archiver.sync(plan_for(settings, "@auditsvc"))
            world.edit_message(channel, 5, "edited long ago")
            world.delete_messages(channel, [10])
            service = Service(
                settings, uow_factory, OneArchiver(archiver), plan_for=plan_for, options=options
            )
            running = asyncio.create_task(service.run_forever())
            try:
                await eventually(audited, what="a finished audit")
            finally:
                service.stop()
                await asyncio.wait_for(running, 10)

    asyncio.run(go())

    with uow_factory() as uow:
        edited = uow.posts.get(channel.id, 5)
        deleted = uow.posts.get(channel.id, 10)
        runs = [run for run in uow.runs.recent(500) if run.channel_key == "@auditsvc"]
    assert edited is not None and "edited long ago" == edited.text
    assert deleted is not None and deleted.deleted_at is not None
    audits = sorted((run for run in runs if run.kind == "audit"), key=lambda run: run.started_at)
    syncs = [run for run in runs if run.kind == "sync"]
    assert len(audits) >= 6, "one slice per request"
    assert {RunStatus.OK} == {run.status for run in audits[:6]}
    first, last = audits[0].started_at, audits[5].started_at
    assert any(first < run.started_at < last for run in syncs), "syncs run between the slices"
    assert all(run.status in (RunStatus.OK, RunStatus.INTERRUPTED) for run in syncs)
