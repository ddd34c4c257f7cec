"""A post (or an album) as a card view: links checked, files found, text rendered, dates formatted.

:func:`build_card` makes the :class:`~tgvault.export.site.views.CardView` the card template places.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from functools import cached_property

from tgvault.domain import MediaItem, MediaKind, MediaStatus, Post, PostRevision
from tgvault.export.site.formatting import (
    card_dates,
    format_full,
    human_count,
    human_duration,
    human_size,
)
from tgvault.export.site.links import (
    download_name,
    media_display,
    media_site_path,
    media_type,
    safe_href,
    tme_post_url,
)
from tgvault.export.site.page_links import PageLinks
from tgvault.export.site.plan import ChannelPlan, post_anchor
from tgvault.export.site.richtext import HashtagLinker, clean_text, plain, render_text, snippet
from tgvault.export.site.views import (
    CardView,
    ContactView,
    LinkLabel,
    MediaView,
    PlaceView,
    PollOptionView,
    PollView,
    ReactionView,
    ReplyView,
    RevisionView,
    WebPageView,
)
from tgvault.storage.media_types import Display

_SERVICE_TEXT = {
    "channel_create": "Channel created",
    "chat_create": "Group created",
    "chat_edit_title": "Channel renamed",
    "chat_edit_photo": "Channel photo updated",
    "chat_delete_photo": "Channel photo removed",
    "pin_message": "Message pinned",
    "channel_migrate_from": "Group upgraded to a supergroup",
    "chat_migrate_to": "Group upgraded to a supergroup",
    "group_call": "Live stream",
    "group_call_scheduled": "Live stream scheduled",
    "history_clear": "History cleared",
    "chat_add_user": "Members joined",
    "chat_joined_by_link": "Joined by invite link",
    "chat_delete_user": "Member left",
}


@dataclass
class CardContext:
    """What building a card needs besides the posts: links, plans, timezone and related records."""

    links: PageLinks
    plan: ChannelPlan
    zone: tzinfo
    avatar_path: str | None
    revisions: Mapping[int, Sequence[PostRevision]]
    related: Mapping[tuple[int, int], Post]
    media_ok: Callable[[str], bool]
    comment_counts: Mapping[int, int] = field(default_factory=dict)
    """Archived comments of the posts (none for a channel whose comments are not shown)."""

    @cached_property
    def channel_url(self) -> str:
        """The channel's home, from the page the cards are on (the same for every card)."""
        return self.links.to(self.plan.index_path)

    @cached_property
    def avatar_url(self) -> str | None:
        """The channel's picture, from the page the cards are on."""
        return self.links.to(self.avatar_path) if self.avatar_path else None

    @cached_property
    def channel_title(self) -> str:
        """The channel's title as cards show it."""
        return clean_text(self.plan.channel.title)

    @cached_property
    def avatar_letter(self) -> str:
        """The letter shown for a channel without a picture."""
        return (self.channel_title.strip()[:1] or "#").upper()

    @cached_property
    def hashtags(self) -> HashtagLinker:
        """Where the channel's hashtags link to, from the page the cards are on."""
        return self.links.hashtag_linker(self.plan)


# What each kind of attachment needs to be shown inline; a file of another display is offered as a download.
_SHOWN_AS: dict[str, dict[Display, str]] = {
    "photo": {Display.IMAGE: "photo"},
    "sticker": {Display.IMAGE: "sticker"},
    "video": {Display.VIDEO: "video"},
    "round": {Display.VIDEO: "round"},
    "sticker-video": {Display.VIDEO: "sticker-video"},
    "gif": {Display.VIDEO: "gif", Display.IMAGE: "photo"},
    "voice": {Display.AUDIO: "voice", Display.VIDEO: "voice"},
    "audio": {Display.AUDIO: "audio", Display.VIDEO: "audio"},
}


