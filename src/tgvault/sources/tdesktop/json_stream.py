"""Stream a Desktop ``result.json`` chat by chat, message by message, never holding the whole document.

The file is read by ijson (its C backend, yajl2_c) as a stream of parse events; only the chats' own
values (``name``, ``type``, ``id``) and one message at a time are built as Python values. A chat export
(``messages`` at the top) and a full-account export (``chats.list`` and ``left_chats.list``) are both read:
:func:`stream_export` yields a :class:`ChatStart` when a chat's ``messages`` begin, then each of its
messages as a :class:`RawMessage`. Nesting deeper than :data:`MAX_DEPTH` (no Desktop export comes near),
damaged JSON and bytes that are not UTF-8 end in an :class:`~tgvault.errors.ImportFormatError` naming the
file and the last message id read, never in a ``RecursionError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final

import ijson

from tgvault.errors import ImportFormatError, SourceError
from tgvault.sources.tdesktop.json_fast_stream import FastPathLeft, fast_chat_head, fast_messages

__all__ = ["MAX_DEPTH", "ChatStart", "CountingReader", "RawMessage", "stream_export"]

MAX_DEPTH: Final = 64
"""The deepest nesting accepted anywhere in the document (a Desktop message nests 4 or 5 levels)."""

_SECTIONS: Final = ("chats", "left_chats")
_CHAT_KEYS: Final = ("name", "type", "id")


@dataclass(frozen=True)
class ChatStart:
    """A chat's ``messages`` begin: where the chat stands in the file, and its values read so far."""

    where: str
    values: dict[str, Any]
    """The chat's scalar values that came before its messages (Desktop writes name, type and id first)."""


@dataclass(frozen=True)
class RawMessage:
    """One item of a chat's ``messages``, as parsed (checked and mapped by the caller)."""

    position: int
    data: Any
    depth: int | None = None
    """How deep ``data`` nests (a message object with no lists or objects in it: 1), when it was counted."""


_SURROGATE_ESCAPE: Final = re.compile(rb"\\[uU][dD][89a-fA-F]")
"""JSON's escape of a UTF-16 surrogate (``\\uD800`` to ``\\uDFFF``): the only way JSON text that is UTF-8
can give a Python string a lone surrogate, which the archive cannot store."""


