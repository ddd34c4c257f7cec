"""Bulk inserts (storage/bulk.py) on real SQLite and PostgreSQL: they store exactly what SQLAlchemy's
inserts store, NULL JSON stays SQL NULL, and a page that fails half-way leaves nothing behind."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Engine, Table, Text, func, insert, select
from sqlalchemy import cast as cast_to
from sqlalchemy.exc import DBAPIError, IntegrityError

from tgvault.domain import Channel, EntityKind, Post, Reaction, RunStatus, TextEntity
from tgvault.services.archiver import Archiver
from tgvault.services.plans import NO_MEDIA, ChannelPlan
from tgvault.sources.telegram import TelegramSource, message_to_post
from tgvault.storage.bulk import insert_rows
from tgvault.storage.database import create_archive_engine, dump_json, make_session_factory
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.repositories import SyncStateRepository, entities_json, reactions_json
from tgvault.storage.schema import upgrade
from tgvault.storage.tables import MediaItemRow, PostCounterRow, PostRevisionRow, PostRow
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing import FakeTelegram, build_realistic_channel, fake_client

UoW = Callable[[], UnitOfWork]
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
CHANNEL = Channel(id=1001, username="bulk", title="Bulk")
POSTS = cast(Table, PostRow.__table__)
COUNTERS = cast(Table, PostCounterRow.__table__)
REVISIONS = cast(Table, PostRevisionRow.__table__)
MEDIA = cast(Table, MediaItemRow.__table__)

# Text that COPY's text format must escape, and that must not turn into NULL ("\N") or lose anything.
TRICKY = "tab\there, new\nline, cr\r, backslash \\ and \\N, quote \" ' and NUL-free 🇷🇺 Ελληνικά 日本語 \u2028"
BIG = ("Длинный текст 🇷🇺🇪🇬 with emoji and ASCII; " * 40_000)[:1_000_000]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_archive_engine(database_url)
    upgrade(engine)
    with UnitOfWork(make_session_factory(engine)) as uow:
        uow.channels.upsert(CHANNEL, T0)
        uow.commit()
    yield engine
    engine.dispose()


def post_row(message_id: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "channel_id": CHANNEL.id,
        "message_id": message_id,
        "date": T0 + timedelta(minutes=message_id),
        "edit_date": None,
        "text": TRICKY,
        "entities": [
            {"kind": "bold", "offset": 0, "length": 3},
            {"kind": "text_link", "url": "https://é.xn/\\"},
        ],
        "service": None,
        "author": "Автор",
        "grouped_id": None,
        "reply_to_message_id": 7,
        "reply_to_channel_id": None,
        "forward": None,
        "views": 2**40,
        "forwards": 0,
        "replies": None,
        "reactions": [],
        "poll": None,
        "web_page": {"url": "https://example.org/", "title": TRICKY},
        "location": None,
        "contact": None,
        "pinned": True,
        "raw": {"_": "Message", "id": message_id, "big": 2**70, "bytes": {"_bytes": "AAE="}, "text": TRICKY},
        "parse_error": None,
        "deleted_at": None,
        "source": "telegram",
        "revision_count": 0,
        "first_seen_at": T0,
        "updated_at": T0,
    }
    row.update(changes)
    return row


def stored(engine: Engine, table: Table, key: str, first: int, last: int, skip: tuple[str, ...]) -> list[Any]:
    """The rows as the database holds them (every column as text; NULL as None), ordered by ``key``."""
    columns = [cast_to(column, Text) for column in table.c if column.name not in (key, *skip)]
    with engine.connect() as connection:
        rows = connection.execute(
            select(*columns).where(table.c[key].between(first, last)).order_by(table.c[key])
        ).all()
    return [tuple(row) for row in rows]


def insert_both_ways(engine: Engine, table: Table, rows: list[dict[str, Any]], key: str, offset: int) -> None:
    """``rows`` through SQLAlchemy's insert, and again (``key`` shifted by ``offset``) through insert_rows."""
    with engine.begin() as connection:
        connection.execute(insert(table), rows)
        insert_rows(connection, table, [row | {key: row[key] + offset} for row in rows])


