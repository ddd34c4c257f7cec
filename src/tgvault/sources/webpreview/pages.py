"""What a page served for a channel name is, and a channel page read whole: its header and its posts."""

from __future__ import annotations

from pydantic import ValidationError
from selectolax.lexbor import LexborHTMLParser

from tgvault.errors import PageLayoutError
from tgvault.sources.webpreview.nodes import plain
from tgvault.sources.webpreview.posts import posts_of
from tgvault.sources.webpreview.records import ChannelHeader, PageKind, ParsedPost, PreviewPage
from tgvault.sources.webpreview.values import channel_id_from_view, http_url, parse_count


def page_kind(html: str) -> tuple[PageKind, str | None]:
    """What a page is, and for a landing page the title Telegram shows for the name (if any)."""
    tree = LexborHTMLParser(html)
    if tree.css_first(".tgme_channel_history") is not None or tree.css_first(".tgme_channel_info"):
        return PageKind.CHANNEL, None
    title = tree.css_first(".tgme_page_title")
    if title is not None:
        extra = plain(tree.css_first(".tgme_page_extra"))
        name = plain(title)
        return PageKind.NO_PREVIEW, ", ".join(part for part in (name, extra) if part) or None
    if tree.css_first(".tgme_page") is not None or tree.css_first(".tgme_username_link") is not None:
        return PageKind.UNKNOWN_NAME, None
    return PageKind.OTHER, None


def _counters(tree: LexborHTMLParser) -> dict[str, int]:
    counters: dict[str, int] = {}
    for counter in tree.css(".tgme_channel_info_counter"):
        value = parse_count(plain(counter.css_first(".counter_value")))
        kind = (plain(counter.css_first(".counter_type")) or "").lower()
        if value is None or not kind:
            continue
        singular = kind[:-1] if kind.endswith("s") else kind
        counters[singular] = value
    return counters


def channel_header(tree: LexborHTMLParser, url: str) -> ChannelHeader:
    """The channel header of a page: title, username, description, photo and counters."""
    info = tree.css_first(".tgme_channel_info")
    title = plain(tree.css_first(".tgme_channel_info_header_title"))
    if title is None:
        og_title = tree.css_first('meta[property="og:title"]')
        title = (og_title.attributes.get("content") or "").strip() if og_title is not None else ""
    if not title:
        raise PageLayoutError(url, "no channel title (.tgme_channel_info_header_title)")
    username = plain(tree.css_first(".tgme_channel_info_header_username"))
    if username is not None:
        username = username.removeprefix("@") or None
    photo = None
    if info is not None:
        image = info.css_first(".tgme_channel_info_header .tgme_page_photo_image img")
        photo = http_url(image.attributes.get("src") if image is not None else None, url)
    counters = _counters(tree)
    subscribers = counters.get("subscriber", counters.get("member"))
    return ChannelHeader(
        title=title,
        username=username,
        description=plain(tree.css_first(".tgme_channel_info_description")),
        photo_url=photo,
        subscribers=subscribers,
        counters=counters,
    )


def parse_preview_page(html: str, *, url: str) -> PreviewPage:
    """Parse a channel page of the web preview; :class:`PageLayoutError` when it is not one.

    A page is written by whoever serves it: a value the archive would refuse (an id or a count out of
    range, a date outside Telegram's, text with a lone surrogate) or markup nested too deep to read makes
    the whole page refused, with the value named, rather than half read (issue 17.4).
    """
    try:
        return _parse_preview_page(html, url)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        problem = first["msg"].removeprefix("Value error, ")
        raise PageLayoutError(
            url, f"a value tgvault cannot archive: {problem} ({exc.title} {where})"
        ) from None
    except (ValueError, OverflowError) as exc:
        raise PageLayoutError(url, f"a value tgvault cannot archive: {str(exc)[:200]}") from None
    except RecursionError:
        raise PageLayoutError(url, "markup nested too deep to read") from None


def _parse_preview_page(html: str, url: str) -> PreviewPage:
    tree = LexborHTMLParser(html)
    history = tree.css_first(".tgme_channel_history")
    if history is None:
        raise PageLayoutError(url, "no message history (.tgme_channel_history)")
    header = channel_header(tree, url)
    messages = [node for node in history.css(".tgme_widget_message") if node.attributes.get("data-post")]
    wraps = history.css(".tgme_widget_message_wrap")
    if wraps and not messages:
        raise PageLayoutError(url, f"{len(wraps)} message blocks but none with a data-post id")
    ids = {channel_id_from_view(node.attributes.get("data-view")) for node in messages} - {None}
    if messages and not ids:
        raise PageLayoutError(url, "no post carries a readable data-view token, so the channel id is unknown")
    if len(ids) > 1:
        raise PageLayoutError(
            url, f"posts of several channels on one page (ids {sorted(i for i in ids if i)})"
        )
    channel_id = next(iter(ids)) if ids else None
    username = header.username
    if username is None and messages:
        username = (messages[0].attributes.get("data-post") or "").rpartition("/")[0] or None
    posts: dict[int, ParsedPost] = {}
    if channel_id is not None:
        for message in messages:
            for parsed in posts_of(message, channel_id, username, url):
                posts[parsed.post.message_id] = parsed
    ordered = tuple(posts[key] for key in sorted(posts, reverse=True))
    if username is not None and header.username is None:
        header = ChannelHeader(
            title=header.title,
            username=username,
            description=header.description,
            photo_url=header.photo_url,
            subscribers=header.subscribers,
            counters=header.counters,
        )
    return PreviewPage(url=url, header=header, channel_id=channel_id, posts=ordered)
