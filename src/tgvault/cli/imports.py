"""The ``tgvault import`` commands: bring a Telegram Desktop export into the archive."""

from __future__ import annotations

from pathlib import Path

import click

from tgvault.cli.archiving import stamp_heads_of
from tgvault.cli.channel_names import archived_channel, import_choice
from tgvault.cli.exits import handles_errors
from tgvault.cli.help_text import WholeHelpGroup
from tgvault.cli.output import plural, say, shown
from tgvault.cli.state import cli_state
from tgvault.config import CommentAuthors, Settings, parse_channel_ref
from tgvault.domain import Channel


def _pseudonymous(settings: Settings, channel: Channel) -> bool:
    """Whether the config keeps this channel's commenters pseudonymous (its entry named by @username or id)."""
    names = [f"@{channel.username}"] if channel.username else []
    keys = {parse_channel_ref(name).key for name in [*names, str(channel.id)]}
    configured = next((entry for entry in settings.channels if entry.key in keys), None)
    return configured is not None and configured.comments_authors is CommentAuthors.PSEUDONYMOUS


@click.group("import", cls=WholeHelpGroup)
def import_() -> None:
    """Import posts from elsewhere into the archive.

    \b
    Example:
      tgvault import tdesktop ~/Downloads/ChatExport_2024-01-01/
    """


@import_.command("tdesktop")
@click.argument("path", type=click.Path(path_type=Path, exists=True))
@click.option(
    "--channel",
    help="Which channel of a full-account export to import (its title or id); for an HTML export, the "
    "channel's numeric id, or an archived channel's @username, t.me link or title.",
)
@click.option("--timezone", "zone", help="Timezone of an old export's local times (e.g. Europe/Berlin).")
@click.option(
    "--comments-of",
    "comments_of",
    metavar="CHANNEL",
    help="The export is this archived channel's discussion group: import its messages as the comments "
    "of the channel's posts (@username, t.me link, id or title).",
)
@click.pass_context
@handles_errors
def import_tdesktop(
    ctx: click.Context, path: Path, channel: str | None, zone: str | None, comments_of: str | None
) -> None:
    """Import a Telegram Desktop export: a chat's result.json, its folder, a full-account export, or an
    HTML export (messages.html, messages2.html, ...).

    An HTML export does not say its channel's id: it goes to the archived channel with the same title,
    or to the one --channel names. Files present in the export are copied into the media store; "(File not included ...)"
    placeholders are recorded so a later sync can fetch them. Re-importing adds no duplicates, and a
    post archived through Telegram keeps its richer data. The export is read as a stream, so an
    export of any size imports in flat memory; the whole import is one transaction: a malformed file
    imports nothing, and leaves the media store as it was.

    With --comments-of, the export (JSON) is a channel's discussion group: each message answering the
    group's copy of a channel post becomes a comment on that post, replies to comments stay threaded,
    and the authors are kept (or pseudonymous, as the channel's comments_authors says). Import or
    archive the channel first.

    \b
    Examples:
      tgvault import tdesktop ChatExport_2024-01-01/result.json
      tgvault import tdesktop DataExport_2024-01-01/ --channel "My Channel"
      tgvault import tdesktop old_export/ --timezone Europe/Berlin
      tgvault import tdesktop ChatExport_html/ --channel 1234567890
      tgvault import tdesktop GroupExport/result.json --comments-of @mychannel
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from tgvault.cli.progress import progress_display
    from tgvault.services.tdesktop_import import import_tdesktop as run_import

    timezone = None
    if zone is not None:
        try:
            timezone = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise click.BadParameter(f"{zone!r} is not an IANA timezone", param_hint="--timezone") from None
    archive = cli_state(ctx).archive(write=True)
    try:
        chosen = None if channel is None else import_choice(archive.unit_of_work, channel)
        target, pseudonymous = None, False
        if comments_of is not None:
            with archive.unit_of_work() as uow:
                found = archived_channel(uow, comments_of)
            target = found.id
            pseudonymous = _pseudonymous(cli_state(ctx).settings(), found)
        with progress_display() as progress:
            summary = run_import(
                path,
                archive.unit_of_work,
                archive.media_store,
                channel_name=chosen,
                timezone=timezone,
                progress=progress,
                comments_of=target,
                pseudonymous=pseudonymous,
            )
        stamp_heads_of(cli_state(ctx).settings(), archive)
    finally:
        archive.close()
    if summary.timezone_assumed:
        say(f"local times read as {summary.timezone_assumed}")
    for item in summary.channels:
        say(
            f"{shown(item.title, one_line=True)}: {plural(item.messages, 'message')} read, {item.added:,} new, "
            f"{item.edited:,} edited, {item.kept:,} kept as archived, {plural(item.files_stored, 'file')} "
            f"stored, {plural(item.media_pending, 'file')} to fetch later"
        )
        if comments_of is not None:
            say(
                f"  {plural(item.comments, 'comment')} tied to the channel's posts "
                f"({plural(item.copies, 'post')} discussed)"
            )
