"""The ledger's canonical forms: the bytes each record and each entry is hashed as (versions 1 and 2).

A record's **canonical bytes** are a JSON object with its keys sorted, no whitespace, UTF-8, integers
as written and times as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC). Per kind of entry the object holds:

* ``revision`` (a state of a post, first seen or edited): ``channel_id``, ``message_id``, ``text``,
  ``entities`` (as archived: a list of objects), ``edit_date``; from version 2 also ``poll`` (the poll as
  archived: ``question``, ``answers`` with their ``text``, ``voters``, ``chosen``, ``correct``, then
  ``total_voters``, ``closed``, ``quiz``, ``multiple_choice``, ``public_voters``; null when none) and
  ``web_page`` (the link preview as archived: ``url``, ``site_name``, ``title``, ``description``; null);
* ``deletion`` (a tombstone) and ``restored`` (a post seen again): ``channel_id``, ``message_id``,
  ``deleted_at`` (null for ``restored``);
* ``media`` (a file stored): ``channel_id``, ``message_id``, ``sha256``, ``size``;
* ``counters`` (a counters snapshot): ``channel_id``, ``message_id``, ``observed_at``, ``views``,
  ``forwards``, ``replies``, ``reactions``;
* ``capture`` (a post read from a web preview page): no JSON object: ``record_sha256`` is the sha256 of the
  page's bytes as the server sent them (the payload of the WARC response record the entry names in
  ``warc_record_id``).

A ``revision`` object has ``"v"`` set to its form (1 or 2); the other objects did not change in version 2
and keep ``"v": 1``. An entry's hash is the sha256 of the canonical JSON of its own fields (``channel_id``,
``seq``, ``kind``, ``message_id``, ``observed_at``, ``record_sha256``, ``media_sha256``, ``prev_sha256``,
``backfilled_at``, ``v`` — the entry's form, stored as ``form_version`` — and ``warc_record_id`` only when
the entry has one), so each entry seals the one before it and says which form its record was hashed in:
an entry written before version 2 keeps ``"v": 1`` and is checked the version 1 way.
The first entry of a channel has ``prev_sha256`` of 64 zeros.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson

VERSION = 2
"""The canonical form new entries are written in (1: before polls and link previews were hashed)."""
FORMS = (2, 1)
"""Every form an entry may be in, newest first."""
GENESIS = "0" * 64

REVISION = "revision"
DELETION = "deletion"
RESTORED = "restored"
MEDIA = "media"
COUNTERS = "counters"
CAPTURE = "capture"
KINDS = (REVISION, DELETION, RESTORED, MEDIA, COUNTERS, CAPTURE)


def canonical_bytes(value: Mapping[str, Any]) -> bytes:
    """The canonical JSON of a mapping: keys sorted, no whitespace, UTF-8."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits: the standard library writes the same text
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    """The lowercase hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def timestamp(value: datetime | None) -> str | None:
    """A time as the canonical form writes it (UTC, microseconds, ``Z``)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime in a ledger record; use UTC-aware datetimes")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def revision_record(
    channel_id: int,
    message_id: int,
    text: str,
    entities: Sequence[Any] | None,
    edit_date: datetime | None,
    poll: Mapping[str, Any] | None = None,
    web_page: Mapping[str, Any] | None = None,
    *,
    form: int = VERSION,
) -> dict[str, Any]:
    """The canonical object of a post's state (current row or an earlier revision) in ``form``: version 1
    leaves the poll and the link preview out, version 2 holds them as archived."""
    record: dict[str, Any] = {
        "v": form,
        "channel_id": channel_id,
        "message_id": message_id,
        "text": text,
        "entities": list(entities or ()),
        "edit_date": timestamp(edit_date),
    }
    if form >= 2:
        record["poll"] = None if poll is None else dict(poll)
        record["web_page"] = None if web_page is None else dict(web_page)
    elif form != 1:
        raise ValueError(f"unknown canonical form {form}")
    return record


def deletion_record(channel_id: int, message_id: int, deleted_at: datetime | None) -> dict[str, Any]:
    """The canonical object of a tombstone set (``deleted_at``) or lifted (None)."""
    return {
        "v": 1,
        "channel_id": channel_id,
        "message_id": message_id,
        "deleted_at": timestamp(deleted_at),
    }


def media_record(channel_id: int, message_id: int, sha256: str, size: int | None) -> dict[str, Any]:
    """The canonical object of a stored file."""
    return {"v": 1, "channel_id": channel_id, "message_id": message_id, "sha256": sha256, "size": size}


