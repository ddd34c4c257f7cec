"""A channel's statistics page (``c/<channel>/stats.html``): charts and the most viewed posts."""

from __future__ import annotations

from tgvault.export.site.card_views import describe_post
from tgvault.export.site.context import BuildContext
from tgvault.export.site.formatting import format_day
from tgvault.export.site.page_links import PageLinks
from tgvault.export.site.pages.layout import page_context, page_header
from tgvault.export.site.pages.own_keys import own_page_key, posts_shown
from tgvault.export.site.plan import ChannelPlan
from tgvault.export.site.stats import stats_context


def channel_stats(ctx: BuildContext, plan: ChannelPlan) -> None:
    """A channel's statistics page: its charts and its most viewed posts.

    Skipped, before its charts are drawn and its posts read, when its key (the plan's counts per month,
    the channel's observations, the most viewed posts) is current."""
    path = plan.stats_path
    with ctx.uow_factory() as uow:
        observations = uow.channels.observations(plan.channel.id)
    context = page_context(ctx, path, f"{plan.channel.title} — statistics")
    links: PageLinks = context["links"]
    header = page_header(ctx, plan, links)
    top = [plan.posts[message_id] for message_id in plan.posts.most_viewed(10)]
    key = own_page_key(
        ctx,
        "stats",
        context["page"],
        header,
        len(plan.posts),
        plan.posts.month_counts(),
        observations,
        posts_shown(ctx, plan, (post.message_id for post in top)),
    )
    if ctx.writer.skip_if_current(path, key):
        return
    with ctx.uow_factory() as uow:
        top_posts = uow.posts.for_display(plan.channel.id, [post.message_id for post in top]) if top else {}
    html = ctx.renderer.render(
        "stats.html",
        **context,
        channel=header,
        stats=stats_context(plan, observations, ctx.zone),
        top=[
            {
                "url": links.to(*plan.post_target(post.message_id)),
                "views": f"{post.views:,}",
                "date": format_day(post.date, ctx.zone),
                "id": post.message_id,
                "text": describe_post(top_posts[post.message_id]) if post.message_id in top_posts else "",
            }
            for post in top
        ],
    )
    ctx.writer.write(path, html, key)
