"""Exporting the archive as Telegram Desktop's result.json, on real SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tgvault.domain import (
    Channel,
    Contact,
    EntityKind,
    Forward,
    Location,
    MediaItem,
    MediaKind,
    MediaStatus,
    Poll,
    PollAnswer,
    Post,
    Reaction,
    ServiceAction,
    TextEntity,
)
from tgvault.export.desktop_json import (
    FILE_NOT_INCLUDED,
    ExportSummary,
    desktop_text,
    export_channel_json,
    is_file_placeholder,
)
from tgvault.services.tdesktop_import import import_tdesktop
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.text import utf16_len

UoW = Callable[[], UnitOfWork]
FIXTURES = Path(__file__).parent / "fixtures" / "tdesktop"
CHANNEL = Channel(id=1001, username="chan", title="Chan")
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export(
    uow_factory: UoW, store: LocalMediaStore, out: Path, channel: Channel = CHANNEL, **options: Any
) -> tuple[ExportSummary, dict[str, Any]]:
    with uow_factory() as uow:
        summary = export_channel_json(uow, channel, out, store, **options)
    return summary, json.loads(summary.path.read_text(encoding="utf-8"))


def archive(uow_factory: UoW, *batches: list[Post]) -> None:
    """Store posts as a Telethon sync would: one upsert per batch (a later batch may edit a post)."""
    with uow_factory() as uow:
        uow.channels.upsert(CHANNEL)
        uow.commit()
    for posts in batches:
        with uow_factory() as uow:
            uow.posts.upsert_many(posts)
            uow.commit()


def make_post(message_id: int, text: str = "", **changes: Any) -> Post:
    values: dict[str, Any] = {
        "channel_id": CHANNEL.id,
        "message_id": message_id,
        "date": T0 + timedelta(minutes=message_id),
        "text": text,
        "raw": {"_": "Message", "id": message_id},
    }
    values.update(changes)
    return Post.model_validate(values)


@pytest.fixture
def store(tmp_path: Path) -> LocalMediaStore:
    return LocalMediaStore(tmp_path / "store")


# --------------------------------------------------------------------------------------------- round trip


def file_values(message: dict[str, Any]) -> list[str]:
    values = [message.get(key) for key in ("photo", "file", "thumbnail")]
    parts = message.get("text_entities")
    if parts is None and isinstance(message.get("text"), list):
        parts = [part for part in message["text"] if isinstance(part, dict)]
    values += [part.get("document_id") for part in parts or ()]
    return [v for v in values if isinstance(v, str) and not is_file_placeholder(v)]


def with_files(folder: Path, name: str) -> dict[str, Any]:
    """The fixture export in ``folder``, with distinct small files at every path it names."""
    folder.mkdir(parents=True)
    content = (FIXTURES / name).read_text(encoding="utf-8")
    (folder / "result.json").write_text(content, encoding="utf-8")
    document: dict[str, Any] = json.loads(content)
    for message in document["messages"]:
        for value in file_values(message):
            (folder / value).parent.mkdir(parents=True, exist_ok=True)
            (folder / value).write_bytes(f"bytes of {value}".encode() * 5)
    return document


def by_content(message: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The message with every file path replaced by the sha256 of the file it leads to."""

    def content(value: Any) -> Any:
        if not isinstance(value, str) or is_file_placeholder(value):
            return value
        target = (folder / value).resolve()
        assert target.is_relative_to(folder.resolve()) and target.is_file(), value
        return "sha256:" + sha256_of(target)

    found = {key: value for key, value in message.items() if key != "tgvault"}
    for key in ("photo", "file", "thumbnail"):
        if key in found:
            found[key] = content(found[key])
    for key in ("text", "text_entities"):
        if isinstance(found.get(key), list):
            found[key] = [
                part | {"document_id": content(part["document_id"])}
                if isinstance(part, dict) and "document_id" in part
                else part
                for part in found[key]
            ]
    return found


