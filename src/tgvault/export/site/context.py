"""The state one site build shares between its phases and page builders.

Planning fills in the site plan, the files found missing, the channels' photos and the site-wide key;
the page builders read them, render with the renderer and write with the writer, which counts what it
did in the report. Caches that serve a single kind of page stay with that page's builder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo

from tgvault.domain import AuditState
from tgvault.export.progress import ExportProgress, NoProgress
from tgvault.export.site.options import SiteBuildReport, SiteOptions
from tgvault.export.site.plan import SitePlan
from tgvault.export.site.render import Renderer
from tgvault.export.site.writer import MediaFiles, SiteWriter
from tgvault.storage.repositories import StampFact
from tgvault.storage.unit_of_work import UnitOfWork

UnitOfWorkFactory = Callable[[], UnitOfWork]


@dataclass(slots=True)
class BuildContext:
    """What every phase of one build reads and writes besides its own caches."""

    uow_factory: UnitOfWorkFactory
    media_store: MediaFiles
    options: SiteOptions
    zone: tzinfo
    report: SiteBuildReport
    renderer: Renderer
    writer: SiteWriter
    site: SitePlan = field(default_factory=lambda: SitePlan({}))
    missing_media: set[str] = field(default_factory=set)  # site paths of files posts show but lack
    avatars: dict[int, str | None] = field(default_factory=dict)  # each channel's photo in the site
    # each channel's audit state: post pages show the day its last audit checked them
    audits: dict[int, AuditState] = field(default_factory=dict)
    # each channel's RFC 3161 tokens (post pages say which one covers their entry), and the posts a
    # token taken since the last build now covers: their pages are written again whatever their key
    stamps: dict[int, list[StampFact]] = field(default_factory=dict)
    newly_stamped: dict[int, set[int]] = field(default_factory=dict)
    # whether the archive holds comments on each channel (asked once a process: most channels have none)
    commented: dict[int, bool] = field(default_factory=dict)
    global_key: str = ""  # what every page's key starts from (see Planner)
    progress: ExportProgress = field(default_factory=NoProgress)  # told of channels planned, months written