def media_view(item: MediaItem, context: CardContext, deleted: bool = False) -> MediaView:
    """An attachment with a working link when its file is in the site, else a note saying why not.

    A file is shown inline only when its published name is of the display its kind needs (a "photo"
    that is an SVG or HTML file is published as ``.bin`` and offered as a download); downloads carry a
    cleaned file name and the type their published name is served with.
    """
    site_path = media_site_path(item.path) if item.status is MediaStatus.DOWNLOADED else None
    url = context.links.to(site_path) if site_path and context.media_ok(site_path) else None
    kind = {
        MediaKind.PHOTO: "photo",
        MediaKind.VIDEO: "video",
        MediaKind.ROUND_VIDEO: "round",
        MediaKind.ANIMATION: "gif",
        MediaKind.VOICE: "voice",
        MediaKind.AUDIO: "audio",
        MediaKind.DOCUMENT: "document",
        MediaKind.STICKER: "sticker",
    }[item.kind]
    mime = (item.mime_type or "").lower()
    if kind == "sticker":
        if mime == "application/x-tgsticker" or (item.path or "").endswith(".tgs"):
            kind, url = "sticker-animated", None
        elif mime.startswith("video/"):
            kind = "sticker-video"
    default_names = {"voice": "Voice message", "round": "Video message", "document": "File"}
    name = clean_text(item.file_name or item.title or default_names.get(kind, kind.capitalize()))
    if url is not None and site_path is not None:
        kind = _SHOWN_AS.get(kind, {}).get(media_display(site_path), "document")
    note = ""
    if url is None and kind != "sticker-animated":
        note = {
            MediaStatus.PENDING: "not downloaded yet",
            MediaStatus.FAILED: "download failed",
            MediaStatus.SKIPPED: "not archived",
            MediaStatus.DOWNLOADED: "file missing from the archive",
        }[item.status]
    thumbnail = None
    if url is None and item.thumbnail_path:
        thumb_path = media_site_path(item.thumbnail_path)
        if thumb_path and media_display(thumb_path) is Display.IMAGE and context.media_ok(thumb_path):
            thumbnail = context.links.to(thumb_path)
    offered = url is not None and site_path is not None and kind == "document"
    return MediaView(
        kind=kind,
        url=url,
        name=name,
        size=human_size(item.size),
        mime=clean_text(mime),
        width=item.width if item.width and item.width > 0 else None,
        height=item.height if item.height and item.height > 0 else None,
        duration=human_duration(item.duration),
        performer=clean_text(item.performer or ""),
        title=clean_text(item.title or ""),
        emoji=clean_text(item.sticker_emoji or ""),
        spoiler=item.spoiler,
        note=note,
        deleted=deleted,
        thumbnail=thumbnail,
        download_name=download_name(name, site_path) if offered and site_path else "",
        served_type=media_type(site_path) if offered and site_path else "",
    )


def _service_text(post: Post) -> str:
    action = post.service
    assert action is not None
    if action.type == "chat_edit_title" and action.title:
        return f"Channel renamed to “{clean_text(action.title)}”"
    if action.type == "custom_action" and action.text:
        return clean_text(action.text)
    if action.type == "pin_message" and action.pinned_message_id:
        return "Message pinned"
    return _SERVICE_TEXT.get(action.type, action.type.replace("_", " ").capitalize() or "Service message")


def _forward(post: Post, context: CardContext) -> LinkLabel | None:
    forward = post.forward
    if forward is None:
        return None
    if forward.from_channel_id is not None:
        source = context.links.site.channels.get(forward.from_channel_id)
        if source is not None:
            name = clean_text(source.channel.title)
            if forward.from_message_id is not None:
                return LinkLabel(
                    name, tme_post_url(source.channel.id, forward.from_message_id, source.channel.username)
                )
            return LinkLabel(name, context.links.to(source.index_path))
        name = clean_text(forward.from_name or forward.post_author or f"channel {forward.from_channel_id}")
        if forward.from_message_id is not None:
            return LinkLabel(name, tme_post_url(forward.from_channel_id, forward.from_message_id))
        return LinkLabel(name)
    if forward.from_name:
        return LinkLabel(clean_text(forward.from_name))
    if forward.from_user_id is not None:
        return LinkLabel(f"user {forward.from_user_id}", f"tg://user?id={int(forward.from_user_id)}")
    return LinkLabel("a hidden account")


