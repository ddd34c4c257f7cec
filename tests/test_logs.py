"""Logging: console or JSON output, and secrets never written, whichever way they reach a log line."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Literal

import pytest

from tgvault.errors import ConfigError
from tgvault.logs import REDACTED, configure_logging, get_logger, redact_text, register_secret, reset_logging

API_HASH = "0123456789abcdef0123456789abcdef"
SESSION_STRING = "1BVtsOKABu4mZ3Xw-secret-session-string-9f8e7d6c5b4a=="
PHONE = "+15551234567"
SECRETS = (API_HASH, SESSION_STRING, PHONE, "15551234567", "hunter2-password")


@pytest.fixture(autouse=True)
def clean_logging() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    reset_logging()
    root.setLevel(level)


class TtyStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def log_everything() -> None:
    """Emit secrets by every route: keys, values, nesting, messages, exceptions, stdlib records."""
    log = get_logger("tgvault.sources.telegram")
    log.info("connecting", api_hash=API_HASH, session=SESSION_STRING, phone=PHONE)
    log.info("login", auth_key=b"\x01\x02", password="hunter2-password", credentials={"session_string": "x"})
    log.info(f"using hash {API_HASH}", detail=f"session {SESSION_STRING} for {PHONE}", items=[API_HASH])
    log.info("positional %s", SESSION_STRING)
    try:
        raise RuntimeError(f"auth failed for {PHONE} with hash {API_HASH} and session {SESSION_STRING}")
    except RuntimeError:
        log.exception("login failed")
        logging.getLogger("telethon.network.mtprotosender").error(
            "sender failed with %s", API_HASH, exc_info=True
        )
    logging.getLogger("tgvault.storage").warning(
        "session %s used by %s", SESSION_STRING, PHONE, extra={"phone_number": PHONE, "note": API_HASH}
    )
    try:
        try:
            raise ValueError(f"inner {SESSION_STRING}")
        except ValueError as inner:
            raise KeyError(f"outer {API_HASH}") from inner
    except KeyError:
        logging.getLogger("apscheduler.executors").exception("job crashed for %s", PHONE)


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_secrets_never_reach_the_output(fmt: Literal["json", "console"]) -> None:
    stream = io.StringIO()
    configure_logging(fmt, "debug", stream)
    register_secret(API_HASH)
    register_secret(SESSION_STRING)

    log_everything()

    output = stream.getvalue()
    for secret in SECRETS:
        assert secret not in output
    assert REDACTED in output
    assert "login failed" in output
    assert "RuntimeError" in output
    assert "KeyError" in output
    assert "sender failed with" in output


def test_json_lines_are_json_and_keep_structure() -> None:
    stream = io.StringIO()
    configure_logging("json", "info", stream)
    register_secret(API_HASH)

    get_logger("tgvault.sync").info(
        "synced", channel="@durov", posts=12, api_hash=API_HASH, note=f"h={API_HASH}"
    )
    logging.getLogger("somelib").info("upgrade done")

    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert {
        "event": "synced",
        "channel": "@durov",
        "posts": 12,
        "api_hash": REDACTED,
        "note": f"h={REDACTED}",
    } == {key: first[key] for key in ("event", "channel", "posts", "api_hash", "note")}
    assert ("info", "tgvault.sync") == (first["level"], first["logger"])
    assert ("upgrade done", "somelib") == (second["event"], second["logger"])


def test_json_exceptions_carry_no_local_variables() -> None:
    stream = io.StringIO()
    configure_logging("json", "info", stream)

    def fail(session_secret: str) -> None:
        raise RuntimeError("boom")

    try:
        fail("a-local-value-that-must-not-be-logged")
    except RuntimeError:
        get_logger("tgvault").exception("crashed")

    record = json.loads(stream.getvalue())
    assert "RuntimeError" == record["exception"][0]["exc_type"]
    assert "a-local-value-that-must-not-be-logged" not in stream.getvalue()


def test_auto_is_json_when_not_a_terminal_and_console_on_a_terminal() -> None:
    piped = io.StringIO()
    configure_logging("auto", "info", piped)
    get_logger("tgvault").info("hello")
    assert "hello" == json.loads(piped.getvalue())["event"]

    terminal = TtyStream()
    configure_logging("auto", "info", terminal)
    get_logger("tgvault").info("hello")
    assert "hello" in terminal.getvalue()
    assert not terminal.getvalue().lstrip().startswith("{")


def test_lines_go_to_stderr_as_it_is_when_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """A progress bar replaces sys.stderr while it is drawn (to print above itself): log lines follow."""
    configure_logging("json", "info")
    before, during = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", before)
    get_logger("tgvault").info("before the bar")
    monkeypatch.setattr(sys, "stderr", during)
    get_logger("tgvault").info("while the bar is drawn")

    assert ["before the bar"] == [json.loads(line)["event"] for line in before.getvalue().splitlines()]
    assert ["while the bar is drawn"] == [
        json.loads(line)["event"] for line in during.getvalue().splitlines()
    ]


def test_telethon_stays_at_warning_by_default() -> None:
    stream = io.StringIO()
    configure_logging("json", "debug", stream)

    logging.getLogger("telethon.network").info("chatty telethon detail")
    logging.getLogger("telethon.network").warning("telethon warning")
    get_logger("tgvault").debug("our debug detail")

    output = stream.getvalue()
    assert "chatty telethon detail" not in output
    assert "telethon warning" in output
    assert "our debug detail" in output


def test_level_filters_our_own_events() -> None:
    stream = io.StringIO()
    configure_logging("json", "warning", stream)
    get_logger("tgvault").info("not shown")
    get_logger("tgvault").warning("shown")
    assert ["shown"] == [json.loads(line)["event"] for line in stream.getvalue().splitlines()]


def test_reconfiguring_replaces_the_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("json", "info", first)
    configure_logging("json", "info", second)
    get_logger("tgvault").info("once")
    assert "" == first.getvalue()
    assert 1 == len(second.getvalue().splitlines())


def test_bad_level_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'loud' is not a log level; expected one of debug, info"):
        configure_logging("json", "loud", io.StringIO())


def test_short_secrets_are_not_registered() -> None:
    """Masking a 3-character value would garble every line; such values are ignored."""
    register_secret("abc")
    assert "abc abc" == redact_text("abc abc")


def test_phone_numbers_in_text_are_masked() -> None:
    assert f"call {REDACTED} or {REDACTED}" == redact_text("call +1 555 123 4567 or +447911123456")
    assert "post 1234567 at 2025-01-01T00:00:00+00:00" == redact_text(
        "post 1234567 at 2025-01-01T00:00:00+00:00"
    )


def test_import_has_no_side_effects() -> None:
    code = (
        "import logging, structlog, tgvault.logs, tgvault.config\n"
        "assert not logging.getLogger().handlers, logging.getLogger().handlers\n"
        "assert not structlog.is_configured()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
