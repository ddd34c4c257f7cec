"""Public channels without an account: Telegram's web preview, ``https://t.me/s/<channel>``.

An HTTP client that is polite to Telegram, a :class:`~tgvault.sources.base.PostSource` over the preview's
pages, and the parser that reads those pages (page kind, channel header, text, media, polls, forwards,
replies, service messages) into domain records.
"""

from tgvault.sources.webpreview.client import DEFAULT_USER_AGENT, WebClient, WebOptions, WebResponse
from tgvault.sources.webpreview.pages import page_kind, parse_preview_page
from tgvault.sources.webpreview.records import (
    RAW_KEY,
    ChannelHeader,
    PageKind,
    ParsedPost,
    PreviewPage,
    WebMedia,
)
from tgvault.sources.webpreview.source import WebPreviewSource, parse_web_channel_key
from tgvault.sources.webpreview.values import channel_id_from_view, parse_count, parse_size, post_link

__all__ = [
    "DEFAULT_USER_AGENT",
    "RAW_KEY",
    "ChannelHeader",
    "PageKind",
    "ParsedPost",
    "PreviewPage",
    "WebClient",
    "WebMedia",
    "WebOptions",
    "WebPreviewSource",
    "WebResponse",
    "channel_id_from_view",
    "page_kind",
    "parse_count",
    "parse_preview_page",
    "parse_size",
    "parse_web_channel_key",
    "post_link",
]
