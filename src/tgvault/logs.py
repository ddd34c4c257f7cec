"""Logging: structlog for tgvault's own events, stdlib ``logging`` (Telethon, APScheduler, Alembic) routed
through the same pipeline, and secrets removed from everything before it is written.

Nothing happens on import; the CLI calls :func:`configure_logging` once, then
``register_secret(value)`` for every secret it loads (see ``Settings.secret_values()``).

Redaction, applied to every event from either side:

- a value whose key looks sensitive (``api_hash``, ``session``, ``session_string``, ``phone``, ``password``,
  ``auth_key``, ``secret``, at any nesting depth) is replaced by ``"[redacted]"``;
- every registered secret is masked wherever it occurs inside any string: the message, other values,
  exception text and tracebacks;
- phone numbers written in international form (``+`` then 7-15 digits) are masked as well;
- the password inside any URL (``scheme://user:password@host``), registered or not, short or long.

The same :func:`redact_text` is what the CLI applies to every message it prints, and :func:`printable`
(control characters and bidirectional overrides removed) is what it applies to text that came from Telegram
or an export before a terminal sees it; console logs pass through both.

Exceptions are turned into text (or, for JSON, a dict without local variables) *before* redaction, so the
renderers only ever see redacted text.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Mapping
from typing import IO, Final, Literal

import structlog
from pydantic import SecretStr
from structlog.typing import EventDict, Processor, WrappedLogger

from tgvault.errors import ConfigError

__all__ = [
    "REDACTED",
    "configure_logging",
    "get_logger",
    "printable",
    "redact_event",
    "redact_text",
    "register_secret",
    "reset_logging",
]

REDACTED: Final = "[redacted]"
MIN_SECRET_LENGTH: Final = 6  # shorter values would mask ordinary text all over the logs

_SENSITIVE_KEY_RE: Final = re.compile(
    r"api_hash|session|password|passwd|auth_key|phone|secret", re.IGNORECASE
)
_PHONE_RE: Final = re.compile(r"\+\d(?:[\s\-().]?\d){6,14}")
# scheme://user:password@host: the password is whatever lies between the user's colon and the last @
# before the host (a password may itself contain @ or :, percent-encoded or not).
_URL_PASSWORD_RE: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@'\"]*:)[^\s/'\"]*(@)")
# C0 and C1 control characters (ESC starts every terminal escape; CSI is one byte in C1) and DEL, but
# not tab and newline; the bidirectional embeddings, overrides and isolates (U+202A-U+202E,
# U+2066-U+2069) that reorder what a terminal shows; lone surrogates, which no terminal can encode.
_UNPRINTABLE_RE: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_LINE_BREAKS_RE: Final = re.compile(r"[\t\n\u2028\u2029]+")
_LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}

_lock = threading.Lock()
_secrets: set[str] = set()
_secret_re: re.Pattern[str] | None = None
_handler: logging.Handler | None = None


def register_secret(value: str | SecretStr | None) -> None:
    """Mask ``value`` wherever it appears in later log events; ``None`` and very short values are ignored."""
    global _secret_re
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None or len(value.strip()) < MIN_SECRET_LENGTH:
        return
    with _lock:
        _secrets.add(value.strip())
        # Longest first, so a secret containing another is masked whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _secret_re = re.compile("|".join(re.escape(secret) for secret in ordered))


def redact_text(text: str) -> str:
    """``text`` with every registered secret, every URL's password and every international phone number
    masked."""
    pattern = _secret_re
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    text = _URL_PASSWORD_RE.sub(rf"\1{REDACTED}\2", text)
    return _PHONE_RE.sub(REDACTED, text)


def printable(text: str, *, one_line: bool = False) -> str:
    """``text`` safe to show on a terminal: no control characters (so no escape sequences: colours,
    clear-screen, window titles, cursor moves), no bidirectional overrides, no lone surrogates.

    Tabs and newlines are kept, unless ``one_line``, which turns every run of them into one space (for a
    title inside a line of output, where a newline could forge a line of its own). Emoji sequences
    (zero-width joiners, variation selectors) are untouched.
    """
    text = _UNPRINTABLE_RE.sub("", text)
    return _LINE_BREAKS_RE.sub(" ", text) if one_line else text


def _redact_value(value: object, depth: int = 0) -> object:
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth > 20:
        return REDACTED
    if isinstance(value, Mapping):
        return {
            key: REDACTED if _is_sensitive_key(key) else _redact_value(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(item, depth + 1) for item in value]
    # Anything else would be rendered through repr() later; render it now so it can be masked.
    return redact_text(repr(value))


def _is_sensitive_key(key: object) -> bool:
    return isinstance(key, str) and _SENSITIVE_KEY_RE.search(key) is not None


def redact_event(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: redact sensitive keys and mask secrets in every string of the event."""
    return {
        key: REDACTED if _is_sensitive_key(key) else _redact_value(value) for key, value in event_dict.items()
    }