@pytest.mark.parametrize(
    ("name", "zone", "unix_times"),
    [
        ("tg2md-private-channel-2021.result.json", timezone(timedelta(hours=3)), False),
        ("uponthepathofsalaf-public-channel-2026.result.json", timezone(timedelta(hours=1)), True),
    ],
)
def test_round_trip_of_a_desktop_export(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path, name: str, zone: timezone, unix_times: bool
) -> None:
    """Import, then export: every field of every message comes back, files by content.

    Exported in the zone the original was written in, even the local ``date``/``edited`` strings match.
    The older format has no ``text_entities`` or Unix times: those are the only fields added.
    """
    source = tmp_path / "source"
    original = with_files(source, name)
    import_tdesktop(source, unit_of_work, store, timezone=None if unix_times else zone)
    with unit_of_work() as uow:
        channel = uow.channels.get(original["id"])
    assert channel is not None
    summary, exported = export(unit_of_work, store, tmp_path / "out" / "result.json", channel, timezone=zone)
    assert (original["name"], original["id"]) == (exported["name"], exported["id"])
    assert len(original["messages"]) == summary.messages == len(exported["messages"])
    for before, after in zip(original["messages"], exported["messages"], strict=True):
        expected = by_content(before, source)
        actual = by_content(after, summary.path.parent)
        if unix_times:
            assert expected == actual
        else:
            assert expected == {key: actual[key] for key in expected}
            assert {"text_entities", "date_unixtime"} <= set(actual) - set(expected)


