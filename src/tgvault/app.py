"""The composition root: turn settings into an archive (database + media store) and a source of posts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tgvault.config import (
    ChannelConfig,
    ChannelSource,
    CommentAuthors,
    CommentsMedia,
    Settings,
    parse_channel_ref,
)
from tgvault.errors import ConfigError, SchemaOutOfDateError, StorageError, TgvaultError
from tgvault.services.archiver import Archiver
from tgvault.services.plans import NO_MEDIA, ChannelPlan, CommentsPlan, MediaPolicy, RefreshWindow
from tgvault.services.progress import Progress
from tgvault.services.site_hook import SiteRebuilder
from tgvault.sources.base import PostSource
from tgvault.sources.telegram import ClientOptions, TelegramSource, connected_client
from tgvault.sources.webpreview import WebClient, WebOptions, WebPreviewSource
from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.schema import SchemaStatus, ensure_schema, existing_schema, schema_status
from tgvault.storage.tables import utcnow
from tgvault.storage.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

if TYPE_CHECKING:
    from tgvault.export.progress import ExportProgress
    from tgvault.export.site import SiteBuildReport, SiteOptions
    from tgvault.services.demo import DemoReport, SampleTelegramAddress


@dataclass
class Archive:
    """An open archive: the database and the media store."""

    engine: Engine
    session_factory: sessionmaker[Session]
    media_store: LocalMediaStore
    schema: SchemaStatus

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work over the archive database."""
        return UnitOfWork(self.session_factory)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def open_archive(settings: Settings, *, check_schema: bool = True, create: bool = True) -> Archive:
    """Open the configured archive.

    With ``create`` (the commands that write) a brand-new database is created at the newest schema;
    without it (the commands that only read) nothing is created: a missing SQLite file or an empty
    database raises :class:`~tgvault.errors.ArchiveMissingError`. With ``check_schema`` an out-of-date
    archive raises :class:`~tgvault.errors.SchemaOutOfDateError` (run ``tgvault db upgrade``).
    """
    engine = create_archive_engine(settings.database.url, create=create)
    try:
        if not check_schema:
            status = schema_status(engine)
        else:
            status = ensure_schema(engine) if create else existing_schema(engine)
        store = media_store_for(settings)
    except BaseException:
        engine.dispose()
        raise
    return Archive(engine, make_session_factory(engine), store, status)


def media_store_for(settings: Settings, store: str | None = None) -> LocalMediaStore:
    """The configured media store (``store`` overrides ``[media] store``): the local folder, or an
    S3-compatible bucket with ``[media] dir`` as its local temporary area and read cache."""
    address = store if store is not None else settings.media.store
    if not address:
        return LocalMediaStore(settings.media.dir)
    from tgvault.storage.s3_store import S3MediaStore, S3Options, parse_s3_url

    options = S3Options(endpoint_url=settings.media.endpoint_url, region=settings.media.region)
    return S3MediaStore(parse_s3_url(address), settings.media.dir, options=options)


def client_options(settings: Settings, *, receive_updates: bool = False) -> ClientOptions:
    """Telethon client options from the settings (raises ConfigError when credentials are missing)."""
    api_id, api_hash = settings.telegram.api_credentials()
    session_string = settings.telegram.session_string
    return ClientOptions(
        api_id=api_id,
        api_hash=api_hash,
        session_string=session_string.get_secret_value() if session_string else None,
        session_file=settings.telegram.session_file,
        flood_sleep_threshold=settings.telegram.flood_sleep_threshold,
        receive_updates=receive_updates,
    )


@asynccontextmanager
async def telegram_source(
    settings: Settings, *, receive_updates: bool = False
) -> AsyncIterator[TelegramSource]:
    """A connected, authorised Telegram source for the configured account (``receive_updates`` for live)."""
    async with connected_client(client_options(settings, receive_updates=receive_updates)) as client:
        yield TelegramSource(client, request_delay=settings.telegram.request_delay)


def web_source(settings: Settings) -> WebPreviewSource:
    """A source reading the public web preview (``[web]`` settings); it needs no account."""
    web = settings.web
    options = WebOptions(
        base_url=web.base_url,
        request_delay=web.request_delay,
        user_agent=web.user_agent,
        timeout=web.timeout,
        deadline=web.deadline,
    )
    return WebPreviewSource(WebClient(options))


def resolve_source(settings: Settings, kind: ChannelSource | str) -> ChannelSource:
    """``telegram`` or ``web``: ``auto`` means web when no API id and hash are configured."""
    chosen = ChannelSource(kind)
    if chosen is not ChannelSource.AUTO:
        return chosen
    has_credentials = settings.telegram.api_id is not None and settings.telegram.api_hash is not None
    return ChannelSource.TELEGRAM if has_credentials else ChannelSource.WEB


def source_kind_for(
    settings: Settings, name: str, override: ChannelSource | str | None = None
) -> ChannelSource:
    """The source to archive a channel from: ``override``, else its configured ``source``, else telegram."""
    if override is not None:
        return resolve_source(settings, override)
    key = parse_channel_ref(name).key
    configured = next((channel for channel in settings.channels if channel.key == key), None)
    return resolve_source(settings, configured.source if configured else ChannelSource.TELEGRAM)


