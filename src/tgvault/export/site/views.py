"""Posts as view models for the templates: every value already escaped, checked or formatted.

Templates only place these values; the decisions (which link is safe, which file exists, what a date
looks like in the site's timezone) are made here, in Python, where they are tested.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from markupsafe import Markup

from tgvault.domain import MediaItem, MediaKind, MediaStatus, Post, PostRevision
from tgvault.export.site.links import (
    media_site_path,
    relative_url,
    safe_href,
    tme_channel_url,
    tme_post_url,
    valid_username,
)
from tgvault.export.site.plan import MONTH_NAMES, ChannelPlan, SitePlan, post_anchor
from tgvault.export.site.richtext import clean_text, plain, render_text, snippet

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


def human_count(value: int | None) -> str | None:
    """Counts the way Telegram shows them: 999, 1.2K, 53K, 1.4M."""
    if value is None:
        return None
    if value < 1000:
        return str(value)
    for limit, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if value >= limit:
            number = value / limit
            text = f"{number:.1f}" if number < 10 else f"{number:.0f}"
            return text.removesuffix(".0") + suffix
    return str(value)


def human_size(size: int | None) -> str:
    """A file size for people: 512 B, 3.4 KB, 12.0 MB."""
    if size is None or size < 0:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def human_duration(seconds: float | None) -> str:
    """0:07, 3:25, 1:02:03."""
    if seconds is None or seconds < 0:
        return ""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_day(moment: datetime, zone: tzinfo) -> str:
    """``5 March 2024`` in the site's timezone."""
    local = moment.astimezone(zone)
    return f"{local.day} {MONTH_NAMES[local.month - 1]} {local.year}"


def format_time(moment: datetime, zone: tzinfo) -> str:
    """``14:05`` in the site's timezone."""
    return moment.astimezone(zone).strftime("%H:%M")


def format_full(moment: datetime, zone: tzinfo) -> str:
    """``5 March 2024, 14:05 (Europe/Berlin)``-style date for titles and permalinks."""
    local = moment.astimezone(zone)
    return f"{format_day(moment, zone)}, {local:%H:%M} {local.tzname() or ''}".rstrip()


def iso(moment: datetime, zone: tzinfo) -> str:
    """ISO 8601 with the site's offset, for ``<time datetime>``."""
    return moment.astimezone(zone).isoformat(timespec="seconds")


class PageLinks:
    """Relative links from one page of the site."""

    def __init__(self, page_path: str, site: SitePlan) -> None:
        self.page_path = page_path
        self.site = site

    def to(self, site_path: str, fragment: str | None = None) -> str:
        """Link to another path of the site."""
        return relative_url(self.page_path, site_path, fragment)

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


@dataclass(frozen=True)
class MediaView:
    """One attachment, ready to show."""

    kind: str
    url: str | None
    name: str = ""
    size: str = ""
    mime: str = ""
    width: int | None = None
    height: int | None = None
    duration: str = ""
    performer: str = ""
    title: str = ""
    emoji: str = ""
    spoiler: bool = False
    note: str = ""
    deleted: bool = False
    thumbnail: str | None = None
    """A preview image of a file the archive has not downloaded (e.g. from the web preview)."""

    @property
    def visual(self) -> bool:
        """Shown in the picture grid (photos, videos, GIFs) rather than as a file row."""
        return self.kind in ("photo", "video", "gif")


@dataclass(frozen=True)
class LinkLabel:
    """A label with an optional (already checked) link."""

    label: str
    url: str | None = None


@dataclass(frozen=True)
class ReplyView:
    """The quote above a reply."""

    url: str | None
    author: str
    text: str
    archived: bool


@dataclass(frozen=True)
class PollOptionView:
    """One poll answer with its share of the votes."""

    text: str
    voters: str
    percent: int
    chosen: bool
    correct: bool


@dataclass(frozen=True)
class PollView:
    """A poll and its results."""

    question: str
    kind: str
    options: list[PollOptionView]
    total: str
    closed: bool


