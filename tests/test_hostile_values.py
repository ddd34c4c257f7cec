"""Issue 17.2: every value that enters the archive is validated on the way in, and one bad row never stops
a build, an export, a re-import or another channel (real SQLite and PostgreSQL).

On the way in, a record the archive could not keep faithfully is rejected: the import ends with one line
naming the file, the message id and the field, and writes nothing. A row that is already in the database and
that the domain refuses (a location stored as ``null`` by an older version) is read with that part left out
and named in ``parse_error``: the site shows the post as "not fully understood" and its raw data stays.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import update

from tgvault.domain import Channel, EntityKind, Location, MediaItem, MediaKind, Post, TextEntity
from tgvault.errors import ImportFormatError
from tgvault.export.desktop_json import export_channel_json
from tgvault.export.site import SiteOptions, build_site
from tgvault.services.tdesktop_import import import_tdesktop
from tgvault.storage.database import create_archive_engine
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.tables import MediaItemRow, PostRow
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]
GOOD, BAD = 1777000201, 1777000202
T0 = 1_735_812_000


def message(message_id: int, text: str = "hello", **extra: Any) -> dict[str, Any]:
    moment = T0 + message_id * 60
    values: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "date": datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "date_unixtime": str(moment),
        "from": "Chan",
        "text": text,
        "text_entities": [{"type": "plain", "text": text}] if text else [],
    }
    values.update(extra)
    return values


def write_export(
    folder: Path, channel_id: int, messages: list[dict[str, Any]], *, raw_json: str | None = None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    document = {
        "name": f"Channel {channel_id}",
        "type": "public_channel",
        "id": channel_id,
        "messages": messages,
    }
    path = folder / "result.json"
    path.write_text(raw_json if raw_json is not None else json.dumps(document), encoding="utf-8")
    return path


def located(latitude: Any) -> dict[str, Any]:
    return message(2, "here", location_information={"latitude": latitude, "longitude": 13.4})


@pytest.fixture
def store(tmp_path: Path) -> LocalMediaStore:
    return LocalMediaStore(tmp_path / "store")


# ------------------------------------------------------------------------------------------ on the way in


@pytest.mark.parametrize(
    ("latitude", "problem"),
    [
        # NaN and Infinity are not JSON: the parser itself refuses them, naming message and field
        (math.nan, "not valid JSON"),
        (math.inf, "not valid JSON"),
        (91.5, "less than or equal to 90"),
    ],
)
def test_a_location_that_is_not_a_point_rejects_the_import(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path, latitude: float, problem: str
) -> None:
    """Issue 17.2: NaN, 1e400 (inf) or off-the-globe coordinates: one error naming file, message and field."""
    path = write_export(tmp_path / "export", BAD, [message(1), located(latitude)])
    with pytest.raises(ImportFormatError) as raised:
        import_tdesktop(path, unit_of_work, store)
    text = str(raised.value)
    assert str(path) in text and "(id 2)" in text and "location_information" in text and problem in text
    assert "\n" not in text
    with unit_of_work() as uow:
        assert uow.channels.get(BAD) is None  # nothing was committed


@pytest.mark.parametrize(
    ("messages", "where"),
    [
        ([message(2**31)], "field 'id'"),  # Telegram's message ids are 32-bit
        ([message(2, reply_to_message_id=10**30)], "field 'reply_to_message_id'"),
        (
            [message(2, reactions=[{"type": "emoji", "emoji": "+", "count": 2**63}])],
            "field 'reactions.count'",
        ),
        ([message(2, date_unixtime="99999999999")], "field 'date'"),  # the year 5138: not a Telegram date
        ([message(2, file="files/a.mp3", duration_seconds=math.inf)], "field 'duration_seconds'"),
    ],
)
def test_values_out_of_telegrams_ranges_reject_the_import(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path, messages: list[dict[str, Any]], where: str
) -> None:
    """Issue 17.2: ids, counts and dates out of Telegram's ranges, non-finite floats, unencodable text."""
    path = write_export(tmp_path / "export", BAD, [message(1), *messages])
    with pytest.raises(ImportFormatError, match="message #1") as raised:
        import_tdesktop(path, unit_of_work, store)
    assert where in str(raised.value)
    with unit_of_work() as uow:
        assert uow.channels.get(BAD) is None


def test_a_lone_surrogate_escaped_in_an_export_is_read_as_a_replacement(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """Issue 17.4: ``"a\\ud800b"`` (a lone surrogate, which no text can encode) imports as text that encodes."""
    path = write_export(tmp_path / "export", BAD, [message(1), message(2, "a\ud800b")])
    import_tdesktop(path, unit_of_work, store)
    with unit_of_work() as uow:
        post = uow.posts.get(BAD, 2)
        assert post is not None and post.text == "a?b"  # the JSON parser's replacement
        post.text.encode("utf-8")


def test_the_domain_refuses_what_no_archive_can_keep() -> None:
    """Issue 17.2: the records themselves, whatever the source (Telegram, the web preview, an export)."""
    at = datetime(2025, 1, 2, tzinfo=UTC)
    refused: list[Callable[[], object]] = [
        lambda: Location(latitude=math.nan, longitude=0.0),
        lambda: Location(latitude=0.0, longitude=math.inf),
        lambda: MediaItem(kind=MediaKind.AUDIO, duration=math.nan),
        lambda: Post(channel_id=1, message_id=2**31, date=at),
        lambda: Post(channel_id=10**30, message_id=1, date=at),
        lambda: Post(channel_id=1, message_id=1, date=datetime(2100, 1, 1, tzinfo=UTC)),
        lambda: Post(channel_id=1, message_id=1, date=at, text="\udc80"),
        lambda: TextEntity(kind=EntityKind.CUSTOM_EMOJI, offset=0, length=1, document_id=2**64),
        lambda: Channel(id=1, title="x\ud83d"),
    ]
    for make in refused:
        with pytest.raises(ValidationError):
            make()
    assert Post(
        channel_id=1, message_id=1, date=at, text="👍 ok", location=Location(latitude=-90, longitude=180)
    )


# --------------------------------------------------------------------------------------- already stored


def _archive_two_channels(unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path) -> None:
    for channel_id in (GOOD, BAD):
        messages = [message(1, "first"), located(52.5), message(3, "third")]
        import_tdesktop(write_export(tmp_path / str(channel_id), channel_id, messages), unit_of_work, store)


def _store_null_location(database_url: str) -> None:
    """What an older version stored for a NaN location: ``{"latitude": null, ...}`` (written here by SQL)."""
    engine = create_archive_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                update(PostRow)
                .where(PostRow.channel_id == BAD, PostRow.message_id == 2)
                .values(location={"latitude": None, "longitude": 13.4})
            )
    finally:
        engine.dispose()


