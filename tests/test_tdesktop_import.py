"""Importing Telegram Desktop JSON exports into the archive, on real SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tgvault.domain import (
    Channel,
    EntityKind,
    MediaItem,
    MediaKind,
    MediaStatus,
    Post,
    SourceKind,
    TextEntity,
)
from tgvault.errors import ImportFormatError, SourceError, TimezoneRequiredError
from tgvault.export.desktop_json import FILE_NOT_INCLUDED
from tgvault.services.tdesktop_import import import_tdesktop
from tgvault.services.tdesktop_import.file_copies import MISSING
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]
FIXTURES = Path(__file__).parent / "fixtures" / "tdesktop"
OLD = "tg2md-private-channel-2021.result.json"
CURRENT = "uponthepathofsalaf-public-channel-2026.result.json"
OLD_ID = 1292077344
CURRENT_ID = 3204528972
PLUS_THREE = timezone(timedelta(hours=3))
CHANNEL_ID = 42


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return document


def file_values(message: dict[str, Any]) -> list[str]:
    """Every path a Desktop message refers to (attachment, thumbnail, custom emoji)."""
    values = [message.get(key) for key in ("photo", "file", "thumbnail", "contact_vcard")]
    parts = message.get("text_entities")
    if parts is None and isinstance(message.get("text"), list):
        parts = [part for part in message["text"] if isinstance(part, dict)]
    values += [part.get("document_id") for part in parts or ()]
    return [v for v in values if isinstance(v, str) and not v.startswith("(File ")]


def write_export(folder: Path, document: dict[str, Any], *, with_files: bool = True) -> Path:
    """A Desktop export folder: result.json and (small, distinct) files for every path it names."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "result.json").write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    if with_files:
        for message in document.get("messages", ()):
            for value in file_values(message):
                target = folder / value
                if target.resolve().is_relative_to(folder.resolve()):
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(f"content of {value}".encode() * 3)
    return folder


def chat(messages: list[dict[str, Any]], name: str = "Chan", kind: str = "public_channel") -> dict[str, Any]:
    return {"name": name, "type": kind, "id": CHANNEL_ID, "messages": messages}


def message(
    message_id: int, text: str = "hello", *, unix: int = 1_700_000_000, **extra: Any
) -> dict[str, Any]:
    """A message in the current Desktop format."""
    moment = unix + message_id * 60
    values: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "date": datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "date_unixtime": str(moment),
        "from": "Chan",
        "from_id": f"channel{CHANNEL_ID}",
        "text": text,
        "text_entities": [{"type": "plain", "text": text}] if text else [],
    }
    values.update(extra)
    return values


def store_files(store: LocalMediaStore) -> list[Path]:
    return sorted(p for p in store.root.rglob("*") if p.is_file() and ".tmp" not in p.parts)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> LocalMediaStore:
    return LocalMediaStore(tmp_path / "store")


# --------------------------------------------------------------------------------------------- formats


