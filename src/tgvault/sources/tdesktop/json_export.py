"""Read a Telegram Desktop JSON export (``result.json``) as a stream of channels, posts and file lookups.

Accepted inputs: a single chat's ``result.json`` (or the folder holding it, with ``photos/``, ``files/``,
``video_files/``, ...), or a full-account export's ``result.json`` (``chats.list`` and ``left_chats.list``:
every channel and supergroup in it is read, or only the one named). Both JSON formats are read: the
current one (``text_entities``, ``date_unixtime``, ``from_id`` like ``channel123``) and the older one
(mixed ``text`` lists only, numeric ``from_id``, local times without a UTC offset, which need a time zone).

The file is streamed (:mod:`~tgvault.sources.tdesktop.json_stream`): one message at a time is parsed,
checked and mapped, so an export of any size is read in flat memory. A malformed or truncated file raises
:class:`~tgvault.errors.ImportFormatError` naming the place (message index and id, field) when the stream
reaches it; the caller writes in one transaction, so an error leaves the archive as it was. The raw
Desktop message is kept in ``Post.raw`` as ``{"tdesktop": {...}}`` so that
:mod:`tgvault.export.desktop_json` can write it back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, tzinfo
from pathlib import Path
from typing import BinaryIO

from tgvault.domain import Channel
from tgvault.errors import SourceError, TimezoneRequiredError
from tgvault.formats.desktop import CHANNEL_TYPES
from tgvault.sources.tdesktop.json_fields import MAX_RAW_DEPTH, Fields
from tgvault.sources.tdesktop.json_messages import message_of
from tgvault.sources.tdesktop.json_stream import ChatStart, CountingReader, RawMessage, stream_export
from tgvault.sources.tdesktop.records import ExportMessage

__all__ = ["JsonExportStream", "read_json_export"]


def read_json_export(json_path: Path, channel_name: str | None, timezone: tzinfo | None) -> JsonExportStream:
    """Open ``json_path`` for reading its channels (every one, or the one ``channel_name`` names by name or id).

    ``timezone`` is the zone of the computer that made an older export whose times have no UTC offset.
    Use the result as a context manager and iterate :meth:`JsonExportStream.chats`. Raises
    :class:`SourceError` when the file cannot be opened.
    """
    try:
        handle = json_path.open("rb")
        size = json_path.stat().st_size
    except OSError as exc:
        raise SourceError(f"{json_path}: cannot be read: {exc.strerror}") from exc
    return JsonExportStream(json_path, handle, size, channel_name, timezone)


class JsonExportStream:
    """A JSON export being read: its channels, each with its messages, one at a time, in file order.

    While the stream is read, ``local_times`` tells whether some time had no UTC offset, ``position``
    how many bytes of the file (``size``) were read, and ``timezone_missing`` that local times were met
    without a time zone (the rest is still checked; the end of the stream then raises
    :class:`TimezoneRequiredError`).
    """

    def __init__(
        self, path: Path, handle: BinaryIO, size: int, channel_name: str | None, timezone: tzinfo | None
    ) -> None:
        self.path = path
        self.size = size
        self.local_times = False
        self.timezone_missing = False
        self._handle = handle
        self._reader = CountingReader(handle)
        self._channel_name = channel_name
        self._zone = timezone
        self._seen: list[str] = []
        self._chosen = False
        self._importing = False

    @property
    def position(self) -> int:
        """Bytes of the file read so far."""
        return self._reader.position

    def __enter__(self) -> JsonExportStream:
        return self

    def __exit__(self, *_: object) -> None:
        self._handle.close()

    def items(self) -> Iterator[Channel | ExportMessage]:
        """Each channel to import, followed by its messages, in file order (one message at a time).

        Raises :class:`ImportFormatError` for a malformed or truncated export (when the stream reaches
        the place), :class:`TimezoneRequiredError` at the end when local times need a time zone, and
        :class:`SourceError` when the export holds no (such) channel.
        """
        channel: Channel | None = None
        where = str(self.path)
        self._importing = False  # whether the chat being read is imported (its messages are built)
        for item in stream_export(self.path, self._reader, skipping=lambda: not self._importing):
            if isinstance(item, ChatStart):
                where = item.where
                channel = self._channel(item)
                self._importing = channel is not None
                if channel is not None:
                    yield channel
            elif channel is not None:
                yield self._message(item, f"{where}, message #{item.position}", channel.id)
        self._finish()

    def _channel(self, chat: ChatStart) -> Channel | None:
        """The chat's channel when it is to be imported (None for other chats)."""
        fields = Fields(chat.values, chat.where)
        kind = fields.string("type") or ""
        name = fields.string("name")
        single = chat.where == str(self.path)
        if kind not in CHANNEL_TYPES:
            if single:
                fields.fail(
                    "type",
                    f"this export is a {kind or 'chat of unknown type'}; only channels can be imported",
                )
            return None
        if "id" not in chat.values:  # read as a stream: Desktop writes a chat's name, type and id first
            fields.fail("id", "missing before the chat's 'messages'")
        channel_id = fields.integer("id", required=True)
        assert channel_id is not None
        self._seen.append(repr(name))
        if self._channel_name is not None and self._channel_name not in (name, str(chat.values.get("id"))):
            if single:
                raise SourceError(f"{self.path} holds {name!r}, not {self._channel_name!r}")
            return None
        self._chosen = True
        return Channel(id=channel_id, title=name or str(channel_id), kind=CHANNEL_TYPES[kind])

    def _message(self, item: RawMessage, where: str, channel_id: int) -> ExportMessage:
        data = item.data
        if isinstance(data, Mapping) and (
            ("date" in data and data.get("date_unixtime") is None)
            or ("edited" in data and data.get("edited_unixtime") is None)
        ):
            self.local_times = True
            if self._zone is None:
                self.timezone_missing = True
        zone = UTC if self._zone is None else self._zone
        # What the parser built nests no deeper than counted, holds only finite numbers (yajl refuses
        # others) and text without lone surrogates unless the file escapes one: then it is checked.
        checked = (
            item.depth is not None and item.depth <= MAX_RAW_DEPTH and not self._reader.surrogate_escapes
        )
        return message_of(data, where, channel_id, zone, checked=checked)

    def _finish(self) -> None:
        """At the end of the file: the time zone asked for, or the channel named but not found."""
        if self.timezone_missing:
            raise TimezoneRequiredError(
                f"{self.path}: this export (an older Telegram Desktop format) gives local times without a "
                "UTC offset; give the time zone of the computer that made it with --timezone, e.g. "
                "--timezone Europe/Berlin"
            )
        if self._chosen:
            return
        if self._channel_name is not None:
            names = ", ".join(self._seen) or "none"
            raise SourceError(
                f"{self.path}: no channel named {self._channel_name!r} (channels in the export: {names})"
            )
        raise SourceError(f"{self.path}: the export holds no channels")
