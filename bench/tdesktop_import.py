"""The Desktop import section of the bench: memory and speed of ``import tdesktop`` as the export grows.

Exports of N messages are generated (:func:`write_export`) in the image of a real public channel's
Desktop export (``tests/fixtures/tdesktop/uponthepathofsalaf-public-channel-2026.result.json``: long
formatted texts in Arabic and English, service messages, forwards, stickers, documents, edits), each
message one of the real ones with a new id, new dates and a numbered line of text. Files Desktop did not
include are its placeholders; every 100th message names a small photo that is there beside the export, so
files are copied as well. The file is written message by message, so even the 1,000,000-message export
never sits in the bench's memory.

Each import runs in a fresh process (:mod:`bench.client`, kind ``tdesktop_import``) into a new SQLite
archive, which reports its wall time and its peak RSS (``VmHWM``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TEMPLATE = (
    Path(__file__).resolve().parent.parent
    / "tests"
    / "fixtures"
    / "tdesktop"
    / "uponthepathofsalaf-public-channel-2026.result.json"
)
FILE_NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"
_FILE_KEYS = ("photo", "file", "thumbnail", "contact_vcard")
_PHOTO_EVERY = 100
_MEDIA_KEYS = (
    "file",
    "file_name",
    "file_size",
    "mime_type",
    "media_type",
    "thumbnail",
    "thumbnail_file_size",
    "duration_seconds",
    "sticker_emoji",
    "performer",
    "width",
    "height",
)
_START = 1_500_000_000
TARGETS = {"import_peak_rss_mb": 200.0, "import_messages_per_s": 5_000.0}


def _template() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    document: dict[str, Any] = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    messages = document.pop("messages")
    for message in messages:
        for key in _FILE_KEYS:
            if isinstance(message.get(key), str):
                message[key] = FILE_NOT_INCLUDED
        for part in message.get("text_entities") or ():
            if isinstance(part, dict) and isinstance(part.get("document_id"), str):
                part["document_id"] = FILE_NOT_INCLUDED
    return document, messages


def _message(template: dict[str, Any], number: int) -> dict[str, Any]:
    """Message ``number`` (1-based): the template with a new id, new dates and its own first line."""
    message = dict(template)
    moment = _START + number * 37
    message["id"] = number
    message["date"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment))
    message["date_unixtime"] = str(moment)
    if "edited" in message:
        message["edited"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment + 600))
        message["edited_unixtime"] = str(moment + 600)
    if "reply_to_message_id" in message:
        message["reply_to_message_id"] = max(1, number - 3)
    if "message_id" in message:
        message["message_id"] = max(1, number - 1)
    if message.get("type") == "message":
        line = f"Post {number}. "
        parts = list(message.get("text_entities") or [])
        message["text_entities"] = [{"type": "plain", "text": line}, *parts]
        text = message.get("text")
        message["text"] = [line, *text] if isinstance(text, list) else [line, text]
    return message


def write_export(folder: Path, count: int) -> tuple[Path, int]:
    """A Desktop export of ``count`` messages in ``folder``; its ``result.json`` and that file's size."""
    document, templates = _template()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "photos").mkdir(exist_ok=True)
    target = folder / "result.json"
    head = json.dumps(document, ensure_ascii=False, indent=1)[:-2]  # without the closing "\n}"
    with target.open("w", encoding="utf-8") as out:
        out.write(head + ',\n "messages": [\n')
        for number in range(1, count + 1):
            message = _message(templates[(number - 1) % len(templates)], number)
            if number % _PHOTO_EVERY == 0 and message.get("type") == "message":
                name = f"photos/photo_{number}@01-01-2020.jpg"
                for key in _MEDIA_KEYS:
                    message.pop(key, None)
                content = b"\xff\xd8\xff\xe0" + number.to_bytes(8, "big") * 64
                (folder / name).write_bytes(content)
                message.update(photo=name, photo_file_size=len(content), width=640, height=480)
            out.write(json.dumps(message, ensure_ascii=False, indent=1))
            out.write(",\n" if number < count else "\n")
        out.write(" ]\n}\n")
    return target, target.stat().st_size


def import_section(
    sizes: tuple[int, ...],
    work: Path,
    run_client: Callable[..., dict[str, Any]],
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Generate an export of each size, import it in a fresh process, and report memory and speed."""
    rows = []
    for count in sizes:
        folder = work / f"tdesktop-{count}"
        started = time.perf_counter()
        target, size = write_export(folder / "export", count)
        log(
            f"tdesktop: export of {count:,} messages ({size / 1e6:,.0f} MB) in {time.perf_counter() - started:.0f}s"
        )
        report = run_client(
            {
                "kind": "tdesktop_import",
                "export": str(target.parent),
                "database_url": f"sqlite:///{folder / 'archive.db'}",
                "media_dir": str(folder / "media"),
            },
            timeout=6 * 3600,
        )
        rows.append(
            {
                "n": count,
                "file_mb": size / 1e6,
                "seconds": report["seconds"],
                "cpu_seconds": report["cpu_seconds"],
                "messages": report["messages"],
                "messages_per_s": report["messages"] / report["seconds"],
                "messages_per_cpu_s": report["messages"] / report["cpu_seconds"],
                "files_stored": report["files_stored"],
                "peak_rss_mb": report["peak_rss_mb"],
                "ijson_backend": report["ijson_backend"],
            }
        )
        log(
            f"tdesktop: import of {count:,}: {report['peak_rss_mb']:.0f} MB peak, "
            f"{report['messages'] / report['seconds']:,.0f} messages/s "
            f"({report['messages'] / report['cpu_seconds']:,.0f} a CPU second)"
        )
        for path in sorted(folder.rglob("*"), reverse=True):
            if path.is_file():
                path.unlink()
    return {"rows": rows, "targets": TARGETS}


def table_rows(section: dict[str, Any], add: Callable[[str, Any, str, str, str, bool | None], None]) -> None:
    """The section's lines of the bench table (``add(name, n, median, spread, target, met)``)."""
    for row in section.get("rows", []):
        n = f"{row['n']:,} ({row['file_mb']:,.0f} MB)"
        rss, speed = row["peak_rss_mb"], row["messages_per_s"]
        add(
            "import tdesktop (JSON), peak RSS MB",
            n,
            f"{rss:,.0f}",
            "1 run",
            f"≤ {TARGETS['import_peak_rss_mb']:,.0f}",
            rss <= TARGETS["import_peak_rss_mb"],
        )
        add(
            "import tdesktop (JSON), messages/s",
            n,
            f"{speed:,.0f}",
            "1 run",
            f"≥ {TARGETS['import_messages_per_s']:,.0f}",
            speed >= TARGETS["import_messages_per_s"],
        )
        add(
            "import tdesktop (JSON), messages per CPU second",
            n,
            f"{row['messages_per_cpu_s']:,.0f}",
            "1 run",
            "",
            None,
        )