def test_current_format_maps_every_kind_of_message(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """The 2026 export: services, forwards, replies, stickers, files, edits, custom emoji all map."""
    folder = write_export(tmp_path / "export", load(CURRENT))
    summary = import_tdesktop(folder, unit_of_work, store)
    assert None is summary.timezone_assumed
    assert (213, 213) == (summary.channels[0].messages, summary.posts_added)
    with unit_of_work() as uow:
        channel = uow.channels.get(CURRENT_ID)
        posts = {p.message_id: p for p in uow.posts.iter_channel(CURRENT_ID)}
    assert channel is not None and channel.title.startswith("عَلَىٰ")
    created, photo_changed, pinned = posts[1], posts[2], posts[5]
    assert ("channel_create", load(CURRENT)["messages"][0]["title"]) == (
        created.service and created.service.type,
        created.service and created.service.title,
    )
    assert photo_changed.service is not None and "chat_edit_photo" == photo_changed.service.type
    assert photo_changed.media is not None
    assert (MediaKind.PHOTO, MediaStatus.PENDING, 176179) == (
        photo_changed.media.kind,
        photo_changed.media.status,
        photo_changed.media.size,
    )
    assert pinned.service is not None and 4 == pinned.service.pinned_message_id
    assert datetime(2025, 11, 3, 20, 10, 28, tzinfo=UTC) == created.date
    assert datetime.fromtimestamp(1775829460, UTC) == posts[4].edit_date
    forwarded = posts[60].forward
    assert forwarded is not None
    assert ("The Scourge Of Photography", 3397140320) == (forwarded.from_name, forwarded.from_channel_id)
    assert 175 == posts[177].reply_to_message_id
    assert "أم مصعب" == posts[78].author
    sticker = posts[155].media
    assert sticker is not None
    assert (MediaKind.STICKER, "💠", 4868, "sticker.webp", MediaStatus.PENDING) == (
        sticker.kind,
        sticker.sticker_emoji,
        sticker.size,
        sticker.file_name,
        sticker.status,
    )
    audio = posts[255].media
    assert audio is not None
    assert (MediaKind.AUDIO, 180.0, "audio/mpeg") == (audio.kind, audio.duration, audio.mime_type)
    assert audio.performer == "الشيخ الفاضل أبو عبد الرحمن رشاد الضالعي"
    assert [EntityKind.CUSTOM_EMOJI] * 5 == [e.kind for e in posts[4].entities]
    assert {"id", "type", "text_entities"} <= set((posts[4].raw or {})["tdesktop"])
    # The custom emoji files the export holds went into the store and are listed in raw.
    files = (posts[4].raw or {})["tdesktop_files"]
    assert "stickers/sticker.webp" in files
    assert store.exists(files["stickers/sticker.webp"])


def test_old_format_needs_a_timezone(unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path) -> None:
    """Local times without an offset are refused without --timezone, and nothing is written."""
    folder = write_export(tmp_path / "export", load(OLD))
    with pytest.raises(TimezoneRequiredError, match="--timezone"):
        import_tdesktop(folder, unit_of_work, store)
    with unit_of_work() as uow:
        assert uow.channels.get(OLD_ID) is None


def test_old_format_reads_mixed_text_and_local_times(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """The 2021 export: mixed text lists become entities; local times are read in the given zone."""
    folder = write_export(tmp_path / "export", load(OLD))
    summary = import_tdesktop(folder / "result.json", unit_of_work, store, timezone=PLUS_THREE)
    assert "UTC+03:00" == summary.timezone_assumed
    assert 19 == summary.posts_added
    with unit_of_work() as uow:
        channel = uow.channels.get(OLD_ID)
        styled = uow.posts.get(OLD_ID, 5)
        links = uow.posts.get(OLD_ID, 14)
        voice = uow.posts.get(OLD_ID, 7)
        photo = uow.posts.get(OLD_ID, 3)
    assert channel is not None and "test" == channel.title
    assert styled is not None and links is not None and voice is not None and photo is not None
    assert datetime(2020, 11, 12, 9, 58, 18, tzinfo=UTC) == styled.date
    assert datetime(2020, 11, 12, 10, 3, tzinfo=UTC) == styled.edit_date
    assert [
        (EntityKind.ITALIC, 0, 8),
        (EntityKind.BOLD, 8, 6),
        (EntityKind.UNDERLINE, 14, 11),
        (EntityKind.STRIKETHROUGH, 25, 15),
        (EntityKind.PRE, 40, 9),
    ] == [(e.kind, e.offset, e.length) for e in styled.entities]
    assert [
        ("http://example.com/", EntityKind.TEXT_LINK),
        (None, EntityKind.URL),
        (None, EntityKind.EMAIL),
    ] == [(e.url, e.kind) for e in links.entities]
    assert voice.media is not None and photo.media is not None
    assert (MediaKind.VOICE, MediaStatus.DOWNLOADED, 2.0) == (
        voice.media.kind,
        voice.media.status,
        voice.media.duration,
    )
    source = folder / "photos/photo_1@12-11-2020_12-57-31.jpg"
    assert sha256_of(source) == photo.media.sha256
    assert photo.media.path is not None
    assert sha256_of(source) == sha256_of(store.path_of(photo.media.path))


def test_emoji_flag_offsets_are_utf16_units(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """🇷🇺 is 4 UTF-16 units: entities after flags start where Telegram says they do."""
    parts = [
        "🇷🇺🇺🇦 ",
        {"type": "bold", "text": "жирный 🇯🇵"},
        " и ",
        {"type": "text_link", "text": "𝔸 link", "href": "https://example.com/"},
        {"type": "plain", "text": "!"},
    ]
    entities = [p if isinstance(p, dict) else {"type": "plain", "text": p} for p in parts]
    text = "🇷🇺🇺🇦 жирный 🇯🇵 и 𝔸 link!"
    folder = write_export(
        tmp_path / "export", chat([message(1, text) | {"text": parts, "text_entities": entities}])
    )
    import_tdesktop(folder, unit_of_work, store)
    with unit_of_work() as uow:
        post = uow.posts.get(CHANNEL_ID, 1)
    assert post is not None and text == post.text
    assert [(EntityKind.BOLD, 9, 11), (EntityKind.TEXT_LINK, 23, 7)] == [
        (e.kind, e.offset, e.length) for e in post.entities
    ]


# --------------------------------------------------------------------------------------------- idempotence


def test_reimporting_the_same_export_adds_nothing(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    folder = write_export(tmp_path / "export", load(OLD))
    first = import_tdesktop(folder, unit_of_work, store, timezone=PLUS_THREE)
    files_after_first = store_files(store)
    second = import_tdesktop(folder, unit_of_work, store, timezone=PLUS_THREE)
    assert (19, 0) == (first.posts_added, first.posts_edited)
    assert (0, 0, 19) == (second.posts_added, second.posts_edited, second.channels[0].unchanged)
    assert files_after_first == store_files(store)
    with unit_of_work() as uow:
        assert 19 == uow.posts.count(OLD_ID)
        assert {} == uow.posts.revisions_for(OLD_ID, uow.posts.ids(OLD_ID))


def test_overlapping_later_export_with_an_edit_adds_a_revision(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """Two exports sharing posts: only new posts are added, and an edited post keeps its old text."""
    document = load(CURRENT)
    earlier = document | {"messages": copy.deepcopy(document["messages"][:120])}
    later = document | {"messages": copy.deepcopy(document["messages"][80:])}
    edited = later["messages"][100 - 80]
    edited_id = edited["id"]
    old_text = "".join(part["text"] for part in edited["text_entities"])
    edited["text"] = "Rewritten"
    edited["text_entities"] = [{"type": "plain", "text": "Rewritten"}]
    edited["edited"] = "2026-07-01T10:00:00"
    edited["edited_unixtime"] = "1782896400"
    import_tdesktop(write_export(tmp_path / "earlier", earlier), unit_of_work, store)
    summary = import_tdesktop(write_export(tmp_path / "later", later), unit_of_work, store)
    assert (213 - 120, 1) == (summary.posts_added, summary.posts_edited)
    with unit_of_work() as uow:
        assert 213 == uow.posts.count(CURRENT_ID)
        post = uow.posts.get(CURRENT_ID, edited_id)
        revisions = uow.posts.revisions(CURRENT_ID, edited_id)
    assert post is not None and "Rewritten" == post.text
    assert [old_text] == [r.text for r in revisions]
    assert datetime.fromtimestamp(1782896400, UTC) == post.edit_date
    # Importing the earlier export again does not bring the older text back.
    again = import_tdesktop(tmp_path / "earlier", unit_of_work, store)
    assert (0, 0, 1) == (again.posts_added, again.posts_edited, again.channels[0].older)
    with unit_of_work() as uow:
        post = uow.posts.get(CURRENT_ID, edited_id)
        assert post is not None and "Rewritten" == post.text
        assert 1 == len(uow.posts.revisions(CURRENT_ID, edited_id))


def test_a_file_arriving_in_a_later_export_is_not_an_edit(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """A placeholder in one export and the file in the next: the post becomes downloaded, no revision."""
    first = chat([message(1, "pic", photo=FILE_NOT_INCLUDED, photo_file_size=15, width=2, height=2)])
    second = chat([message(1, "pic", photo="photos/p.jpg", photo_file_size=15, width=2, height=2)])
    import_tdesktop(write_export(tmp_path / "a", first), unit_of_work, store)
    folder = tmp_path / "b"
    write_export(folder, second, with_files=False)
    (folder / "photos").mkdir()
    (folder / "photos" / "p.jpg").write_bytes(b"fifteen bytes!!")
    summary = import_tdesktop(folder, unit_of_work, store)
    assert (0, 0, 1) == (summary.posts_added, summary.posts_edited, summary.channels[0].unchanged)
    with unit_of_work() as uow:
        post = uow.posts.get(CHANNEL_ID, 1)
        assert [] == uow.posts.revisions(CHANNEL_ID, 1)
    assert post is not None and post.media is not None
    assert (MediaStatus.DOWNLOADED, hashlib.sha256(b"fifteen bytes!!").hexdigest()) == (
        post.media.status,
        post.media.sha256,
    )


# --------------------------------------------------------------------------------------------- media


def test_placeholders_are_pending_media_with_their_size(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    document = chat(
        [
            message(
                1, "", file=FILE_NOT_INCLUDED, file_name="a.pdf", file_size=1234, mime_type="application/pdf"
            ),
            message(2, "", file="files/missing.pdf", file_name="missing.pdf", mime_type="application/pdf"),
        ]
    )
    summary = import_tdesktop(write_export(tmp_path / "e", document, with_files=False), unit_of_work, store)
    with unit_of_work() as uow:
        placeholder = uow.posts.get(CHANNEL_ID, 1)
        missing = uow.posts.get(CHANNEL_ID, 2)
        pending = uow.media.pending(CHANNEL_ID, max_attempts=3)
    assert placeholder is not None and placeholder.media is not None
    assert missing is not None and missing.media is not None
    assert (MediaKind.DOCUMENT, MediaStatus.PENDING, 1234, "a.pdf") == (
        placeholder.media.kind,
        placeholder.media.status,
        placeholder.media.size,
        placeholder.media.file_name,
    )
    assert MediaStatus.PENDING == missing.media.status
    assert [2, 1] == [item.message_id for item in pending]
    assert 2 == summary.channels[0].media_pending
    assert {MISSING: 1} == dict(summary.warnings)


def test_file_paths_leaving_the_export_are_refused(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """``../`` escapes, absolute paths and symlinks out of the export are never read."""
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"top secret")
    folder = tmp_path / "deep" / "export"
    document = chat(
        [
            message(1, "", file="../../etc/passwd", file_name="passwd"),
            message(2, "", file="../../secret.txt"),
            message(3, "", file=str(secret)),
            message(4, "", file="files/link.txt"),
            message(5, "", photo="photos/../../../secret.txt"),
        ]
    )
    write_export(folder, document, with_files=False)
    (folder / "files").mkdir()
    (folder / "files" / "link.txt").symlink_to(secret)
    summary = import_tdesktop(folder, unit_of_work, store)
    assert 5 == summary.channels[0].paths_refused
    assert 5 == summary.channels[0].media_pending
    assert 0 == summary.files_stored
    assert [] == store_files(store)
    with unit_of_work() as uow:
        post = uow.posts.get(CHANNEL_ID, 1)
    assert post is not None and post.media is not None
    assert (MediaStatus.PENDING, None, "passwd") == (post.media.status, post.media.path, post.media.file_name)


def test_same_file_in_two_posts_is_stored_once(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    folder = write_export(tmp_path / "export", load(OLD))
    import_tdesktop(folder, unit_of_work, store, timezone=PLUS_THREE)
    with unit_of_work() as uow:
        paths = {uow.posts.get(OLD_ID, i).media.path for i in (23, 24, 25)}  # type: ignore[union-attr]
    assert 1 == len(paths)
    assert 7 == len(store_files(store))


# --------------------------------------------------------------------------------------------- errors


def test_truncated_file_names_the_place_and_imports_nothing(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    folder = write_export(tmp_path / "export", load(CURRENT))
    content = (folder / "result.json").read_text(encoding="utf-8")
    cut = content.index('"id": 103,')
    (folder / "result.json").write_text(content[: cut + 200], encoding="utf-8")
    with pytest.raises(
        ImportFormatError, match=r"truncated.*line \d+ column \d+, in message #\d+ \(id 103\)"
    ) as caught:
        import_tdesktop(folder, unit_of_work, store)
    assert str(folder / "result.json") == caught.value.location
    with unit_of_work() as uow:
        assert uow.channels.get(CURRENT_ID) is None
        assert 0 == uow.posts.count(CURRENT_ID)
    assert [] == store_files(store)


def test_malformed_message_names_index_and_field_and_imports_nothing(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """A bad field in message #3 stops the import before any earlier message or file is written."""
    messages = [message(1), message(2, photo="photos/a.jpg"), message(3), message(4)]
    messages[3]["file_size"] = "big"
    messages[3]["file"] = FILE_NOT_INCLUDED
    folder = write_export(tmp_path / "export", chat(messages))
    with pytest.raises(
        ImportFormatError, match=r"message #3 \(id 4\), field 'file_size': expected an integer"
    ):
        import_tdesktop(folder, unit_of_work, store)
    with unit_of_work() as uow:
        assert uow.channels.get(CHANNEL_ID) is None
    assert [] == store_files(store)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"id": "seven"}, r"message #0, field 'id': expected an integer, got a string"),
        ({"type": "note"}, r"message #0 \(id 1\), field 'type'"),
        ({"date_unixtime": "soon"}, r"field 'date_unixtime': not a Unix time"),
        ({"text_entities": [{"type": "bold"}]}, r"field 'text_entities\[0\]', field 'text': missing"),
        ({"poll": {"answers": []}}, r"field 'poll', field 'question': missing"),
    ],
)
def test_malformed_fields_are_named(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path, change: dict[str, Any], expected: str
) -> None:
    folder = write_export(tmp_path / "export", chat([message(1) | change]))
    with pytest.raises(ImportFormatError, match=expected):
        import_tdesktop(folder, unit_of_work, store)


def test_a_personal_chat_export_is_refused(unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path) -> None:
    folder = write_export(tmp_path / "e", chat([message(1)], kind="personal_chat"))
    with pytest.raises(ImportFormatError, match="only channels can be imported"):
        import_tdesktop(folder, unit_of_work, store)


# --------------------------------------------------------------------------------------------- full export


def full_account(tmp_path: Path) -> Path:
    first = chat([message(1, "one")], name="First")
    second = chat([message(1, "uno"), message(2, "dos")], name="Second") | {"id": 77}
    private = chat([message(1, "hi")], name="Friend", kind="personal_chat") | {"id": 5}
    document = {
        "about": "full export",
        "personal_information": {"first_name": "Me"},
        "chats": {"about": "chats", "list": [first, private]},
        "left_chats": {"about": "left", "list": [second]},
    }
    return write_export(tmp_path / "full", document)


def test_full_account_export_imports_every_channel(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    summary = import_tdesktop(full_account(tmp_path), unit_of_work, store)
    assert [("First", 1), ("Second", 2)] == [(c.title, c.added) for c in summary.channels]
    with unit_of_work() as uow:
        assert {CHANNEL_ID, 77} == {c.id for c in uow.channels.list()}


def test_full_account_export_imports_the_named_channel(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    folder = full_account(tmp_path)
    summary = import_tdesktop(folder, unit_of_work, store, channel_name="Second")
    assert [77] == [c.channel_id for c in summary.channels]
    with pytest.raises(SourceError, match=r"no channel named 'Nope'.*'First', 'Second'"):
        import_tdesktop(folder, unit_of_work, store, channel_name="Nope")


# --------------------------------------------------------------------------------------------- merge rule


def telethon_post(message_id: int, text: str, **changes: Any) -> Post:
    values: dict[str, Any] = {
        "channel_id": CHANNEL_ID,
        "message_id": message_id,
        "date": datetime.fromtimestamp(1_700_000_000 + message_id * 60, UTC),
        "text": text,
        "entities": (TextEntity(kind=EntityKind.BOLD, offset=0, length=2),),
        "views": 99,
        "raw": {"_": "Message", "id": message_id, "message": text},
    }
    values.update(changes)
    return Post.model_validate(values)


def archive_telethon(unit_of_work: UoW, posts: list[Post]) -> None:
    with unit_of_work() as uow:
        uow.channels.upsert(Channel(id=CHANNEL_ID, username="chan", title="Chan", description="About"))
        uow.posts.upsert_many(posts)
        uow.commit()


def test_telethon_posts_keep_their_richer_data(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """Same text: the Telethon post (raw, views, entities) and the channel (username) stay as they were."""
    archive_telethon(unit_of_work, [telethon_post(1, "hello")])
    summary = import_tdesktop(write_export(tmp_path / "e", chat([message(1, "hello")])), unit_of_work, store)
    assert (0, 0, 1) == (summary.posts_added, summary.posts_edited, summary.channels[0].kept)
    with unit_of_work() as uow:
        post = uow.posts.get(CHANNEL_ID, 1)
        channel = uow.channels.get(CHANNEL_ID)
    assert post is not None and channel is not None
    assert ("Message", 99, 1) == ((post.raw or {}).get("_"), post.views, len(post.entities))
    assert ("chan", "About") == (channel.username, channel.description)


def test_newer_export_text_over_a_telethon_post_becomes_current_and_keeps_a_revision(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    archive_telethon(unit_of_work, [telethon_post(1, "first words"), telethon_post(2, "stays")])
    newer = message(1, "second words", edited="x", edited_unixtime=str(1_800_000_000))
    older = message(2, "an older text", edited="x", edited_unixtime=str(1_600_000_000))
    summary = import_tdesktop(write_export(tmp_path / "e", chat([newer, older])), unit_of_work, store)
    assert (1, 1) == (summary.posts_edited, summary.channels[0].older)
    with unit_of_work() as uow:
        changed = uow.posts.get(CHANNEL_ID, 1)
        kept = uow.posts.get(CHANNEL_ID, 2)
        revisions = uow.posts.revisions(CHANNEL_ID, 1)
    assert changed is not None and kept is not None
    assert ("second words", 99) == (changed.text, changed.views)
    assert datetime.fromtimestamp(1_800_000_000, UTC) == changed.edit_date
    assert [("first words", "Message")] == [(r.text, (r.raw or {}).get("_")) for r in revisions]
    assert "stays" == kept.text


def test_export_fills_in_a_file_telethon_could_not_fetch(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    pending = MediaItem(kind=MediaKind.DOCUMENT, telegram_id=555, size=21, mime_type="application/pdf")
    archive_telethon(unit_of_work, [telethon_post(1, "doc", media=pending)])
    folder = tmp_path / "e"
    write_export(folder, chat([message(1, "doc", file="files/a.pdf", file_size=21)]), with_files=False)
    (folder / "files").mkdir()
    (folder / "files" / "a.pdf").write_bytes(b"%PDF twenty-one bytes")
    import_tdesktop(folder, unit_of_work, store)
    with unit_of_work() as uow:
        post = uow.posts.get(CHANNEL_ID, 1)
    assert post is not None and post.media is not None
    assert (MediaStatus.DOWNLOADED, 555, "Message") == (
        post.media.status,
        post.media.telegram_id,
        (post.raw or {}).get("_"),
    )
    assert post.media.path is not None
    assert sha256_of(folder / "files" / "a.pdf") == sha256_of(store.path_of(post.media.path))


def test_deleted_posts_are_not_revived(unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path) -> None:
    archive_telethon(unit_of_work, [telethon_post(1, "gone")])
    deleted_at = datetime(2024, 1, 1, tzinfo=UTC)
    with unit_of_work() as uow:
        uow.posts.mark_deleted(CHANNEL_ID, [1], deleted_at)
        uow.commit()
    newer = message(1, "gone, edited", edited="x", edited_unixtime=str(1_800_000_000))
    import_tdesktop(write_export(tmp_path / "e", chat([newer])), unit_of_work, store)
    with unit_of_work() as uow:
        post = uow.posts.get(CHANNEL_ID, 1)
    assert post is not None and (deleted_at, "gone") == (post.deleted_at, post.text)


def test_source_folder_may_be_moved_after_import(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """Stored files are copies: removing the export afterwards loses nothing."""
    folder = write_export(tmp_path / "export", load(OLD))
    import_tdesktop(folder, unit_of_work, store, timezone=PLUS_THREE)
    shutil.rmtree(folder)
    with unit_of_work() as uow:
        for post in uow.posts.iter_channel(OLD_ID):
            if post.media is not None:
                assert post.media.path is not None and store.exists(post.media.path)


def test_export_over_a_web_post_wins_and_keeps_the_web_views(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    web = telethon_post(1, "hello", entities=(), views=1200, author="Anna", source=SourceKind.WEB)
    archive_telethon(unit_of_work, [web])
    bold = {"type": "bold", "text": "hello"}
    summary = import_tdesktop(
        write_export(tmp_path / "e", chat([message(1, "hello", text_entities=[bold])])), unit_of_work, store
    )
    assert (0, 0) == (summary.posts_added, summary.posts_edited)
    with unit_of_work() as uow:
        post = uow.posts.get(CHANNEL_ID, 1)
        revisions = uow.posts.revisions(CHANNEL_ID, 1)
    assert post is not None
    assert (SourceKind.TDESKTOP, 1200, "Anna", EntityKind.BOLD) == (
        post.source,
        post.views,
        post.author,
        post.entities[0].kind,
    )
    assert [] == revisions
