"""Post cards for pages: each rendered to HTML once, then placed in display order under day headings.

A month's timeline page and the permalinks of its posts share one rendering of every card.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from tgvault.domain import Post, PostRevision
from tgvault.export.site.card_views import CardContext, build_card, group_cards
from tgvault.export.site.comment_threads import comment_counts
from tgvault.export.site.context import BuildContext
from tgvault.export.site.formatting import format_day
from tgvault.export.site.options import Order
from tgvault.export.site.page_links import PageLinks
from tgvault.export.site.plan import ChannelPlan, SitePlan, day_anchor
from tgvault.export.site.planned_posts import PlannedPost
from tgvault.export.site.richtext import escape_text
from tgvault.export.site.views import CardView
from tgvault.storage.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Card:
    """A post card rendered once: the ids it shows, its first post, its view and its HTML."""

    ids: list[int]
    first: Post
    view: CardView
    html: Markup


def reply_info(site: SitePlan, post: PlannedPost) -> object:
    """What a post's page key needs of the post it replies to: its id, and where it lives when archived."""
    return reply_place(site, post.reply_to)


def reply_place(site: SitePlan, reply_to: tuple[int, int] | None) -> object:
    """:func:`reply_info` of a post replying to ``reply_to`` ((channel id, message id), or None)."""
    if reply_to is None:
        return None
    found = site.locate(*reply_to)
    if found is None:
        return reply_to
    target_plan, target = found
    return reply_to, target_plan.pages[target.page].path, target.stamp


def related_posts(
    site: SitePlan, uow: UnitOfWork, posts: Mapping[int, Post], channel_id: int
) -> dict[tuple[int, int], Post]:
    """``posts`` by (channel id, message id), with the archived posts they reply to anywhere in the site."""
    wanted: dict[int, set[int]] = {}
    for post in posts.values():
        if post.reply_to_message_id is None:
            continue
        target = (post.reply_to_channel_id or post.channel_id, post.reply_to_message_id)
        if target[0] == channel_id and target[1] in posts:
            continue
        if site.locate(*target) is not None:
            wanted.setdefault(target[0], set()).add(target[1])
    related = {(channel_id, message_id): post for message_id, post in posts.items()}
    for target_channel, ids in wanted.items():
        for message_id, post in uow.posts.for_display(target_channel, sorted(ids)).items():
            related[(target_channel, message_id)] = post
    return related


def render_cards(
    ctx: BuildContext,
    plan: ChannelPlan,
    links: PageLinks,
    posts: Sequence[Post],
    revisions: Mapping[int, Sequence[PostRevision]],
    related: Mapping[tuple[int, int], Post],
) -> list[Card]:
    """Cards of ``posts`` (chronological), each rendered once to HTML with links relative to ``links``."""
    context = CardContext(
        links=links,
        plan=plan,
        zone=ctx.zone,
        avatar_path=ctx.avatars.get(plan.channel.id),
        revisions=revisions,
        related=related,
        media_ok=lambda site_path: site_path not in ctx.missing_media,
        comment_counts=comment_counts(
            ctx, plan.channel, [post.message_id for post in posts if post.replies and not post.deleted_at]
        ),
    )
    cards = []
    for group in group_cards(posts):
        view = build_card(group, context)
        html = ctx.renderer.card(view)
        # Safe: the output of an autoescaping template, where post content only enters escaped.
        cards.append(Card([post.message_id for post in group], group[0], view, Markup(html)))  # noqa: S704
    return cards


def card_items(
    ctx: BuildContext,
    plan: ChannelPlan,
    cards: Sequence[Card],
    *,
    days: bool,
    newest_first: bool | None = None,
) -> list[dict[str, Any]]:
    """Cards in display order, with a day heading before the first card of each day."""
    if newest_first is None:
        newest_first = plan.order is Order.NEWEST
    ordered = list(reversed(cards)) if newest_first else list(cards)
    items: list[dict[str, Any]] = []
    last_day: int | None = None
    for card in ordered:
        item: dict[str, Any] = {"html": card.html, "day_anchor": None, "day_label": None}
        day = plan.posts.day_of(card.first.message_id)
        if days and day != last_day:
            item["day_anchor"] = day_anchor(day)
            item["day_label"] = format_day(card.first.date, ctx.zone)
            last_day = day
        items.append(item)
    return items


def history_html(items: Sequence[Mapping[str, Any]]) -> Markup:
    """The cards of a timeline page with their day headings, as the page's ``history`` (what a template
    looping over ``items`` writes, joined once in Python rather than item by item in the template)."""
    out = []
    for item in items:
        if item["day_anchor"]:
            out.append(
                f'<h2 class="day" id="{escape_text(item["day_anchor"])}"><span>{escape_text(item["day_label"])}'
                "</span></h2>"
            )
        out.append(f"  {item['html']}\n")
    # Safe: the cards are rendered HTML (escaped where post content enters); the headings are escaped here.
    return Markup("".join(out))  # noqa: S704