def test_a_stored_row_the_model_refuses_is_not_fully_understood_and_the_rest_carries_on(
    database_url: str, unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """Issue 17.2: the site, the JSON export and a re-import carry on past a null location in the database."""
    _archive_two_channels(unit_of_work, store, tmp_path)
    _store_null_location(database_url)

    with unit_of_work() as uow:
        post = uow.posts.get(BAD, 2)
    assert post is not None and post.location is None and post.raw is not None  # raw data kept
    assert post.parse_error is not None and "location" in post.parse_error
    assert "here" == post.text

    out = tmp_path / "site"
    report = build_site(unit_of_work, store, SiteOptions(out_dir=out))
    assert report is not None
    pages = {page: page.read_text(encoding="utf-8") for page in out.rglob("*.html")}
    flagged = [page for page, html in pages.items() if "Not fully understood" in html]
    assert flagged and all(str(BAD) in str(page) or "here" in pages[page] for page in flagged)
    for channel_id in (GOOD, BAD):
        assert any("third" in html and str(channel_id) in str(page) for page, html in pages.items())

    for channel_id in (GOOD, BAD):
        with unit_of_work() as uow:
            channel = uow.channels.get(channel_id)
            assert channel is not None
            summary = export_channel_json(uow, channel, tmp_path / f"json{channel_id}", store)
        exported = json.loads(summary.path.read_text(encoding="utf-8"))
        assert [1, 2, 3] == [m["id"] for m in exported["messages"]]

    again = import_tdesktop(
        write_export(tmp_path / "again", BAD, [message(1, "first"), located(52.5), message(3, "third")]),
        unit_of_work,
        store,
    )
    assert 0 == again.posts_added
    with unit_of_work() as uow:
        repaired = uow.posts.get(BAD, 2)
    assert repaired is not None and repaired.location is not None and 52.5 == repaired.location.latitude


def test_the_cli_rejects_a_nan_location_in_one_line_and_the_archive_stays_usable(tmp_path: Path) -> None:
    """Issue 17.2: ``import`` exits 1 with one line (no traceback); ``export site``/``json`` still work."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}

    def tgvault(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tgvault", *args],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

    good = tgvault("import", "tdesktop", str(write_export(tmp_path / "good", GOOD, [message(1)])))
    assert 0 == good.returncode, good.stderr
    raw = json.dumps(
        {"name": "Bad", "type": "public_channel", "id": BAD, "messages": [message(1), located(0.5)]}
    )
    bad_path = write_export(tmp_path / "bad", BAD, [], raw_json=raw.replace("0.5", "1e400"))
    bad = tgvault("import", "tdesktop", str(bad_path))
    assert 1 == bad.returncode
    errors = [line for line in bad.stderr.splitlines() if "error" in line]
    assert 1 == len(errors) and "Traceback" not in bad.stderr
    assert str(bad_path) in errors[0] and "(id 2)" in errors[0] and "location_information" in errors[0]
    site = tgvault("export", "site")
    assert 0 == site.returncode, site.stderr
    exported = tgvault("export", "json", str(GOOD), "--out", "out.json")
    assert 0 == exported.returncode, exported.stderr
    missing = tgvault("export", "json", str(BAD), "--out", "bad.json")
    assert 0 != missing.returncode and "Traceback" not in missing.stderr


def test_a_stored_file_description_the_model_refuses_leaves_the_file_known(
    database_url: str, unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    """Issue 17.2: an infinite duration stored by an older version (PostgreSQL keeps NaN and Infinity) is left
    out; the post, its file and the media queue still read."""
    audio = message(2, "song", file="files/a.mp3", media_type="audio_file", duration_seconds=12)
    import_tdesktop(write_export(tmp_path / "export", BAD, [message(1), audio]), unit_of_work, store)
    engine = create_archive_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                update(MediaItemRow)
                .where(MediaItemRow.channel_id == BAD, MediaItemRow.message_id == 2)
                .values(duration=math.inf)
            )
    finally:
        engine.dispose()
    with unit_of_work() as uow:
        post = uow.posts.get(BAD, 2)
        pending = uow.media.pending(BAD, max_attempts=5)
    assert post is not None and post.media is not None
    assert (MediaKind.AUDIO, None) == (post.media.kind, post.media.duration)
    assert [(2, None)] == [(item.message_id, item.media.duration) for item in pending]
    build_site(unit_of_work, store, SiteOptions(out_dir=tmp_path / "site"))