class CountingReader:
    """A binary file that counts the bytes read from it (the progress of a stream through the file),
    and notices whether what was read so far escapes a UTF-16 surrogate (``surrogate_escapes``)."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.position = 0
        self.surrogate_escapes = False
        self._tail = b""

    def rewind(self) -> None:
        """Read again from the start of the file (what was noticed of it is kept)."""
        self._handle.seek(0)
        self.position = 0
        self._tail = b""

    def read(self, size: int = -1) -> bytes:
        """Read and count."""
        data = self._handle.read(size)
        self.position += len(data)
        if not self.surrogate_escapes and data:
            seam = self._tail + data[:8]  # an escape cut by the chunks
            self.surrogate_escapes = _escapes_surrogate(seam) or _escapes_surrogate(data)
            self._tail = seam[-8:] if len(data) < 8 else data[-8:]
        return data


def _escapes_surrogate(data: bytes) -> bool:
    start = data.find(b"\\u")
    return start >= 0 and _SURROGATE_ESCAPE.search(data, start) is not None


@dataclass
class _Builder:
    """Builds one value from parse events with an explicit stack (no recursion, depth checked)."""

    stack: list[Any]
    keys: list[str | None]
    deepest: int = 1


def _describe(exc: Exception) -> str:
    """The parser's complaint in one line (yajl's caret drawing left out)."""
    first = (str(exc).strip() or type(exc).__name__).splitlines()[0]
    return first.removeprefix("parse error: ").strip()[:200]


def _problem(exc: Exception) -> str:
    """What the JSON parser refused, in words: a number no JSON reader can hold, or damaged JSON."""
    described = _describe(exc)
    if "overflow" in described:  # yajl holds integers in 64 bits and floats in doubles
        return f"a number too large to read ({described})"
    damaged = "not UTF-8 text" if "utf" in described.lower() else "not valid JSON"
    return f"{damaged}, the file is damaged or truncated: {described}"


def _line_and_column(path: Path, offset: int) -> tuple[int, int]:
    """Line and column (1-based, in bytes) of ``offset`` in the file, read in chunks."""
    line, line_start, done = 1, 0, 0
    with path.open("rb") as handle:
        while done < offset:
            chunk = handle.read(min(1 << 20, offset - done))
            if not chunk:
                break
            newlines = chunk.count(b"\n")
            if newlines:
                line += newlines
                line_start = done + chunk.rindex(b"\n") + 1
            done += len(chunk)
    return line, done - line_start + 1


def stream_export(
    path: Path, reader: CountingReader, skipping: Callable[[], bool] = lambda: False
) -> Iterator[ChatStart | RawMessage]:
    """The chats and messages of the Desktop JSON export ``path`` (opened as ``reader``), in file order.

    While ``skipping()`` is true (the caller decides when it is given a :class:`ChatStart`), the chat's
    messages are passed over without being built (their nesting still checked) and not yielded.

    Raises :class:`ImportFormatError` for damaged JSON, text that is not UTF-8, nesting deeper than
    :data:`MAX_DEPTH`, or a document that is neither a chat export nor a full-account export.
    """
    head = fast_chat_head(path)
    if head is None:
        yield from stream_export_walked(path, reader, skipping)
        return
    handed = 0
    try:
        yield ChatStart(where=str(path), values=head)
        for position, (data, depth) in enumerate(fast_messages(reader, MAX_DEPTH - 2)):
            yield RawMessage(position=position, data=data, depth=depth)
            handed = position + 1
        return
    except FastPathLeft:
        pass
    # The walk takes over from the start of the file, handing over only what was not handed over yet
    # (the chat's start and its first ``handed`` messages); it names any problem (file, message, field).
    reader.rewind()
    walked = stream_export_walked(path, reader, skipping)
    next(walked, None)  # the chat's start
    for item in walked:
        if isinstance(item, ChatStart) or item.position >= handed:
            yield item


def stream_export_walked(
    path: Path, reader: CountingReader, skipping: Callable[[], bool] = lambda: False
) -> Iterator[ChatStart | RawMessage]:
    """:func:`stream_export` by the walk through the parse events (any shape of export; explains
    every problem)."""
    state = _Walk(path, skipping)
    try:
        yield from state.walk(ijson.basic_parse(reader, use_float=True))
    except ImportFormatError:
        raise
    except UnicodeDecodeError as exc:
        raise ImportFormatError(f"not UTF-8 text{state.after()}", location=str(path)) from exc
    except (ijson.JSONError, ValueError) as exc:
        line, column = _line_and_column(path, reader.position)
        raise ImportFormatError(
            f"{_problem(exc)}, in the part read up to line {line} column {column}{state.where()}",
            location=str(path),
        ) from exc
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read: {exc.strerror}") from exc
    state.check_shape()


class _Walk:
    """The state of one walk through the parse events (see :func:`stream_export`)."""

    def __init__(self, path: Path, skipping: Callable[[], bool]) -> None:
        self.path = path
        self.skipping = skipping
        self.frames: list[list[Any]] = []
        """Per container entered outside a message: its prefix, and its current key (None in a list)."""
        self.top_keys: set[str] = set()
        self.chat_values: dict[str, Any] = {}
        self.messages_prefix: str | None = None
        self.item_prefix: str | None = None
        self.position = 0
        self.chats_in: dict[str, int] = {}
        self.last_id: object = None
        self.builder: _Builder | None = None

    def after(self) -> str:
        """``, after message id N``: the last message id read (of a message complete or not)."""
        last = self.last_id
        if self.builder is not None:
            first = self.builder.stack[0]
            if type(first) is dict and "id" in first:
                last = first["id"]
        return f", after message id {last}" if last is not None else ""

    def where(self) -> str:
        """Where the parser stopped: in which message and field, or after which message."""
        builder = self.builder
        if builder is None or type(builder.stack[0]) is not dict:
            place = self._value_prefix().replace(".item", "")
            return (f", field '{place}'" if place else "") + self.after()
        first = builder.stack[0]
        named = f" (id {first['id']})" if "id" in first else ""
        field = ".".join(key for key in builder.keys if key is not None)
        return f", in message #{self.position}{named}" + (f", field '{field}'" if field else "")

    def walk(self, events: Iterator[tuple[str, Any]]) -> Iterator[ChatStart | RawMessage]:
        """Take the basic parse events; yield what they complete (a chat's start, a message).

        The events inside a message (nearly all of them) are handled inline, with an explicit stack;
        outside messages the place (ijson's "prefix", e.g. ``chats.list.item.messages``) is kept on a
        stack of frames, which never grows deeper than :data:`MAX_DEPTH`.
        """
        frames = self.frames
        events = iter(events)
        for event, value in events:
            if event == "map_key":
                frames[-1][1] = value
                prefix = frames[-1][0]
            elif event == "end_map" or event == "end_array":
                prefix = frames.pop()[0]
            else:
                prefix = self._value_prefix()
            yield from self._outside(prefix, event, value)
            if self.builder is not None:
                if self.skipping():
                    self._pass_over(events, len(frames))
                else:
                    builder = self.builder
                    built = self._build(events, len(frames))
                    yield self._message(built, builder.deepest)
            elif event == "start_map" or event == "start_array":
                frames.append([prefix, None if event == "start_array" else ""])
                if len(frames) > MAX_DEPTH:
                    self._too_deep(prefix)

    def _build(self, events: Iterator[tuple[str, Any]], depth: int) -> Any:
        """The message whose first container the builder holds, from the events up to its end."""
        builder = self.builder
        assert builder is not None
        stack, keys = builder.stack, builder.keys
        for event, value in events:
            if event == "map_key":
                keys[-1] = value
                continue
            if event == "start_map" or event == "start_array":
                made: Any = {} if event == "start_map" else []
                top = stack[-1]
                if type(top) is list:
                    top.append(made)
                else:
                    top[keys[-1]] = made
                stack.append(made)
                keys.append(None)
                if len(stack) > builder.deepest:
                    builder.deepest = len(stack)
                    if len(stack) + depth > MAX_DEPTH:
                        self._too_deep(f"{self.item_prefix}.…")
            elif event == "end_map" or event == "end_array":
                done = stack.pop()
                keys.pop()
                if not stack:
                    self.builder = None
                    return done
            else:
                top = stack[-1]
                if type(top) is list:
                    top.append(value)
                else:
                    top[keys[-1]] = value
        raise ImportFormatError(f"the file ends inside a message{self.after()}", location=str(self.path))

    def _pass_over(self, events: Iterator[tuple[str, Any]], depth: int) -> None:
        """Read past the message whose first container was just opened, building nothing."""
        self.builder = None
        self.position += 1
        level = 1
        for event, _ in events:
            if event == "start_map" or event == "start_array":
                level += 1
                if level + depth > MAX_DEPTH:
                    self._too_deep(f"{self.item_prefix}.…")
            elif event == "end_map" or event == "end_array":
                level -= 1
                if level == 0:
                    return

    def _value_prefix(self) -> str:
        """ijson's prefix of the value the next event starts, from the frame it lies in."""
        if not self.frames:
            return ""
        container, key = self.frames[-1]
        name = "item" if key is None else key
        return f"{container}.{name}" if container else name

    def _too_deep(self, prefix: str) -> None:
        parts = prefix.split(".")
        place = ".".join(parts[:4]) + (".…" if len(parts) > 4 else "")
        raise ImportFormatError(
            f"nested more than {MAX_DEPTH} levels deep (at {place or 'the top'}{self.after()}); "
            "not a Telegram Desktop export",
            location=str(self.path),
        )

    def _outside(self, prefix: str, event: str, value: Any) -> Iterator[ChatStart | RawMessage]:
        """One parse event outside a message, at ``prefix``."""
        if prefix == self.item_prefix:
            if event == "start_map" or event == "start_array":
                self.builder = _Builder(stack=[{} if event == "start_map" else []], keys=[None])
            else:  # a message that is a bare value: mapped (and refused) by the caller
                yield self._message(value)
        elif prefix == self.messages_prefix:
            if event == "start_array":
                self.item_prefix = f"{prefix}.item"
                yield self._chat_start(prefix)
            elif event == "end_array":
                self.messages_prefix = self.item_prefix = None
            else:
                raise ImportFormatError(
                    f"field 'messages': expected a list, got {event.removeprefix('start_')}",
                    location=str(self.path),
                )
        elif event == "map_key":
            if prefix == "":
                self.top_keys.add(value)
            if value == "messages" and _is_chat(prefix):
                self.messages_prefix = f"{prefix}.messages" if prefix else "messages"
        elif event == "start_map" and _is_chat(prefix):
            self.chat_values = {}
        elif event not in _CONTAINER_EVENTS:
            chat, _, key = prefix.rpartition(".")
            if key in _CHAT_KEYS and _is_chat(chat):
                self.chat_values[key] = value

    def _chat_start(self, prefix: str) -> ChatStart:
        chat = prefix.removesuffix("messages").removesuffix(".")
        if chat:
            section = chat.partition(".")[0]
            number = self.chats_in.get(section, 0)
            self.chats_in[section] = number + 1
            where = f"{self.path}, {section}.list[{number}]"
        else:
            where = str(self.path)
        self.position = 0
        values, self.chat_values = self.chat_values, {}
        return ChatStart(where=where, values=values)

    def _message(self, data: Any, depth: int | None = None) -> RawMessage:
        message = RawMessage(position=self.position, data=data, depth=depth)
        self.position += 1
        if isinstance(data, dict) and "id" in data:
            self.last_id = data["id"]
        return message

    def check_shape(self) -> None:
        """Fail when the document was neither a chat export nor a full-account export."""
        if "messages" not in self.top_keys and "chats" not in self.top_keys:
            raise ImportFormatError(
                "neither a chat export ('messages') nor a full-account export ('chats.list')",
                location=str(self.path),
            )


_CONTAINER_EVENTS: Final = frozenset(("start_map", "end_map", "start_array", "end_array", "map_key"))


def _is_chat(prefix: str) -> bool:
    """True for the prefix of a chat object: the top, or an item of ``chats.list`` / ``left_chats.list``."""
    return prefix == "" or prefix in _CHAT_ITEMS


_CHAT_ITEMS: Final = frozenset(f"{section}.list.item" for section in _SECTIONS)
