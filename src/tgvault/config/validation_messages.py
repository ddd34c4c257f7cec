"""Turning pydantic's validation errors into messages that name the field, the bad value and the fix."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tgvault.config.channels import ChannelConfig
from tgvault.config.sections import SECRET_FIELDS
from tgvault.config.settings import SECTION_MODELS, Settings
from tgvault.config.value_display import show_value


def _model_at(loc: Sequence[str | int]) -> type[BaseModel]:
    """The model whose fields are valid keys at ``loc`` (list indexes skipped)."""
    names = [part for part in loc if isinstance(part, str)]
    if not names:
        return Settings
    if names[0] == "channels":
        return ChannelConfig
    return SECTION_MODELS.get(names[0], Settings)


def _unknown_key_message(loc: Sequence[str | int], value: object) -> str:
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    known = list(model.model_fields)
    close = difflib.get_close_matches(key.lower(), known, n=1, cutoff=0.6)
    is_table = isinstance(value, dict) and len(loc) == 1
    if close:
        suggestion = f"[{close[0]}]" if is_table and close[0] in SECTION_MODELS else repr(close[0])
        hint = f"did you mean {suggestion}?"
    else:
        hint = "expected one of: " + ", ".join(known)
    what = f"unknown section [{key}]" if is_table else "unknown key"
    return f"{what}; {hint}"


def _error_message(error: Mapping[str, Any]) -> str:
    """Turn one pydantic error into 'what is wrong; what is expected'."""
    kind: str = error["type"]
    loc: tuple[str | int, ...] = tuple(error["loc"])
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    secret = bool(loc) and str(loc[-1]) in SECRET_FIELDS
    value = "the value" if secret else show_value(error.get("input"))
    if kind == "extra_forbidden":
        return _unknown_key_message(loc, error.get("input"))
    if kind == "missing":
        return "is required but missing"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"]))
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{value} is not an integer; expected a whole number"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return f"{value} is not a number; expected a number like 1.5"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        sign = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}
        bound = next(iter(ctx.values())) if ctx else "?"
        return f"{value} is out of range; expected a number {sign[kind]} {bound}"
    if kind in ("bool_parsing", "bool_type"):
        return f"{value} is not a boolean; expected true or false"
    if kind in ("string_type", "path_type"):
        return f"{value} is not text; expected a quoted string"
    if kind == "string_too_short":
        return "is empty; expected some text"
    if kind.startswith("date"):
        return f"{value} is not a date; expected a date like 2024-01-31"
    if kind in ("enum", "literal_error"):
        return f"{value} is not allowed; expected {ctx.get('expected', 'one of the documented values')}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{value} is not a table; expected a [section] of key = value lines"
    if kind in ("list_type", "tuple_type", "iterable_type"):
        if loc == ("channels",):
            return f"{value} is not a list of channels; expected one [[channels]] table per channel"
        return f"{value} is not a list; expected [ ... ]"
    return f"{value}: {error['msg']}"


def _format_loc(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _leaf_origins(env_names: Mapping[str, str], loc: Sequence[str | int]) -> str | None:
    """The environment variable that supplied the value at ``loc``, if one did."""
    names = tuple(str(part) for part in loc)
    for length in range(len(names), 0, -1):
        origin = env_names.get("__".join(names[:length]))
        if origin is not None:
            return origin
    return None


def format_validation_error(
    error: ValidationError, file: Path | None, env_names: Mapping[str, str]
) -> list[str]:
    """One message per problem, located by the environment variable or the file that gave the value."""
    problems = []
    for item in error.errors(include_url=False):
        loc: tuple[str | int, ...] = tuple(item["loc"])
        where = _format_loc(loc)
        message = _error_message(item)
        origin = _leaf_origins(env_names, loc)
        for line in message.splitlines() or [message]:
            field, detail = where, line
            if where and line.startswith((f"{where}[", f"{where}.")):
                field, _, detail = line.partition(": ")
            located = f"{field}: {detail}" if field else detail
            if origin is not None:
                problems.append(f"{origin} ({field}): {detail}")
            elif file is not None:
                problems.append(f"{file}: {located}")
            else:
                problems.append(located)
    return problems
