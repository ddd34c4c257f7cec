"""Golden pages: a few pages of the static site, rendered from the fixture archive, compared byte for byte.

The archive is the one of :mod:`test_site_archive` (entities, an album, replies, an edit, a deletion, a
poll, hostile text), on SQLite only, rendered in Europe/Berlin so the post at 23:30 UTC on January 31
lands on February's page. The compared pages are listed in ``GOLDEN_PAGES``; their expected bytes are
in ``tests/fixtures/site_golden/``.

The rendered pages hold no time-varying value (no build time, no absolute paths: media are named by
content hash, every date comes from the archive), so nothing is normalised before comparing.

After an intended change to the templates, the renderer or the fixture archive, rewrite the golden files
and review the diff::

    TGVAULT_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_site_golden.py
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from test_site_archive import make_archive
from tgvault.export.site import SiteOptions, build_site
from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.schema import upgrade
from tgvault.storage.unit_of_work import UnitOfWork

GOLDEN_DIR = Path(__file__).parent / "fixtures" / "site_golden"
UPDATE_ENV = "TGVAULT_UPDATE_GOLDEN"

# golden file name -> page of the site
GOLDEN_PAGES = {
    "index.html": "index.html",
    "month-2024-01.html": "c/1001/2024/01.html",
    "month-2024-02.html": "c/1001/2024/02.html",
    "post-12.html": "c/1001/posts/12.html",
    "tags-index.html": "c/1001/tags/index.html",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture archive in a fresh SQLite file, rendered once for all golden pages."""
    tmp = tmp_path_factory.mktemp("golden")
    engine = create_archive_engine(f"sqlite:///{tmp / 'archive.db'}")
    upgrade(engine)
    factory = make_session_factory(engine)

    def uow() -> UnitOfWork:
        return UnitOfWork(factory)

    store = LocalMediaStore(tmp / "media")
    try:
        make_archive(uow, store)
        options = SiteOptions(
            out_dir=tmp / "site", title="Golden <archive>", timezone="Europe/Berlin", posts_per_page=25
        )
        build_site(uow, store, options, full=True)
    finally:
        engine.dispose()
    return tmp / "site"


@pytest.mark.parametrize("golden", sorted(GOLDEN_PAGES))
def test_page_matches_its_golden_file(site: Path, golden: str) -> None:
    rendered = (site / GOLDEN_PAGES[golden]).read_bytes()
    expected_path = GOLDEN_DIR / golden
    if os.environ.get(UPDATE_ENV) == "1":
        GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
        expected_path.write_bytes(rendered)
        return
    if not expected_path.exists():
        pytest.fail(f"{expected_path} is missing; create it with {UPDATE_ENV}=1")
    expected = expected_path.read_bytes()
    if rendered != expected:
        diff = difflib.unified_diff(
            expected.decode("utf-8", "replace").splitlines(),
            rendered.decode("utf-8", "replace").splitlines(),
            f"golden/{golden}",
            f"rendered/{GOLDEN_PAGES[golden]}",
            lineterm="",
        )
        shown = "\n".join(line[:200] for line in list(diff)[:60])
        pytest.fail(
            f"{GOLDEN_PAGES[golden]} differs from {expected_path}; if intended, rerun with {UPDATE_ENV}=1 "
            f"and review the diff\n{shown}"
        )