def counters_record(values: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical object of a counters snapshot (a row of ``post_counters`` as a mapping)."""
    return {
        "v": 1,
        "channel_id": values["channel_id"],
        "message_id": values["message_id"],
        "observed_at": timestamp(values["observed_at"]),
        "views": values.get("views"),
        "forwards": values.get("forwards"),
        "replies": values.get("replies"),
        "reactions": list(values.get("reactions") or ()),
    }


def record_hash(record: Mapping[str, Any]) -> str:
    """The sha256 of a record's canonical bytes."""
    return sha256_hex(canonical_bytes(record))


@dataclass(frozen=True)
class Draft:
    """An observation to append: what the ledger entry says before it has a place in the chain."""

    kind: str
    message_id: int | None
    observed_at: datetime
    record_sha256: str
    media_sha256: str | None = None
    backfilled_at: datetime | None = None
    warc_record_id: str | None = None
    form: int = VERSION


@dataclass(frozen=True)
class Entry:
    """A ledger entry in its chain."""

    channel_id: int
    seq: int
    kind: str
    message_id: int | None
    observed_at: datetime
    record_sha256: str
    media_sha256: str | None
    prev_sha256: str
    entry_sha256: str
    backfilled_at: datetime | None = None
    warc_record_id: str | None = None
    form_version: int = 1

    def as_json(self) -> dict[str, Any]:
        """The entry as one line of ``ledger.jsonl`` (its fields, times in the canonical form)."""
        return entry_fields(self) | {"entry_sha256": self.entry_sha256}


@dataclass(frozen=True)
class LedgerStamp:
    """An RFC 3161 time-stamp response over entry ``seq`` of a channel (whose hash is the imprint), with
    the TSA's CA certificates (PEM) it was checked against."""

    channel_id: int
    seq: int
    entry_sha256: str
    tsa_url: str
    token: bytes
    certificates: bytes
    stamped_at: datetime


def entry_fields(entry: Entry | Mapping[str, Any]) -> dict[str, Any]:
    """The object an entry's hash is taken of."""
    get: Callable[[str], Any]
    if isinstance(entry, Mapping):
        get = entry.get
        form = entry.get("v", 1)
    else:
        get = partial(getattr, entry)
        form = entry.form_version
    fields = {
        "v": form,
        "channel_id": get("channel_id"),
        "seq": get("seq"),
        "kind": get("kind"),
        "message_id": get("message_id"),
        "observed_at": timestamp(get("observed_at")),
        "record_sha256": get("record_sha256"),
        "media_sha256": get("media_sha256"),
        "prev_sha256": get("prev_sha256"),
        "backfilled_at": timestamp(get("backfilled_at")),
    }
    warc_record_id = get("warc_record_id")
    if warc_record_id is not None:
        fields["warc_record_id"] = warc_record_id
    return fields


def entry_hash(entry: Entry | Mapping[str, Any]) -> str:
    """The sha256 of an entry's canonical bytes (which include the hash of the entry before)."""
    return sha256_hex(canonical_bytes(entry_fields(entry)))


def chain(channel_id: int, after_seq: int, after_hash: str, drafts: Sequence[Draft]) -> list[dict[str, Any]]:
    """Place drafts in the channel's chain after entry ``after_seq`` (hash ``after_hash``): the entries'
    rows, each with its ``entry_sha256``. (The hot path of every write: times are written once each.)"""
    rows: list[dict[str, Any]] = []
    previous = after_hash
    stamps: dict[datetime, str | None] = {}
    seq = after_seq
    with_warc = any(draft.warc_record_id is not None for draft in drafts)
    with_form = any(draft.form != 1 for draft in drafts)
    for draft in drafts:
        seq += 1
        observed = stamps.get(draft.observed_at)
        if observed is None:
            observed = stamps[draft.observed_at] = timestamp(draft.observed_at)
        backfilled = None if draft.backfilled_at is None else timestamp(draft.backfilled_at)
        sealed = {
            "v": draft.form,
            "channel_id": channel_id,
            "seq": seq,
            "kind": draft.kind,
            "message_id": draft.message_id,
            "observed_at": observed,
            "record_sha256": draft.record_sha256,
            "media_sha256": draft.media_sha256,
            "prev_sha256": previous,
            "backfilled_at": backfilled,
        }
        if draft.warc_record_id is not None:
            sealed["warc_record_id"] = draft.warc_record_id
        row = {
            "channel_id": channel_id,
            "seq": seq,
            "kind": draft.kind,
            "message_id": draft.message_id,
            "observed_at": draft.observed_at,
            "record_sha256": draft.record_sha256,
            "media_sha256": draft.media_sha256,
            "prev_sha256": previous,
            "entry_sha256": "",
            "backfilled_at": draft.backfilled_at,
        }
        if (
            with_warc
        ):  # only then: a schema older than the column (migration 0010's backfill) still takes rows
            row["warc_record_id"] = draft.warc_record_id
        if with_form:  # likewise: version 1 entries (the backfill of migration 0010) leave it to its default
            row["form_version"] = draft.form
        previous = row["entry_sha256"] = hashlib.sha256(canonical_bytes(sealed)).hexdigest()
        rows.append(row)
    return rows
