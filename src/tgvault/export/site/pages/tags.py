"""Hashtag pages: a channel's hashtag index and each tag's numbered pages of posts.

A tag is split into pages of :data:`~tgvault.export.site.plan.TAG_PAGE_SIZE` posts from its oldest on;
an incremental build looks only at the pages a change can reach.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from markupsafe import Markup

from tgvault.export.site.context import BuildContext
from tgvault.export.site.formatting import format_full
from tgvault.export.site.options import Order
from tgvault.export.site.page_keys import digest
from tgvault.export.site.page_links import PageLinks
from tgvault.export.site.pages.layout import page_context, page_header
from tgvault.export.site.pages.own_keys import own_page_key
from tgvault.export.site.plan import ChannelPlan, TagPlan, post_anchor
from tgvault.export.site.richtext import clean_text, escape_text, snippet

FETCH_CHUNK = 500  # posts read at a time, and hashtag pages rendered in a batch of about as many posts
DATES_CACHED = 4096  # formatted dates kept for reuse (a cache, cleared when full)


class TagPages:
    """Writes the hashtag pages of channels, keeping the dates it formatted for reuse."""

    def __init__(self, ctx: BuildContext) -> None:
        self.ctx = ctx
        self._zone = ctx.zone
        self._dates: dict[datetime, str] = {}

    def write(
        self, plan: ChannelPlan, only: set[str] | None = None, reached: Mapping[str, int] | None = None
    ) -> None:
        """The hashtag index and the tags' pages: all of them, or those of the tags in ``only``, from the
        page holding the lowest changed message id in ``reached`` on (see :class:`ChannelChanges`)."""
        ctx = self.ctx
        if not plan.tags:
            return
        tags = sorted(plan.tags.values(), key=lambda tag: (-len(tag.ids), tag.key))
        context = page_context(ctx, plan.tags_path, f"{plan.channel.title} — hashtags")
        links: PageLinks = context["links"]
        header = page_header(ctx, plan, links)
        listed = [
            {
                "label": clean_text(tag.label),
                "count": len(tag.ids),
                "url": links.to(plan.tag_path(tag.key) or ""),
            }
            for tag in tags
        ]
        index_key = own_page_key(ctx, "tags", context["page"], header, listed)
        if not ctx.writer.skip_if_current(plan.tags_path, index_key):
            html = ctx.renderer.render("tags.html", **context, channel=header, tags=listed)
            ctx.writer.write(plan.tags_path, html, index_key)
        # Each tag is split into pages of TAG_PAGE_SIZE posts; only pages whose posts, neighbours or
        # label changed are rendered, a batch at a time, so memory stays flat however large a tag is.
        batch: list[tuple[TagPlan, int, str, str]] = []
        batch_size = 0
        for tag in tags:
            if only is not None:
                if tag.key not in only:
                    continue
                self._drop_stale_pages(plan, tag)
            landing = plan.tag_landing(tag)
            for number in self._pages_to_check(plan, tag, None if reached is None else reached.get(tag.key)):
                path = plan.tag_page_path(tag, number)
                ids = tag.page_ids(number)
                key = digest(
                    ctx.global_key,
                    "tag",
                    tag.key,
                    tag.label,
                    plan.posts.keyed(ids),
                    path,
                    self._neighbours(plan, tag, number),
                    len(tag.ids) if number == landing else -1,
                )
                if ctx.writer.skip_if_current(path, key):
                    continue
                batch.append((tag, number, path, key))
                batch_size += len(ids)
                if batch_size >= FETCH_CHUNK:
                    self._render_pages(plan, batch)
                    batch, batch_size = [], 0
        if batch:
            self._render_pages(plan, batch)

    @staticmethod
    def _pages_to_check(plan: ChannelPlan, tag: TagPlan, lowest: int | None) -> list[int]:
        """Numbers of the tag's pages a change from message id ``lowest`` on can reach (None: all).

        The page holding ``lowest`` and those after it; two before it, whose links change when the
        landing page moves or a page appears or goes; and the landing page (its count).
        """
        count = tag.page_count
        if lowest is None:
            return list(range(1, count + 1))
        first = tag.page_reaching(lowest)
        numbers = set(range(max(1, first - 2), count + 1))
        numbers.add(plan.tag_landing(tag))
        return sorted(numbers)

    def _drop_stale_pages(self, plan: ChannelPlan, tag: TagPlan) -> None:
        """Remove numbered pages a tag no longer fills (it shrank, or its landing page moved)."""
        ctx = self.ctx
        current = set(plan.tag_page_paths(tag))
        number = 1
        while True:
            path = plan.tag_numbered_path(tag, number)
            if path not in current:
                if number > tag.page_count and ctx.writer.manifest.page(path) is None:
                    return
                ctx.writer.drop(path)
            number += 1

    @staticmethod
    def _neighbours(plan: ChannelPlan, tag: TagPlan, number: int) -> tuple[str | None, str | None]:
        """The paths of the tag's pages of older and of newer posts next to page ``number``."""
        older = plan.tag_page_path(tag, number - 1) if number > 1 else None
        newer = plan.tag_page_path(tag, number + 1) if number < tag.page_count else None
        return older, newer

    def _render_pages(self, plan: ChannelPlan, pages: list[tuple[TagPlan, int, str, str]]) -> None:
        """Render a batch of hashtag pages, reading the snippets of their posts and only those."""
        ctx = self.ctx
        wanted = sorted({message_id for tag, number, _, _ in pages for message_id in tag.page_ids(number)})
        snippets: dict[int, tuple[str, bool]] = {}
        with ctx.uow_factory() as uow:
            for start in range(0, len(wanted), FETCH_CHUNK):
                found = uow.posts.texts(plan.channel.id, wanted[start : start + FETCH_CHUNK])
                for message_id, (text, deleted) in found.items():
                    snippets[message_id] = (snippet(text, 160), deleted)
        newest_first = plan.order is Order.NEWEST
        for tag, number, path, key in pages:
            context = page_context(ctx, path, f"#{tag.label} — {plan.channel.title}")
            links: PageLinks = context["links"]
            entries = []
            # links to timeline pages and permalinks worked out once per page: the strings links.to() gives
            page_urls: dict[int, str] = {}
            permalink_base = links.to(plan.permalink_path(0)).removesuffix("0.html")
            for message_id in tag.page_ids(number):
                index = plan.posts.page_of(message_id)
                url = None
                if index >= 0:
                    page_url = page_urls.get(index)
                    if page_url is None:
                        page_url = page_urls[index] = links.to(plan.pages[index].path)
                    url = f"{page_url}#{post_anchor(message_id)}"
                text, deleted = snippets.get(message_id, ("", False))
                entries.append(
                    {
                        "url": url,
                        "permalink": f"{permalink_base}{int(message_id)}.html"
                        if plan.post_pages
                        else url or links.to(plan.index_path),
                        "date": self._full_date(plan.posts.date_of(message_id)),
                        "text": text,
                        "deleted": deleted,
                    }
                )
            if newest_first:
                entries.reverse()
            older, newer = self._neighbours(plan, tag, number)
            earlier, later = (newer, older) if newest_first else (older, newer)
            pager = {
                "previous": links.to(earlier) if earlier else None,
                "previous_label": "Newer posts" if newest_first else "Older posts",
                "next": links.to(later) if later else None,
                "next_label": "Older posts" if newest_first else "Newer posts",
            }
            landing = number == plan.tag_landing(tag)
            html = ctx.renderer.render(
                "tag.html",
                **context,
                channel=page_header(ctx, plan, links),
                tag=clean_text(tag.label),
                entries=entries,
                entries_html=entries_html(entries),
                total=len(tag.ids) if landing else None,
                pager=pager if tag.page_count > 1 else None,
                tags_url=links.to(plan.tags_path),
            )
            ctx.writer.write(path, html, key)

    def _full_date(self, moment: datetime) -> str:
        found = self._dates.get(moment)
        if found is None:
            if len(self._dates) >= DATES_CACHED:  # bounded: posts' moments are mostly all different
                self._dates.clear()
            found = self._dates[moment] = format_full(moment, self._zone)
        return found


_DELETED_FLAG = ' <span class="flag-inline">deleted</span>'


def entries_html(entries: Sequence[Mapping[str, Any]]) -> Markup:
    """A hashtag page's list items, as the theme's ``tag.html`` loops over ``entries`` (the same bytes;
    ``entries`` still goes to templates, so a user's own ``tag.html`` shows them as it likes)."""
    _e = escape_text
    items = []
    for e in entries:
        deleted = e["deleted"]
        items.append(
            f'    <li class="tag-post{" is-deleted" if deleted else ""}">\n'
            f'      <a class="tag-date" href="{_e(e["url"] or e["permalink"])}">{_e(e["date"])}</a>'
            f'{_DELETED_FLAG if deleted else ""}      <p dir="auto">{_e(e["text"])}</p>\n    </li>\n'
        )
    return Markup("".join(items))  # noqa: S704 - every value escaped here
