"""The site's own pages: the landing page listing every channel, and the search page with its index."""

from __future__ import annotations

from collections.abc import Sequence

from tgvault.export.site.context import BuildContext
from tgvault.export.site.formatting import format_day, human_count
from tgvault.export.site.links import tme_channel_url, valid_username
from tgvault.export.site.page_links import PageLinks
from tgvault.export.site.pages.layout import page_context
from tgvault.export.site.pages.own_keys import own_page_key
from tgvault.export.site.plan import ChannelPlan
from tgvault.export.site.richtext import clean_text, snippet
from tgvault.export.site.search import SearchIndex


def landing_page(ctx: BuildContext, plans: Sequence[ChannelPlan]) -> None:
    """The site's home page (``index.html``): every channel with its photo, description and counts."""
    context = page_context(ctx, "index.html", ctx.options.title)
    links: PageLinks = context["links"]
    channels = []
    for plan in plans:
        channel = plan.channel
        first = plan.pages[0] if plan.pages else None
        last = plan.pages[-1] if plan.pages else None
        avatar = ctx.avatars.get(channel.id)
        title = clean_text(channel.title)
        channels.append(
            {
                "title": title,
                "letter": (title.strip()[:1] or "#").upper(),
                "username": valid_username(channel.username),
                "url": links.to(plan.index_path),
                "avatar": links.to(avatar) if avatar else None,
                "description": snippet(channel.description or "", 240),
                "subscribers": human_count(channel.subscribers),
                "posts": f"{len(plan.posts):,}",
                "first": format_day(plan.posts[first.ids[0]].date, ctx.zone) if first else None,
                "last": format_day(plan.posts[last.ids[-1]].date, ctx.zone) if last else None,
                "tme": tme_channel_url(channel),
            }
        )
    key = own_page_key(ctx, "landing", context["page"], channels)
    if not ctx.writer.skip_if_current("index.html", key):
        ctx.writer.write("index.html", ctx.renderer.render("index.html", **context, channels=channels), key)


def search_page(ctx: BuildContext, plans: Sequence[ChannelPlan], index: SearchIndex) -> None:
    """The search page (``search.html``) and the search index the months handed to ``index``."""
    context = page_context(ctx, "search.html", "Search")
    key = own_page_key(ctx, "search", context["page"])
    if not ctx.writer.skip_if_current("search.html", key):
        ctx.writer.write("search.html", ctx.renderer.render("search.html", **context), key)
    index.finish(plans)
