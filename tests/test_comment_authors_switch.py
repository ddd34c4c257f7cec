"""Switching ``comments_authors`` from "keep" to "pseudonymous": comments archived with their authors are
rewritten on the next run (database rows, earlier states, raw TL, the site, exports), a killed rewrite
resumes, and the ledger records the rewrite as new entries so ``tgvault verify`` still passes. Real
Telethon against the fake Telegram, real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from telethon.tl import types

from tgvault.export.desktop_json import export_channel_json
from tgvault.export.site import SiteOptions, build_site
from tgvault.services import comment_authors
from tgvault.services.archiver import Archiver
from tgvault.services.comment_authors import pseudonymize_archived
from tgvault.services.plans import NO_MEDIA, ChannelPlan, CommentsPlan, RefreshWindow
from tgvault.services.verify import verify_archive
from tgvault.sources.telegram import TelegramSource
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.tables import Base, CommentRow, UserRow
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing import FakeTelegram, add_post, fake_client, photo_media
from tgvault.testing.content.sample_files import aurora_picture

UoW = Callable[[], UnitOfWork]
SECRETS_OF = ("Zebediah", "Quartermaine", "zeb_quarter", "Yolanda", "Marchetti", "yoyo_march")


class Switch:
    """A channel whose comments were archived under "keep": Zebediah and Yolanda, a photo, a mention of
    Zebediah's user id, a comment edited (an earlier state with its raw TL kept)."""

    def __init__(self, unit_of_work: UoW, root: Path) -> None:
        self.world = world = FakeTelegram()
        self.uow, self.root = unit_of_work, root
        self.store = LocalMediaStore(root / "media")
        channel = world.add_channel("switching")
        for number in range(3):
            add_post(
                channel, f"post {number}", date=world.now() - timedelta(days=3 - number), views=1, forwards=0
            )
        self.channel, self.discussion = channel, world.add_discussion_group(channel)
        self.zed = world.add_user("Zebediah", "Quartermaine", username="zeb_quarter")
        self.yo = world.add_user("Yolanda", "Marchetti", username="yoyo_march")
        at = world.now() - timedelta(hours=2)
        photo = photo_media(self.discussion.group, w=640, h=400, data=aurora_picture(7))
        first = self.discussion.add_comment(3, self.zed, "I was there", date=at, media=photo)
        mention = [types.MessageEntityMentionName(offset=0, length=3, user_id=self.zed.id)]
        self.reply = self.discussion.add_comment(
            3, self.yo, "you? really", date=at, reply_to=first.id, entities=mention
        )
        self.discussion.add_comment(2, self.zed, "again me", date=at)
        self.secrets = [*SECRETS_OF, str(self.zed.id), str(self.yo.id)]

    def plan(self, pseudonymous: bool) -> ChannelPlan:
        window = RefreshWindow(newest_posts=10, days=7)
        return ChannelPlan(
            "@switching", media=NO_MEDIA, refresh=window, comments=CommentsPlan(pseudonymous=pseudonymous)
        )

    def sync(self, pseudonymous: bool, unit_of_work: UoW | None = None) -> None:
        self.world.advance(60)  # time passes between runs (the site tells changes by it)

        async def go() -> None:
            async with fake_client(self.world) as client:
                source = TelegramSource(client, request_delay=0)
                archiver = Archiver(source, unit_of_work or self.uow, self.store, clock=self.world.now)
                await archiver.sync(self.plan(pseudonymous))

        asyncio.run(go())

    def leaks(self) -> list[tuple[str, str]]:
        """Every (place, secret) where a name, @username or user id is found."""
        with self.uow() as uow:
            session = uow.posts._session
            dump = [
                str(tuple(row))
                for table in Base.metadata.sorted_tables
                for row in session.execute(select(table))
            ]
            for channel_id, folder in ((self.channel.id, "export"), (self.discussion.group.id, "group")):
                found = uow.channels.get(channel_id)
                assert found is not None
                export_channel_json(uow, found, self.root / folder, self.store)
        build_site(self.uow, self.store, SiteOptions(out_dir=self.root / "site"))
        places = {
            "database": "\n".join(dump),
            "media names": "\n".join(str(p) for p in (self.root / "media").rglob("*")),
            "site": "\n".join(  # every file: pages, search shards, feeds, the manifest
                p.read_bytes().decode("utf-8", "replace")
                for p in (self.root / "site").rglob("*")
                if p.is_file()
            ),
            "export": "\n".join(
                (self.root / f / "result.json").read_text(encoding="utf-8") for f in ("export", "group")
            ),
        }
        return sorted({(place, s) for place, text in places.items() for s in self.secrets if s in text})


def _entries(unit_of_work: UoW, channel_id: int) -> list[Any]:
    with unit_of_work() as uow:
        return list(uow.ledger.entries(channel_id))


