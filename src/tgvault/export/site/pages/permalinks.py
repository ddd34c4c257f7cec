"""Permalink pages: one page per post, which never moves (``c/<channel>/posts/<id>.html``).

Pages of one channel differ only in a handful of values, so they are filled into a frame rendered
once per shape (see :mod:`tgvault.export.site.frame`) unless the theme is the user's own or the post
draws a views chart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from markupsafe import Markup

from tgvault.export.site.comment_threads import render_thread
from tgvault.export.site.context import BuildContext
from tgvault.export.site.frame import FrameCache
from tgvault.export.site.links import relative_url
from tgvault.export.site.page_links import PageLinks
from tgvault.export.site.pages.cards import Card
from tgvault.export.site.pages.layout import page_context, page_header
from tgvault.export.site.plan import ChannelPlan
from tgvault.export.site.richtext import clean_text, snippet
from tgvault.export.site.stats import views_over_time
from tgvault.export.site.writer import PageWriter


class PermalinkPages:
    """Writes the permalink pages of posts, keeping the frames and channel headers they share."""

    def __init__(self, ctx: BuildContext, out: PageWriter) -> None:
        self.ctx = ctx
        self.out = out
        self.frames = FrameCache()
        self.headers: dict[int, dict[str, object]] = {}

    def write(
        self,
        plan: ChannelPlan,
        message_id: int,
        card: Card | None,
        key: str,
        views: Sequence[tuple[datetime, int]] = (),
        record: Markup | None = None,
    ) -> None:
        """The page of one post, from its card (None: a post the archive lacks), its views over time and
        its archive record (:func:`~tgvault.export.site.post_record.record_html`; empty without one)."""
        ctx = self.ctx
        path = plan.permalink_path(message_id)
        title = f"{plan.channel.title} — post {message_id}"
        if card is None:
            context = page_context(ctx, path, title)
            links: PageLinks = context["links"]
            html = ctx.renderer.render(
                "post.html",
                **context,
                channel=page_header(ctx, plan, links),
                card=None,
                message_id=message_id,
                description="",
            )
            self.out.write(path, html, key)
            return
        text = snippet(card.first.text, 70)
        location = plan.location(message_id)
        canonical = ctx.options.absolute_base
        values: dict[str, object] = {
            "title": clean_text(f"{plan.channel.title}: {text}") if text else clean_text(title),
            "card": card.html,
            "message_id": message_id,
            "description": snippet(card.first.text, 200),
            "date_full": card.view.date_full,
            "date_iso": card.view.date_iso,
            "tme_url": card.view.tme_url,
        }
        # always a value (empty without comments), so that frames differ by whether a thread is shown
        values["comments"] = render_thread(ctx, plan, message_id) if card.first.replies else Markup("")
        values["record"] = record or Markup("")  # always a value, like the comments
        if location:
            values["timeline_url"] = relative_url(path, *location)
        if canonical:
            values["canonical"] = f"{canonical}/{path}"
        shape = (plan.channel.id, bool(values["description"]), bool(location), bool(canonical))

        def render_with(slots: Mapping[str, object]) -> str:
            context = page_context(ctx, path, "")
            context["page"]["title"] = slots["title"]
            if "canonical" in slots:
                context["page"]["canonical"] = slots["canonical"]
            extra = {name: value for name, value in slots.items() if name not in ("title", "canonical")}
            extra.setdefault("timeline_url", None)
            extra.setdefault("views_chart", None)
            extra.setdefault("comments", None)
            extra.setdefault("record", None)
            return ctx.renderer.render(
                "post.html", **context, channel=self._header(plan, context["links"]), **extra
            )

        chart = views_over_time(views, ctx.zone)
        if chart is not None:  # a post whose views changed draws them (no shared frame for it)
            values["views_chart"] = chart
        if ctx.options.templates_dir is None and chart is None:
            html = self.frames.render(shape, values, render_with)
        else:
            html = render_with(values)
        self.out.write(path, html, key)

    def _header(self, plan: ChannelPlan, links: PageLinks) -> dict[str, object]:
        """The channel header of permalink pages, which all sit in one folder: computed once a channel."""
        header = self.headers.get(plan.channel.id)
        if header is None:
            header = self.headers[plan.channel.id] = page_header(self.ctx, plan, links)
        return header