def test_posts_are_stored_exactly_as_sqlalchemy_stores_them(engine: Engine) -> None:
    rows = [
        post_row(1),
        post_row(2, text=BIG, entities=[], raw=None, web_page=None),  # NULL JSON, a megabyte of text
        post_row(3, text="", edit_date=T0.astimezone(timezone(timedelta(hours=3))), pinned=False),
        post_row(
            4, text="\\N", service={"type": "pin_message", "pinned_message_id": 3}, raw={"nested": [None]}
        ),
        post_row(5, date=datetime(1970, 1, 1, tzinfo=UTC), deleted_at=T0 + timedelta(microseconds=1)),
    ]
    insert_both_ways(engine, POSTS, rows, "message_id", 1000)
    by_sqlalchemy = stored(engine, POSTS, "message_id", 1, 5, ())
    by_insert_rows = stored(engine, POSTS, "message_id", 1001, 1005, ())
    assert by_sqlalchemy == by_insert_rows
    with engine.connect() as connection:
        text, raw, web_page, service = connection.execute(
            select(
                POSTS.c.text, POSTS.c.raw.is_(None), POSTS.c.web_page.is_(None), POSTS.c.service.is_(None)
            ).where(POSTS.c.message_id == 1002)
        ).one()
        assert (BIG, True, True, True) == (text, raw, web_page, service)  # None in a JSON column is SQL NULL
        assert (
            "\\N" == connection.execute(select(POSTS.c.text).where(POSTS.c.message_id == 1004)).scalar_one()
        )


def test_counters_revisions_and_media_are_stored_exactly_as_sqlalchemy_stores_them(engine: Engine) -> None:
    with engine.begin() as connection:
        insert_rows(connection, POSTS, [post_row(i) for i in (1, 2, 1001, 1002)])
    counters = [
        {"channel_id": CHANNEL.id, "message_id": 1, "observed_at": T0, "views": 5, "forwards": None}
        | {"replies": 0, "reactions": [{"emoji": "👍", "count": 3}, {"paid": True, "count": 1}]},
        {"channel_id": CHANNEL.id, "message_id": 2, "observed_at": T0, "views": None, "forwards": 1}
        | {"replies": None, "reactions": []},
    ]
    insert_both_ways(engine, COUNTERS, counters, "message_id", 1000)
    assert stored(engine, COUNTERS, "message_id", 1, 2, ("id",)) == stored(
        engine, COUNTERS, "message_id", 1001, 1002, ("id",)
    )
    revisions = [
        {"channel_id": CHANNEL.id, "message_id": 1, "revision": 1, "text": TRICKY, "entities": []}
        | {"edit_date": None, "observed_at": T0, "raw": None},
        {"channel_id": CHANNEL.id, "message_id": 2, "revision": 1, "text": BIG, "entities": [{"kind": "url"}]}
        | {"edit_date": T0, "observed_at": T0, "raw": {"_": "Message", "message": BIG}},
    ]
    insert_both_ways(engine, REVISIONS, revisions, "message_id", 1000)
    assert stored(engine, REVISIONS, "message_id", 1, 2, ("id",)) == stored(
        engine, REVISIONS, "message_id", 1001, 1002, ("id",)
    )
    media = [
        {
            "channel_id": CHANNEL.id,
            "message_id": 1,
            "kind": "video",
            "telegram_id": 2**62,
            "mime_type": "video/mp4",
        }
        | {"file_name": "fichier «1».mp4", "size": 2**33, "width": 1280, "height": 720, "duration": 12.345}
        | {"performer": None, "title": TRICKY, "sticker_emoji": "🎬", "spoiler": True, "status": "pending"}
        | {"sha256": None, "path": None, "error": None, "attempts": 0, "thumbnail_sha256": None}
        | {"thumbnail_path": None, "updated_at": T0},
    ]
    insert_both_ways(engine, MEDIA, media, "message_id", 1000)
    assert stored(engine, MEDIA, "message_id", 1, 1, ()) == stored(
        engine, MEDIA, "message_id", 1001, 1001, ()
    )
    with engine.connect() as connection:  # autoincrement ids were given to the rows COPY left them to
        ids = connection.execute(select(REVISIONS.c.id)).scalars().all()
    assert 4 == len(set(ids)) and None not in ids


