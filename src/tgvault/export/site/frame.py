"""Page frames: a template rendered once around placeholders, then filled in per page by string joins.

A channel has one permalink page per post, all in one folder and all alike but for a handful of values
(title, description, the card, dates, two links). Rendering ``post.html`` through Jinja for each of
them costs more than everything else a post needs, so the theme's template is rendered once per
channel and shape with marker strings in place of those values, cut at the markers, and each page is
the join of the pieces with the values escaped exactly as the template's autoescaping would.

A frame is only used when the rendering with real values gives the same bytes: the first page of
every frame is rendered both ways and compared, and a frame that differs (a user template that
transforms a value, say) is dropped for the normal rendering.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup

from tgvault.export.site.richtext import escape_text

_MARK = "\x1etgvault-slot-{}\x1e"
_SPLIT = re.compile("\x1etgvault-slot-([a-z_]+)\x1e")


def slot(name: str) -> Markup:
    """The marker standing for the value ``name`` in a frame (markup, so the template leaves it alone)."""
    return Markup(_MARK.format(name))  # noqa: S704  # a constant marker without any markup


class Frame:
    """A rendered page cut at its markers: ``fill(values)`` gives the page for one set of values."""

    def __init__(self, html: str) -> None:
        pieces = _SPLIT.split(html)
        self._literals = pieces[0::2]
        self._names = pieces[1::2]

    def fill(self, values: Mapping[str, object]) -> str:
        """The page with every marker replaced by its value, escaped unless it is :class:`Markup`."""
        out = [self._literals[0]]
        for name, literal in zip(self._names, self._literals[1:], strict=True):
            value = values[name]
            out.append(str(value) if isinstance(value, Markup) else escape_text(value))
            out.append(literal)
        return "".join(out)


class FrameCache:
    """Frames by shape, each checked once against a full rendering before it is trusted."""

    def __init__(self) -> None:
        self._frames: dict[Any, Frame | None] = {}

    def render(
        self,
        shape: object,
        values: Mapping[str, object],
        render_with: Callable[[Mapping[str, object]], str],
    ) -> str:
        """The page for ``values``: from the frame of ``shape``, built (and checked) on first use.

        Values that are empty are part of the shape (they are rendered into the frame as they are).

        ``render_with`` renders the template given the values (markers or real ones) for the slots.
        """
        # An empty value takes the template's other branch ({% if description %}): part of the shape.
        key = (shape, frozenset(name for name, value in values.items() if not value))
        if key not in self._frames:
            frame = Frame(
                render_with({name: slot(name) if value else value for name, value in values.items()})
            )
            html = render_with(values)
            self._frames[key] = frame if frame.fill(values) == html else None
            return html
        cached = self._frames[key]
        if cached is None:
            return render_with(values)
        return cached.fill(values)