def describe_post(post: Post) -> str:
    """What a replied post is, when it has no text: Photo, Video, Poll ..."""
    if post.text.strip():
        return snippet(post.text, 120)
    if post.media is not None:
        return {
            MediaKind.PHOTO: "Photo",
            MediaKind.VIDEO: "Video",
            MediaKind.ROUND_VIDEO: "Video message",
            MediaKind.ANIMATION: "GIF",
            MediaKind.VOICE: "Voice message",
            MediaKind.AUDIO: "Audio",
            MediaKind.DOCUMENT: "File",
            MediaKind.STICKER: "Sticker",
        }[post.media.kind]
    if post.poll is not None:
        return "Poll: " + snippet(post.poll.question, 100)
    if post.service is not None:
        return _service_text(post)
    return "Message"


def _reply(post: Post, context: CardContext) -> ReplyView | None:
    if post.reply_to_message_id is None:
        return None
    channel_id = post.reply_to_channel_id or post.channel_id
    message_id = post.reply_to_message_id
    url = context.links.post(channel_id, message_id)
    target = context.related.get((channel_id, message_id))
    located = context.links.site.locate(channel_id, message_id)
    channel = located[0].channel if located else None
    author = clean_text(channel.title) if channel else ""
    if target is not None:
        author = clean_text(target.author or author)
        return ReplyView(url=url, author=author, text=describe_post(target), archived=True)
    username = (
        channel.username
        if channel is not None
        else (context.plan.channel.username if channel_id == context.plan.channel.id else None)
    )
    return ReplyView(
        url=url or tme_post_url(channel_id, message_id, username),
        author=author,
        text="a message that is not in the archive",
        archived=False,
    )


def _poll(post: Post) -> PollView | None:
    poll = post.poll
    if poll is None:
        return None
    total = poll.total_voters
    if total is None:
        known = [answer.voters for answer in poll.answers if answer.voters is not None]
        total = sum(known) if known else None
    options = []
    for answer in poll.answers:
        share = 0
        if total and answer.voters is not None:
            share = round(100 * answer.voters / total)
        options.append(
            PollOptionView(
                text=clean_text(answer.text),
                voters="" if answer.voters is None else str(answer.voters),
                percent=max(0, min(100, share)),
                chosen=answer.chosen,
                correct=answer.correct,
            )
        )
    kind = "Quiz" if poll.quiz else ("Public poll" if poll.public_voters else "Anonymous poll")
    if poll.multiple_choice:
        kind += ", multiple answers"
    total_text = "" if total is None else (f"{total} vote" if total == 1 else f"{total} votes")
    return PollView(
        question=clean_text(poll.question), kind=kind, options=options, total=total_text, closed=poll.closed
    )


def _web_page(post: Post) -> WebPageView | None:
    page = post.web_page
    if page is None:
        return None
    url = safe_href(page.url)
    return WebPageView(
        url=url,
        display_url=clean_text(page.url),
        site_name=clean_text(page.site_name or ""),
        title=clean_text(page.title or ""),
        description=clean_text(page.description or ""),
    )


def _place(post: Post) -> PlaceView | None:
    where = post.location
    if where is None:
        return None
    lat, lon = float(where.latitude), float(where.longitude)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        lat, lon = max(-90.0, min(90.0, lat)), max(-180.0, min(180.0, lon))
    return PlaceView(
        latitude=f"{lat:.5f}",
        longitude=f"{lon:.5f}",
        map_url=f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=16/{lat:.6f}/{lon:.6f}",
        title=clean_text(where.title or ""),
        address=clean_text(where.address or ""),
        live=bool(where.live_period),
    )


def _contact(post: Post) -> ContactView | None:
    contact = post.contact
    if contact is None:
        return None
    name = " ".join(part for part in (contact.first_name, contact.last_name) if part)
    url = f"tg://user?id={int(contact.user_id)}" if contact.user_id else None
    return ContactView(name=clean_text(name), phone=clean_text(contact.phone_number or ""), url=url)


