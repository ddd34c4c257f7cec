"""What the search index keeps of a post: :class:`SearchEntry` (its link, date and searchable text)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tgvault.domain import Post
from tgvault.export.site.context import BuildContext
from tgvault.export.site.formatting import format_full, month_key
from tgvault.export.site.page_links import PageLinks
from tgvault.export.site.plan import ChannelPlan
from tgvault.export.site.richtext import clean_text
from tgvault.export.site.search.scripts import js_call

MAX_TEXT = 8000


@dataclass(frozen=True)
class SearchEntry:
    """One post in a shard: where it is and what can be found in it."""

    message_id: int
    url: str
    date: str
    text: str


def searchable_text(post: Post) -> str:
    """Everything a reader might search a post by: text, signature, files, poll, link preview, place."""
    parts = [post.text]
    if post.author:
        parts.append(post.author)
    if post.media is not None:
        parts.extend(filter(None, (post.media.file_name, post.media.title, post.media.performer)))
    if post.poll is not None:
        parts.append(post.poll.question)
        parts.extend(answer.text for answer in post.poll.answers)
    if post.web_page is not None:
        parts.extend(filter(None, (post.web_page.title, post.web_page.description, post.web_page.site_name)))
    if post.location is not None:
        parts.extend(filter(None, (post.location.title, post.location.address)))
    if post.contact is not None:
        parts.extend(filter(None, (post.contact.first_name, post.contact.last_name)))
    return clean_text("\n".join(part for part in parts if part))[:MAX_TEXT]


def search_entry(
    ctx: BuildContext, links: PageLinks, page_path: str, post: Post, comments: str = ""
) -> SearchEntry:
    """A post as the search index keeps it: its place on its timeline page, its date, its text (and the
    text of its comments, after its own, so that they find it too)."""
    text = searchable_text(post)
    if comments:
        text = f"{text}\n\nComments:\n{comments}" if text else f"Comments:\n{comments}"
    return SearchEntry(
        message_id=post.message_id,
        url=links.to(page_path, f"post-{post.message_id}"),
        date=format_full(post.date, ctx.zone),
        text=text,
    )


def month_script(plan: ChannelPlan, month: int, message_ids: Sequence[int]) -> bytes:
    """The month's list of indexed posts (``plan.shard_path``): what the build keys the month's index by."""
    return js_call("month", {"c": plan.channel.id, "m": month_key(month), "p": list(message_ids)})
