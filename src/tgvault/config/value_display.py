"""How a user-supplied value is shown in a configuration error message."""

from __future__ import annotations

from datetime import date


def show_value(value: object, limit: int = 80) -> str:
    """Render a user-supplied value for an error message, shortened if long."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str | int | float):
        text = repr(value)
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
