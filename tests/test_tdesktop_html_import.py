"""Importing Telegram Desktop HTML exports (messages.html, messages2.html, ...), on SQLite and PostgreSQL.

The fixtures in tests/fixtures/tdesktop_html follow the markup Telegram Desktop writes: ``current`` is a
two-page export with UTC offsets in its dates, ``old`` an older one-page export with local times, and
``current.result.json`` the JSON export of the same chat as ``current``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tgvault.domain import EntityKind, MediaKind, MediaStatus, Post
from tgvault.errors import ImportFormatError, SourceError, TimezoneRequiredError
from tgvault.services.tdesktop_import import import_tdesktop
from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.schema import upgrade
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]
FIXTURES = Path(__file__).parent / "fixtures" / "tdesktop_html"
CURRENT = FIXTURES / "current"
OLD = FIXTURES / "old"
CHANNEL_ID = 1777000001


@pytest.fixture
def store(tmp_path: Path) -> LocalMediaStore:
    return LocalMediaStore(tmp_path / "store")


def posts_of(unit_of_work: UoW, channel_id: int = CHANNEL_ID) -> dict[int, Post]:
    with unit_of_work() as uow:
        return {post.message_id: post for post in uow.posts.iter_channel(channel_id)}


def json_export(tmp_path: Path) -> Path:
    """The JSON export of the same chat, with the same files beside it."""
    folder = tmp_path / "json"
    shutil.copytree(CURRENT, folder, ignore=shutil.ignore_patterns("messages*.html"))
    shutil.copy(FIXTURES / "current.result.json", folder / "result.json")
    return folder


def test_html_export_maps_text_formatting_media_and_structure(
    unit_of_work: UoW, store: LocalMediaStore
) -> None:
    summary = import_tdesktop(CURRENT, unit_of_work, store, channel_name=str(CHANNEL_ID))
    assert (15, 15, None) == (summary.channels[0].messages, summary.posts_added, summary.timezone_assumed)
    posts = posts_of(unit_of_work)
    assert list(range(1, 16)) == sorted(posts)
    formats = posts[2]
    assert formats.text.startswith("Formats: bold italic under struck x < 1 & y\nprint('hi')\n")
    kinds = [entity.kind for entity in formats.entities]
    assert [
        EntityKind.BOLD,
        EntityKind.ITALIC,
        EntityKind.UNDERLINE,
        EntityKind.STRIKETHROUGH,
        EntityKind.CODE,
        EntityKind.PRE,
        EntityKind.URL,
        EntityKind.TEXT_LINK,
        EntityKind.MENTION,
        EntityKind.HASHTAG,
        EntityKind.CASHTAG,
        EntityKind.BOT_COMMAND,
        EntityKind.EMAIL,
        EntityKind.PHONE,
        EntityKind.SPOILER,
        EntityKind.BLOCKQUOTE,
    ] == kinds
    link = formats.entities[7]
    assert ("a site", "https://example.org/page") == (
        formats.text[link.offset : link.offset + link.length],
        link.url,
    )
    assert "Anna Editor" == formats.author
    assert datetime(2024, 1, 15, 7, 0, tzinfo=UTC) == formats.date
    assert posts[1].service is not None and ("channel_create", "HTML Test Channel") == (
        posts[1].service.type,
        posts[1].service.title,
    )
    assert posts[11].service is not None and ("pin_message", 2) == (
        posts[11].service.type,
        posts[11].service.pinned_message_id,
    )
    assert posts[8].forward is not None and "Other Channel" == posts[8].forward.from_name
    assert (2, 3) == (posts[9].reply_to_message_id, posts[12].reply_to_message_id)  # 3 is on the other page
    assert posts[10].poll is not None and ("Tea or coffee?", ("Tea", "Coffee"), 3) == (
        posts[10].poll.question,
        tuple(answer.text for answer in posts[10].poll.answers),
        posts[10].poll.total_voters,
    )
    assert posts[13].entities[0].kind is EntityKind.CUSTOM_EMOJI
    # joined messages continue the sender of the message above them
    assert "HTML Test Channel" == (posts[3].raw or {})["tdesktop_html"]["from"]


def test_html_media_present_are_stored_and_placeholders_are_pending(
    unit_of_work: UoW, store: LocalMediaStore
) -> None:
    import_tdesktop(CURRENT, unit_of_work, store, channel_name=str(CHANNEL_ID))
    posts = posts_of(unit_of_work)
    stored = {3: "photos/photo_1@15-01-2024_10-02-00.jpg", 4: "video_files/clip.mp4", 15: "files/notes.txt"}
    for message_id, name in stored.items():
        media = posts[message_id].media
        assert media is not None and MediaStatus.DOWNLOADED is media.status and media.path is not None
        assert (CURRENT / name).read_bytes() == store.path_of(media.path).read_bytes()
    assert posts[4].media is not None and (MediaKind.VIDEO, 7.0) == (
        posts[4].media.kind,
        posts[4].media.duration,
    )
    kinds = {message_id: posts[message_id].media for message_id in (5, 6, 7, 13, 14)}
    assert {
        5: MediaKind.DOCUMENT,
        6: MediaKind.VOICE,
        7: MediaKind.STICKER,
        13: MediaKind.AUDIO,
        14: MediaKind.PHOTO,
    } == {key: media.kind for key, media in kinds.items() if media is not None}
    for message_id in (5, 13, 14):
        media = posts[message_id].media
        assert media is not None and MediaStatus.PENDING is media.status and media.path is None
    assert posts[5].media is not None and "report.pdf" == posts[5].media.file_name
    assert posts[13].media is not None and ("Artist", "Song", 200.0) == (
        posts[13].media.performer,
        posts[13].media.title,
        posts[13].media.duration,
    )
    with unit_of_work() as uow:
        assert 3 == uow.media.backlog(CHANNEL_ID)[0]


def test_reimporting_an_html_export_adds_no_duplicates(unit_of_work: UoW, store: LocalMediaStore) -> None:
    import_tdesktop(CURRENT, unit_of_work, store, channel_name=str(CHANNEL_ID))
    before = posts_of(unit_of_work)
    again = import_tdesktop(CURRENT, unit_of_work, store)  # found by the archived channel's title now
    assert (0, 0) == (again.posts_added, again.posts_edited)
    after = posts_of(unit_of_work)
    assert before == after
    with unit_of_work() as uow:
        assert [] == uow.posts.revisions(CHANNEL_ID, 2)


def _comparable(post: Post) -> tuple[object, ...]:
    """What both export formats carry."""
    media = post.media
    return (
        post.date,
        post.text,
        [(e.kind, e.offset, e.length, e.url) for e in post.entities],
        post.service and (post.service.type, post.service.pinned_message_id),
        post.author,
        post.reply_to_message_id,
        post.forward and post.forward.from_name,
        media
        and (
            media.kind,
            media.status,
            media.sha256,
            media.file_name if media.kind is MediaKind.DOCUMENT else None,
        ),
        post.poll
        and (post.poll.question, [(a.text, a.voters) for a in post.poll.answers], post.poll.total_voters),
    )


def test_json_and_html_exports_of_one_chat_give_the_same_posts(
    database_url: str, store: LocalMediaStore, tmp_path: Path
) -> None:
    engines = [create_archive_engine(url) for url in (database_url, f"sqlite:///{tmp_path / 'html.db'}")]
    try:
        factories = []
        for engine in engines:
            upgrade(engine)
            session_factory = make_session_factory(engine)
            factories.append(lambda factory=session_factory: UnitOfWork(factory))
        import_tdesktop(json_export(tmp_path), factories[0], store)
        import_tdesktop(
            CURRENT, factories[1], LocalMediaStore(tmp_path / "store2"), channel_name=str(CHANNEL_ID)
        )
        from_json = posts_of(factories[0])
        from_html = posts_of(factories[1])
    finally:
        for engine in engines:
            engine.dispose()
    assert sorted(from_json) == sorted(from_html)
    services = {1, 11}  # an HTML export shows no time for a service message: its neighbour's is taken
    for message_id in from_json:
        expected, actual = _comparable(from_json[message_id]), _comparable(from_html[message_id])
        if message_id in services:
            expected, actual = expected[1:], actual[1:]
        assert expected == actual, message_id


def test_json_import_after_the_html_one_adds_no_revisions(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    import_tdesktop(CURRENT, unit_of_work, store, channel_name=str(CHANNEL_ID))
    summary = import_tdesktop(json_export(tmp_path), unit_of_work, store)
    assert (0, 0) == (summary.posts_added, summary.posts_edited)
    with unit_of_work() as uow:
        assert all(not uow.posts.revisions(CHANNEL_ID, message_id) for message_id in range(1, 16))


def test_old_html_export_needs_a_timezone_and_says_so(unit_of_work: UoW, store: LocalMediaStore) -> None:
    with pytest.raises(TimezoneRequiredError, match="--timezone"):
        import_tdesktop(OLD, unit_of_work, store, channel_name="555")
    plus_two = timezone(timedelta(hours=2))
    summary = import_tdesktop(OLD, unit_of_work, store, channel_name="555", timezone=plus_two)
    assert str(plus_two) == summary.timezone_assumed
    posts = posts_of(unit_of_work, 555)
    assert datetime(2018, 9, 3, 16, 21, tzinfo=UTC) == posts[2].date
    assert "Hello from 2018\nsecond line https://example.net" == posts[2].text
    assert [EntityKind.BOLD, EntityKind.URL] == [entity.kind for entity in posts[2].entities]
    assert (2, "joined follow-up") == (posts[4].reply_to_message_id, posts[3].text)
    assert posts[5].media is not None and MediaStatus.DOWNLOADED is posts[5].media.status
    with unit_of_work() as uow:
        channel = uow.channels.get(555)
    assert channel is not None and "Old Channel" == channel.title


def test_html_export_without_a_known_channel_asks_for_its_id(
    unit_of_work: UoW, store: LocalMediaStore
) -> None:
    with pytest.raises(SourceError, match="--channel"):
        import_tdesktop(CURRENT, unit_of_work, store)
    with pytest.raises(SourceError, match="numeric id"):
        import_tdesktop(CURRENT, unit_of_work, store, channel_name="@nobody")


def _broken_copy(tmp_path: Path, page: str, old: str, new: str) -> Path:
    folder = tmp_path / "broken"
    shutil.copytree(CURRENT, folder)
    path = folder / page
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


def test_truncated_html_page_names_the_page_and_imports_nothing(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    folder = tmp_path / "truncated"
    shutil.copytree(CURRENT, folder)
    page = folder / "messages2.html"
    content = page.read_bytes()
    page.write_bytes(content[: len(content) // 2])
    with pytest.raises(
        ImportFormatError, match=r"messages2\.html: the page is truncated.*after message id 1[2-5]"
    ):
        import_tdesktop(folder, unit_of_work, store, channel_name=str(CHANNEL_ID))
    assert {} == posts_of(unit_of_work)


def test_malformed_message_names_page_message_and_field_and_imports_nothing(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    folder = _broken_copy(
        tmp_path, "messages2.html", 'title="16.01.2024 10:06:00 UTC+03:00"', 'title="16.13.2024 10:06"'
    )
    with pytest.raises(
        ImportFormatError, match=r"messages2\.html, message #\d+ \(id 14\), date: the date '16\.13\.2024"
    ):
        import_tdesktop(folder, unit_of_work, store, channel_name=str(CHANNEL_ID))
    assert {} == posts_of(unit_of_work)
    with unit_of_work() as uow:
        assert uow.channels.get(CHANNEL_ID) is None


def test_cli_imports_an_html_export(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tgvault", *args],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

    first = run("import", "tdesktop", str(CURRENT / "messages.html"), "--channel", str(CHANNEL_ID))
    assert 0 == first.returncode, first.stderr
    assert "HTML Test Channel: 15 messages read, 15 new" in first.stdout
    again = run("import", "tdesktop", str(CURRENT))
    assert 0 == again.returncode, again.stderr
    assert "15 messages read, 0 new, 0 edited" in again.stdout
    exported = run("export", "json", str(CHANNEL_ID), "--out", "out/result.json")
    assert 0 == exported.returncode, exported.stderr
    assert "Tea or coffee?" in (tmp_path / "out" / "result.json").read_text(encoding="utf-8")
    old = run("import", "tdesktop", str(OLD), "--channel", "555")
    assert 2 == old.returncode and "--timezone" in old.stderr  # a missing option: usage, exit 2
