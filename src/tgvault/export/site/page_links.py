"""Relative links from one page of the site: to any path, a bundled asset, a hashtag or a planned post."""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from tgvault.export.site.links import relative_from
from tgvault.export.site.plan import ChannelPlan, SitePlan


class PageLinks:
    """Relative links from one page of the site."""

    def __init__(self, page_path: str, site: SitePlan) -> None:
        self.page_path = page_path
        self.site = site
        self._folder = posixpath.dirname(page_path)

    def to(self, site_path: str, fragment: str | None = None) -> str:
        """Link to another path of the site."""
        return relative_from(self._folder, site_path, fragment)

    def static(self, name: str) -> str:
        """Link to a bundled asset."""
        return self.to(f"static/{name}")

    def hashtag_linker(self, plan: ChannelPlan) -> Callable[[str], str | None]:
        """A function giving the link to a hashtag page of ``plan`` (None for unknown tags)."""

        def link(key: str) -> str | None:
            path = plan.tag_path(key)
            return None if path is None else self.to(path)

        return link

    def post(self, channel_id: int, message_id: int) -> str | None:
        """Link to the post's place on its timeline page, wherever it lives in the site."""
        found = self.site.locate(channel_id, message_id)
        if found is None:
            return None
        location = found[0].location(message_id)
        return None if location is None else self.to(*location)
