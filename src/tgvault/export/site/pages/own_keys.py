"""Keys of the pages a channel and the site have once (home pages, statistics, feeds, hashtag index, search
page): what each page shows, taken from the plan, so that a page whose key the manifest holds is skipped
before its posts are read and before it is rendered.

A key holds the site-wide key (theme, navigation, missing files), every option (some of these pages show
what no month page does: the number of newest posts, the feed's length), and what the page shows of the
plan. Posts enter a key as month pages' keys do: by their planned row, whose ``stamp`` changes whenever the
post, its media row or its comments are written, and by where the posts they reply to live.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from tgvault.export.site.context import BuildContext
from tgvault.export.site.page_keys import digest
from tgvault.export.site.pages.cards import reply_info
from tgvault.export.site.plan import ChannelPlan


def own_page_key(ctx: BuildContext, kind: str, *shown: object) -> str:
    """The key of a page of ``kind`` that shows ``shown`` (plain values: their ``repr`` is hashed)."""
    # which folder and how many processes: no matter to a page
    options = replace(ctx.options, out_dir=Path(), workers=None)
    return digest(ctx.global_key, options, kind, *shown)


def posts_shown(ctx: BuildContext, plan: ChannelPlan, message_ids: Iterable[int]) -> list[object]:
    """What a page showing these posts of ``plan`` depends on, post by post: the planned row (stamp,
    date, day, album, views, page), where a link to the post points, and the post it replies to."""
    facts: list[object] = []
    for message_id in message_ids:
        row = plan.posts[message_id]
        facts.append((repr(row), plan.post_target(message_id), reply_info(ctx.site, row)))
    return facts
