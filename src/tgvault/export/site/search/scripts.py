"""The files of the search index are small scripts handing JSON to ``tgvaultSearch.<function>(...)``.

Loaded by ``<script>`` elements rather than ``fetch``, they work from any static file server and also
from ``file://``, where browsers refuse ``fetch``. The build reads its own earlier files back with
:func:`read_script` when it updates the index in place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def js_call(function: str, *arguments: Any) -> bytes:
    """``tgvaultSearch.function(arguments);`` with the arguments as JSON."""
    parts = []
    for argument in arguments:
        data = json.dumps(argument, ensure_ascii=False, separators=(",", ":"))
        # U+2028/2029 are line terminators in older JavaScript; escape them so the file always parses.
        parts.append(data.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return f"tgvaultSearch.{function}({','.join(parts)});\n".encode("utf-8", "replace")


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
