"""TL objects as JSON-safe ``raw`` data (what ``Post.raw`` keeps), and ``raw`` read back into TL objects."""

from __future__ import annotations

import base64
import inspect
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import orjson
from telethon.tl import alltlobjects
from telethon.tl.tlobject import TLObject

from tgvault.sources.telegram.reading import type_name

# Exact types that are JSON-safe as they are. Checked with ``type(value) in _PLAIN`` before any call:
# a to_dict() tree is mostly these, and this conversion runs on every archived message.
_PLAIN = frozenset({str, int, bool, type(None)})


def raw_to_json_safe(obj: Any) -> Any:
    """``obj`` (a TL object, its ``to_dict()``, or any value inside one) as plain JSON-safe data.

    TL objects become their ``to_dict()``; bytes become ``{"_bytes": "<base64>"}``; datetimes become ISO
    strings with their UTC offset (naive ones are taken as UTC); tuples and sets become lists; dict keys
    become strings; non-finite floats become strings. Key order follows ``to_dict()``, so the result is
    deterministic. Anything else unknown becomes ``{"_repr": ..., "_type": ...}``.
    """
    kind = type(obj)
    if kind is dict:  # fast paths for the plain containers of a to_dict() tree
        return _dict_to_json_safe(obj)
    if kind is list:
        return [item if type(item) in _PLAIN else raw_to_json_safe(item) for item in obj]
    if kind in _PLAIN:
        return obj
    return _other_to_json_safe(obj)


def _dict_to_json_safe(obj: dict[Any, Any]) -> dict[str, Any]:
    return {
        (key if type(key) is str else str(key)): (value if type(value) in _PLAIN else raw_to_json_safe(value))
        for key, value in obj.items()
    }


def _other_to_json_safe(obj: Any) -> Any:
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, bytes | bytearray | memoryview):
        return {"_bytes": base64.b64encode(bytes(obj)).decode("ascii")}
    if isinstance(obj, datetime):
        aware = obj.replace(tzinfo=UTC) if obj.tzinfo is None else obj
        return aware.isoformat()
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, TLObject):
        return tl_to_raw(obj)
    if isinstance(obj, Mapping):
        return {str(key): raw_to_json_safe(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [raw_to_json_safe(item) for item in obj]
    if isinstance(obj, set | frozenset):
        return sorted((raw_to_json_safe(item) for item in obj), key=repr)
    return {"_repr": repr(obj), "_type": type_name(obj)}


# The fast path of tl_to_raw: orjson walks the to_dict() tree in C (dates as ISO strings with their
# offset, naive ones as UTC, int keys as strings) and calls back only for what it cannot write itself.
_ORJSON_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS


def _orjson_default(obj: Any) -> Any:
    """orjson's callback for values it cannot write: bytes, sets, TL objects, unknown objects."""
    return _other_to_json_safe(obj)


def tl_to_raw(obj: Any) -> dict[str, Any]:
    """A TL object's ``to_dict()`` made JSON-safe (see :func:`raw_to_json_safe`), for ``Post.raw``.

    A bare ``telethon.tl.custom.Message`` (which has no ``to_dict``) is read from its public attributes.
    The conversion runs in orjson (one encode and decode in C, several times faster than walking the tree
    in Python, which matters on every archived message); what orjson refuses (an integer beyond 64 bits,
    a lone surrogate) takes the pure-Python path, which gives the same result. One difference: a
    non-finite double, which Telegram never sends, becomes ``null`` on the fast path.
    """
    try:
        as_dict = obj.to_dict()
    except NotImplementedError:
        as_dict = None
    if not isinstance(as_dict, Mapping):
        as_dict = {
            "_": "MessageService" if getattr(obj, "action", None) is not None else type_name(obj),
            **{key: value for key, value in vars(obj).items() if not key.startswith("_")},
        }
    plain = as_dict if type(as_dict) is dict else dict(as_dict)
    try:
        fast: dict[str, Any] = orjson.loads(
            orjson.dumps(plain, default=_orjson_default, option=_ORJSON_OPTIONS)
        )
    except (TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError
        return _dict_to_json_safe(plain)
    return fast


@cache
def _classes() -> dict[str, type[TLObject]]:
    """TL constructors by the name ``to_dict()`` writes in ``_`` (e.g. ``"Message"``)."""
    found: dict[str, type[TLObject]] = {}
    for cls in alltlobjects.tlobjects.values():
        name = cls.__name__
        module = cls.__module__
        inner = module.removeprefix("telethon.tl.types.") if module.startswith("telethon.tl.types.") else ""
        found[f"{inner}.{name}" if inner else name] = cls
    return found


_DATE_FIELDS: dict[str, frozenset[str]] = {}


def _date_fields(name: str, cls: Any) -> frozenset[str]:
    found = _DATE_FIELDS.get(name)
    if found is None:
        signature = inspect.signature(cls.__init__)
        found = _DATE_FIELDS[name] = frozenset(
            key for key, parameter in signature.parameters.items() if "datetime" in str(parameter.annotation)
        )
    return found


def tl_from_raw(value: Any) -> Any:
    """The inverse of :func:`tl_to_raw`: TL objects, bytes and dates back."""
    if isinstance(value, list):
        return [tl_from_raw(item) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"_bytes"}:
        return base64.b64decode(value["_bytes"])
    name = value.get("_")
    if not isinstance(name, str):
        return {key: tl_from_raw(item) for key, item in value.items()}
    cls = _classes().get(name)
    if cls is None:
        raise ValueError(f"unknown TL type {name!r}")
    accepted = inspect.signature(cls.__init__).parameters
    dates = _date_fields(name, cls)
    arguments: dict[str, Any] = {}
    for key, item in value.items():
        if key == "_" or key not in accepted:
            continue
        if key in dates and isinstance(item, str):
            arguments[key] = datetime.fromisoformat(item)
        else:
            arguments[key] = tl_from_raw(item)
    return cls(**arguments)
