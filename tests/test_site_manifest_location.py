"""The build's manifest lives beside the site folder, never in it (issue 17, finding 7).

A static host publishes whatever the site folder holds; the manifest (every page's key, the kept plan)
is the build's own bookkeeping. A site an older version built, with the manifest inside, keeps building
incrementally: the manifest is moved out on the first build. Publishing to S3 never uploads it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from test_site_archive import UoW, make_archive
from test_site_build import Site
from tgvault.cli import main
from tgvault.export.site import SiteError
from tgvault.export.site.manifest import OLD_MANIFEST_DB, adopt_old_manifest, manifest_path, read_manifest
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.s3_store import S3Options, make_s3_client


@pytest.fixture
def site(uow_factory: UoW, tmp_path: Path) -> Site:
    store = LocalMediaStore(tmp_path / "media")
    make_archive(uow_factory, store)
    return Site(uow_factory, store, tmp_path / "site")


def dotfiles(folder: Path) -> list[str]:
    """Files and folders of the site whose name starts with a dot (what a static host would publish)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*"))


def test_the_manifest_is_kept_beside_the_site_folder_not_in_it(site: Site) -> None:
    site.build()
    assert [] == dotfiles(site.out)
    assert site.out.parent / "site.tgvault-manifest.db" == manifest_path(site.out)
    assert manifest_path(site.out).is_file()
    assert read_manifest(site.out) is not None


def test_a_site_with_its_manifest_inside_keeps_building_incrementally(site: Site) -> None:
    """The manifest an older version kept in the folder is moved out on the next build, which is
    incremental (nothing rewritten), and the folder holds no dotfile afterwards."""
    first = site.build()
    shutil.move(manifest_path(site.out), site.out / OLD_MANIFEST_DB)  # as the older version left it
    again = site.build()
    assert (True, 0, first.pages) == (again.incremental, again.written, again.unchanged)
    assert [] == dotfiles(site.out)
    assert manifest_path(site.out).is_file()


def test_a_removed_site_folder_is_built_again_whole(site: Site) -> None:
    """The manifest outlives the folder: after ``rm -rf site`` the next build writes every page again
    instead of trusting a list of files that are gone."""
    first = site.build()
    shutil.rmtree(site.out)
    again = site.build()
    assert (False, first.pages) == (again.incremental, again.written)
    assert (site.out / "index.html").is_file()


def test_the_newer_of_two_manifests_is_kept(tmp_path: Path) -> None:
    """A manifest inside the folder written after the one beside it (an older version ran in between)
    wins; the other way round it is only removed. Its SQLite journal moves with it."""
    site = tmp_path / "site"
    site.mkdir()
    beside = manifest_path(site)
    beside.write_bytes(b"beside")
    inside = site / OLD_MANIFEST_DB
    inside.write_bytes(b"inside")
    (site / f"{OLD_MANIFEST_DB}-journal").write_bytes(b"journal")
    os.utime(beside, (1_000_000, 1_000_000))
    adopt_old_manifest(site, beside)
    assert (b"inside", b"journal") == (
        beside.read_bytes(),
        beside.with_name(beside.name + "-journal").read_bytes(),
    )
    assert [] == dotfiles(site)
    inside.write_bytes(b"older")
    os.utime(inside, (1_000_000, 1_000_000))
    adopt_old_manifest(site, beside)
    assert b"inside" == beside.read_bytes()
    assert [] == dotfiles(site)


def test_a_site_folder_with_no_name_is_refused_clearly() -> None:
    with pytest.raises(SiteError, match="build the site into a folder below it"):
        manifest_path(Path("/"))


def test_publishing_to_s3_uploads_neither_manifest_nor_any_dotfile_but_its_own_list(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tgvault export site --out s3://` of a site whose manifest an older version kept inside: the
    bucket gets the pages and media and the publish's own list of files, never the build's manifest."""
    database = f"sqlite:///{tmp_path / 'archive.db'}"
    for name, value in {
        "TGVAULT_DATABASE__URL": database,
        "TGVAULT_MEDIA__DIR": str(tmp_path / "media"),
        "TGVAULT_MEDIA__ENDPOINT_URL": s3_endpoint,
        "TGVAULT_SITE__DIR": str(tmp_path / "site"),
    }.items():
        monkeypatch.setenv(name, value)
    assert 0 == CliRunner().invoke(main, ["db", "upgrade"]).exit_code
    from tgvault.app import open_archive
    from tgvault.config import Settings

    archive = open_archive(Settings(database={"url": database}, media={"dir": tmp_path / "media"}))
    try:
        make_archive(archive.unit_of_work, LocalMediaStore(tmp_path / "media"))
    finally:
        archive.close()
    site = tmp_path / "site"
    assert 0 == CliRunner().invoke(main, ["export", "site"]).exit_code
    shutil.move(manifest_path(site), site / OLD_MANIFEST_DB)

    result = CliRunner().invoke(main, ["export", "site", "--out", f"s3://{s3_bucket}/www"])

    assert 0 == result.exit_code, result.output
    client = make_s3_client(S3Options(endpoint_url=s3_endpoint))
    keys = [item["Key"] for item in client.list_objects_v2(Bucket=s3_bucket).get("Contents", [])]
    assert any(key.startswith("www/media/") for key in keys)
    assert ["www/.tgvault-site.json"] == [key for key in keys if "/." in key or "manifest" in key]
