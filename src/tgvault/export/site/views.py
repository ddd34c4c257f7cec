"""Posts as view models for the templates: every value already escaped, checked or formatted.

Templates only place these values; the decisions (which link is safe, which file exists, what a date
looks like in the site's timezone) are made in Python (:mod:`tgvault.export.site.card_views`), where
they are tested.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup


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
    download_name: str = ""
    """The file name a download link offers (cleaned of separators, control and bidi characters)."""
    served_type: str = ""
    """The Content-Type of the published file (from its passive extension), for a download link's ``type``."""

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
    comments: int | None = None
    comments_url: str | None = None
