"""Discussion comments on the site: a post's thread on its page, threaded by reply, and the count on cards.

A channel whose comments are not shown (``comments = false``) shows nothing and says nothing: no count,
no empty section. Comments are archived text from private people: everything is escaped like posts are.
A comment's file is shown as a post's is (:func:`~tgvault.export.site.card_views.media_view`): a photo
inline with its dimensions, another file as a download under its passive published name, and one the
archive lacks (not downloaded: by default only photos up to 10 MB are) as a note saying so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

from tgvault.domain import Channel, Comment
from tgvault.export.site.card_views import CardContext, media_view
from tgvault.export.site.context import BuildContext
from tgvault.export.site.formatting import format_full, iso
from tgvault.export.site.links import media_site_path
from tgvault.export.site.page_links import PageLinks
from tgvault.export.site.plan import ChannelPlan
from tgvault.export.site.richtext import clean_text, render_text
from tgvault.export.site.views import MediaView

MAX_DEPTH = 4
"""Replies nest this deep at most; deeper ones sit at this depth and name the comment they answer."""


@dataclass
class CommentView:
    """One comment as the thread template places it."""

    anchor: str
    depth: int
    author: str
    username: str | None
    date_iso: str
    date_full: str
    text_html: Markup
    edited: str | None = None
    deleted: str | None = None
    media: MediaView | None = None
    reply_to_anchor: str | None = None
    reply_to_author: str | None = None
    revisions: int = 0
    reactions: list[str] = field(default_factory=list)


def comments_shown(ctx: BuildContext, channel: Channel) -> bool:
    """False for a channel configured with ``comments = false``."""
    hidden = ctx.options.comments_hidden
    if not hidden:
        return True
    names = {str(channel.id)}
    if channel.username:
        names.add(channel.username.lower())
    return not names & set(hidden)


def _any_comments(ctx: BuildContext, channel: Channel) -> bool:
    """Whether the archive holds comments on the channel (asked once a build and process)."""
    found = ctx.commented.get(channel.id)
    if found is None:
        with ctx.uow_factory() as uow:
            found = ctx.commented[channel.id] = uow.discussions.any_comments(channel.id)
    return found


def comment_counts(ctx: BuildContext, channel: Channel, post_ids: Sequence[int]) -> Mapping[int, int]:
    """How many comments (not deleted) each of these posts has in the archive; {} when not shown."""
    if not post_ids or not comments_shown(ctx, channel) or not _any_comments(ctx, channel):
        return {}
    with ctx.uow_factory() as uow:
        return uow.discussions.counts(channel.id, post_ids)


def comment_search_texts(ctx: BuildContext, channel: Channel, post_ids: Sequence[int]) -> Mapping[int, str]:
    """What search finds a post by besides its own text: its comments' texts; {} when not shown."""
    if not post_ids or not comments_shown(ctx, channel) or not _any_comments(ctx, channel):
        return {}
    with ctx.uow_factory() as uow:
        texts = uow.discussions.texts(channel.id, post_ids)
    return {post_id: "\n".join(found) for post_id, found in texts.items()}


def publish_files(ctx: BuildContext, channel: Channel, post_ids: Sequence[int] | None = None) -> list[str]:
    """Put the files the channel's comments (of these posts; None: all) show into the site; returns
    the site paths of those the archive lacks (none when comments are not shown)."""
    if not comments_shown(ctx, channel) or (post_ids is not None and not post_ids):
        return []
    with ctx.uow_factory() as uow:
        files = uow.discussions.files(channel.id, post_ids)
    missing = []
    for store_path in files:
        site_path = media_site_path(store_path)
        if (
            site_path is not None
            and ctx.writer.media(ctx.media_store, store_path, ctx.options.media_mode) is None
        ):
            missing.append(site_path)
    return missing


def comment_anchor(comment: Comment) -> str:
    """The id of a comment's element on its post's page."""
    return f"comment-{comment.link.message_id}"


def thread_views(
    ctx: BuildContext, comments: Sequence[Comment], files: CardContext | None = None
) -> list[CommentView]:
    """The comments in reading order: each followed by its replies (depth first, oldest first)."""
    by_id = {comment.link.message_id: comment for comment in comments}
    children: dict[int | None, list[Comment]] = {}
    for comment in comments:
        parent = comment.link.reply_to_comment_id
        children.setdefault(parent if parent in by_id else None, []).append(comment)
    ordered: list[tuple[Comment, int]] = []
    stack = [(comment, 0) for comment in reversed(children.get(None, []))]
    while stack:  # its own stack, so a thread of any depth renders
        comment, depth = stack.pop()
        ordered.append((comment, depth))
        replies = children.get(comment.link.message_id, [])
        stack.extend((reply, depth + 1) for reply in reversed(replies))
    views = []
    for comment, depth in ordered:
        answered = by_id.get(comment.link.reply_to_comment_id or 0)
        views.append(
            _view(ctx, comment, min(depth, MAX_DEPTH), answered if depth > MAX_DEPTH else None, files)
        )
    return views


def _author_name(comment: Comment) -> str:
    author = comment.author
    if author is None:
        return "Unknown"
    return clean_text(author.name) or ("A channel" if author.kind == "channel" else "Deleted account")


def _view(
    ctx: BuildContext, comment: Comment, depth: int, answered: Comment | None, files: CardContext | None
) -> CommentView:
    post = comment.post
    media = None
    if post.media is not None and files is not None:
        media = media_view(post.media, files, deleted=post.deleted_at is not None)
    return CommentView(
        anchor=comment_anchor(comment),
        depth=depth,
        author=_author_name(comment),
        username=clean_text(comment.author.username) if comment.author and comment.author.username else None,
        date_iso=iso(post.date, ctx.zone),
        date_full=format_full(post.date, ctx.zone),
        text_html=render_text(post.text, post.entities),
        edited=format_full(post.edit_date, ctx.zone) if post.edit_date else None,
        deleted=format_full(post.deleted_at, ctx.zone) if post.deleted_at else None,
        media=media,
        reply_to_anchor=comment_anchor(answered) if answered else None,
        reply_to_author=_author_name(answered) if answered else None,
        reactions=[
            f"{clean_text(reaction.emoji or '★')} {reaction.count}"
            for reaction in post.reactions
            if reaction.count
        ],
    )


def render_thread(ctx: BuildContext, plan: ChannelPlan, post_id: int) -> Markup:
    """The comments section of a post's page; empty markup when it has none (or they are not shown)."""
    channel = plan.channel
    if not comments_shown(ctx, channel) or not _any_comments(ctx, channel):
        return Markup("")
    with ctx.uow_factory() as uow:
        comments = uow.discussions.thread(channel.id, post_id)
    if not comments:
        return Markup("")
    files = CardContext(
        links=PageLinks(plan.permalink_path(post_id), ctx.site),
        plan=plan,
        zone=ctx.zone,
        avatar_path=None,
        revisions={},
        related={},
        media_ok=lambda site_path: site_path not in ctx.missing_media,
    )
    views = thread_views(ctx, comments, files)
    shown = sum(1 for view in views if view.deleted is None)
    html = ctx.renderer.render("_comments.html", comments=views, count=shown)
    # Safe: the output of an autoescaping template, where comment content only enters escaped.
    return Markup(html)  # noqa: S704