@asynccontextmanager
async def source_for(settings: Settings, kind: ChannelSource | str) -> AsyncIterator[PostSource]:
    """A ready source of the given kind (``telegram``, ``web`` or ``auto``), closed on leaving."""
    if resolve_source(settings, kind) is ChannelSource.WEB:
        yield web_source(settings)
        return
    async with telegram_source(settings) as source:
        yield source


def live_settings(settings: Settings) -> Settings:
    """``tgvault run --live``: the settings with every channel read from Telegram followed live."""
    channels = tuple(
        channel.model_copy(update={"live": True})
        if source_kind_for(settings, channel.name) is ChannelSource.TELEGRAM
        else channel
        for channel in settings.channels
    )
    return settings.model_copy(update={"channels": channels})


def _start_of_day(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min, tzinfo=UTC)


def plan_for(
    settings: Settings,
    name: str,
    *,
    since: date | None = None,
    until: date | None = None,
    media: bool = True,
) -> ChannelPlan:
    """What to do for a channel: its configured policy, or the defaults for a channel not in the config."""
    configured: ChannelConfig | None = next(
        (channel for channel in settings.channels if channel.key == parse_channel_ref(name).key), None
    )
    policy = NO_MEDIA
    if media:
        policy = MediaPolicy(
            concurrency=settings.media.concurrency,
            max_attempts=settings.media.max_attempts,
            retry_delay=timedelta(seconds=settings.media.retry_delay_seconds),
            failed_retry_after=timedelta(hours=settings.media.failed_retry_hours),
        )
        if configured is not None:
            policy = replace(
                policy, kinds=frozenset(configured.media_kinds), max_size=configured.media_max_size
            )
    start = since if since is not None else (configured.since if configured else None)
    end = None if until is None else datetime.combine(until, time.max, tzinfo=UTC)
    comments = None
    if configured is None or configured.comments:
        comments_media = configured.comments_media if configured is not None else CommentsMedia()
        comments = CommentsPlan(
            pseudonymous=configured is not None
            and configured.comments_authors is CommentAuthors.PSEUDONYMOUS,
            media=replace(policy, kinds=frozenset(comments_media.kinds), max_size=comments_media.max_size)
            if media
            else NO_MEDIA,
        )
    return ChannelPlan(
        comments=comments,
        key=configured.name if configured else name,
        since=_start_of_day(start),
        until=end,
        media=policy,
        refresh=RefreshWindow(newest_posts=settings.sync.refresh_posts, days=settings.sync.refresh_days),
        mass_deletion_share=(
            configured.mass_deletion_share
            if configured is not None and configured.mass_deletion_share is not None
            else settings.sync.mass_deletion_share
        ),
    )


def make_archiver(
    archive: Archive,
    source: PostSource,
    *,
    progress: Progress | None = None,
    clock: Callable[[], datetime] | None = None,
    owner: str | None = None,
) -> Archiver:
    """An archiver writing through this archive's units of work and media store (``owner`` names it in
    the per-channel locks it takes)."""
    return Archiver(
        source,
        archive.unit_of_work,
        archive.media_store,
        progress=progress,
        clock=clock or utcnow,
        owner=owner,
    )


def site_options(settings: Settings, out: Path | None = None) -> SiteOptions:
    """Static site options from ``[site]`` (``out`` overrides the output folder)."""
    from tgvault.export.site import MediaMode, SiteOptions

    site = settings.site
    return SiteOptions(
        out_dir=out or site.dir,
        title=site.title,
        base_url=site.base_url,
        timezone=site.timezone,
        templates_dir=site.templates,
        media_mode=MediaMode(site.media.value),
        post_pages=site.post_pages,
        workers=site.workers,
        comments_hidden=tuple(channel.key for channel in settings.channels if not channel.comments),
    )


class SiteExport:
    """Rebuilds the static site (incrementally) from the archive: the service's site hook."""

    def __init__(self, archive: Archive, options: SiteOptions, settings: Settings | None = None) -> None:
        self._archive = archive
        self._options = options
        self._settings = settings

    def build(self, *, full: bool = False, progress: ExportProgress | None = None) -> SiteBuildReport:
        """Render the site; only changed pages are written unless ``full`` (``progress`` is told how far)."""
        from tgvault.export.site import build_site

        return build_site(
            self._archive.unit_of_work, self._archive.media_store, self._options, full=full, progress=progress
        )

    def rebuild(self, changed_channel_ids: frozenset[int]) -> None:
        """Timestamp the ledger heads that moved (``[ledger] tsa_url``), then bring the site up to date
        after a sync changed these channels."""
        if self._settings is not None:
            LedgerStamper(self._settings, self._archive).rebuild(changed_channel_ids)
        self.build()


