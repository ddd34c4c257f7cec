"""The ``tgvault media`` commands: move the media store to S3-compatible storage."""

from __future__ import annotations

import click

from tgvault.cli.exits import handles_errors
from tgvault.cli.help_text import WholeHelpGroup
from tgvault.cli.output import plural, say
from tgvault.cli.state import cli_state


@click.group(cls=WholeHelpGroup)
def media() -> None:
    """Manage the media store (the local folder or S3-compatible storage).

    \b
    Example:
      tgvault media migrate --to s3://my-archive/media
    """


@media.command("migrate")
@click.option("--to", "target", required=True, help="The new store: s3://bucket/prefix.")
@click.option("--endpoint-url", help="S3 endpoint (MinIO, R2, ...; default: [media] endpoint_url, else AWS).")
@click.option("--region", help="S3 region (default: [media] region).")
@click.pass_context
@handles_errors
def media_migrate(ctx: click.Context, target: str, endpoint_url: str | None, region: str | None) -> None:
    """Copy the media folder ([media] dir) into S3-compatible storage, without stopping the archive.

    Each file is re-hashed, uploaded and verified; files already there are skipped, so the command
    can be stopped and run again at any time. Credentials come from AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY (or any boto3 profile). When every recorded file is in the bucket it tells you
    what to set in [media]; after restarting with that setting, run it once more to copy the files
    written in between. Exits 1 while files are missing or damaged.

    \b
    Examples:
      tgvault media migrate --to s3://my-archive/media
      tgvault media migrate --to s3://archive/media --endpoint-url http://minio:9000
    """
    from tgvault.cli.progress import progress_display
    from tgvault.errors import StorageError
    from tgvault.services.media_migrate import migrate_media
    from tgvault.storage.media_store import LocalMediaStore
    from tgvault.storage.s3_store import S3MediaStore, S3Options, parse_s3_url

    state = cli_state(ctx)
    settings = state.settings()
    location = parse_s3_url(target)
    options = S3Options(
        endpoint_url=endpoint_url or settings.media.endpoint_url, region=region or settings.media.region
    )
    store = S3MediaStore(location, settings.media.dir, options=options)
    archive = state.archive(write=False)
    try:
        with progress_display() as progress:
            report = migrate_media(
                LocalMediaStore(settings.media.dir), store, archive.unit_of_work, progress=progress
            )
    finally:
        archive.close()
    say(
        f"{location.url}: {plural(report.copied, 'file')} copied ({plural(report.copied_bytes, 'byte')}), "
        f"{report.already_there:,} already there"
    )
    if report.missing:
        shown = ", ".join(report.missing[:5]) + (" ..." if len(report.missing) > 5 else "")
        raise StorageError(
            f"{plural(len(report.missing), 'recorded file')} not in {location.url} (not in {settings.media.dir} "
            f"either): {shown}; they are fetched again from Telegram by the next sync"
        )
    if report.damaged:
        raise StorageError(f"{plural(len(report.damaged), 'damaged file')} not copied; see above")
    say("every recorded file is in the new store. Now set, and restart tgvault:")
    say(f'  [media]\n  store = "{location.url}"')
    if options.endpoint_url:
        say(f'  endpoint_url = "{options.endpoint_url}"')
    say("then run this command once more to copy files written meanwhile.")
