"""The parts of a preview post besides its text and file: poll, forward, reactions, location, link preview."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from selectolax.lexbor import LexborNode

from tgvault.domain import Forward, Location, Poll, PollAnswer, Reaction, WebPagePreview
from tgvault.sources.html_text import classes_of, id_of
from tgvault.sources.webpreview.nodes import first_own, own_text, plain
from tgvault.sources.webpreview.values import http_url, parse_count, post_link


def poll_of(bubble: LexborNode, raw: dict[str, Any]) -> Poll | None:
    """A post's poll (the percentages shown go to ``raw``), or None."""
    node = first_own(bubble, ".tgme_widget_message_poll")
    if node is None:
        return None
    kind = (plain(node.css_first(".tgme_widget_message_poll_type")) or "").lower()
    answers = []
    percents = []
    for option in node.css(".tgme_widget_message_poll_option"):
        answers.append(
            PollAnswer(text=plain(option.css_first(".tgme_widget_message_poll_option_text")) or "")
        )
        percents.append(plain(option.css_first(".tgme_widget_message_poll_option_percent")))
    raw["poll_type"] = kind
    raw["poll_percents"] = percents
    return Poll(
        question=plain(node.css_first(".tgme_widget_message_poll_question")) or "",
        answers=tuple(answers),
        total_voters=parse_count(plain(bubble.css_first(".tgme_widget_message_voters"))),
        closed="final results" in kind or "closed" in kind,
        quiz="quiz" in kind,
        multiple_choice="multiple" in kind,
        public_voters="public" in kind,
    )


def forward_of(bubble: LexborNode, raw: dict[str, Any]) -> Forward | None:
    """Where a forwarded post comes from (its link goes to ``raw``), or None."""
    node = first_own(bubble, ".tgme_widget_message_forwarded_from")
    if node is None:
        return None
    name_node = node.css_first(".tgme_widget_message_forwarded_from_name")
    name = plain(name_node)
    href = name_node.attributes.get("href") if name_node is not None else None
    link = post_link(href)
    if href:
        raw["forwarded_from"] = href
    return Forward(
        from_name=name,
        from_message_id=link[1] if link else None,
        post_author=plain(node.css_first(".tgme_widget_message_forwarded_from_author")),
    )


def reactions_of(bubble: LexborNode) -> tuple[Reaction, ...]:
    """The reactions shown under a post, with their counts."""
    found = []
    for node in bubble.css(".tgme_widget_message_reactions .tgme_reaction"):
        count = parse_count(own_text(node))
        if count is None:
            continue
        custom = node.css_first("tg-emoji")
        emoji_id = custom.attributes.get("emoji-id") if custom is not None else None
        emoji_node = node.css_first("i.emoji b") or node.css_first("b")
        paid = "tgme_reaction_paid" in classes_of(node)
        found.append(
            Reaction(
                emoji=None if emoji_id or paid else plain(emoji_node),
                custom_emoji_id=id_of(emoji_id),
                paid=paid,
                count=count,
            )
        )
    return tuple(found)


def location_of(bubble: LexborNode) -> Location | None:
    """A post's location (or venue) from its map link, or None."""
    node = first_own(bubble, "a.tgme_widget_message_location_wrap")
    if node is None:
        return None
    query = parse_qs(urlsplit(node.attributes.get("href") or "").query)
    for key in ("q", "ll"):
        parts = (query.get(key, [""])[0]).split(",")
        if len(parts) == 2:
            try:
                return Location(
                    latitude=float(parts[0]),
                    longitude=float(parts[1]),
                    title=plain(bubble.css_first(".tgme_widget_message_venue_title")),
                    address=plain(bubble.css_first(".tgme_widget_message_venue_address")),
                )
            except ValueError:
                return None
    return None


def web_page_of(bubble: LexborNode, base: str) -> WebPagePreview | None:
    """The link preview a post shows, or None."""
    node = bubble.css_first("a.tgme_widget_message_link_preview")
    if node is None:
        return None
    url = http_url(node.attributes.get("href"), base)
    if url is None:
        return None
    return WebPagePreview(
        url=url,
        site_name=plain(node.css_first(".link_preview_site_name")),
        title=plain(node.css_first(".link_preview_title")),
        description=plain(node.css_first(".link_preview_description")),
    )
