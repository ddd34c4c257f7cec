"""The files of the search index are small scripts handing JSON to ``tgvaultSearch.<function>(...)``.

Loaded by ``<script>`` elements rather than ``fetch``, they work from any static file server and also
from ``file://``, where browsers refuse ``fetch``. The build reads its own earlier files back with
:func:`read_script` when it updates the index in place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson

# U+2028/2029 in UTF-8: line terminators in older JavaScript, escaped so the file always parses
_LINE_SEPARATORS = (("\u2028".encode(), b"\\u2028"), ("\u2029".encode(), b"\\u2029"))


def js_call(function: str, *arguments: Any) -> bytes:
    """``tgvaultSearch.function(arguments);`` with the arguments as JSON."""
    parts = b",".join(map(_json, arguments))
    return b"tgvaultSearch." + function.encode() + b"(" + parts + b");\n"


def _json(argument: Any) -> bytes:
    """An argument as compact JSON in UTF-8, what the reference ``json_reference`` gives: written by
    orjson (C), whose bytes are ``json.dumps``'s (no ASCII escaping, compact separators) for what the
    index writes — integers, strings, lists, dictionaries with string keys, None, booleans; no floats,
    which the two write differently; a test holds them together on hostile values. What orjson refuses
    (a string with a lone surrogate, an integer beyond 64 bits, a key that is not a string) goes
    through ``json.dumps``. A build from scratch writes ≈ 12,000 of these for 20,000 posts."""
    try:
        data = orjson.dumps(argument)
    except orjson.JSONEncodeError:
        return json_reference(argument)
    for separator, escaped in _LINE_SEPARATORS:
        if separator in data:
            data = data.replace(separator, escaped)
    return data


def json_reference(argument: Any) -> bytes:
    """An argument as :func:`js_call` writes it, by ``json.dumps`` (lone surrogates written as ``?``)."""
    data = json.dumps(argument, ensure_ascii=False, separators=(",", ":"))
    # U+2028/2029 are line terminators in older JavaScript; escape them so the file always parses.
    return data.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode("utf-8", "replace")


def read_script(path: Path, function: str) -> list[Any] | None:
    """The arguments of a file :func:`js_call` wrote, or None when it is missing or not ours."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    head = f"tgvaultSearch.{function}("
    if not text.startswith(head) or not text.endswith(");\n"):
        return None
    try:
        value = json.loads("[" + text[len(head) : -3] + "]")
    except ValueError:
        return None
    return value if isinstance(value, list) else None
