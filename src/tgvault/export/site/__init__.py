"""The static archive site: ``build_site(uow_factory, media_store, SiteOptions(...))``.

A build plans every page first (so replies link to the replied post wherever it lives), then renders
and writes only what changed. See :mod:`tgvault.export.site.build`.
"""

from tgvault.export.site.build import build_site
from tgvault.export.site.options import MediaMode, Order, SiteBuildReport, SiteError, SiteOptions

__all__ = ["MediaMode", "Order", "SiteBuildReport", "SiteError", "SiteOptions", "build_site"]