def printable_event(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """structlog processor for terminal output: every string value made :func:`printable`."""
    return {key: printable(value) if isinstance(value, str) else value for key, value in event_dict.items()}


def _parse_level(level: str, what: str) -> int:
    number = _LEVELS.get(level.strip().lower())
    if number is None:
        raise ConfigError(
            f"{what}: {level!r} is not a log level; expected one of debug, info, warning, error, critical"
        )
    return number


class _CurrentStderrHandler(logging.StreamHandler[IO[str]]):
    """Writes each record to ``sys.stderr`` as it is when the record is written, not when logging was set up.

    A live progress display (rich's) replaces ``sys.stderr`` while it is drawn with a proxy that prints
    above the bar, so log lines appear above it instead of through it.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record to the current ``sys.stderr`` (called with the handler's lock held)."""
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(
    fmt: Literal["auto", "console", "json"] = "auto",
    level: str = "info",
    stream: IO[str] | None = None,
    *,
    telethon_level: str = "warning",
) -> None:
    """Send structlog and stdlib logging to ``stream`` (default stderr) as console text or JSON lines.

    ``auto`` means readable console output when ``stream`` is a terminal and JSON lines otherwise.
    Without ``stream``, each line goes to ``sys.stderr`` as it is at that moment (see
    :class:`_CurrentStderrHandler`), so a progress bar that redirects stderr keeps log lines above it.
    Telethon's loggers stay at ``telethon_level`` (WARNING by default) whatever ``level`` is.
    Calling it again replaces the previous configuration.
    """
    global _handler
    if fmt not in ("auto", "console", "json"):
        raise ConfigError(f"log format: {fmt!r} is not a log format; expected auto, console or json")
    root_level = _parse_level(level, "log level")
    telethon = max(_parse_level(telethon_level, "telethon log level"), root_level)
    out = sys.stderr if stream is None else stream
    is_tty = bool(getattr(out, "isatty", lambda: False)())
    as_json = fmt == "json" or (fmt == "auto" and not is_tty)

    timestamper = (
        structlog.processors.TimeStamper(fmt="iso", utc=True)
        if as_json
        else structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False)
    )
    exceptions: Processor = (
        structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        )
        if as_json
        else structlog.processors.format_exc_info
    )
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=is_tty, exception_formatter=structlog.dev.plain_traceback)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            timestamper,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            exceptions,
            redact_event,
            *([] if as_json else [printable_event]),
            renderer,
        ],
    )
    handler = logging.StreamHandler(out) if stream is not None else _CurrentStderrHandler()
    handler.setFormatter(formatter)

    root = logging.getLogger()
    with _lock:
        if _handler is not None:
            root.removeHandler(_handler)
        root.addHandler(handler)
        _handler = handler
    root.setLevel(root_level)
    logging.getLogger("telethon").setLevel(telethon)
    # Alembic narrates every migration step at INFO, httpx every request; their news is tgvault's to tell.
    for chatty in ("alembic", "apscheduler", "httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root_level))

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            timestamper,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def reset_logging() -> None:
    """Undo :func:`configure_logging` and forget registered secrets (for tests)."""
    global _handler, _secret_re
    with _lock:
        if _handler is not None:
            logging.getLogger().removeHandler(_handler)
            _handler = None
        _secrets.clear()
        _secret_re = None
    logging.getLogger("telethon").setLevel(logging.NOTSET)
    structlog.reset_defaults()


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A structlog logger named ``name`` (use ``__name__``)."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
