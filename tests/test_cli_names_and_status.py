"""Channels are named the way `status` shows them, `status` says what is there (and what to run), read-only
commands create nothing, exit codes and wording are consistent. Real commands in subprocesses, real SQLite
(and PostgreSQL for an empty database), a real Desktop export from tests/fixtures.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text

from tgvault.cli import main
from tgvault.domain import Channel
from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.schema import ensure_schema
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing.webpreview import FakeWebPreview

ROOT = Path(__file__).resolve().parents[1]
EXPORT = ROOT / "tests" / "fixtures" / "tdesktop" / "uponthepathofsalaf-public-channel-2026.result.json"
EXPORT_ID = 3204528972
EXPORT_TITLE = "عَلَىٰ نَهجِ السَّلَفِ || Upon the path of the Salaf 📚"
HTML_EXPORT = ROOT / "tests" / "fixtures" / "tdesktop_html" / "current"
OLD_EXPORT = ROOT / "tests" / "fixtures" / "tdesktop" / "tg2md-private-channel-2021.result.json"


def tgvault(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "tgvault", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def add_channel(cwd: Path, channel: Channel) -> None:
    """Put a channel into the archive at ./data/tgvault.db, as a source would have."""
    engine = create_archive_engine(f"sqlite:///{cwd / 'data' / 'tgvault.db'}")
    try:
        ensure_schema(engine)
        with UnitOfWork(make_session_factory(engine)) as uow:
            uow.channels.upsert(channel, datetime(2025, 1, 1, tzinfo=UTC))
            uow.commit()
    finally:
        engine.dispose()


@pytest.fixture
def imported(tmp_path: Path) -> Path:
    """A folder whose archive holds the fixture export: a channel with an id and a title, no @username."""
    result = tgvault(tmp_path, "import", "tdesktop", str(EXPORT))
    assert 0 == result.returncode, result.stderr
    assert "74 files to fetch later" in result.stdout
    return tmp_path


# ---- status: names, backlog, piped output ----------------------------------------------------------


def test_status_shows_id_username_and_title_whole_when_piped(imported: Path) -> None:
    add_channel(imported, Channel(id=1006503122, username="durov", title="Durov's Channel"))
    result = tgvault(imported, "status")
    assert 0 == result.returncode, result.stderr
    lines = result.stdout.splitlines()
    header = next(line for line in lines if " id " in line)
    assert ["id", "username", "title", "posts", "newest post"] == [
        cell.strip() for cell in header.strip("┃ ").split("┃")
    ][:5]
    durov = next(line for line in lines if "1006503122" in line)
    assert "@durov" in durov and "Durov's Channel" in durov
    salaf = next(line for line in lines if str(EXPORT_ID) in line)
    assert unicodedata.normalize("NFC", EXPORT_TITLE) in unicodedata.normalize("NFC", salaf)
    assert "2026-07-05 09:54 UTC" in salaf, "a date cell is never cut when piped"
    assert "…" not in result.stdout


def test_status_counts_the_files_an_import_left_to_fetch(imported: Path) -> None:
    """After an import that said "74 files to fetch later", the backlog says 74 files, not 0."""
    result = tgvault(imported, "status")
    salaf = next(line for line in result.stdout.splitlines() if str(EXPORT_ID) in line)
    assert "74 files, 275,948,158 bytes" in salaf


# ---- every command accepts an id, an @username, a link or a title ----------------------------------


@pytest.mark.parametrize(
    "name",
    [
        str(EXPORT_ID),
        f"-100{EXPORT_ID}",  # after `--`, as any argument that starts with a dash
        f"https://t.me/c/{EXPORT_ID}/5",
        EXPORT_TITLE,
        unicodedata.normalize("NFD", EXPORT_TITLE.upper()),  # another case, marks in another order
    ],
)
def test_export_json_takes_any_name_status_shows(imported: Path, name: str) -> None:
    result = tgvault(imported, "export", "json", "--out", "out.json", "--", name)
    assert 0 == result.returncode, result.stderr
    assert EXPORT_ID == json.loads((imported / "out.json").read_text())["id"]


def test_reparse_takes_a_title(imported: Path) -> None:
    result = tgvault(imported, "reparse", EXPORT_TITLE)
    assert 0 == result.returncode, result.stderr
    assert "0 posts with a parse error read again" in result.stdout


def test_an_ambiguous_title_lists_the_candidates(imported: Path) -> None:
    add_channel(imported, Channel(id=1234567, username="namesake", title=EXPORT_TITLE))
    result = tgvault(imported, "export", "json", EXPORT_TITLE)
    assert 2 == result.returncode
    assert f"2 archived channels are titled {EXPORT_TITLE!r}" in result.stderr
    assert str(EXPORT_ID) in result.stderr and "1234567 @namesake" in result.stderr
    by_username = tgvault(imported, "export", "json", "@namesake", "--out", "namesake.json")
    assert 0 == by_username.returncode, by_username.stderr


def test_an_unknown_name_says_how_channels_are_named(imported: Path) -> None:
    result = tgvault(imported, "export", "json", "No Such Channel")
    assert 1 == result.returncode
    assert "channel No Such Channel is not in the archive" in result.stderr
    assert "tgvault status" in result.stderr
    assert "backfill" not in result.stderr, "a title is not something to backfill"


@pytest.mark.parametrize("name", ["@salaf_path", "https://t.me/salaf_path", f"-100{EXPORT_ID}"])
def test_import_channel_takes_an_archived_username_or_a_prefixed_id(tmp_path: Path, name: str) -> None:
    """The export knows the channel by id and title only; --channel may name it as status does."""
    add_channel(tmp_path, Channel(id=EXPORT_ID, username="salaf_path", title="renamed since"))
    result = tgvault(tmp_path, "import", "tdesktop", str(EXPORT), "--channel", name)
    assert 0 == result.returncode, result.stderr
    assert "213 messages read" in result.stdout


def test_an_html_import_takes_an_archived_title_in_any_case(tmp_path: Path) -> None:
    add_channel(tmp_path, Channel(id=1777000001, username=None, title="HTML Test Channel"))
    result = tgvault(tmp_path, "import", "tdesktop", str(HTML_EXPORT), "--channel", "html test channel")
    assert 0 == result.returncode, result.stderr
    assert "HTML Test Channel: 15 messages read, 15 new" in result.stdout


def test_an_html_import_refuses_a_title_several_channels_share(tmp_path: Path) -> None:
    for channel_id in (1777000001, 1777000002):
        add_channel(tmp_path, Channel(id=channel_id, username=None, title="HTML Test Channel"))
    result = tgvault(tmp_path, "import", "tdesktop", str(HTML_EXPORT), "--channel", "HTML Test Channel")
    assert 2 == result.returncode
    assert "2 archived channels are titled 'HTML Test Channel'" in result.stderr
    assert "1777000001" in result.stderr and "1777000002" in result.stderr


@pytest.fixture
def preview() -> Iterator[FakeWebPreview]:
    fake = FakeWebPreview()
    fake.add_saved_page((ROOT / "tests" / "fixtures" / "webpreview" / "tgvault_webtest.html").read_text())
    with fake.running():
        yield fake


@pytest.mark.slow
def test_sync_and_backfill_take_an_archived_title(preview: FakeWebPreview, tmp_path: Path) -> None:
    """A title becomes the channel's @username for the source (and for the config's match)."""
    env = {"TGVAULT_WEB__BASE_URL": preview.base_url, "TGVAULT_WEB__REQUEST_DELAY": "0"}
    first = tgvault(tmp_path, "backfill", "@tgvault_webtest", "--source", "web", "--no-media", **env)
    assert 0 == first.returncode, first.stderr
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'tgvault.db'}")
    with engine.connect() as connection:
        title = connection.execute(text("SELECT title FROM channels")).scalar_one()
    engine.dispose()
    synced = tgvault(tmp_path, "sync", title, "--source", "web", "--no-media", **env)
    assert 0 == synced.returncode, synced.stderr
    assert synced.stdout.startswith("@tgvault_webtest: 0 new")
    again = tgvault(tmp_path, "backfill", title, "--source", "web", "--no-media", **env)
    assert 0 == again.returncode, again.stderr
    assert again.stdout.startswith("@tgvault_webtest: 0 new")


# ---- read-only commands create nothing -------------------------------------------------------------

READ_ONLY = [
    ("status",),
    ("db", "status"),
    ("export", "site"),
    ("export", "json", "@durov"),
    ("reparse",),
    ("audit", "@durov"),
    ("media", "migrate", "--to", "s3://tgvault-test-bucket/media"),
]


@pytest.mark.parametrize("command", READ_ONLY, ids=[" ".join(c[:2]) for c in READ_ONLY])
def test_a_missing_archive_is_reported_and_nothing_is_created(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    mistyped = tmp_path / "archvie" / "tgvault.db"
    result = tgvault(tmp_path, *command, TGVAULT_DATABASE__URL=f"sqlite:///{mistyped}")
    assert 1 == result.returncode
    assert result.stderr.startswith(f"tgvault: error: there is no archive at {mistyped} yet")
    assert "to start one: `tgvault backfill @channel --source web`" in result.stderr
    assert [] == list(tmp_path.iterdir()), "no folder, no file"


@pytest.mark.postgres
def test_status_on_an_empty_postgresql_database_creates_no_tables(tmp_path: Path, postgres_url: str) -> None:
    result = tgvault(tmp_path, "status", TGVAULT_DATABASE__URL=postgres_url)
    assert 1 == result.returncode
    assert "holds no archive yet" in result.stderr
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        assert [] == inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_with_the_example_config_status_says_what_to_run(tmp_path: Path) -> None:
    """The example config copied, nothing archived: the configured channels and the command that archives
    them, not "Add channels to the config"."""
    shutil.copy(ROOT / "config" / "tgvault.example.toml", tmp_path / "tgvault.toml")
    missing = tgvault(tmp_path, "status")
    assert 1 == missing.returncode
    assert (
        "`tgvault sync` archives the 1 channel configured in tgvault.toml (`tgvault run` keeps it archived)"
        in missing.stderr
    )
    assert not (tmp_path / "data").exists()
    assert 0 == tgvault(tmp_path, "db", "upgrade").returncode
    empty = tgvault(tmp_path, "status")
    assert 0 == empty.returncode, empty.stderr
    assert "Add channels to the config" not in empty.stdout
    assert "Nothing archived yet. To start: `tgvault sync` archives the 1 channel configured" in empty.stdout
    assert "@telegram" in empty.stdout


# ---- exit codes, plurals, help ---------------------------------------------------------------------


@pytest.mark.parametrize("url", ["mysql://user@host/db", "notaurl", "oracle://host/db"])
def test_every_unusable_database_url_is_a_configuration_error(tmp_path: Path, url: str) -> None:
    result = tgvault(tmp_path, "status", TGVAULT_DATABASE__URL=url)
    assert 2 == result.returncode
    assert result.stderr.startswith("tgvault: error: TGVAULT_DATABASE__URL (database.url): ")


def test_an_html_import_without_the_channel_it_needs_is_a_usage_error(tmp_path: Path) -> None:
    result = tgvault(tmp_path, "import", "tdesktop", str(HTML_EXPORT))
    assert 2 == result.returncode
    assert "--channel" in result.stderr


def test_a_bad_date_is_named_before_a_time_zone_is_asked_for(tmp_path: Path) -> None:
    document = json.loads(OLD_EXPORT.read_text())
    document["messages"][1]["date"] = "2021-13-45T99:00:00"
    broken = tmp_path / "result.json"
    broken.write_text(json.dumps(document))
    result = tgvault(tmp_path, "import", "tdesktop", str(broken))
    assert 1 == result.returncode
    assert "field 'date': not a date and time: '2021-13-45T99:00:00'" in result.stderr
    assert "--timezone" not in result.stderr


def test_one_channel_is_not_one_channels(imported: Path) -> None:
    result = tgvault(imported, "export", "site")
    assert 0 == result.returncode, result.stderr
    assert ": 1 channel, 213 posts;" in result.stdout


def test_the_top_level_help_shows_whole_descriptions_and_the_main_examples() -> None:
    result = CliRunner().invoke(main, ["--help"], terminal_width=80)
    assert 0 == result.exit_code
    commands = result.output.split("Commands:")[1].split("Examples:")[0]
    assert "..." not in commands
    for name, command in main.commands.items():
        first_sentence = " ".join((command.help or "").split("\n\n")[0].split()).split(". ")[0].rstrip(".")
        assert first_sentence in " ".join(commands.split()), name
    examples = result.output.split("Examples:")[1]
    for example in ("tgvault demo", "tgvault import tdesktop", "tgvault export site", "tgvault export json"):
        assert example in examples
    assert max(len(line) for line in result.output.splitlines()) <= 80


def test_a_config_with_two_problems_still_lists_one_per_line(tmp_path: Path) -> None:
    """Messages are filtered for the terminal, but a configuration error keeps its line per problem."""
    (tmp_path / "tgvault.toml").write_text(
        "[database]\nurl = 'mysql://u@h/db'\n[site]\ntimezone = 'Mars/X'\n"
    )
    result = tgvault(tmp_path, "status")
    assert 2 == result.returncode
    lines = result.stderr.strip().splitlines()
    assert 2 == len(lines)
    assert "database.url" in lines[0] and "site.timezone" in lines[1]


# ---- status: a channel's discussion group shown with the channel --------------------------------------


def test_status_shows_a_channels_comments_with_it_not_its_group_as_a_channel(tmp_path: Path) -> None:
    import asyncio
    from datetime import timedelta

    from telethon.tl import functions

    from tgvault.services.archiver import Archiver
    from tgvault.services.plans import NO_MEDIA, ChannelPlan, CommentsPlan
    from tgvault.sources.telegram import TelegramSource
    from tgvault.storage.media_store import LocalMediaStore
    from tgvault.testing import FakeTelegram, add_post, fake_client, photo_media

    world = FakeTelegram()
    channel = world.add_channel("talkative", "Talkative News")
    for number in range(3):
        add_post(channel, f"post {number}", date=world.now() - timedelta(days=1), views=1, forwards=0)
    discussion = world.add_discussion_group(channel, "Talkative Readers")
    ana = world.add_user("Ana", "Lima")
    at = world.now() - timedelta(hours=1)
    for number in range(4):
        discussion.add_comment(2, ana, f"comment {number}", date=at)
    gone = discussion.add_comment(3, ana, "soon deleted", date=at)
    discussion.add_comment(3, ana, "a photo", date=at, media=photo_media(discussion.group, size=9_000))
    (tmp_path / "data").mkdir()
    engine = create_archive_engine(f"sqlite:///{tmp_path / 'data' / 'tgvault.db'}")
    ensure_schema(engine)
    factory = make_session_factory(engine)
    plan = ChannelPlan("@talkative", media=NO_MEDIA, comments=CommentsPlan())

    async def sync() -> None:
        async with fake_client(world) as client:
            archiver = Archiver(
                TelegramSource(client, request_delay=0),
                lambda: UnitOfWork(factory),
                LocalMediaStore(tmp_path / "media"),
                clock=world.now,
            )
            await archiver.sync(plan)

    # a comment's file left to fetch: every attempt of this run fails
    world.fail_next(functions.upload.GetFileRequest, "FILE_PARTS_INVALID", 400, times=20)
    asyncio.run(sync())
    world.delete_messages(discussion.group, [gone.id])
    asyncio.run(sync())
    engine.dispose()
    result = tgvault(tmp_path, "status")
    assert 0 == result.returncode, result.stderr
    lines = result.stdout.splitlines()
    assert not [line for line in lines if str(discussion.group.id) in line], "no line of its own"
    row = next(line for line in lines if str(channel.id) in line)
    assert "5 in Talkative Readers" in row, "comments not deleted, and the group they are in"
    assert "1 file, 9,000 bytes" in row, "the comments' files count in the channel's backlog"