def test_mistakes_in_the_rows_are_refused_before_anything_is_written(engine: Engine) -> None:
    with engine.begin() as connection:
        insert_rows(connection, POSTS, [])  # nothing to do
        with pytest.raises(ValueError, match="naive datetime"):
            insert_rows(connection, POSTS, [post_row(1, date=datetime(2024, 1, 1))])
        with pytest.raises(ValueError, match="same columns"):
            second = post_row(2)
            del second["author"]
            insert_rows(connection, POSTS, [post_row(1), second])
        with pytest.raises(ValueError, match="no column"):
            insert_rows(connection, POSTS, [post_row(1, colour="blue")])
        assert 0 == connection.execute(select(func.count()).select_from(POSTS)).scalar_one()


def test_database_errors_are_sqlalchemys_and_leave_the_transaction_to_roll_back(engine: Engine) -> None:
    with engine.connect() as connection:
        insert_rows(connection, POSTS, [post_row(1)])
        with pytest.raises(IntegrityError):  # the same identity twice
            insert_rows(connection, POSTS, [post_row(2), post_row(1)])
        connection.rollback()
        with pytest.raises(DBAPIError):  # a value the driver cannot send, half-way through the rows
            insert_rows(connection, POSTS, [post_row(3), post_row(4, author=object())])
        connection.rollback()
        insert_rows(connection, POSTS, [post_row(5)])  # the connection is still usable
        connection.commit()
    with engine.connect() as connection:
        assert [5] == connection.execute(select(POSTS.c.message_id)).scalars().all()


def backfill(world: FakeTelegram, unit_of_work: UoW, media_dir: Path, plan: ChannelPlan) -> None:
    async def go() -> None:
        async with fake_client(world) as client:
            source = TelegramSource(client, request_delay=0)
            archiver = Archiver(source, unit_of_work, LocalMediaStore(media_dir), clock=world.now)
            await archiver.backfill(plan)

    asyncio.run(go())


def realistic_posts(n: int, seed: int) -> list[Post]:
    world = FakeTelegram()
    channel = build_realistic_channel(world, n, seed=seed, with_media=False)
    posts = [message_to_post(message, channel.id) for message in channel.messages.values()]
    return [post for post in posts if post is not None]


@pytest.mark.parametrize("seed", [1, 2])
def test_hand_written_entity_and_reaction_json_is_byte_identical_to_pydantics(seed: int) -> None:
    posts = realistic_posts(400, seed)
    entities = [entity for post in posts for entity in post.entities]
    reactions = [reaction for post in posts for reaction in post.reactions]
    kinds_with_details = {
        EntityKind.TEXT_LINK,
        EntityKind.PRE,
        EntityKind.BLOCKQUOTE,
        EntityKind.CUSTOM_EMOJI,
    }
    assert kinds_with_details <= {entity.kind for entity in entities}
    assert any(reaction.custom_emoji_id for reaction in reactions)  # paid ones: below
    extra = [
        TextEntity(kind=EntityKind.BLOCKQUOTE, offset=1, length=2, collapsed=True),
        TextEntity(kind=EntityKind.PRE, offset=0, length=9, language=""),
        TextEntity(kind=EntityKind.MENTION_NAME, offset=2, length=4, user_id=2**40),
        TextEntity(kind=EntityKind.BANK_CARD, offset=2, length=16),
        TextEntity(
            kind=EntityKind.UNKNOWN, offset=0, length=1, url="u", language="l", user_id=0, document_id=-1
        ),
    ]
    for post_entities in [post.entities for post in posts] + [tuple(extra)]:
        by_pydantic = [entity.model_dump(mode="json", exclude_defaults=True) for entity in post_entities]
        assert dump_json(by_pydantic) == dump_json(entities_json(post_entities))
    paid = Post(channel_id=1, message_id=1, date=T0, reactions=(Reaction(paid=True, count=0),))
    for post in [*posts, paid]:
        by_pydantic = [reaction.model_dump(mode="json", exclude_defaults=True) for reaction in post.reactions]
        assert dump_json(by_pydantic) == dump_json(reactions_json(post.reactions))


