"""What the command line prints is safe: no secret in any message, no terminal escape from Telegram's text.

A channel title, a post or a file name is written by strangers; printed as it is, it can clear the screen,
recolour or hide the output, set the terminal's window title, reorder a line (bidirectional overrides) or,
through rich, inject markup. Every line the CLI prints, every cell of ``status`` and every console log line
goes through the same two filters: the log redaction (secrets, URL passwords) and :func:`printable`.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tgvault.config import load_settings
from tgvault.logs import configure_logging, get_logger, printable, redact_text, register_secret, reset_logging

ESCAPES = {
    "\x1b": "ESC (every ANSI sequence)",
    "\x07": "BEL (ends an OSC window title)",
    "\x9b": "CSI (C1)",
    "\x08": "backspace",
    "\r": "carriage return",
    "\u202e": "right-to-left override",
    "\u2066": "left-to-right isolate",
}
HOSTILE_TITLE = "Evil\x1b[2J\x1b[H\x1b]0;pwned\x07\x9b31m \u202eexe.txt\u202c \u2066x\u2069 [bold red]loud[/bold red]\rspoof\x08"
HOSTILE_TEXT = "post\x1b[8mhidden\x1b[0m text \x1b]52;c;ZXZpbA==\x07"
HOSTILE_FILE = "files/\x1b[31mred.jpg"
CHANNEL_ID = 1777000111


def clean(output: str) -> list[str]:
    """The escapes found in ``output`` (none, when it is safe)."""
    return [name for char, name in ESCAPES.items() if char in output]


def hostile_export(folder: Path) -> Path:
    export = {
        "name": HOSTILE_TITLE,
        "type": "public_channel",
        "id": CHANNEL_ID,
        "messages": [
            {
                "id": 1,
                "type": "message",
                "date": "2025-01-02T10:00:00",
                "date_unixtime": "1735812000",
                "from": HOSTILE_TITLE,
                "from_id": f"channel{CHANNEL_ID}",
                "text": HOSTILE_TEXT,
                "text_entities": [{"type": "plain", "text": HOSTILE_TEXT}],
            },
            {
                "id": 2,
                "type": "message",
                "date": "2025-01-02T11:00:00",
                "date_unixtime": "1735815600",
                "from": HOSTILE_TITLE,
                "from_id": f"channel{CHANNEL_ID}",
                "file": HOSTILE_FILE,
                "mime_type": "image/jpeg",
                "text": "",
                "text_entities": [],
            },
        ],
    }
    path = folder / "result.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    return path


def tgvault(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "tgvault", *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_terminal_escapes_from_an_export_never_reach_the_terminal(tmp_path: Path) -> None:
    """import, status and export json print the hostile title, text and file name harmlessly."""
    source = hostile_export(tmp_path)
    imported = tgvault(tmp_path, "import", "tdesktop", str(source))
    assert 0 == imported.returncode, imported.stderr
    status = tgvault(tmp_path, "status")
    assert 0 == status.returncode, status.stderr
    exported = tgvault(tmp_path, "export", "json", str(CHANNEL_ID), "--out", "out.json")
    assert 0 == exported.returncode, exported.stderr
    for command in (imported, status, exported):
        assert [] == clean(command.stdout + command.stderr)
    # rich markup in a title is shown as text, never interpreted (nor does it break the table)
    assert "[bold red]loud[/bold red]" in imported.stdout
    assert "[bold red]loud[/bold red]" in status.stdout
    assert "red.jpg" in imported.stderr  # the warning about the missing file is still there, defused


def test_console_logs_strip_escapes_from_telegram_text() -> None:
    """A title in a log message (structlog's or a library's through stdlib logging), rendered for a terminal:
    the same filter."""
    stream = io.StringIO()
    configure_logging("console", "info", stream)
    try:
        get_logger("tgvault.test").warning(f"channel renamed to {HOSTILE_TITLE}", title=HOSTILE_TITLE)
        logging.getLogger("telethon.test").warning("got %s", HOSTILE_TEXT)
    finally:
        reset_logging()
    output = stream.getvalue()
    assert "channel renamed to Evil" in output and "got post" in output
    assert [] == clean(output)


@pytest.mark.parametrize(
    "text",
    [
        "🇷🇺 🇺🇦 flags",
        "👨‍👩‍👧 a family (zero-width joiners)",
        "❤️ a variation selector",
        "عَلَىٰ نَهجِ السَّلَفِ",
        "שלום עולם",
        "two\nlines\tand a tab",
    ],
)
def test_printable_keeps_every_script_and_emoji(text: str) -> None:
    assert text == printable(text)


def test_printable_removes_controls_and_can_keep_one_line() -> None:
    assert "a[2Jb]0;tc x" == printable("a\x1b[2Jb\x1b]0;t\x07c \ud800x")
    assert "title on one line" == printable("title\non\tone\u2028line", one_line=True)


def test_a_database_password_is_never_printed_for_an_unsupported_url(tmp_path: Path) -> None:
    """An unsupported scheme is a configuration error (exit 2) whose message masks the password."""
    result = tgvault(tmp_path, "status", TGVAULT_DATABASE__URL="mysql://user:s3cretpass@db.example/archive")
    assert 2 == result.returncode
    assert "'mysql'" in result.stderr and "tgvault.db" in result.stderr  # what is wrong, and what works
    assert "s3cretpass" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "toml",
    [
        "[database]\nurl = 'mysql://user:s3cretpass@db.example/archive'\n",
        "[database]\nurl = 'oracle://user:s3cretpass@db.example:1521/archive'\n",
    ],
)
def test_a_database_password_in_the_config_file_is_never_printed(tmp_path: Path, toml: str) -> None:
    (tmp_path / "tgvault.toml").write_text(toml)
    for command in (("status",), ("db", "upgrade"), ("export", "site")):
        result = tgvault(tmp_path, *command)
        assert 2 == result.returncode, result.stderr
        assert "s3cretpass" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("mysql://user:pw@host/db", "mysql://user:[redacted]@host/db"),
        (
            "cannot fetch http://ann:p@ss:w0rd@mirror.example/s/x",
            "cannot fetch http://ann:[redacted]@mirror.example/s/x",
        ),
        ("postgresql://:secret@h/db and more", "postgresql://:[redacted]@h/db and more"),
        ("http://host:8080/path stays", "http://host:8080/path stays"),
    ],
)
def test_a_password_in_any_url_is_masked_however_short(text: str, shown: str) -> None:
    """Short passwords are not registered secrets (they would mask ordinary words); in a URL they are masked."""
    assert shown == redact_text(text)


def test_the_password_of_a_web_mirror_is_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A [web] base_url with a login: its password is masked wherever it appears, even outside a URL (a
    client's error naming ``user:password@host``)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tgvault.toml").write_text("[web]\nbase_url = 'http://ann:mirr0rpass@mirror.example'\n")
    try:
        for secret in load_settings(tmp_path / "tgvault.toml").secret_values():
            register_secret(secret)
        assert "host=ann:[redacted]@mirror.example" == redact_text("host=ann:mirr0rpass@mirror.example")
    finally:
        reset_logging()