@dataclass(frozen=True)
class WebPageView:
    """A link preview."""

    url: str | None
    display_url: str
    site_name: str
    title: str
    description: str


@dataclass(frozen=True)
class PlaceView:
    """A geo point or venue."""

    latitude: str
    longitude: str
    map_url: str
    title: str
    address: str
    live: bool


@dataclass(frozen=True)
class ContactView:
    """A shared contact."""

    name: str
    phone: str
    url: str | None


@dataclass(frozen=True)
class ReactionView:
    """A reaction chip."""

    label: str
    count: str
    title: str


@dataclass(frozen=True)
class RevisionView:
    """An earlier state of an edited post."""

    label: str
    text_html: Markup


@dataclass
class CardView:
    """One post (or one album of posts) as it appears on a page."""

    message_id: int
    anchor: str
    extra_anchors: list[str]
    channel_title: str
    channel_url: str
    avatar_url: str | None
    avatar_letter: str
    permalink: str
    tme_url: str
    timeline_url: str | None
    date_iso: str
    date_time: str
    date_full: str
    text_html: Markup
    service: str | None = None
    author: str | None = None
    forward: LinkLabel | None = None
    reply: ReplyView | None = None
    visuals: list[MediaView] = field(default_factory=list)
    files: list[MediaView] = field(default_factory=list)
    poll: PollView | None = None
    web_page: WebPageView | None = None
    place: PlaceView | None = None
    contact: ContactView | None = None
    views: str | None = None
    views_exact: str | None = None
    reactions: list[ReactionView] = field(default_factory=list)
    edited: str | None = None
    revisions: list[RevisionView] = field(default_factory=list)
    deleted: str | None = None
    parse_error: str | None = None
    pinned: bool = False


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


def media_view(item: MediaItem, context: CardContext, deleted: bool = False) -> MediaView:
    """An attachment with a working link when its file is in the site, else a note saying why not."""
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
        if thumb_path and context.media_ok(thumb_path):
            thumbnail = context.links.to(thumb_path)
    default_names = {"voice": "Voice message", "round": "Video message", "document": "File"}
    name = clean_text(item.file_name or item.title or default_names.get(kind, kind.capitalize()))
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
            label, title = clean_text(reaction.emoji), clean_text(reaction.emoji)
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
    hashtags = links.hashtag_linker(plan)
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
    title = clean_text(channel.title)
    return CardView(
        message_id=first.message_id,
        anchor=post_anchor(first.message_id),
        extra_anchors=[post_anchor(post.message_id) for post in posts[1:]],
        channel_title=title,
        channel_url=links.to(plan.index_path),
        avatar_url=links.to(context.avatar_path) if context.avatar_path else None,
        avatar_letter=(title.strip()[:1] or "#").upper(),
        permalink=links.to(plan.permalink_path(first.message_id)),
        tme_url=tme_post_url(channel.id, first.message_id, channel.username),
        timeline_url=links.to(*location) if location else None,
        date_iso=iso(first.date, context.zone),
        date_time=format_time(first.date, context.zone),
        date_full=format_full(first.date, context.zone),
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


def channel_header(plan: ChannelPlan, links: PageLinks, avatar_path: str | None) -> dict[str, object]:
    """What every channel page shows at the top: title, @username, photo, links."""
    channel = plan.channel
    title = clean_text(channel.title)
    username = valid_username(channel.username)
    return {
        "title": title,
        "username": username,
        "letter": (title.strip()[:1] or "#").upper(),
        "avatar": links.to(avatar_path) if avatar_path else None,
        "home": links.to(plan.index_path),
        "tme": tme_channel_url(channel),
        "tags": links.to(plan.tags_path) if plan.tags else None,
        "stats": links.to(plan.stats_path),
        "atom": links.to(plan.atom_path),
        "rss": links.to(plan.rss_path),
    }
