"""A channel's home page (``c/<channel>/index.html``): what the channel is, its months, its newest posts."""

from __future__ import annotations

from typing import Any

from tgvault.export.site.context import BuildContext
from tgvault.export.site.formatting import format_day, human_count
from tgvault.export.site.page_links import PageLinks
from tgvault.export.site.pages.cards import card_items, related_posts, render_cards
from tgvault.export.site.pages.layout import (
    months_navigator,
    months_navigator_html,
    page_context,
    page_header,
)
from tgvault.export.site.pages.own_keys import own_page_key, posts_shown
from tgvault.export.site.plan import ChannelPlan
from tgvault.export.site.richtext import plain


def channel_index(ctx: BuildContext, plan: ChannelPlan) -> None:
    """A channel's home page: its description and counts, the months, its newest posts (albums whole).

    Skipped, before its posts are read, when its key (everything it shows) is current."""
    path = plan.index_path
    context = page_context(ctx, path, plan.channel.title)
    links: PageLinks = context["links"]
    newest = plan.newest(ctx.options.latest_on_channel_page)
    wanted = set(newest)
    # complete albums whose newest member was picked
    for message_id in newest:
        row = plan.posts[message_id]
        if row.group is not None:
            wanted.update(i for i in plan.pages[row.page].ids if plan.posts[i].group == row.group)
    ids = sorted(wanted, key=lambda i: (plan.posts[i].page, plan.pages[plan.posts[i].page].ids.index(i)))
    first = plan.pages[0] if plan.pages else None
    last = plan.pages[-1] if plan.pages else None
    channel = plan.channel
    shown: dict[str, Any] = {
        "channel": page_header(ctx, plan, links),
        "description": plain(channel.description or ""),
        "subscribers": human_count(channel.subscribers),
        "post_count": f"{len(plan.posts):,}",
        "first_date": format_day(plan.posts[first.ids[0]].date, ctx.zone) if first else None,
        "last_date": format_day(plan.posts[last.ids[-1]].date, ctx.zone) if last else None,
        "start": links.to(plan.display_pages()[0].path) if plan.pages else None,
        "months_nav": months_navigator(plan, links, None, counts=True),
    }
    key = own_page_key(ctx, "channel", context["page"], shown, posts_shown(ctx, plan, ids))
    if ctx.writer.skip_if_current(path, key):
        return
    items: list[dict[str, Any]] = []
    if ids:
        with ctx.uow_factory() as uow:
            posts = uow.posts.for_display(plan.channel.id, ids)
            revisions = uow.posts.revisions_for(plan.channel.id, ids)
            related = related_posts(ctx.site, uow, posts, plan.channel.id)
        ordered = [posts[i] for i in ids if i in posts]
        cards = render_cards(ctx, plan, links, ordered, revisions, related)
        items = card_items(ctx, plan, cards, days=True, newest_first=True)
    nav_html = months_navigator_html(ctx, shown["months_nav"])
    html = ctx.renderer.render("channel.html", **context, **shown, months_nav_html=nav_html, items=items)
    ctx.writer.write(path, html, key)
