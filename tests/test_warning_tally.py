"""Warnings of one kind are counted and summarised: the first few shown, the rest in the debug log.

An import of a Desktop export without its files used to print one warning per file (516 lines for one
channel). Now every service reports warnings by kind into a tally: the first five of a kind are logged
as warnings, the rest at debug level only, and the command ends with one summary line per kind.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop_exports import export_without_files
from tgvault.cli.progress import warning_summary
from tgvault.logs import configure_logging, reset_logging
from tgvault.services.progress import SilentProgress
from tgvault.services.tdesktop_import import import_tdesktop
from tgvault.services.tdesktop_import.file_copies import MISSING, REFUSED
from tgvault.services.warning_tally import WarningTally, printable
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every log event of the test as a JSON line, at debug level."""
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    configure_logging("json", "debug", stream)
    yield stream
    reset_logging()
    root.setLevel(level)


def events(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


# ------------------------------------------------------------------------------------------- the tally


def test_the_first_five_of_a_kind_are_warnings_and_the_rest_only_debug(json_log: io.StringIO) -> None:
    tally = WarningTally()
    for number in range(12):
        tally.warn("file not in the export", file=f"photos/{number}.jpg")
    for number in range(2):
        tally.warn("file path refused", file=f"../{number}")

    logged = [(event["event"], event["level"], event["file"]) for event in events(json_log)]
    expected = (
        [("file not in the export", "warning", f"photos/{n}.jpg") for n in range(5)]
        + [("file not in the export", "debug", f"photos/{n}.jpg") for n in range(5, 12)]
        + [("file path refused", "warning", f"../{n}") for n in range(2)]
    )
    assert expected == logged
    assert {"file not in the export": 12, "file path refused": 2} == tally.counts()
    assert (7, 0) == (tally.hidden("file not in the export"), tally.hidden("file path refused"))


def test_the_summary_has_one_line_per_kind_and_points_to_the_debug_log() -> None:
    tally = WarningTally()
    for _ in range(516):
        tally.warn("file not in the export; recorded as not downloaded")
    tally.warn("file path refused (it leads outside the export)")

    assert [
        "warnings: 516 × file not in the export; recorded as not downloaded — 5 shown above, "
        "… and 511 more (see --log-level debug)",
        "warnings: 1 × file path refused (it leads outside the export)",
    ] == warning_summary(tally)


def test_fields_from_outside_reach_the_terminal_escaped(json_log: io.StringIO) -> None:
    """A file name from an export can hold terminal escapes or a bidi override: they are shown escaped."""
    WarningTally().warn("file not in the export", file="photo\x1b[2J\x1b]0;owned\x07\u202egpj.exe")

    assert "photo\\x1b[2J\\x1b]0;owned\\x07\\u202egpj.exe" == events(json_log)[0]["file"]
    assert "Привет 👋 photo.jpg" == printable("Привет 👋 photo.jpg")


def test_a_service_without_a_display_summarises_each_run_and_then_counts_afresh(
    json_log: io.StringIO,
) -> None:
    """The service (no CLI display) logs the first five, one summary line per run, then starts over."""
    progress = SilentProgress()
    for number in range(8):
        progress.warn("thumbnail download failed", message_id=number)
    progress.finished()
    progress.warn("thumbnail download failed", message_id=99)

    logged = events(json_log)
    warnings = [event for event in logged if event["level"] == "warning"]
    assert [0, 1, 2, 3, 4] == [event["message_id"] for event in warnings[:5]]
    assert ("more warnings of one kind", "thumbnail download failed", 8, 3) == (
        warnings[5]["event"],
        warnings[5]["kind"],
        warnings[5]["count"],
        warnings[5]["at_debug_level"],
    )
    assert 99 == warnings[6]["message_id"], "the next run shows its first warnings again"
    assert [5, 6, 7] == [event["message_id"] for event in logged if event["level"] == "debug"]


# ------------------------------------------------------------------------------------------- the import


class RecordingProgress:
    """A progress display that remembers what the service told it."""

    def __init__(self) -> None:
        self.started_with: list[tuple[str, int | None, str]] = []
        self.total_bytes: int | None = None
        self.done = 0
        self.size = 0
        self.files = 0
        self.warnings: list[tuple[str, dict[str, object]]] = []
        self.finished_count = 0

    def started(
        self, label: str, total: int | None, unit: str = "posts", *, total_bytes: int | None = None
    ) -> None:
        self.started_with.append((label, total, unit))
        self.total_bytes = total_bytes

    def advance(self, count: int, size: int = 0) -> None:
        self.done += count
        self.size += size

    def media(self, files: int, size: int) -> None:
        self.files += files

    def warn(self, kind: str, **fields: object) -> None:
        self.warnings.append((kind, fields))

    def finished(self) -> None:
        self.finished_count += 1


def test_an_import_reports_its_warnings_by_kind_and_its_messages_of_the_total(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    progress = RecordingProgress()
    export = export_without_files(tmp_path / "export", 12, refused=1)
    summary = import_tdesktop(
        export,
        unit_of_work,
        LocalMediaStore(tmp_path / "store"),
        progress=progress,
    )

    assert {MISSING: 12, REFUSED: 1} == dict(summary.warnings)
    assert [MISSING] * 12 + [REFUSED] == [kind for kind, _ in progress.warnings]
    assert "photos/photo_3@14-11-2023.jpg" == progress.warnings[2][1]["file"]
    # The export is streamed: its messages' total is known from the bytes read of the file's size.
    assert ("Channel without files", None, "messages") == progress.started_with[-1]
    size = (export / "result.json").stat().st_size
    assert (13, size, size, 1) == (
        progress.done,
        progress.size,
        progress.total_bytes,
        progress.finished_count,
    )
