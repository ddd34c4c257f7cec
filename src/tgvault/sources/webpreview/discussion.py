"""Telegram's discussion widget read whole: is there a discussion, which group, its comments, older ones.

The widget (``https://t.me/<channel>/<post>?embed=1&discussion=1&comments_limit=<n>``) is the page a website
embeds to show a post's comments. Its structure, as Telegram serves it (learned from public projects that
read it: ArchiveTeam's telegram-grab, comment scrapers and Telegram's own ``discussion-widget.js``):

- a header ``h3.tgme_post_discussion_header`` whose ``.js-header`` says ``"740 comments"`` (or just
  ``"Comments"``), and ``TWidgetDiscussion.init({"comments_cnt": 740, ...})`` in a script;
- the thread, ``.tgme_post_discussion.js-message_history``: at most ``comments_limit`` of the newest
  comments, oldest first (blocks read by :mod:`.comment_blocks`), below a "show more" element
  ``.tme_messages_more.js-messages_more[data-before=<id>]`` when older ones exist;
- the reply form ``form.js-new_message_form`` with hidden inputs ``peer`` (``c<group id>_<access hash>``:
  the discussion group), ``top_msg_id`` (the group's copy of the post) and ``discussion_hash``, and
  ``TWidgetAuth.init({"api_url": "https://t.me/api/method?api_hash=..."})``: the widget's script asks
  that URL for older comments (a POST of the form's three values, ``before_id`` and
  ``method=loadComments``), which answers JSON whose ``comments_html`` is more blocks and, again, a "show
  more" element;
- without a discussion (comments off, a private group, a deleted post) no form, and a
  ``.tme_no_messages_found`` saying why (``"Discussion is not available at the moment."``,
  ``"Please open Telegram to view this discussion from ..."``) or a ``.tgme_widget_message_error``.

Every value is untrusted: ids must be digits of a sane length, the API URL is only a candidate (the client
checks where it goes), and a comment block that cannot be read is left out and counted, never guessed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Final

from pydantic import ValidationError
from selectolax.lexbor import LexborHTMLParser, LexborNode

from tgvault.errors import PageLayoutError
from tgvault.sources.base import FetchedPost
from tgvault.sources.webpreview.comment_blocks import Thread, comment_of
from tgvault.sources.webpreview.nodes import plain
from tgvault.sources.webpreview.values import parse_count

MAX_BARE_ID: Final = 1_000_000_000_000
_PEER: Final = re.compile(r"^c(\d{1,13})_-?\d{1,20}$", re.ASCII)
_COUNT_INIT: Final = re.compile(r'"comments_cnt"\s*:\s*(\d{1,12})', re.ASCII)
_AUTH_INIT: Final = re.compile(r"TWidgetAuth\.init\((\{.*?\})\)", re.DOTALL)
_HEADER_COUNT: Final = re.compile(r"^([\d.,]+\s*[KMB]?)\s", re.IGNORECASE)
NO_DISCUSSION: Final = "the widget shows no discussion for this post"


@dataclass(frozen=True)
class LoadMore:
    """What the widget's script sends to fetch older comments: the API URL and the form's values."""

    api_url: str
    peer: str
    top_msg_id: str
    discussion_hash: str

    def form(self, before: int) -> dict[str, str]:
        """The POST form asking for the comments below ``before``."""
        return {
            "peer": self.peer,
            "top_msg_id": self.top_msg_id,
            "discussion_hash": self.discussion_hash,
            "before_id": str(before),
            "method": "loadComments",
        }


@dataclass(frozen=True)
class WidgetPage:
    """One page of the widget (or one answer of its API): its comments, oldest first, and what follows."""

    group_id: int | None
    top_id: int | None
    comments: list[FetchedPost] = field(default_factory=list)
    count: int | None = None
    before: int | None = None
    """``data-before`` of the "show more" element: older comments exist below this id."""
    load_more: LoadMore | None = None
    unavailable: str | None = None
    skipped: list[str] = field(default_factory=list)
    """Why comment blocks were left out (one line each)."""


def _digits(value: str | None, limit: int = 11) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= limit else None


def _input(form: LexborNode | None, name: str) -> str | None:
    if form is None:
        return None
    node = form.css_first(f'input[name="{name}"]')
    value = node.attributes.get("value") if node is not None else None
    return value.strip() if value else None


def _scripts(tree: LexborHTMLParser) -> str:
    return "\n".join(node.text(deep=True) for node in tree.css("script"))


def _count(tree: LexborHTMLParser, scripts: str) -> int | None:
    found = _COUNT_INIT.search(scripts)
    if found is not None:
        return int(found.group(1))
    header = plain(tree.css_first(".js-header"))
    match = _HEADER_COUNT.match(f"{header} ") if header else None
    return parse_count(match.group(1)) if match else None


def _api_url(scripts: str) -> str | None:
    match = _AUTH_INIT.search(scripts)
    if match is None:
        return None
    try:
        options = json.loads(match.group(1))
    except ValueError:
        return None
    value = options.get("api_url") if isinstance(options, dict) else None
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None


def _before(root: LexborNode | LexborHTMLParser) -> int | None:
    node = root.css_first(".js-messages_more[data-before]")
    return _digits(node.attributes.get("data-before")) if node is not None else None


def _comments(
    root: LexborNode | LexborHTMLParser, thread: Thread, url: str
) -> tuple[list[FetchedPost], list[str]]:
    found: dict[int, FetchedPost] = {}
    skipped: list[str] = []
    for node in root.css(".tgme_widget_message.js-widget_message"):
        if node.attributes.get("data-post") is not None and node.attributes.get("data-post-id") is None:
            continue  # the post itself, shown above its comments in some layouts
        try:
            item = comment_of(node, thread, url)
        except PageLayoutError as exc:
            skipped.append(exc.problem)
            continue
        except (ValidationError, ValueError, OverflowError) as exc:
            skipped.append(
                f"a comment with a value tgvault cannot archive ({str(exc).splitlines()[0][:120]})"
            )
            continue
        found[item.post.message_id] = item
    return [found[key] for key in sorted(found)], skipped


def parse_widget_page(html: str, *, url: str, channel_id: int, post_id: int) -> WidgetPage:
    """Read a discussion widget page; PageLayoutError when it is not one (a changed layout)."""
    try:
        tree = LexborHTMLParser(html)
        form = tree.css_first("form.js-new_message_form")
        peer = _input(form, "peer")
        peer_match = _PEER.match(peer or "")
        group_id = int(peer_match.group(1)) if peer_match else None
        if group_id is not None and not 0 < group_id < MAX_BARE_ID:
            group_id = None
        history = tree.css_first(".js-message_history")
        if group_id is None:
            reason = plain(tree.css_first(".tme_no_messages_found")) or plain(
                tree.css_first(".tgme_widget_message_error")
            )
            if reason is None and history is None:
                raise PageLayoutError(url, "neither a discussion (.js-message_history) nor a reason for none")
            shown = "".join(char if char.isprintable() else "?" for char in reason[:300]) if reason else None
            return WidgetPage(None, None, unavailable=shown or NO_DISCUSSION)
        if history is None:
            raise PageLayoutError(url, "a discussion form but no thread (.js-message_history)")
        top_id = _digits(_input(form, "top_msg_id"))
        scripts = _scripts(tree)
        thread = Thread(channel_id, post_id, group_id, top_id)
        comments, skipped = _comments(history, thread, url)
        api_url = _api_url(scripts)
        digest = _input(form, "discussion_hash")
        load_more = None
        if api_url and peer and top_id is not None and digest:
            load_more = LoadMore(api_url, peer, str(top_id), digest)
        return WidgetPage(
            group_id,
            top_id,
            comments,
            count=_count(tree, scripts),
            before=_before(history),
            load_more=load_more,
            skipped=skipped,
        )
    except RecursionError:
        raise PageLayoutError(url, "markup nested too deep to read") from None


def parse_more_answer(body: str, *, url: str, thread: Thread) -> WidgetPage:
    """Read the widget API's answer to ``loadComments`` (JSON with ``comments_html``)."""
    try:
        answer = json.loads(body)
    except ValueError:
        raise PageLayoutError(url, "the widget's API did not answer JSON") from None
    if not isinstance(answer, dict) or answer.get("ok") is False or "error" in answer:
        problem = answer.get("error") if isinstance(answer, dict) else None
        shown = f": {str(problem)[:120]}" if problem else ""
        raise PageLayoutError(url, f"the widget's API refused the request for older comments{shown}")
    fragment = answer.get("comments_html")
    if not isinstance(fragment, str):
        raise PageLayoutError(url, "the widget's API answer has no comments_html")
    count = answer.get("comments_cnt")
    try:
        tree = LexborHTMLParser(f'<div class="js-message_history">{fragment}</div>')
        root = tree.css_first(".js-message_history") or tree
        comments, skipped = _comments(root, thread, url)
        before = _before(root)
    except RecursionError:
        raise PageLayoutError(url, "markup nested too deep to read") from None
    return WidgetPage(
        thread.group_id,
        thread.top_id,
        comments,
        count=count if isinstance(count, int) and 0 <= count < MAX_BARE_ID else None,
        before=before,
        skipped=skipped,
    )
