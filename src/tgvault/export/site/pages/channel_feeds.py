"""A channel's feeds (``feed.atom`` and ``feed.rss``): its newest posts, read for the feed writers."""

from __future__ import annotations

from tgvault.domain import Post
from tgvault.export.site.context import BuildContext
from tgvault.export.site.feeds import atom_feed, feed_contents, rss_feed
from tgvault.export.site.pages.own_keys import own_page_key, posts_shown
from tgvault.export.site.plan import ChannelPlan


def channel_feeds(ctx: BuildContext, plan: ChannelPlan) -> None:
    """A channel's Atom and RSS feeds of its newest posts; skipped, before the posts are read, when their
    key (the channel, its newest posts) is current."""
    ids = plan.newest(ctx.options.feed_size)
    key = own_page_key(ctx, "feeds", repr(plan.channel), posts_shown(ctx, plan, ids))
    atom_current = ctx.writer.skip_if_current(plan.atom_path, key)
    rss_current = ctx.writer.skip_if_current(plan.rss_path, key)
    if atom_current and rss_current:
        return
    posts: list[Post] = []
    if ids:
        with ctx.uow_factory() as uow:
            found = uow.posts.for_display(plan.channel.id, ids)
        posts = [found[i] for i in ids if i in found]
    title, base = ctx.options.title, ctx.options.absolute_base
    contents = feed_contents(plan, posts, base)  # rendered once for both feeds
    if not atom_current:
        ctx.writer.write(plan.atom_path, atom_feed(plan, posts, title, base, contents), key)
    if not rss_current:
        ctx.writer.write(plan.rss_path, rss_feed(plan, posts, title, base, contents), key)
