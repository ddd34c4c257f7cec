"""Search without a server: a small index of our own, one shard per channel and month.

Shards are JavaScript files that hand their data (JSON) to ``tgvaultSearch.shard(...)``. Loaded by
``<script>`` elements rather than ``fetch``, they work from any static file server and also from
``file://``, where browsers refuse ``fetch``. The search page (``search.html``) loads ``search/index.js``,
then the shards newest first, and matches every word of the query in each post's text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tgvault.domain import Post
from tgvault.export.site.formatting import month_key
from tgvault.export.site.plan import ChannelPlan
from tgvault.export.site.richtext import clean_text

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


def _js_call(function: str, payload: Any) -> bytes:
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    # U+2028/2029 are line terminators in older JavaScript; escape them so the file always parses.
    data = data.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"tgvaultSearch.{function}({data});\n".encode("utf-8", "replace")


def shard_script(plan: ChannelPlan, month: int, entries: Sequence[SearchEntry]) -> bytes:
    """The shard of one channel's month."""
    return _js_call(
        "shard",
        {
            "c": plan.channel.id,
            "m": month_key(month),
            "p": [[e.message_id, e.url, e.date, e.text] for e in entries],
        },
    )


def index_script(plans: Sequence[ChannelPlan]) -> bytes:
    """The list of channels and their shards (newest month first) that the search page starts from."""
    channels = []
    for plan in plans:
        shards = [
            {
                "m": month_key(month),
                "f": plan.shard_path(month),
                "n": sum(len(plan.pages[i].ids) for i in indexes),
            }
            for month, indexes in sorted(plan.months.items(), reverse=True)
        ]
        channels.append({"id": plan.channel.id, "title": clean_text(plan.channel.title), "shards": shards})
    return _js_call("index", {"channels": channels})
