"""``tgvault demo``: a sample channel archived offline through the real pipeline, and its site."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from tgvault.cli.exits import handles_errors, run_async
from tgvault.cli.state import cli_state
from tgvault.logs import configure_logging


def _quiet_unless_asked() -> None:
    """Keep the demo's screen to its own summary: progress logs only when ``--log-level`` was given."""
    context = click.get_current_context()
    if context.find_root().get_parameter_source("log_level") is ParameterSource.DEFAULT:
        configure_logging(cli_state(context).log_format, "warning")  # type: ignore[arg-type]


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it, else absolute."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@click.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("data/demo"),
    show_default=True,
    help="The demo's own folder: its archive (demo.db), media and site. Never your real archive: a "
    "folder the demo did not make is refused.",
)
@click.option("--serve", is_flag=True, help="Then serve the site on 127.0.0.1 until Ctrl-C.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="The port --serve listens on (0: any free port).",
)
@handles_errors
def demo(out: Path, serve: bool, port: int) -> None:
    """Archive built-in sample channels offline and build their site, to see what tgvault makes.

    No account, network or config is needed. A stand-in for Telegram runs in a child process on
    127.0.0.1 (the loopback MTProto server with two made-up channels: long posts, emoji flags,
    hashtags, an album, a poll, a forward, a reply, a document); the real Telegram client archives
    them with their media, then a channel changes (an edit, a deletion) and a sync records both; then
    the static site is built and the page to open is printed. Everything goes into the demo's own
    folder, never into your archive. Running it again refreshes the same archive (no duplicates).
    Takes a few seconds. Only warnings are logged unless --log-level is given
    (`tgvault --log-level info demo` shows each channel run).

    \b
    Examples:
      tgvault demo
      tgvault demo --serve
      tgvault demo --out /tmp/tgvault-demo --serve --port 8080
    """
    from tgvault.app import prepare_demo_folder, run_demo

    if serve and port:
        from tgvault.services.site_preview import SitePreview

        SitePreview(out, port).close()  # a port in use is reported now, not after the archiving
    _quiet_unless_asked()
    prepare_demo_folder(out)
    click.echo("Archiving the sample channels from a stand-in for Telegram on 127.0.0.1 ...")
    result = run_async(run_demo(out))
    report = result.report
    changes = report.changes
    if report.refreshed:
        click.echo(
            f"refreshed the demo archive ({_shown(result.folder)}): {changes.posts_added} new posts, "
            f"{changes.posts_edited} edited, {changes.posts_deleted} deleted"
        )
    else:
        first = report.first_read
        click.echo(
            f"archived {first.posts_added} posts and {first.media_files} files ({first.media_bytes:,} bytes) "
            f"into {_shown(result.folder)}; then the channel changed: {changes.posts_edited} post edited, "
            f"{changes.posts_deleted} deleted"
        )
    site = result.site
    click.echo(
        f"site: {site.channels} channels, {site.posts} posts; {site.written} pages written, "
        f"{site.unchanged} unchanged"
    )
    if not serve:
        click.echo(f"Open {_shown(result.index)} in a browser (or run: tgvault demo --serve).")
        return
    _serve(result.index.parent, port)


def _serve(folder: Path, port: int) -> None:
    from tgvault.services.site_preview import SitePreview

    with SitePreview(folder, port) as preview:
        click.echo(f"Open {preview.url} in a browser; Ctrl-C stops the server.")
        try:
            preview.serve_forever()
        except KeyboardInterrupt:
            click.echo("stopped", err=True)
