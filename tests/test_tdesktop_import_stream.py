"""Streaming imports of Desktop exports: large exports all or nothing, re-imports, full-account exports,
documents nested too deep; on real SQLite and PostgreSQL. (Memory is measured by the bench, not here.)"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import ijson
import pytest

from tgvault.errors import ImportFormatError, StorageError
from tgvault.services.tdesktop_import import import_tdesktop
from tgvault.services.tdesktop_import.staged_files import StagedFiles
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]
CHANNEL_ID = 4242
LARGE = 20_000


def message(number: int, text: str, **extra: Any) -> dict[str, Any]:
    moment = 1_600_000_000 + number * 60
    return {
        "id": number,
        "type": "message",
        "date": "2020-09-13T12:26:40",
        "date_unixtime": str(moment),
        "from": "Big",
        "from_id": f"channel{CHANNEL_ID}",
        "text": text,
        "text_entities": [{"type": "plain", "text": text}],
        **extra,
    }


def messages(count: int, text: str, photo_every: int = 1000) -> Iterator[dict[str, Any]]:
    for number in range(1, count + 1):
        if number % photo_every == 0:
            yield message(number, f"{text} {number}", photo=f"photos/{number}.jpg", width=10, height=10)
        else:
            yield message(number, f"{text} {number}")


def write_chat(folder: Path, items: Iterator[dict[str, Any]], name: str = "Big") -> Path:
    """A chat export written message by message, with a small distinct file for every photo it names."""
    (folder / "photos").mkdir(parents=True, exist_ok=True)
    with (folder / "result.json").open("w", encoding="utf-8") as out:
        out.write(json.dumps({"name": name, "type": "public_channel", "id": CHANNEL_ID})[:-1])
        out.write(', "messages": [\n')
        for position, item in enumerate(items):
            if isinstance(item.get("photo"), str):
                (folder / item["photo"]).write_bytes(f"photo of {item['id']} in {folder.name}".encode())
            out.write(("" if position == 0 else ",\n") + json.dumps(item))
        out.write("\n]}\n")
    return folder


def stored_files(store: LocalMediaStore) -> list[Path]:
    return sorted(path for path in store.root.rglob("*") if path.is_file())


def archived(unit_of_work: UoW) -> tuple[int, dict[int, str]]:
    with unit_of_work() as uow:
        posts = uow.posts.get_many(CHANNEL_ID, [1, 500, 1000, LARGE - 10])
        return uow.posts.count(CHANNEL_ID), {key: post.text for key, post in posts.items()}


@pytest.fixture
def store(tmp_path: Path) -> LocalMediaStore:
    return LocalMediaStore(tmp_path / "store")


def test_a_malformed_message_near_the_end_of_a_large_export_leaves_the_archive_as_it_was(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """Message 19,991 of 20,000 has a bad field: nothing of the import is kept, in the database or the
    media store (whose files were copied as their messages were met)."""
    import_tdesktop(write_chat(tmp_path / "first", messages(1_000, "first")), unit_of_work, store)
    before, files_before = archived(unit_of_work), stored_files(store)
    assert (1_000, {1: "first 1", 500: "first 500", 1000: "first 1000"}) == before
    assert 1 == len(files_before)

    def broken() -> Iterator[dict[str, Any]]:
        for item in messages(LARGE, "second", photo_every=100):
            if item["id"] == LARGE - 9:
                item["date_unixtime"] = "soon"
            yield item

    folder = write_chat(tmp_path / "second", broken())
    with pytest.raises(
        ImportFormatError, match=r"message #19990 \(id 19991\), field 'date_unixtime'"
    ) as caught:
        import_tdesktop(folder, unit_of_work, store)
    assert str(folder / "result.json") in str(caught.value)

    assert before == archived(unit_of_work)
    assert files_before == stored_files(store)


def test_reimporting_a_large_export_adds_no_duplicates(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    folder = write_chat(tmp_path / "export", messages(LARGE, "post"))
    first = import_tdesktop(folder, unit_of_work, store)
    again = import_tdesktop(folder, unit_of_work, store)

    assert (LARGE, LARGE, 20) == (first.channels[0].messages, first.posts_added, first.files_stored)
    assert (LARGE, 0, 0) == (again.channels[0].messages, again.posts_added, again.posts_edited)
    assert (LARGE, {1: "post 1", 500: "post 500", 1000: "post 1000", LARGE - 10: f"post {LARGE - 10}"}) == (
        archived(unit_of_work)
    )
    assert 20 == len(stored_files(store))


def full_account(folder: Path) -> Path:
    """A full-account export: a personal chat, three channels (one left), each with its own messages."""

    def chat(name: str, kind: str, chat_id: int, count: int) -> dict[str, Any]:
        items = [message(number, f"{name} {number}") for number in range(1, count + 1)]
        return {"name": name, "type": kind, "id": chat_id, "messages": items}

    document = {
        "about": "full export",
        "personal_information": {"first_name": "Me", "bio": "nested " * 10},
        "contacts": {"about": "contacts", "list": [{"first_name": "A", "phone_number": "+1"}]},
        "chats": {
            "about": "chats",
            "list": [
                chat("Friend", "personal_chat", 5, 30),
                chat("News", "public_channel", 101, 40),
                chat("Chosen", "private_channel", 102, 50),
            ],
        },
        "left_chats": {"about": "left", "list": [chat("Old", "public_supergroup", 103, 20)]},
    }
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps(document, indent=1), encoding="utf-8")
    return folder


def test_a_full_account_export_imports_the_chosen_channel_only(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    folder = full_account(tmp_path / "full")
    summary = import_tdesktop(folder, unit_of_work, store, channel_name="Chosen")

    assert [(102, "Chosen", 50, 50)] == [
        (c.channel_id, c.title, c.messages, c.added) for c in summary.channels
    ]
    with unit_of_work() as uow:
        assert [102] == [channel.id for channel in uow.channels.list()]
        assert 50 == uow.posts.count(102)
        assert "Chosen 50" == uow.posts.get_many(102, [50])[50].text

    everything = import_tdesktop(folder, unit_of_work, store)
    assert [(101, 40), (102, 0), (103, 20)] == [(c.channel_id, c.added) for c in everything.channels]


@pytest.mark.parametrize("where", ["message", "top"])
def test_a_document_nested_100000_levels_deep_is_one_clear_error(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path, where: str
) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    head = json.dumps({"name": "Big", "type": "public_channel", "id": CHANNEL_ID})[:-1]
    first = json.dumps(message(1, "fine"))
    if where == "message":
        body = f'{head}, "messages": [{first}, {{"id": 2, "type": "message", "text": {deep}}}]}}'
    else:
        body = f'{{"about": {deep}, "messages": [{first}]}}'
    folder = tmp_path / "deep"
    folder.mkdir()
    (folder / "result.json").write_text(body, encoding="utf-8")

    with pytest.raises(ImportFormatError, match="nested more than 64 levels deep") as caught:
        import_tdesktop(folder, unit_of_work, store)
    assert str(folder / "result.json") == caught.value.location
    if where == "message":
        assert "after message id 2" in str(caught.value)
    with unit_of_work() as uow:
        assert uow.channels.get(CHANNEL_ID) is None


def test_the_json_parser_is_ijsons_c_backend() -> None:
    """The pinned ijson wheel brings yajl2_c; the pure-Python fallback would be several times slower."""
    assert ijson.backend in ("yajl2_c", "yajl2_cffi")


def test_a_chat_whose_id_comes_after_its_messages_is_named(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """Read as a stream, a chat's id must precede its messages, as Desktop writes it."""
    folder = tmp_path / "reordered"
    folder.mkdir()
    document = {"name": "Big", "type": "public_channel", "messages": [message(1, "a")], "id": CHANNEL_ID}
    (folder / "result.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ImportFormatError, match="field 'id': missing before the chat's 'messages'"):
        import_tdesktop(folder, unit_of_work, store)


def staged(store: LocalMediaStore, data: bytes) -> StagedFiles:
    """A staging folder holding one copied file, as an import leaves it when it is killed mid-way."""
    staging = StagedFiles(store)
    with store.begin("image/jpeg", "a.jpg") as pending:
        pending.write(data)
        staging.add(pending)
    return staging


def test_a_killed_imports_staging_folder_is_removed_by_a_later_clean_up(store: LocalMediaStore) -> None:
    """A ``kill -9`` during an import leaves its staging folder; a run's clean-up of the store removes it
    once untouched for the stale period, and leaves a live import's folder (touched every batch) alone."""
    store.prepare()
    killed, live = staged(store, b"of the killed import"), staged(store, b"of the live import")
    an_hour_ago = time.time() - 3600
    os.utime(killed.folder, (an_hour_ago, an_hour_ago))
    os.utime(live.folder, (an_hour_ago, an_hour_ago))
    live.keep_alive()  # a batch was written

    assert 1 == store.clean_temp(older_than=timedelta(minutes=10))
    assert not killed.folder.exists()
    assert live.folder.is_dir()
    live.place_all()
    assert not live.folder.exists() and 1 == len(store.files())


def test_an_import_whose_staging_folder_vanished_fails_instead_of_losing_files(
    store: LocalMediaStore,
) -> None:
    store.prepare()
    staging = staged(store, b"a photo")
    shutil.rmtree(staging.folder)
    with pytest.raises(StorageError, match="staging folder was removed"):
        staging.keep_alive()