def test_files_in_the_export_resolve_to_the_archived_files(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """Media paths are relative to the JSON file and lead to files with the archive's sha256."""
    photo = store.put_bytes(b"a photo" * 100, "image/jpeg")
    video = store.put_bytes(b"a video" * 100, "video/mp4")
    gone = store.put_bytes(b"deleted later", "application/pdf")
    damaged = store.put_bytes(b"damaged later", "application/pdf")
    archive(
        unit_of_work,
        [
            make_post(1, media=downloaded(MediaKind.PHOTO, photo.sha256, photo.path, photo.size, width=10)),
            make_post(
                2, media=downloaded(MediaKind.VIDEO, video.sha256, video.path, video.size, duration=3.7)
            ),
            make_post(3, media=MediaItem(kind=MediaKind.DOCUMENT, size=50, file_name="later.pdf")),
            make_post(4, media=downloaded(MediaKind.DOCUMENT, gone.sha256, gone.path, gone.size)),
            make_post(5, media=downloaded(MediaKind.DOCUMENT, damaged.sha256, damaged.path, damaged.size)),
            make_post(6, media=downloaded(MediaKind.PHOTO, photo.sha256, photo.path, photo.size)),
        ],
    )
    store.path_of(gone.path).unlink()
    store.path_of(damaged.path).write_bytes(b"DAMAGED LATER")
    summary, exported = export(unit_of_work, store, tmp_path / "out")
    messages = {m["id"]: m for m in exported["messages"]}
    folder = tmp_path / "out"
    assert folder / "result.json" == summary.path
    assert (2, 1, 2) == (summary.media_files, summary.media_not_included, summary.media_missing)
    assert messages[1]["photo"].startswith("media/")
    assert photo.sha256 == sha256_of(folder / messages[1]["photo"]) == messages[1]["tgvault"]["media_sha256"]
    assert messages[1]["photo"] == messages[6]["photo"]
    assert video.sha256 == sha256_of(folder / messages[2]["file"])
    assert ("video_file", 3, "video/mp4") == (
        messages[2]["media_type"],
        messages[2]["duration_seconds"],
        messages[2]["mime_type"],
    )
    assert (FILE_NOT_INCLUDED, 50, "later.pdf") == (
        messages[3]["file"],
        messages[3]["file_size"],
        messages[3]["file_name"],
    )
    assert FILE_NOT_INCLUDED == messages[4]["file"] == messages[5]["file"]
    assert sorted(p.name for p in (folder / "media").rglob("*") if p.is_file()) == sorted(
        [Path(photo.path).name, Path(video.path).name]
    )


def downloaded(kind: MediaKind, sha256: str, path: str, size: int, **extra: Any) -> MediaItem:
    mime = {MediaKind.PHOTO: "image/jpeg", MediaKind.VIDEO: "video/mp4"}.get(kind, "application/pdf")
    return MediaItem(
        kind=kind, status=MediaStatus.DOWNLOADED, sha256=sha256, path=path, size=size, mime_type=mime, **extra
    )


# --------------------------------------------------------------------------------------------- text


def build(*pieces: str | tuple[EntityKind, str, dict[str, Any]]) -> tuple[str, tuple[TextEntity, ...]]:
    """Text and entities (UTF-16 offsets) from plain strings and (kind, text, extras) pieces."""
    text, entities, offset = "", [], 0
    for piece in pieces:
        if isinstance(piece, str):
            chunk = piece
        else:
            kind, chunk, extra = piece
            entities.append(TextEntity(kind=kind, offset=offset, length=utf16_len(chunk), **extra))
        text += chunk
        offset += utf16_len(chunk)
    return text, tuple(entities)


EVERY_KIND: list[tuple[EntityKind, str, dict[str, Any], dict[str, Any]]] = [
    (EntityKind.BOLD, "bold 🇷🇺", {}, {"type": "bold"}),
    (EntityKind.ITALIC, "italic", {}, {"type": "italic"}),
    (EntityKind.UNDERLINE, "under", {}, {"type": "underline"}),
    (EntityKind.STRIKETHROUGH, "strike", {}, {"type": "strikethrough"}),
    (EntityKind.SPOILER, "spoiler 🇺🇦", {}, {"type": "spoiler"}),
    (EntityKind.CODE, "x = 1", {}, {"type": "code"}),
    (EntityKind.PRE, "print()", {"language": "python"}, {"type": "pre", "language": "python"}),
    (EntityKind.PRE, "plain pre", {}, {"type": "pre", "language": ""}),
    (
        EntityKind.TEXT_LINK,
        "site",
        {"url": "https://e.org/"},
        {"type": "text_link", "href": "https://e.org/"},
    ),
    (EntityKind.URL, "https://t.me/x", {}, {"type": "link"}),
    (EntityKind.MENTION, "@someone", {}, {"type": "mention"}),
    (EntityKind.MENTION_NAME, "Someone", {"user_id": 777}, {"type": "mention_name", "user_id": 777}),
    (EntityKind.HASHTAG, "#tag", {}, {"type": "hashtag"}),
    (EntityKind.CASHTAG, "$USD", {}, {"type": "cashtag"}),
    (EntityKind.EMAIL, "a@b.c", {}, {"type": "email"}),
    (EntityKind.PHONE, "+10000000", {}, {"type": "phone"}),
    (EntityKind.BOT_COMMAND, "/start", {}, {"type": "bot_command"}),
    (EntityKind.BANK_CARD, "4111111111111111", {}, {"type": "bank_card"}),
    (EntityKind.BLOCKQUOTE, "quoted", {"collapsed": True}, {"type": "blockquote", "collapsed": True}),
    (EntityKind.CUSTOM_EMOJI, "🇯🇵", {"document_id": 5368}, {"type": "custom_emoji", "document_id": "5368"}),
    (EntityKind.UNKNOWN, "odd", {}, {"type": "unknown"}),
]


def test_every_entity_kind_of_a_telethon_post(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """Telethon's entities become Desktop's typed parts, with UTF-16 offsets converted across emoji flags."""
    pieces: list[str | tuple[EntityKind, str, dict[str, Any]]] = ["🇷🇺 start "]
    expected: list[Any] = ["🇷🇺 start "]
    for kind, chunk, extra, desktop in EVERY_KIND:
        pieces += [(kind, chunk, extra), " · "]
        expected += [{"type": desktop["type"], "text": chunk} | desktop, " · "]
    text, entities = build(*pieces, "end")
    expected[-1] = " · end"
    archive(unit_of_work, [make_post(1, text, entities=entities)])
    _, exported = export(unit_of_work, store, tmp_path / "out")
    message = exported["messages"][0]
    merged: list[Any] = []
    for part in expected:  # adjacent plain strings are one part
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    assert merged == message["text"]
    assert [{"type": "plain", "text": p} if isinstance(p, str) else p for p in merged] == message[
        "text_entities"
    ]
    assert text == "".join(part["text"] for part in message["text_entities"])


def test_nested_entities_keep_the_outer_one_as_desktop_does() -> None:
    """Desktop's format cannot nest: an entity starting inside an earlier one is left out."""
    text, entities = build((EntityKind.TEXT_LINK, "linked words", {"url": "https://e.org/"}), " after")
    entities += (TextEntity(kind=EntityKind.BOLD, offset=0, length=6),)
    mixed, parts = desktop_text(text, entities)
    assert [{"type": "text_link", "text": "linked words", "href": "https://e.org/"}, " after"] == mixed
    assert 2 == len(parts)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("plain only 🇷🇺", "plain only 🇷🇺"),
        ("hello", [{"type": "bold", "text": "hello"}]),
        ("привет", [{"type": "bold", "text": "привет"}, ""]),
        ("🇷🇺", [{"type": "bold", "text": "🇷🇺"}, ""]),
    ],
)
def test_text_forms_match_desktop(text: str, expected: Any) -> None:
    """A lone plain part is a string; non-ASCII text ending in an entity gets Desktop's trailing ``""``."""
    entities = (
        ()
        if not text or "plain" in text
        else (TextEntity(kind=EntityKind.BOLD, offset=0, length=utf16_len(text)),)
    )
    mixed, _ = desktop_text(text, entities)
    assert expected == mixed


