"""Page assembly, one module per kind of page: what each page shows, its key, and where it is written.

``months`` (timeline pages and search shards), ``permalinks`` (a post's own page), ``tags`` (hashtag
index and pages), ``channel_index``, ``channel_stats`` and ``channel_feeds`` (a channel's home page,
statistics and feeds), ``landing`` (the site's home and search pages); ``layout`` and ``cards`` hold
what pages share, ``own_keys`` the keys of the pages a channel or the site has once. Each builder reads the build's state from a
:class:`~tgvault.export.site.context.BuildContext`.
"""

from tgvault.export.site.pages.channel_feeds import channel_feeds
from tgvault.export.site.pages.channel_index import channel_index
from tgvault.export.site.pages.channel_stats import channel_stats
from tgvault.export.site.pages.landing import landing_page, search_page
from tgvault.export.site.pages.months import MonthPages
from tgvault.export.site.pages.permalinks import PermalinkPages
from tgvault.export.site.pages.tags import TagPages

__all__ = [
    "MonthPages",
    "PermalinkPages",
    "TagPages",
    "channel_feeds",
    "channel_index",
    "channel_stats",
    "landing_page",
    "search_page",
]
