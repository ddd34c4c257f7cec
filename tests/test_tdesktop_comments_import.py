"""Importing a Desktop export of a channel's discussion group as the channel's comments: a round trip.

A channel with comments is archived through real Telethon code against the fake Telegram (into its own
SQLite file), the channel and its group are exported with ``tgvault export json``, and the group's export
is given what Telegram Desktop writes that tgvault's does not: the group's copy of each discussed channel
post (forwarded from the channel, sent as it) — comments already answer the copies. Both exports are then
imported into a fresh archive (SQLite and PostgreSQL), and its comments compared with the original's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.test_cli import run_cli
from tests.test_comments import archived_comments, channel_with_group, run

from tgvault.domain import ChannelKind
from tgvault.errors import SourceError
from tgvault.export.desktop_json import export_channel_json
from tgvault.services.plans import NO_MEDIA, ChannelPlan, CommentsPlan
from tgvault.services.tdesktop_import import import_tdesktop
from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.schema import upgrade
from tgvault.storage.tables import Base, CommentRow, PostRow, UserRow
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing import FakeTelegram

UoW = Callable[[], UnitOfWork]


def archived_world(tmp_path: Path) -> tuple[UoW, FakeTelegram, Any, Any]:
    """A channel of 6 posts with threaded comments by three people, archived into ``source.db``."""
    engine = create_archive_engine(f"sqlite:///{tmp_path / 'source.db'}")
    upgrade(engine)
    factory = make_session_factory(engine)
    source: UoW = lambda: UnitOfWork(factory)  # noqa: E731
    world = FakeTelegram()
    channel, discussion = channel_with_group(world, "roundtrip", 6)
    ana = world.add_user("Ana", "Lima", username="ana_l")
    bo = world.add_user("Bo", "")
    cy = world.add_user("Cyrus", "Vance", username="cy_v")
    at = world.now() - timedelta(hours=3)
    first = discussion.add_comment(5, ana, "first on five", date=at)
    answer = discussion.add_comment(5, bo, "answering her", date=at + timedelta(minutes=1), reply_to=first.id)
    discussion.add_comment(5, cy, "answering him", date=at + timedelta(minutes=2), reply_to=answer.id)
    discussion.add_comment(2, cy, "on an old post", date=at + timedelta(minutes=3))
    discussion.add_comment(6, ana, "newest post", date=at + timedelta(minutes=4))
    discussion.add_comment(2, bo, "again on two", date=at + timedelta(minutes=5), reply_to=None)
    plan = ChannelPlan("@roundtrip", media=NO_MEDIA, comments=CommentsPlan(media=NO_MEDIA))
    run(world, source, tmp_path / "source-media", lambda a: a.sync(plan))
    return source, world, channel, discussion


def desktop_group_export(tmp_path: Path, source: UoW, channel: Any, discussion: Any) -> Path:
    """The group as ``tgvault export json <group id>`` writes it, made as Desktop writes it: the group's
    copies of the discussed posts added, tgvault's own ``"tgvault"`` objects taken out."""
    store = LocalMediaStore(tmp_path / "source-media")
    with source() as uow:
        found, group = uow.channels.get(channel.id), uow.channels.get(discussion.group.id)
        assert found is not None and group is not None
        export_channel_json(uow, found, tmp_path / "channel", store)
        export_channel_json(uow, group, tmp_path / "group", store)
    path = tmp_path / "group" / "result.json"
    export = json.loads(path.read_text(encoding="utf-8"))
    for message in export["messages"]:
        del message["tgvault"]  # Desktop writes none: the copies alone tie comments to posts
    for post_id, copy_id in discussion.copies.items():
        post = channel.messages[post_id]
        stamp = int(post.date.timestamp())
        export["messages"].append(
            {
                "id": copy_id,
                "type": "message",
                "date": post.date.strftime("%Y-%m-%dT%H:%M:%S"),
                "date_unixtime": str(stamp),
                "from": channel.title,
                "from_id": f"channel{channel.id}",
                "forwarded_from": channel.title,
                "forwarded_from_id": f"channel{channel.id}",
                "text": post.message,
                "text_entities": [{"type": "plain", "text": post.message}],
            }
        )
    export["messages"].sort(key=lambda message: message["id"])
    path.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    return path


def counts(uow_factory: UoW) -> tuple[int, int, int]:
    with uow_factory() as uow:
        session = uow.posts._session  # type: ignore[attr-defined]
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(table))
            for table in (PostRow, CommentRow, UserRow)
        )


