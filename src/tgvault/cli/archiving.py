"""The commands that archive a channel from its source: backfill, sync, audit, and reparse."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import click

from tgvault.cli.channel_names import archived_channel
from tgvault.cli.exits import EXIT_CONFIG, EXIT_FAILED, fail, handles_errors, run_async
from tgvault.cli.output import plural, say
from tgvault.cli.state import cli_state
from tgvault.errors import SourceError, StorageError


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD", param_hint=option) from None


_SOURCE_OPTION = click.option(
    "--source",
    type=click.Choice(["telegram", "web", "auto"]),
    help="telegram (your account), web (the public t.me/s/ preview, no account) or auto (web when no "
    "API id/hash is set). Default: the channel's configured source, else telegram.",
)


@click.command()
@click.argument("channel")
@click.option("--since", help="Only posts on or after this date (YYYY-MM-DD).")
@click.option("--until", help="Only posts on or before this date (YYYY-MM-DD).")
@click.option("--no-media", is_flag=True, help="Archive text only; media can be fetched by a later sync.")
@_SOURCE_OPTION
@click.pass_context
@handles_errors
def backfill(
    ctx: click.Context, channel: str, since: str | None, until: str | None, no_media: bool, source: str | None
) -> None:
    """Archive a channel's whole history (or a date range), resumably.

    A checkpoint is committed with every page of 100 posts, so after Ctrl-C, a crash or kill -9 the
    same command resumes where it stopped. CHANNEL is @username, a t.me link, a numeric id or the title
    of an archived channel; it need not be in the config (its media policy then uses the defaults).

    \b
    Examples:
      tgvault backfill @durov
      tgvault backfill https://t.me/durov --since 2024-01-01 --no-media
      tgvault backfill @durov --since 2023-01-01 --until 2023-12-31
      tgvault backfill @durov --source web
      tgvault backfill "Durov's Channel"   # an archived channel's title
    """
    from tgvault.app import make_archiver, plan_for, source_for, source_kind_for
    from tgvault.cli.progress import progress_display

    state = cli_state(ctx)
    settings = state.settings()
    (channel,) = state.source_names([channel])
    kind = source_kind_for(settings, channel, source)
    plan = plan_for(
        settings, channel, since=_date(since, "--since"), until=_date(until, "--until"), media=not no_media
    )
    progress = progress_display()
    archive = state.archive(write=True)

    async def go() -> Any:
        async with source_for(settings, kind) as posts:
            return await make_archiver(archive, posts, progress=progress).backfill(plan)

    try:
        with progress:
            counts = run_async(go())
        stamp_heads_of(settings, archive)
    finally:
        archive.close()
    say(
        f"{plan.key}: {counts.posts_added} new, {counts.posts_edited} edited, "
        f"{plural(counts.media_files, 'file')} ({plural(counts.media_bytes, 'byte')})"
    )


@click.command()
@click.argument("channels", nargs=-1)
@click.option("--no-media", is_flag=True, help="Skip media downloads in this pass.")
@_SOURCE_OPTION
@click.pass_context
@handles_errors
def sync(ctx: click.Context, channels: Sequence[str], no_media: bool, source: str | None = None) -> None:
    """One pass over channels: new posts, then re-read the newest for edits, deletions and counters.

    Without CHANNELS, every configured channel is synced. A channel is named by @username, t.me link,
    numeric id or the title of an archived channel. A channel that fails (private, renamed,
    flood-limited) is reported and the others carry on; the exit code is 1 if any failed.
    A channel whose entry was switched to comments_authors = "pseudonymous" has the comments archived
    under "keep" rewritten first (names, @usernames and user ids gone; a killed run resumes it).

    \b
    Examples:
      tgvault sync
      tgvault sync @durov @telegram
      tgvault sync @durov --source web
      tgvault sync @durov   # after setting comments_authors = "pseudonymous" for it
    """
    from tgvault.app import make_archiver, plan_for, source_for, source_kind_for
    from tgvault.cli.progress import progress_display

    state = cli_state(ctx)
    settings = state.settings()
    names = state.source_names(channels) or [channel.name for channel in settings.channels]
    if not names:
        fail("no channels to sync: name some, or add [[channels]] to the config", EXIT_CONFIG)
    plans = [plan_for(settings, name, media=not no_media) for name in names]
    kinds = [source_kind_for(settings, name, source) for name in names]
    progress = progress_display(overall=("channels", len(plans)))
    archive = state.archive(write=True)

    async def go() -> Any:
        from tgvault.services.archiver import stopped_outcomes

        outcomes = []
        for kind in dict.fromkeys(kinds):  # one source per kind, channels in the order given
            group = [plan for plan, plan_kind in zip(plans, kinds, strict=True) if plan_kind is kind]
            try:
                async with source_for(settings, kind) as posts:
                    outcomes.extend(await make_archiver(archive, posts, progress=progress).sync_many(group))
            except SourceError as error:  # the source cannot be opened: its channels stop, the others go on
                outcomes.extend(stopped_outcomes([plan.key for plan in group], error))
        order = {plan.key: index for index, plan in enumerate(plans)}
        return sorted(outcomes, key=lambda outcome: order.get(outcome.key, 0))

    try:
        with progress:
            outcomes = run_async(go())
        stamp_heads_of(settings, archive)
    finally:
        archive.close()
    report_outcomes(outcomes)


@click.command()
@click.argument("channel")
@click.option("--full", is_flag=True, help="Start over from the oldest post, even if an audit is under way.")
@click.option("--since", help="Only posts dated on or after this day (YYYY-MM-DD).")
@click.option(
    "--pause",
    type=click.FloatRange(min=0),
    help="Seconds between two requests (default: [sync] audit_pause, 1.0).",
)
@_SOURCE_OPTION
@click.pass_context
@handles_errors
def audit(
    ctx: click.Context,
    channel: str,
    full: bool,
    since: str | None,
    pause: float | None,
    source: str | None,
) -> None:
    """Re-read a channel's whole archived history for edits, deletions and counters far back.

    A sync re-reads only the newest posts; the audit walks every archived post, oldest first, 100 per
    request (channels.getMessages): an edit becomes a revision, a deletion a tombstone (the content is
    kept), changed views/forwards/reactions a new point of their time series. It continues an audit
    that was stopped (Ctrl-C, a crash, the service's slices) unless --full; --since limits it to posts
    dated on or after a day. `tgvault run` audits each channel on its `audit_schedule` (default weekly).
    CHANNEL is @username, a t.me link, a numeric id or an archived channel's title.

    \b
    Examples:
      tgvault audit @durov
      tgvault audit @durov --full
      tgvault audit @durov --since 2024-01-01 --pause 0.5
      tgvault audit 1006503122
    """
    from tgvault.app import make_archiver, plan_for, source_for, source_kind_for
    from tgvault.cli.progress import progress_display
    from tgvault.services.audit import Auditor

    if full and since is not None:
        raise click.UsageError("use either --full or --since, not both")
    state = cli_state(ctx)
    settings = state.settings()
    (channel,) = state.source_names([channel])
    kind = source_kind_for(settings, channel, source)
    plan = plan_for(settings, channel)
    day = _date(since, "--since")
    start = None if day is None else datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    progress = progress_display()
    archive = state.archive(write=False)

    async def go() -> Any:
        async with source_for(settings, kind) as posts:
            archiver = make_archiver(archive, posts, progress=progress)
            return await Auditor(archiver, archive.unit_of_work).audit(
                plan,
                restart=full,
                since=start,
                pause=settings.sync.audit_pause if pause is None else pause,
            )

    try:
        with progress:
            outcome = run_async(go())
        stamp_heads_of(settings, archive)
    finally:
        archive.close()
    counts = outcome.counts
    say(
        f"{plan.key}: audited {plural(outcome.checked, 'post')}: {counts.posts_edited} edited, "
        f"{counts.posts_deleted} deleted, {plural(counts.media_files, 'file')}"
    )


def stamp_heads_of(settings: Any, archive: Any) -> None:
    """After a run: timestamp the ledger heads that moved (``[ledger] tsa_url``); a TSA that fails is a
    warning, not a failed run (the archive is complete; the next run stamps the heads)."""
    from tgvault.app import stamp_ledger

    try:
        stamped = stamp_ledger(settings, archive)
    except (SourceError, StorageError) as error:
        say(f"tgvault: warning: the ledger was not timestamped: {error}", err=True)
        return
    if stamped:
        say(f"ledger: {plural(stamped, 'chain head')} timestamped by {settings.ledger.tsa_url}")


def report_outcomes(outcomes: Sequence[Any]) -> None:
    """One line per channel, and one per source that failed as a whole (an account logged out, a source
    out of reach) naming the channels it stopped; exit 1 when any channel failed."""
    failed = 0
    stopped: dict[str, list[str]] = {}
    for outcome in outcomes:
        if outcome.ok:
            counts = outcome.counts
            say(
                f"{outcome.key}: {counts.posts_added} new, {counts.posts_edited} edited, "
                f"{counts.posts_deleted} deleted, {plural(counts.media_files, 'file')}"
            )
        elif outcome.stopped:
            failed += 1
            stopped.setdefault(outcome.error, []).append(outcome.key)
        else:
            failed += 1
            say(f"{outcome.key}: FAILED: {outcome.error}", err=True)
    for error, keys in stopped.items():
        say(f"tgvault: error: {error} (not archived: {', '.join(keys)})", err=True)
    if failed:
        sys.exit(EXIT_FAILED)


@click.command()
@click.argument("channel", required=False)
@click.pass_context
@handles_errors
def reparse(ctx: click.Context, channel: str | None) -> None:
    """Read again the posts kept "not fully understood" (from their raw TL) and upgrade them.

    A message this version could not map is archived with its raw TL, its text and a parse error.
    After upgrading tgvault, this maps them again; newly understood media is downloaded by the next run.
    No Telegram access is needed.

    \b
    Examples:
      tgvault reparse
      tgvault reparse @durov
      tgvault reparse "My Channel"
    """
    from tgvault.cli.progress import progress_display
    from tgvault.services.reparse import reparse as reparse_posts
    from tgvault.sources.telegram import remap_raw
    from tgvault.storage.tables import utcnow

    archive = cli_state(ctx).archive(write=False)
    try:
        channel_id = None
        if channel is not None:
            with archive.unit_of_work() as uow:
                channel_id = archived_channel(uow, channel).id
        with progress_display() as progress:
            report = reparse_posts(archive.unit_of_work, remap_raw, utcnow, channel_id, progress=progress)
    finally:
        archive.close()
    say(
        f"{plural(report.examined, 'post')} with a parse error read again: {report.upgraded:,} now fully "
        f"understood, {report.improved:,} better understood, {report.still_failing:,} still not fully understood"
    )