def test_the_hand_written_json_knows_every_field_of_entities_and_reactions() -> None:
    """A field added to TextEntity or Reaction must be added to entities_json / reactions_json too."""
    assert ["kind", "offset", "length", "url", "language", "user_id", "document_id", "collapsed"] == list(
        TextEntity.model_fields
    )
    assert ["emoji", "custom_emoji_id", "paid", "count"] == list(Reaction.model_fields)


def test_a_page_stored_again_adds_nothing_and_an_edit_becomes_a_revision(unit_of_work: UoW) -> None:
    posts = [post.model_copy(update={"channel_id": CHANNEL.id}) for post in realistic_posts(250, seed=3)]
    with unit_of_work() as uow:
        uow.channels.upsert(CHANNEL, T0)
        first = uow.posts.upsert_many(posts[:150], T0)
        uow.commit()
    with unit_of_work() as uow:  # a page half known, half new
        second = uow.posts.upsert_many(posts[100:], T0 + timedelta(hours=1))
        uow.commit()
    edited = posts[120].model_copy(update={"text": "edited", "entities": ()})
    with unit_of_work() as uow:
        third = uow.posts.upsert_many([edited, *posts[200:]], T0 + timedelta(hours=2))
        uow.commit()
    with unit_of_work() as uow:
        ids = uow.posts.ids(CHANNEL.id, include_deleted=True)
        revisions = uow.posts.revisions(CHANNEL.id, edited.message_id)
        current = uow.posts.get(CHANNEL.id, edited.message_id)
        again = uow.posts.get_many(CHANNEL.id, [post.message_id for post in posts[:100]])
    assert (150, 100, 50) == (first.added, second.added, second.unchanged)
    assert (0, 1, 50) == (third.added, third.edited, third.unchanged)
    assert sorted(post.message_id for post in posts) == ids
    assert [posts[120].text] == [revision.text for revision in revisions]
    assert current is not None and "edited" == current.text
    assert {post.message_id: post for post in posts[:100]} == again


def test_a_crash_in_the_middle_of_a_page_leaves_nothing_of_it_and_the_rerun_stores_each_post_once(
    unit_of_work: UoW, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The posts of a page are bulk-inserted before its checkpoint is saved; a crash between the two
    (in the same transaction) loses the whole page, and the next run stores it, every post once."""
    world = FakeTelegram()
    channel = build_realistic_channel(world, 450, seed=5, with_media=False, username="midpage")
    plan = ChannelPlan("@midpage", media=NO_MEDIA)
    save = SyncStateRepository.save
    saves = 0

    def crash_on_third_page(self: SyncStateRepository, state: Any) -> None:
        nonlocal saves
        saves += 1
        if saves == 3:
            raise SystemExit("simulated crash after the page's posts were inserted")
        save(self, state)

    monkeypatch.setattr(SyncStateRepository, "save", crash_on_third_page)
    with pytest.raises(SystemExit):
        backfill(world, unit_of_work, tmp_path / "m", plan)
    with unit_of_work() as uow:
        ids_after_crash = uow.posts.ids(channel.id, include_deleted=True)
        state = uow.sync_state.get(channel.id)
    newest_first = sorted(channel.messages, reverse=True)
    assert sorted(newest_first[:200]) == ids_after_crash  # two pages committed, nothing of the third
    assert min(ids_after_crash) == state.backfill_offset_id

    monkeypatch.setattr(SyncStateRepository, "save", save)
    backfill(world, unit_of_work, tmp_path / "m", plan)
    with unit_of_work() as uow:
        ids = uow.posts.ids(channel.id, include_deleted=True)
        runs = uow.runs.recent()
        counted = uow.counters.views_for(channel.id, ids)
    assert sorted(channel.messages) == ids
    assert all(1 == len(points) for points in counted.values())  # one first observation per post, not two
    assert [RunStatus.OK, RunStatus.FAILED] == [run.status for run in runs]