def test_switching_to_pseudonymous_rewrites_what_was_kept(unit_of_work: UoW, tmp_path: Path) -> None:
    case = Switch(unit_of_work, tmp_path)
    case.sync(pseudonymous=False)
    case.world.advance(60)
    case.world.edit_message(case.discussion.group, case.reply.id, "you? really? (edited)")
    case.sync(pseudonymous=False)  # the mention's earlier state is a revision, with its raw TL
    kept = case.leaks()
    assert {"database", "site", "export"} <= {place for place, _ in kept}, "the names were kept: a real test"
    group_id = case.discussion.group.id
    ledger_before = _entries(unit_of_work, group_id)
    case.sync(pseudonymous=True)
    assert [] == case.leaks()
    with unit_of_work() as uow:
        threads = uow.discussions.threads(case.channel.id, [2, 3])
        session = uow.posts._session
        users = list(session.scalars(select(UserRow.kind)))
        earlier = uow.posts.revisions(case.discussion.group.id, case.reply.id)
    authors = [comment.author for thread in threads.values() for comment in thread]
    assert all(author is not None and author.kind == "pseudonym" for author in authors)
    assert threads[3][0].author == threads[2][0].author, "the same person is the same pseudonym"
    mentioned = earlier[0].entities[0].user_id  # the mention, in the state before the edit
    assert threads[3][0].author is not None and mentioned == threads[3][0].author.id
    assert ["pseudonym", "pseudonym"] == users, "the people's own rows are gone"
    assert "I was there" in (tmp_path / "site" / "c" / str(case.channel.id) / "posts" / "3.html").read_text(
        encoding="utf-8"
    )
    ledger_after = _entries(unit_of_work, group_id)
    assert ledger_before == ledger_after[: len(ledger_before)], "old entries are never edited"
    added = ledger_after[len(ledger_before) :]
    assert [("revision", case.reply.id)] * 2 == [(e.kind, e.message_id) for e in added], (
        "the mention's comment: its earlier state and its current one, recorded again"
    )
    report = verify_archive(unit_of_work, media_store=case.store)
    assert report.ok, [finding.describe() for finding in report.findings]

    case.sync(pseudonymous=True)  # done: nothing rewritten again
    assert ledger_after == _entries(unit_of_work, group_id)


class Killed(Exception):
    """A run stopped between two transactions (what kill -9 leaves: the last commit and nothing after)."""


def test_a_killed_rewrite_resumes_and_switching_back_and_forth_is_stable(
    unit_of_work: UoW, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = Switch(unit_of_work, tmp_path)
    case.sync(pseudonymous=False)
    monkeypatch.setattr(comment_authors, "PAGE", 1)  # a transaction a comment
    commits = 0

    def dying() -> UnitOfWork:
        uow = unit_of_work()
        real = uow.commit

        def commit() -> None:
            nonlocal commits
            commits += 1
            if commits == 3:  # the key, the first comment: then killed
                raise Killed
            real()

        uow.commit = commit  # type: ignore[method-assign]
        return uow

    with pytest.raises(Killed):
        pseudonymize_archived(dying, case.channel.id, case.world.now)
    with unit_of_work() as uow:
        session = uow.posts._session
        half = [author_id or 0 for author_id in session.scalars(select(CommentRow.author_id))]
    assert 1 == sum(author_id >= 1 << 55 for author_id in half), "one comment rewritten, two not yet"
    case.sync(pseudonymous=True)  # the next run finishes it
    assert [] == case.leaks()
    with unit_of_work() as uow:
        first = {
            c.link.message_id: c.link.author_id
            for t in uow.discussions.threads(case.channel.id, [2, 3]).values()
            for c in t
        }
    report = verify_archive(unit_of_work, media_store=case.store)
    assert report.ok, [finding.describe() for finding in report.findings]

    case.world.advance(60)
    case.discussion.add_comment(2, case.yo, "back under keep", date=case.world.now())
    case.sync(pseudonymous=False)
    assert any(place == "database" for place, _ in case.leaks()), "keep: Yolanda's new comment names her"
    case.sync(pseudonymous=True)
    assert [] == case.leaks()
    with unit_of_work() as uow:
        again = {
            c.link.message_id: c.link.author_id
            for t in uow.discussions.threads(case.channel.id, [2, 3]).values()
            for c in t
        }
    assert first.items() <= again.items(), "pseudonyms made twice stay the same"
    assert verify_archive(unit_of_work, media_store=case.store).ok
    assert json.loads((tmp_path / "group" / "result.json").read_text(encoding="utf-8"))["messages"]


def test_comments_imported_from_a_desktop_export_under_keep_are_rewritten_too(
    uow_factory: UoW, tmp_path: Path
) -> None:
    from tests.test_tdesktop_comments_import import archived_world, desktop_group_export

    from tgvault.services.tdesktop_import import import_tdesktop

    source, world, channel, discussion = archived_world(tmp_path)
    group_export = desktop_group_export(tmp_path, source, channel, discussion)
    media = LocalMediaStore(tmp_path / "media")
    import_tdesktop(tmp_path / "channel" / "result.json", uow_factory, media)
    import_tdesktop(group_export, uow_factory, media, comments_of=channel.id)
    secrets = ["Ana", "Lima", "Cyrus", "Vance"]
    secrets += [str(user.id) for user in world.users.values() if user.first_name in ("Ana", "Bo", "Cyrus")]

    def dump() -> str:
        with uow_factory() as uow:
            session = uow.posts._session
            tables = Base.metadata.sorted_tables
            return "\n".join(str(tuple(row)) for table in tables for row in session.execute(select(table)))

    assert any(secret in dump() for secret in secrets), "kept: a real test"
    assert 0 < pseudonymize_archived(uow_factory, channel.id, world.now)
    text = dump()
    assert "answering her" in text and [] == [secret for secret in secrets if secret in text]
    assert verify_archive(uow_factory, media_store=media).ok