def test_a_group_export_imported_with_comments_of_gives_the_archived_comments_back(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    source, _, channel, discussion = archived_world(tmp_path)
    group_export = desktop_group_export(tmp_path, source, channel, discussion)
    media = LocalMediaStore(tmp_path / "media")
    import_tdesktop(tmp_path / "channel" / "result.json", unit_of_work, media)
    summary = import_tdesktop(group_export, unit_of_work, media, comments_of=channel.id)

    expected = archived_comments(source, channel.id)
    assert 6 == len(expected) and archived_comments(unit_of_work, channel.id) == expected
    (group_summary,) = summary.channels
    assert (6, 3) == (group_summary.comments, group_summary.copies)
    with unit_of_work() as uow, source() as original:
        group = uow.channels.get(discussion.group.id)
        assert group is not None and group.kind is ChannelKind.DISCUSSION
        assert 6 == uow.posts.count(discussion.group.id), "the comments, not the copies of channel posts"
        threads = uow.discussions.threads(channel.id, [2, 5, 6])
        before = original.discussions.threads(channel.id, [2, 5, 6])
        assert [
            [c.author.model_copy(update={"username": None}) for c in thread if c.author]
            for thread in before.values()
        ] == [[c.author for c in thread] for thread in threads.values()], "Desktop names no @username"
        assert "Ana Lima" == threads[5][0].author.name  # type: ignore[union-attr]
    before_counts = counts(unit_of_work)
    import_tdesktop(group_export, unit_of_work, media, comments_of=channel.id)
    assert before_counts == counts(unit_of_work), "a re-import adds nothing"
    assert archived_comments(unit_of_work, channel.id) == expected


def test_a_group_export_without_the_archive_knowing_is_matched_by_date_and_text_pseudonymously(
    uow_factory: UoW, tmp_path: Path
) -> None:
    source, world, channel, discussion = archived_world(tmp_path)
    group_export = desktop_group_export(tmp_path, source, channel, discussion)
    media = LocalMediaStore(tmp_path / "media")
    import_tdesktop(tmp_path / "channel" / "result.json", uow_factory, media)
    import_tdesktop(group_export, uow_factory, media, comments_of=channel.id, pseudonymous=True)

    found = archived_comments(uow_factory, channel.id)
    expected = archived_comments(source, channel.id)
    assert {k: v[:3] for k, v in found.items()} == {k: v[:3] for k, v in expected.items()}
    secrets = ["Ana", "Lima", "ana_l", "Cyrus", "Vance", "cy_v"]
    secrets += [str(user.id) for user in world.users.values() if user.first_name in ("Ana", "Bo", "Cyrus")]
    with uow_factory() as uow:
        session = uow.posts._session  # type: ignore[attr-defined]
        dump = "\n".join(
            str(tuple(row)) for table in Base.metadata.sorted_tables for row in session.execute(select(table))
        )
        authors = [c.author for thread in uow.discussions.threads(channel.id, [5]).values() for c in thread]
    leaks = [line for line in dump.splitlines() if any(secret in line for secret in secrets)]
    assert "answering her" in dump and [] == leaks
    assert all(author is not None and author.kind == "pseudonym" for author in authors)
    assert authors[0] != authors[1]
    before = counts(uow_factory)
    import_tdesktop(group_export, uow_factory, media, comments_of=channel.id, pseudonymous=True)
    assert before == counts(uow_factory) and found == archived_comments(uow_factory, channel.id)


def test_comments_of_refuses_a_channel_export_and_an_unarchived_channel(
    uow_factory: UoW, tmp_path: Path
) -> None:
    source, _, channel, discussion = archived_world(tmp_path)
    group_export = desktop_group_export(tmp_path, source, channel, discussion)
    media = LocalMediaStore(tmp_path / "media")
    with pytest.raises(SourceError, match="not an archived channel"):
        import_tdesktop(group_export, uow_factory, media, comments_of=channel.id)
    import_tdesktop(tmp_path / "channel" / "result.json", uow_factory, media)
    with pytest.raises(SourceError, match="is a channel, not a discussion group"):
        import_tdesktop(tmp_path / "channel" / "result.json", uow_factory, media, comments_of=channel.id)
    html = tmp_path / "html"
    html.mkdir()
    (html / "messages.html").write_text("<html><body></body></html>", encoding="utf-8")
    with pytest.raises(SourceError, match="from a JSON export"):
        import_tdesktop(html, uow_factory, media, comments_of=channel.id)
    assert (6, 0, 0) == counts(uow_factory), "nothing of the refused imports was kept"


def test_the_command_imports_a_group_export_with_comments_of_as_the_channels_config_says(
    tmp_path: Path,
) -> None:
    source, _, channel, discussion = archived_world(tmp_path)
    group_export = desktop_group_export(tmp_path, source, channel, discussion)
    home = tmp_path / "home"
    home.mkdir()
    (home / "tgvault.toml").write_text(
        f'[[channels]]\nname = "{channel.id}"\ncomments_authors = "pseudonymous"\n', encoding="utf-8"
    )
    assert 0 == run_cli(home, "import", "tdesktop", str(tmp_path / "channel" / "result.json")).returncode
    refused = run_cli(home, "import", "tdesktop", str(group_export), "--comments-of", "@elsewhere")
    assert 0 != refused.returncode and "@elsewhere" in refused.stderr + refused.stdout
    imported = run_cli(home, "import", "tdesktop", str(group_export), "--comments-of", "Roundtrip")
    assert 0 == imported.returncode, imported.stderr
    assert "6 comments tied to the channel's posts (3 posts discussed)" in imported.stdout
    engine = create_archive_engine(f"sqlite:///{home / 'data' / 'tgvault.db'}")
    with UnitOfWork(make_session_factory(engine)) as uow:
        threads = uow.discussions.threads(channel.id, [2, 5, 6])
    engine.dispose()
    assert [3, 2, 1] == [len(threads[post_id]) for post_id in (5, 2, 6)]
    assert {"pseudonym"} == {c.author.kind for thread in threads.values() for c in thread if c.author}


def test_a_group_export_tgvault_wrote_attaches_by_what_it_says_each_comment_is_on(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    source, _, channel, discussion = archived_world(tmp_path)
    desktop_group_export(tmp_path, source, channel, discussion)
    with source() as uow:
        group = uow.channels.get(discussion.group.id)
        assert group is not None
        export_channel_json(
            uow, group, tmp_path / "tgvault-group", LocalMediaStore(tmp_path / "source-media")
        )
    written = tmp_path / "tgvault-group" / "result.json"
    assert not any("forwarded_from" in m for m in json.loads(written.read_text(encoding="utf-8"))["messages"])
    media = LocalMediaStore(tmp_path / "media")
    import_tdesktop(tmp_path / "channel" / "result.json", unit_of_work, media)
    summary = import_tdesktop(written, unit_of_work, media, comments_of=channel.id)
    assert archived_comments(unit_of_work, channel.id) == archived_comments(source, channel.id)
    assert 6 == summary.channels[0].comments


def desktop_message(message_id: int, stamp: int, text: str, **extra: Any) -> dict[str, Any]:
    when = datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "id": message_id,
        "type": "message",
        "date": when,
        "date_unixtime": str(stamp),
        "text": text,
    } | extra


def test_a_copy_goes_to_the_post_with_its_text_nearby_and_one_far_from_every_post_to_none(
    uow_factory: UoW, tmp_path: Path
) -> None:
    start = 1_700_000_000
    channel = {
        "name": "Near",
        "type": "public_channel",
        "id": 777,
        "messages": [desktop_message(1, start, "alpha"), desktop_message(2, start + 30, "beta")],
    }
    sent = {"from": "Near", "from_id": "channel777", "forwarded_from": "Near"}
    group = {
        "name": "Near Chat",
        "type": "private_supergroup",
        "id": 778,
        "messages": [
            desktop_message(10, start, "beta", **sent),  # dated as "alpha", but the text is "beta"'s
            desktop_message(
                11, start + 40, "on beta", reply_to_message_id=10, **{"from": "Di", "from_id": "user5"}
            ),
            desktop_message(12, start + 900, "gamma", **sent),  # no post within two minutes
            desktop_message(13, start + 950, "on gamma", reply_to_message_id=12, from_id="user5"),
        ],
    }
    for name, document in (("channel.json", channel), ("group.json", group)):
        (tmp_path / name).write_text(json.dumps(document), encoding="utf-8")
    media = LocalMediaStore(tmp_path / "media")
    import_tdesktop(tmp_path / "channel.json", uow_factory, media)
    import_tdesktop(tmp_path / "group.json", uow_factory, media, comments_of=777)
    found = archived_comments(uow_factory, 777)
    assert {11: (2, "on beta", None, 5)} == found
    with uow_factory() as uow:
        assert [11, 12, 13] == uow.posts.ids(778), "the unmatched copy and its reply are kept in the group"
        assert "Di" == uow.discussions.authors([5])[5].name
