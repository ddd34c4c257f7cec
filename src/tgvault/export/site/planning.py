"""Phase one of a build: plan every channel from scratch, or bring the last build's plan up to date.

Planning also finds the files posts show and the channels' photos (a missing file changes the
site-wide key), computes that key, and keeps the plan in the manifest for the next build (see
:mod:`tgvault.export.site.incremental`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from tgvault import __version__
from tgvault.domain import Channel
from tgvault.export.progress import ExportProgress
from tgvault.export.site.comment_threads import publish_files
from tgvault.export.site.context import BuildContext
from tgvault.export.site.incremental import (
    PLAN_FORMAT,
    ChannelChanges,
    KeptPlan,
    StalePlan,
    add_repliers,
    decode_plan,
    encode_plan,
    merge_changes,
    next_since,
    same_layout,
)
from tgvault.export.site.links import media_display, media_site_path
from tgvault.export.site.manifest import unchanged_parts
from tgvault.export.site.options import SiteBuildReport, SiteError
from tgvault.export.site.page_keys import digest
from tgvault.export.site.plan import ChannelPlan, SitePlan, plan_channel, version_stamp
from tgvault.storage.media_types import MEDIA_NAMING, Display
from tgvault.storage.repositories import PostOutline
from tgvault.storage.unit_of_work import UnitOfWork


class Planner:
    """Plans the site of one build into its context: the site plan, missing files, photos, the site key."""

    def __init__(self, ctx: BuildContext) -> None:
        self.ctx = ctx
        self._engine = ""
        # by channel: the names of the kept plan's parts, and of those the plan brought up to date holds as
        # they were (compared once merged: nothing changes the plan after)
        self._kept_parts: dict[int, tuple[set[str], set[str]]] = {}
        self._kept_meta: dict[int, bytes] = {}  # the kept plan's meta of channels no post of which changed
        self.marks: dict[int, tuple[datetime, datetime]] = {}  # where the next build reads changes from

    def channels(self) -> list[Channel]:
        """The channels to build: every channel of the archive, or those the options name."""
        ctx = self.ctx
        with ctx.uow_factory() as uow:
            channels = uow.channels.list()
        wanted = ctx.options.channel_ids
        if wanted is not None:
            known = {channel.id for channel in channels}
            unknown = sorted(set(wanted) - known)
            if unknown:
                raise SiteError(f"channels not in the archive: {', '.join(map(str, unknown))}")
            channels = [channel for channel in channels if channel.id in set(wanted)]
        return channels

    def plan(self, channels: Sequence[Channel], clock: datetime) -> None:
        """Plan every post of every channel (today's archive, read whole)."""
        ctx = self.ctx
        ctx.site = SitePlan({})
        ctx.missing_media = set()
        manifest = ctx.writer.manifest
        kept_stamps = self._kept_stamps()
        manifest.clear_plan()  # planned again from scratch; the files posts show are recorded as planned
        with ctx.uow_factory() as uow:
            counts = {channel.id: uow.posts.count(channel.id) for channel in channels}
        ctx.progress.started("planning", sum(counts.values()), "posts")
        for channel in channels:
            with ctx.uow_factory() as uow:
                posts_mark, media_mark = uow.posts.change_marks(channel.id)
                ctx.audits[channel.id] = uow.audits.get(channel.id)
                self._read_stamps(uow, channel.id, kept_stamps)

                def record(shown: list[tuple[int, str]], channel_id: int = channel.id) -> None:
                    manifest.add_post_media(channel_id, shown)

                outlines = _counted(uow.posts.outline(channel.id), ctx.progress)
                ctx.site.channels[channel.id] = plan_channel(
                    channel, outlines, ctx.options, media_sink=record, expected=counts[channel.id]
                )
            self.marks[channel.id] = (next_since(posts_mark, clock), next_since(media_mark, clock))
        ctx.progress.finished()
        self._media()
        ctx.global_key = self._global_key(channels)

    def incremental(self, channels: Sequence[Channel], clock: datetime) -> dict[int, ChannelChanges] | None:
        """Bring the last build's plan up to date; None when the site must be planned from scratch."""
        ctx = self.ctx
        manifest = ctx.writer.manifest
        raw = manifest.plan_value("site")
        if raw is None:
            return None
        try:
            kept_site = json.loads(raw.decode("utf-8"))
        except ValueError:
            return None
        for channel in channels:
            ctx.avatars[channel.id] = self._avatar(channel)
        if (
            not isinstance(kept_site, dict)
            or kept_site.get("missing")
            or kept_site.get("fingerprint") != self._fingerprint(channels)
        ):
            return None
        zone, per_page = ctx.zone, ctx.options.posts_per_page
        changes: dict[int, ChannelChanges] = {}
        try:
            kept = {}
            with ctx.uow_factory() as uow:
                for channel in channels:
                    parts = manifest.channel_plan(channel.id)
                    kept_plan = kept[channel.id] = decode_plan(channel, ctx.options.order, parts)
                    kept_plan.plan.post_pages = ctx.options.post_pages
                    posts_mark, media_mark = uow.posts.change_marks(channel.id)
                    ctx.audits[channel.id] = uow.audits.get(channel.id)
                    self._read_stamps(uow, channel.id, self._kept_stamps(kept_site))
                    changed = self._changed(uow, kept_plan)
                    if not changed:  # the plan stays as kept: keep() writes its meta (the change marks) alone
                        self._kept_meta[channel.id] = parts["meta"]
                        del parts  # decoded: the plan holds its own copy
                    outlines = uow.posts.outline_for(channel.id, changed)

                    def more(wanted: list[int], channel_id: int = channel.id) -> list[PostOutline]:
                        return uow.posts.outline_for(channel_id, wanted)

                    changes[channel.id] = merge_changes(kept_plan.plan, outlines, zone, per_page, more)
                    if changed:
                        # the kept parts, held through the merge as while decoding, against the merged
                        # plan byte for byte: keep() writes again those that differ (nothing changes
                        # the plan after the merge)
                        plan, since = kept_plan.plan, kept_plan.posts_since
                        merged = encode_plan(plan, since, since, with_meta=False)  # meta: always written
                        self._kept_parts[channel.id] = (set(parts), unchanged_parts(parts, merged))
                        del parts, merged
                    if len(kept_plan.plan.posts) != uow.posts.count(channel.id):
                        raise StalePlan("posts were removed from the archive")
                    self.marks[channel.id] = (next_since(posts_mark, clock), next_since(media_mark, clock))
        except StalePlan:
            self._restart()
            return None
        # the files of changed posts: in place, or plan from scratch (the site-wide key names missing ones)
        mode = ctx.options.media_mode
        unused: set[str] = set()
        for channel_id, change in changes.items():
            before = manifest.post_media(channel_id, sorted(change.media))
            for store_path in sorted({path for path in change.media.values() if path}):
                missing = ctx.writer.media(ctx.media_store, store_path, mode) is None
                if missing and media_site_path(store_path) is not None:
                    self._restart()
                    return None
            manifest.set_post_media(channel_id, change.media)
            # the files of the changed posts' comments (a comment's file arriving touches its post)
            if publish_files(ctx, kept[channel_id].plan.channel, sorted(change.media)):
                self._restart()
                return None
            unused.update(path for i, path in before.items() if change.media.get(i) != path)
        for store_path in sorted(unused):
            site_path = media_site_path(store_path)
            # files stored twice under two names can be published under one passive name
            shown = (media_site_path(path) for path in manifest.shown_with_content(store_path))
            if site_path is not None and site_path not in shown:
                ctx.writer.drop_media(site_path)
        ctx.site = SitePlan({channel_id: kept[channel_id].plan for channel_id in kept})
        audited = kept_site.get("audited")
        for channel_id, change in changes.items():
            if not isinstance(audited, dict) or audited.get(str(channel_id)) != self._audited(channel_id):
                # an audit finished since: every post page shows the day it was last checked
                change.permalinks.update(range(len(ctx.site.channels[channel_id].pages)))
            posts = ctx.site.channels[channel_id].posts
            covered = ctx.newly_stamped.get(channel_id, set())
            change.permalinks.update(posts.page_of(i) for i in covered if i in posts)
        targets = {channel_id: change.dirty for channel_id, change in changes.items() if change.dirty}
        if targets:
            for plan in ctx.site.channels.values():
                add_repliers(plan, changes[plan.channel.id], targets)
        ctx.global_key = self._global_key(channels)
        ctx.writer.incremental = True
        ctx.report.incremental = True
        return changes

    def _changed(self, uow: UnitOfWork, kept_plan: KeptPlan) -> list[int]:
        """Ids of the channel's posts written since the kept plan was made, but for those read again as
        the plan holds them (written within CHANGE_LAG of the last build): told by their light versions."""
        channel_id = kept_plan.plan.channel.id
        ids = uow.posts.changed_since(channel_id, kept_plan.posts_since, kept_plan.media_since)
        versions = uow.posts.versions_for(channel_id, ids) if ids else {}
        self.ctx.report.changed_posts += len(versions)
        planned = kept_plan.plan.posts.stamps_of(versions)
        return [
            message_id
            for message_id, (version, deleted) in versions.items()
            if planned.get(message_id) != version_stamp(version, deleted)
        ]

    def _restart(self) -> None:
        """Forget what an incremental attempt did before planning from scratch."""
        ctx = self.ctx
        ctx.site = SitePlan({})
        self.marks.clear()
        self._kept_parts = {}
        self._kept_meta = {}
        ctx.report = ctx.writer.report = SiteBuildReport()

    def keep(self, plans: Sequence[ChannelPlan], *, from_scratch: bool) -> None:
        """Keep this build's plan in the manifest for the next build."""
        ctx = self.ctx
        manifest = ctx.writer.manifest
        for plan in plans:
            posts_since, media_since = self.marks[plan.channel.id]
            parts = encode_plan(plan, posts_since, media_since)
            kept_meta = None if from_scratch else self._kept_meta.get(plan.channel.id)
            if kept_meta is not None and same_layout(kept_meta, parts["meta"]):
                # no post changed, so every column chunk is as kept: the meta alone (the change marks)
                manifest.save_channel_plan(plan.channel.id, {"meta": parts["meta"]}, {"meta"})
                continue
            kept_parts = None if from_scratch else self._kept_parts.get(plan.channel.id)
            if kept_parts is None:
                manifest.save_channel_plan(plan.channel.id, parts)
            else:
                names, unchanged = kept_parts
                manifest.save_channel_plan(plan.channel.id, parts, names, unchanged - {"meta"})
        kept = {
            "fingerprint": self._fingerprint([plan.channel for plan in plans]),
            "missing": sorted(ctx.missing_media),
            "audited": {str(plan.channel.id): self._audited(plan.channel.id) for plan in plans},
            "stamped": {str(plan.channel.id): self._stamped(plan.channel.id) for plan in plans},
        }
        manifest.save_plan_value("site", json.dumps(kept).encode("utf-8"))

    def _stamped(self, channel_id: int) -> int:
        """The last entry of the channel a token covers (0: none), as kept with the plan."""
        stamps = self.ctx.stamps.get(channel_id)
        return stamps[-1].seq if stamps else 0

    def _kept_stamps(self, kept_site: object = None) -> dict[str, int]:
        """What the last build's plan kept of each channel's tokens (empty: nothing kept)."""
        if kept_site is None:
            raw = self.ctx.writer.manifest.plan_value("site")
            try:
                kept_site = json.loads(raw.decode("utf-8")) if raw is not None else None
            except ValueError:
                kept_site = None
        found = kept_site.get("stamped") if isinstance(kept_site, dict) else None
        return found if isinstance(found, dict) else {}

    def _read_stamps(self, uow: UnitOfWork, channel_id: int, kept: dict[str, int]) -> None:
        """The channel's tokens, and the posts whose state a token taken since the last build covers."""
        stamps = self.ctx.stamps[channel_id] = uow.ledger.stamp_facts(channel_id)
        before = kept.get(str(channel_id), 0)
        last = stamps[-1].seq if stamps else 0
        newly: set[int] = set()
        if isinstance(before, int) and last > before:
            newly = {i for i, seq in uow.ledger.last_states_after(channel_id, before).items() if seq <= last}
        self.ctx.newly_stamped[channel_id] = newly

    def _audited(self, channel_id: int) -> str | None:
        """When the channel's last audit finished, as kept with the plan (None: never)."""
        audit = self.ctx.audits.get(channel_id)
        finished = audit.last_completed_at if audit is not None else None
        return None if finished is None else finished.isoformat()

    def _media(self) -> None:
        ctx = self.ctx
        mode = ctx.options.media_mode
        manifest = ctx.writer.manifest
        for plan in ctx.site.channels.values():
            for store_path in manifest.files_shown(plan.channel.id):
                if ctx.writer.media(ctx.media_store, store_path, mode) is None:
                    site_path = media_site_path(store_path)
                    if site_path is not None:
                        ctx.missing_media.add(site_path)
            ctx.missing_media.update(publish_files(ctx, plan.channel))  # the files comments show
            ctx.avatars[plan.channel.id] = self._avatar(plan.channel)

    def _avatar(self, channel: Channel) -> str | None:
        ctx = self.ctx
        sha = channel.photo_sha256
        if not sha or len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha):
            return None
        for candidate in ctx.media_store.find(sha):
            published = media_site_path(candidate)
            if published is None or media_display(published) is not Display.IMAGE:
                continue  # a photo only shows as an image
            site_path = ctx.writer.media(ctx.media_store, candidate, ctx.options.media_mode)
            if site_path is not None:
                return site_path
        return None

    def _engine_hash(self) -> str:
        if not self._engine:
            self._engine = self.ctx.renderer.engine_hash()
        return self._engine

    def _global_key(self, channels: Sequence[Channel]) -> str:
        ctx = self.ctx
        options = ctx.options
        return digest(
            self._engine_hash(),
            options.title,
            options.base_url,
            options.timezone,
            options.order.value,
            options.posts_per_page,
            options.post_pages,
            # every page of a channel links to its hashtag index once it has one
            [(c.id, c.username, c.title, ctx.avatars.get(c.id), self._has_tags(c.id)) for c in channels],
            sorted(ctx.missing_media),
            MEDIA_NAMING,  # pages link to media by their published names
            sorted(options.comments_hidden),  # channels whose comments no page shows
        )

    def _has_tags(self, channel_id: int) -> bool:
        plan = self.ctx.site.channels.get(channel_id)
        return plan is not None and bool(plan.tags)

    def _fingerprint(self, channels: Sequence[Channel]) -> str:
        """Everything besides the posts that a kept plan and its pages depend on."""
        ctx = self.ctx
        return digest(
            PLAN_FORMAT,
            __version__,
            self._engine_hash(),
            replace(ctx.options, out_dir=Path(), workers=None),  # how many processes render: no matter
            MEDIA_NAMING,
            [(c.id, c.username, c.title, ctx.avatars.get(c.id)) for c in channels],
        )


def _counted(
    outlines: Iterable[PostOutline], progress: ExportProgress, every: int = 1000
) -> Iterator[PostOutline]:
    """``outlines`` as they are, telling ``progress`` of every ``every`` posts read (and the rest at the end)."""
    count = 0
    for outline in outlines:
        yield outline
        count += 1
        if count == every:
            progress.advance(count)
            count = 0
    if count:
        progress.advance(count)
