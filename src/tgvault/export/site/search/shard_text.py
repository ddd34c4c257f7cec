"""A recent shard as text: its keys' posting lists kept as the JSON text they were read as.

A rebuild after a few new posts touches a small part of every recent shard: a few keys gain postings,
most stay as they were. So a shard is read by cutting its text at the keys (a C-level regular expression,
no JSON decoding), the lists of the touched keys alone are changed, and the shard is written again by
joining the texts: the bytes are those :func:`~tgvault.export.site.search.scripts.js_call` writes for the
same keys and lists. New postings newer than every posting of a key (new posts) are put in front of its
list's text without decoding the rest of it.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from operator import sub

from tgvault.export.site.search.postings import CODES, decode_codes, encode_codes

_IDS = 0xFFFFFFFF
# A shard's body is "key":[1,2,3] joined by commas; a key is a run of letters, digits and marks (never a
# quote, backslash or control character, which JSON would escape), a list's numbers are decimal digits.
_CUT = re.compile(r'\],"([^"]*)":\[')  # cuts '],' + body into '', key, list, key, list, ...
_PLAIN = re.compile(r'[^"\\\x00-\x1f\u2028\u2029]+')
_NUMBERS = re.compile(r"[0-9,]*")
_LEADING_ZERO = re.compile(",0[0-9]")


def parse_shard(text: str, shard: int) -> dict[str, str] | None:
    """The keys of a shard's script and their lists' texts (``"1,2,3"``), in the file's order; None when
    the text is not a shard script of the form :func:`shard_script` writes (read it as JSON then)."""
    return parse_lists(text, f"tgvaultSearch.recent({shard},")


def parse_lists(text: str, head: str) -> dict[str, str] | None:
    """The keys and lists' texts of a script ``head`` + ``{"key":[1,2],...});`` (:func:`lists_script`),
    or None when the text is not of that form."""
    head += "{"
    if not text.startswith(head) or not text.endswith("]});\n"):
        return None
    parts = _CUT.split("]," + text[len(head) : -5])  # the body without its last "]"
    keys, lists = parts[1::2], parts[2::2]
    if parts[0] or len(keys) != len(lists) or not _PLAIN.fullmatch("".join(keys)):
        return None
    numbers = "," + ",".join(lists)  # a comma before each number: JSON's numbers, not empty, no 01
    if not _NUMBERS.fullmatch(numbers) or ",," in numbers or numbers.endswith(","):
        return None
    if _LEADING_ZERO.search(numbers) is not None:
        return None
    return dict(zip(keys, lists, strict=True))


def shard_script(shard: int, lists: Mapping[str, str]) -> bytes:
    """The script of a shard holding ``lists`` (key → list text), keys sorted: the bytes
    ``js_call("recent", shard, {key: list})`` gives."""
    return lists_script(f"tgvaultSearch.recent({shard},", lists)


def lists_script(head: str, lists: Mapping[str, str]) -> bytes:
    """``head`` + ``{"key":[list],...});`` with the keys sorted: the bytes :func:`js_call` gives for
    the same dictionary after the arguments in ``head``."""
    keys = sorted(lists)
    if not keys:
        body = ""
    elif not all(map(_PLAIN.fullmatch, keys)):  # pragma: no cover - keys never hold such characters
        entries = {key: json.loads(f"[{lists[key]}]") for key in keys}
        body = json.dumps(entries, ensure_ascii=False, separators=(",", ":"))[1:-1]
        body = body.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    else:
        body = '"' + '],"'.join(map('":['.join, zip(keys, map(lists.__getitem__, keys), strict=True))) + "]"
    return f"{head}{{{body}}});\n".encode("utf-8", "replace")


def list_text(flat: Iterable[int]) -> str:
    """A flat posting list as the text between its brackets."""
    return ",".join(map(str, flat))


def list_codes(text: str) -> list[int]:
    """The posting codes (newest first) of a list's text."""
    return decode_codes(list_numbers(text))


def list_numbers(text: str) -> list[int]:
    """The flat list of a list's text."""
    return list(map(int, text.split(","))) if text else []


def add_codes(text: str, codes: list[int]) -> str:
    """A list's text with the postings of ``codes`` (sorted, distinct) added. When every one of them is
    newer than the list's newest posting (new posts), they are put in front of the text: only the
    list's first group is read, to join the last new group when of the same channel and month."""
    month, slot, count, first, *rest = text.split(",", 4)
    shift = 32 + CODES.slot_bits
    high = ((CODES.newest - int(month)) << shift) | (int(slot) << 32)
    oldest_new = codes[-1]
    if oldest_new >= high | (_IDS - int(first)):  # not all newer: merge the whole list
        return list_text(encode_codes(sorted(set(list_codes(text)).union(codes))))
    tail = ("," + rest[0]) if rest else ""
    if oldest_new >> 32 != high >> 32:  # another channel or month: the old groups follow as they are
        return list_text(encode_codes(codes)) + "," + text
    # The last new group and the list's first group are one: count both, and a gap between them (in a
    # group, the gap between two ids is the difference of their codes).
    start = bisect_left(codes, high)
    last = len(codes) - 1
    first_id = _IDS - (codes[start] & _IDS)
    gaps = map(sub, codes[start + 1 :], codes[start:last])
    group = [month, slot, str(len(codes) - start + int(count)), str(first_id), *map(str, gaps)]
    group.append(str(_IDS - (codes[last] & _IDS) - int(first)))
    head = list_text(encode_codes(codes[:start])) + "," if start else ""
    return head + ",".join(group) + tail
