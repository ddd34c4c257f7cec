"""The ``tgvault export`` commands: a Desktop-style JSON of a channel, the static site."""

from __future__ import annotations

from pathlib import Path

import click

from tgvault.cli.channel_names import archived_channel
from tgvault.cli.exits import handles_errors
from tgvault.cli.help_text import WholeHelpGroup
from tgvault.cli.output import plural, say
from tgvault.cli.state import cli_state


@click.group(cls=WholeHelpGroup)
def export() -> None:
    """Export the archive (a Desktop-style JSON, a static site).

    \b
    Examples:
      tgvault export json @durov --out durov/result.json
      tgvault export site
      tgvault export evidence @durov 1234
    """


@export.command("json")
@click.argument("channel")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="A .json file, or a folder that gets result.json (default: ./<channel>/result.json).",
)
@click.pass_context
@handles_errors
def export_json(ctx: click.Context, channel: str, out: Path | None) -> None:
    """Export an archived channel as a Telegram Desktop style result.json.

    Tools that read Desktop's "Export chat history" read it too. Media files are copied next to it
    (media/ab/cd/<sha256>.<ext>) and referenced by relative paths; what Desktop lacks (views,
    deletions, earlier revisions, sha256) is in a "tgvault" object per message. CHANNEL is @username,
    a t.me link, a numeric id or the title of an archived channel (`tgvault status` lists them).

    \b
    Examples:
      tgvault export json @durov
      tgvault export json @durov --out exports/durov/result.json
      tgvault export json "My Imported Channel"
    """
    from tgvault.cli.progress import progress_display
    from tgvault.export.desktop_json import export_channel_json

    archive = cli_state(ctx).archive(write=False)
    try:
        with archive.unit_of_work() as uow:
            found = archived_channel(uow, channel)
            target = out or Path(found.username or str(found.id)) / "result.json"
            with progress_display() as progress:
                summary = export_channel_json(uow, found, target, archive.media_store, progress=progress)
    finally:
        archive.close()
    say(
        f"{summary.path}: {plural(summary.messages, 'message')}, {plural(summary.media_files, 'media file')} "
        f"({plural(summary.media_bytes, 'byte')}), {summary.media_not_included:,} not downloaded"
    )


@export.command("site")
@click.option(
    "--out",
    help="Output folder ([site] dir), or s3://bucket/prefix to publish there (built in [site] dir first).",
)
@click.option(
    "--full", is_flag=True, help="Rewrite (and upload) every page instead of only the changed ones."
)
@click.pass_context
@handles_errors
def export_site(ctx: click.Context, out: str | None, full: bool) -> None:
    """Render the archive as a static website (only changed pages are rewritten).

    Open index.html from disk or serve the folder with any web server; search works from both
    (file:// tested in Chromium). Dates and month pages follow [site] timezone. With --out
    s3://bucket/prefix the site is built in [site] dir and only the files changed since the last
    publish are uploaded ([media] endpoint_url / region and the AWS_* variables reach the storage).

    \b
    Examples:
      tgvault export site
      tgvault export site --out public/ --full
      tgvault export site --out s3://my-site/archive
    """
    from tgvault.app import SiteExport, site_options
    from tgvault.cli.progress import progress_display

    state = cli_state(ctx)
    settings = state.settings()
    publish_to = out if out is not None and out.startswith("s3://") else None
    folder = None if out is None or publish_to is not None else Path(out)
    options = site_options(settings, folder)
    archive = state.archive(write=False)
    try:
        with progress_display() as progress:
            report = SiteExport(archive, options).build(full=full, progress=progress)
    finally:
        archive.close()
    say(
        f"{options.out_dir}: {plural(report.channels, 'channel')}, {plural(report.posts, 'post')}; "
        f"{plural(report.written, 'page')} written, {report.unchanged:,} unchanged, {report.removed:,} removed "
        f"in {report.seconds:.1f} s"
    )
    if publish_to is not None:
        from tgvault.export.site.publish import publish_site
        from tgvault.storage.s3_store import S3Options, S3Writer, make_s3_client, parse_s3_url

        location = parse_s3_url(publish_to)
        client = make_s3_client(S3Options(settings.media.endpoint_url, settings.media.region))
        with progress_display() as progress:
            published = publish_site(
                options.out_dir, S3Writer(client, location), full=full, progress=progress
            )
        say(
            f"{location.url}: {plural(published.uploaded, 'file')} uploaded "
            f"({plural(published.uploaded_bytes, 'byte')}), {published.unchanged:,} unchanged, "
            f"{published.deleted:,} deleted"
        )


@export.command("evidence")
@click.argument("channel")
@click.argument("post", type=click.IntRange(min=1))
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="A new folder (default: ./evidence-<channel>-<post>).",
)
@click.pass_context
@handles_errors
def export_evidence(ctx: click.Context, channel: str, post: int, out: Path | None) -> None:
    """Write the proof of one post into a folder anyone can check, with or without tgvault.

    The folder holds the post and every revision (JSON, and a page to read), the records the ledger
    hashed, the raw TL, the stored file, the ledger entries from the post's first one to a timestamped
    head, the RFC 3161 token with the TSA's CA certificate, SHA256SUMS and a README saying how to check
    it with `tgvault verify --bundle DIR`, or with `sha256sum` and `openssl ts -verify` alone. POST is
    the message id (the number at the end of its t.me link).

    \b
    Examples:
      tgvault export evidence @durov 1234
      tgvault export evidence @durov 1234 --out evidence/durov-1234
    """
    from datetime import UTC, datetime

    from tgvault.export.evidence import export_evidence as write_evidence

    archive = cli_state(ctx).archive(write=False)
    try:
        with archive.unit_of_work() as uow:
            found = archived_channel(uow, channel)
            folder = out or Path(f"evidence-{found.username or found.id}-{post}")
            made_at = datetime.now(UTC).isoformat(timespec="seconds")
            bundle = write_evidence(uow, found.id, post, folder, archive.media_store, made_at=made_at)
    finally:
        archive.close()
    stamped = "timestamped head" if bundle.stamped else "head not timestamped yet"
    say(
        f"{bundle.folder}: {plural(bundle.files, 'file')}, {plural(bundle.entries, 'ledger entry', 'ledger entries')}, {stamped}"
    )