# --------------------------------------------------------------------------------------------- history


def test_edited_and_deleted_posts_carry_their_history(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    first, second = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    bold = (TextEntity(kind=EntityKind.BOLD, offset=0, length=2),)
    archive(
        unit_of_work,
        [
            make_post(1, "one 🇷🇺", entities=bold),
            make_post(2, "to be deleted", views=7, forwards=2, grouped_id=9),
        ],
        [make_post(1, "two", edit_date=first, raw={"_": "Message", "v": 2})],
        [make_post(1, "three", edit_date=second, entities=bold, raw={"_": "Message", "v": 3})],
    )
    deleted_at = T0 + timedelta(days=1)
    with unit_of_work() as uow:
        uow.posts.mark_deleted(CHANNEL.id, [2], deleted_at)
        uow.commit()
    summary, exported = export(unit_of_work, store, tmp_path / "out")
    edited, deleted = exported["messages"]
    assert ("2024-03-01T14:00:00", str(int(second.timestamp()))) == (
        edited["edited"],
        edited["edited_unixtime"],
    )
    assert [{"type": "bold", "text": "th"}, "ree"] == edited["text"]
    assert [
        {"text": [{"type": "bold", "text": "on"}, "e 🇷🇺"], "edited_unixtime": None},
        {"text": "two", "edited_unixtime": str(int(first.timestamp()))},
    ] == [{k: r[k] for k in ("text", "edited_unixtime")} for r in edited["tgvault"]["revisions"]]
    assert [{"type": "plain", "text": "two"}] == edited["tgvault"]["revisions"][1]["text_entities"]
    assert {
        "views": 7,
        "forwards": 2,
        "grouped_id": 9,
        "deleted": True,
        "deleted_at": "2024-03-02T12:00:00+00:00",
        "revisions": [],
        "media_sha256": None,
    } == deleted["tgvault"]
    assert (False, None) == (edited["tgvault"]["deleted"], edited["tgvault"]["deleted_at"])
    assert ("UTC", {"timezone": "UTC"}) == (summary.timezone, exported["tgvault"])
    assert ("2024-03-01T12:01:00", str(int((T0 + timedelta(minutes=1)).timestamp()))) == (
        edited["date"],
        edited["date_unixtime"],
    )


# --------------------------------------------------------------------------------------------- shapes


def test_attachments_reactions_forwards_and_services_have_desktops_shape(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    source = Channel(id=2002, title="Source Channel")
    with unit_of_work() as uow:
        uow.channels.upsert(source)
        uow.commit()
    poll = Poll(
        question="Which?",
        answers=(PollAnswer(text="A", voters=3, chosen=True), PollAnswer(text="B", voters=1)),
        total_voters=4,
        closed=True,
    )
    reactions = (
        Reaction(emoji="👍", count=5),
        Reaction(custom_emoji_id=42, count=2),
        Reaction(paid=True, count=1),
    )
    archive(
        unit_of_work,
        [
            make_post(1, service=ServiceAction(type="channel_create", title="Chan")),
            make_post(2, "poll", poll=poll, reactions=reactions, author="Editor"),
            make_post(
                3, "fwd", forward=Forward(from_channel_id=2002, from_message_id=5), reply_to_message_id=2
            ),
            make_post(4, "hidden", forward=Forward(from_name="Anonymous")),
            make_post(5, location=Location(latitude=1.5, longitude=2.5, title="Cafe", address="Street 1")),
            make_post(6, contact=Contact(first_name="Ann", phone_number="+100")),
            make_post(
                7, service=ServiceAction(type="pin_message", pinned_message_id=2), reply_to_message_id=2
            ),
            make_post(8, service=ServiceAction(type="something_new")),
            make_post(9, media=MediaItem(kind=MediaKind.STICKER, sticker_emoji="😀", width=512, height=512)),
            make_post(10, media=MediaItem(kind=MediaKind.VOICE, duration=2.0, mime_type="audio/ogg")),
            make_post(11, media=MediaItem(kind=MediaKind.AUDIO, performer="P", title="T", duration=1.0)),
            make_post(12, media=MediaItem(kind=MediaKind.ROUND_VIDEO)),
            make_post(13, media=MediaItem(kind=MediaKind.ANIMATION)),
        ],
    )
    _, exported = export(unit_of_work, store, tmp_path / "out")
    assert ("Chan", "public_channel", 1001) == (exported["name"], exported["type"], exported["id"])
    m = {message["id"]: message for message in exported["messages"]}
    assert {
        "actor": "Chan",
        "actor_id": "channel1001",
        "action": "create_channel",
        "title": "Chan",
    }.items() <= m[1].items()
    assert ("message", "Chan", "channel1001", "Editor") == (
        m[2]["type"],
        m[2]["from"],
        m[2]["from_id"],
        m[2]["author"],
    )
    assert {
        "question": "Which?",
        "closed": True,
        "total_voters": 4,
        "answers": [{"text": "A", "voters": 3, "chosen": True}, {"text": "B", "voters": 1, "chosen": False}],
    } == m[2]["poll"]
    assert [
        {"type": "emoji", "count": 5, "emoji": "👍"},
        {"type": "custom_emoji", "count": 2, "document_id": "42"},
        {"type": "paid", "count": 1},
    ] == m[2]["reactions"]
    assert ("Source Channel", "channel2002", 2) == (
        m[3]["forwarded_from"],
        m[3]["forwarded_from_id"],
        m[3]["reply_to_message_id"],
    )
    assert ("Anonymous", False) == (m[4]["forwarded_from"], "forwarded_from_id" in m[4])
    assert ("Cafe", "Street 1", {"latitude": 1.5, "longitude": 2.5}) == (
        m[5]["place_name"],
        m[5]["address"],
        m[5]["location_information"],
    )
    assert {"first_name": "Ann", "last_name": "", "phone_number": "+100"} == m[6]["contact_information"]
    assert ("service", "pin_message", 2, False) == (
        m[7]["type"],
        m[7]["action"],
        m[7]["message_id"],
        "reply_to_message_id" in m[7],
    )
    assert "something_new" == m[8]["action"]
    assert ("sticker", "😀", FILE_NOT_INCLUDED) == (m[9]["media_type"], m[9]["sticker_emoji"], m[9]["file"])
    assert ("voice_message", 2) == (m[10]["media_type"], m[10]["duration_seconds"])
    assert ("audio_file", "P", "T") == (m[11]["media_type"], m[11]["performer"], m[11]["title"])
    assert ["video_message", "animation"] == [m[12]["media_type"], m[13]["media_type"]]
    assert all(message["text"] == "" and message["text_entities"] == [] for message in (m[1], m[5], m[9]))


def test_output_is_deterministic_and_independent_of_batch_size(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """Streaming in small batches writes the same bytes as one batch, and a second export is identical."""
    stored = store.put_bytes(b"photo bytes", "image/jpeg")
    media = downloaded(MediaKind.PHOTO, stored.sha256, stored.path, stored.size)
    posts = [make_post(i, f"post {i} 🇷🇺", media=media if i % 3 == 0 else None) for i in range(1, 12)]
    archive(unit_of_work, posts, [make_post(5, "post 5 edited", edit_date=T0 + timedelta(days=2))])
    first, _ = export(unit_of_work, store, tmp_path / "a" / "result.json")
    content = first.path.read_bytes()
    second, _ = export(unit_of_work, store, tmp_path / "a" / "result.json")
    small, _ = export(unit_of_work, store, tmp_path / "b" / "result.json", batch_size=2)
    assert content == second.path.read_bytes() == small.path.read_bytes()
    assert 11 == first.messages == second.messages == small.messages
    assert [] == [p.name for p in (tmp_path / "a").iterdir() if p.name.endswith(".part")]


def test_empty_channel_is_valid_json(unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path) -> None:
    archive(unit_of_work)
    summary, exported = export(unit_of_work, store, tmp_path / "out.json")
    assert (0, []) == (summary.messages, exported["messages"])