def stamp_ledger(settings: Settings, archive: Archive) -> int:
    """Timestamp (RFC 3161, ``[ledger] tsa_url``) every channel's ledger head that moved since its last
    token; returns how many were stamped (0 when no TSA is configured). Raises SourceError when the
    TSA fails: the next run stamps the head then."""
    ledger = settings.ledger
    if ledger.tsa_url is None or ledger.tsa_ca_file is None:
        return 0
    from tgvault.services.timestamps import TimestampAuthority, stamp_heads

    authority = TimestampAuthority.from_files(ledger.tsa_url, ledger.tsa_ca_file, ledger.timeout)
    return stamp_heads(archive.unit_of_work, authority)


class LedgerStamper:
    """The service's hook of a worker (which builds no site): timestamp the ledger heads that moved.
    A TSA that fails is logged; the next run stamps the heads."""

    def __init__(self, settings: Settings, archive: Archive) -> None:
        self._settings = settings
        self._archive = archive

    def rebuild(self, changed_channel_ids: frozenset[int]) -> None:
        """Timestamp the heads that moved since their last token (``[ledger] tsa_url``)."""
        try:
            stamp_ledger(self._settings, self._archive)
        except TgvaultError as error:
            log.warning("ledger not timestamped", error=str(error))


def ledger_stamper(settings: Settings, archive: Archive) -> SiteRebuilder | None:
    """What a ``tgvault run --worker`` calls after a sync: the ledger's timestamps (None without a TSA)."""
    return None if settings.ledger.tsa_url is None else LedgerStamper(settings, archive)


def site_rebuilder(settings: Settings, archive: Archive) -> SiteRebuilder:
    """What ``tgvault run`` calls to bring the static site up to date after a sync changed the archive."""
    return SiteExport(archive, site_options(settings), settings)


# -- tgvault demo ---------------------------------------------------------------------------------------

DEMO_MARKER = ".tgvault-demo"
"""A file in the demo's folder saying tgvault demo made it (the demo writes into no other folder)."""


@dataclass(frozen=True)
class DemoRun:
    """What ``tgvault demo`` did: the archive's side, the site's side, and the page to open."""

    report: DemoReport
    site: SiteBuildReport
    folder: Path
    index: Path


def demo_settings(folder: Path, address: SampleTelegramAddress) -> Settings:
    """The demo's own settings, whatever the config file or the environment say: an archive, media and
    a site under ``folder``, and the sample channels read from the stand-in at ``address``."""
    return Settings(
        database={"url": f"sqlite:///{folder / 'demo.db'}"},
        media={"dir": folder / "media"},
        telegram={
            "api_id": address.api_id,
            "api_hash": address.api_hash,
            "session_string": address.session,
            "session_file": folder / "demo.session",
            "request_delay": 0,
        },
        site={"dir": folder / "site", "title": "tgvault demo"},
        channels=[{"name": name, "source": "telegram"} for name in address.channels],
    )


def prepare_demo_folder(folder: Path) -> Path:
    """The demo's folder, made and marked as the demo's (returned absolute). A folder the demo did not
    make is refused: the sample would be mixed into a real archive or site."""
    folder = folder.expanduser().resolve()
    if folder.is_dir() and any(folder.iterdir()) and not (folder / DEMO_MARKER).is_file():
        raise ConfigError(
            f"--out {folder}: the folder is not empty and was not made by `tgvault demo`; "
            "choose a new or empty folder (the demo never writes into a real archive)"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / DEMO_MARKER).write_text("made by tgvault demo; delete the folder to start afresh\n")
    except OSError as error:
        raise StorageError(f"cannot write the demo's folder {folder}: {error.strerror or error}") from None
    return folder


def open_demo_archive(settings: Settings, folder: Path) -> Archive:
    """The demo's own archive; one another version of tgvault made is reported with the fix (the demo
    migrates nothing: deleting the folder is the whole fix)."""
    try:
        return open_archive(settings)
    except SchemaOutOfDateError:
        raise StorageError(
            f"the demo's archive in {folder} was made by another version of tgvault; "
            f"delete {folder} and run `tgvault demo` again"
        ) from None


async def run_demo(folder: Path) -> DemoRun:
    """Archive the sample channels into ``folder`` from the stand-in for Telegram (started and always
    stopped here), then build the site there."""
    from tgvault.services.demo import SampleTelegram, archive_sample

    folder = prepare_demo_folder(folder)
    async with SampleTelegram(folder / "stand-in-telegram.log") as sample:
        assert sample.address is not None
        settings = demo_settings(folder, sample.address)
        archive = open_demo_archive(settings, folder)
        try:
            async with telegram_source(settings) as source:
                plans = [plan_for(settings, name) for name in sample.address.channels]
                archiver = make_archiver(archive, source)
                report = await archive_sample(archiver, plans, sample, archive.unit_of_work)
        except BaseException:
            archive.close()
            raise
    try:
        options = site_options(settings)
        site = SiteExport(archive, options).build()
    finally:
        archive.close()
    return DemoRun(report=report, site=site, folder=folder, index=options.out_dir / "index.html")