def _reactions(post: Post) -> list[ReactionView]:
    chips = []
    for reaction in post.reactions:
        if reaction.paid:
            label, title = "⭐", "Paid stars"
        elif reaction.emoji:
            label = title = clean_text(reaction.emoji)
        else:
            label, title = "✨", "Custom emoji"
        chips.append(ReactionView(label=label, count=human_count(reaction.count) or "0", title=title))
    return chips


def build_card(posts: Sequence[Post], context: CardContext) -> CardView:
    """The card of one post, or of an album (posts sharing a ``grouped_id``, in chronological order).

    An album shows every member's file in one grid with the caption of the member that has text, as
    Telegram does; each member keeps an anchor so links to any of them land on the card.
    """
    first = posts[0]
    caption = next((post for post in posts if post.text), first)
    plan = context.plan
    channel = plan.channel
    links = context.links
    hashtags = context.hashtags
    views = [post.views for post in posts if post.views is not None]
    view_count = max(views) if views else None
    visuals: list[MediaView] = []
    files: list[MediaView] = []
    for post in posts:
        if post.media is not None:
            item = media_view(post.media, context, deleted=post.deleted_at is not None and len(posts) > 1)
            (visuals if item.visual else files).append(item)
    edited_post = next((post for post in posts if post.edit_date is not None), None)
    revisions = [
        RevisionView(
            label=(
                f"Version {revision.revision}"
                + (f", edited {format_full(revision.edit_date, context.zone)}" if revision.edit_date else "")
                + f" (seen {format_full(revision.observed_at, context.zone)})"
            ),
            text_html=render_text(revision.text, revision.entities, hashtags) or plain("(no text)"),
        )
        for revision in context.revisions.get(caption.message_id, ())
    ]
    deleted_dates = [post.deleted_at for post in posts if post.deleted_at is not None]
    parse_errors = [post.parse_error for post in posts if post.parse_error]
    location = plan.location(first.message_id)
    timeline_url = links.to(*location) if location else None
    if plan.post_pages:
        permalink = links.to(plan.permalink_path(first.message_id))
    else:  # the post's anchor on its timeline page (what plan.post_target gives)
        permalink = timeline_url if timeline_url is not None else links.to(plan.index_path)
    date_iso, date_time, date_full = card_dates(first.date, context.zone)
    return CardView(
        message_id=first.message_id,
        anchor=post_anchor(first.message_id),
        extra_anchors=[post_anchor(post.message_id) for post in posts[1:]],
        channel_title=context.channel_title,
        channel_url=context.channel_url,
        avatar_url=context.avatar_url,
        avatar_letter=context.avatar_letter,
        permalink=permalink,
        tme_url=tme_post_url(channel.id, first.message_id, channel.username),
        timeline_url=timeline_url,
        date_iso=date_iso,
        date_time=date_time,
        date_full=date_full,
        text_html=render_text(caption.text, caption.entities, hashtags),
        service=_service_text(first) if first.service is not None else None,
        author=clean_text(caption.author) if caption.author else None,
        forward=_forward(first, context),
        reply=_reply(caption if caption.reply_to_message_id else first, context),
        visuals=visuals,
        files=files,
        poll=_poll(caption),
        web_page=_web_page(caption),
        place=_place(caption),
        contact=_contact(caption),
        views=human_count(view_count),
        views_exact=None if view_count is None else f"{view_count:,} views",
        reactions=_reactions(caption),
        edited=format_full(edited_post.edit_date, context.zone)
        if edited_post and edited_post.edit_date
        else None,
        revisions=revisions,
        deleted=format_full(max(deleted_dates), context.zone) if len(deleted_dates) == len(posts) else None,
        parse_error=clean_text("; ".join(parse_errors)) if parse_errors else None,
        pinned=any(post.pinned for post in posts),
        comments=context.comment_counts.get(first.message_id),
        comments_url=permalink + "#comments" if plan.post_pages else None,
    )


def group_cards(posts: Sequence[Post]) -> list[list[Post]]:
    """Consecutive posts of one album together, everything else alone (input in chronological order)."""
    groups: list[list[Post]] = []
    for post in posts:
        if groups and post.grouped_id is not None and groups[-1][-1].grouped_id == post.grouped_id:
            groups[-1].append(post)
        else:
            groups.append([post])
    return groups
