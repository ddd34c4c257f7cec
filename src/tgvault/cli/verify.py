"""``tgvault verify``: check the archive against its ledger and report what was altered."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from tgvault.cli.channel_names import archived_channel
from tgvault.cli.exits import EXIT_FAILED, handles_errors
from tgvault.cli.output import plural, say
from tgvault.cli.state import cli_state

SHOWN = 200
"""Findings printed one per line; more are counted."""


@click.command()
@click.argument("channel", required=False)
@click.option("--media", "check_media", is_flag=True, help="Also read every stored file back and hash it.")
@click.option(
    "--bundle",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Check an evidence folder (tgvault export evidence) instead of the archive; no archive needed.",
)
@click.option(
    "--site",
    "site",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Check the ledgers and timestamps a built site (or a copy of it) publishes; no archive needed.",
)
@click.pass_context
@handles_errors
def verify(
    ctx: click.Context, channel: str | None, check_media: bool, bundle: Path | None, site: Path | None
) -> None:
    """Prove the archive was not altered: recompute every hash and check the ledger's chain.

    Each post's current text, every earlier revision, tombstone, stored file record and counters
    snapshot is hashed again and compared with the entry the ledger appended when it was observed;
    every entry must seal the one before it, with no sequence number missing. With --media every
    stored file is read and its sha256 compared too. The pages the web source read posts from are
    found in the channel's WARC files (media folder, warc/) and their bytes hashed. With --bundle an evidence folder is checked on its
    own: checksums, the chain to its head, the RFC 3161 token, each record and file; with --site, the
    ledger.jsonl and tokens each channel of a built site publishes. Each finding names the channel, the post and the
    entry; the exit status is 1 when there is any. Nothing is changed. CHANNEL (all channels when
    left out) is @username, a t.me link, a numeric id or an archived channel's title.

    \b
    Examples:
      tgvault verify
      tgvault verify @durov --media
      tgvault verify 1006503122
      tgvault verify --bundle evidence-durov-1234
      tgvault verify --site data/site
    """
    if bundle is not None or site is not None:
        if channel is not None or check_media or (bundle is not None and site is not None):
            raise click.UsageError("--bundle and --site check a folder on their own: give one, alone")
        _verify_folder(bundle, site)
        return
    from tgvault.cli.progress import progress_display
    from tgvault.services.verify import verify_archive
    from tgvault.storage.warc_store import FOLDER, WarcArchive

    archive = cli_state(ctx).archive(write=False)
    started = time.perf_counter()
    try:
        channel_ids = None
        if channel is not None:
            with archive.unit_of_work() as uow:
                channel_ids = [archived_channel(uow, channel).id]
        with progress_display() as progress:
            report = verify_archive(
                archive.unit_of_work,
                channel_ids,
                media_store=archive.media_store if check_media else None,
                warcs=WarcArchive(archive.media_store.root / FOLDER),
                progress=progress,
            )
    finally:
        archive.close()
    seconds = max(time.perf_counter() - started, 1e-9)
    for finding in report.findings[:SHOWN]:
        say(f"ALTERED: {finding.describe()}", err=True)
    if len(report.findings) > SHOWN:
        say(f"... and {len(report.findings) - SHOWN:,} more findings", err=True)
    files = (
        f", {plural(report.media_files, 'file')} ({report.media_bytes / 1e6:,.1f} MB)" if check_media else ""
    )
    pages = f", {plural(report.captures, 'WARC page')}" if report.captures else ""
    say(
        f"verified {plural(report.channels, 'channel')}, {plural(report.posts, 'post')}, "
        f"{plural(report.entries, 'ledger entry', 'ledger entries')}, {plural(report.timestamps, 'timestamp')}"
        f"{pages}{files} in {seconds:.1f} s: "
        + ("no finding" if report.ok else plural(len(report.findings), "finding"))
    )
    if not report.ok:
        sys.exit(EXIT_FAILED)


def _verify_folder(bundle: Path | None, site: Path | None) -> None:
    from tgvault.services.evidence_check import verify_bundle, verify_site

    if site is not None:
        folder, report = site, verify_site(site)
    else:
        assert bundle is not None
        folder, report = bundle, verify_bundle(bundle)
    for problem in report.problems:
        say(f"ALTERED: {folder.name}: {problem}", err=True)
    stamp = "timestamp checked" if report.stamped else "no timestamp"
    checked = (
        plural(report.files, "timestamp")
        if site
        else f"{plural(report.records, 'record')}, {plural(report.files, 'file')}"
        + (f", {plural(report.pages, 'WARC page')}" if report.pages else "")
    )
    say(
        f"verified {folder.name}: {checked}, "
        f"{plural(report.entries, 'ledger entry', 'ledger entries')}, {stamp}: "
        + ("no finding" if report.ok else plural(len(report.problems), "finding"))
    )
    if not report.ok:
        sys.exit(EXIT_FAILED)
