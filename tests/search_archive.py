"""An archive of generated multilingual posts for the search tests (imported by them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from tgvault.domain import Channel, Post
from tgvault.export.site import SiteBuildReport, SiteOptions, build_site
from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.schema import upgrade
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing.content.search_corpus import search_texts

UoW = Callable[[], UnitOfWork]
CHANNELS = (
    Channel(id=3003, username="wire", title="Wire <b>news</b>", subscribers=10),
    Channel(id=4004, username=None, title="Заметки", subscribers=5),
)
STAMP = datetime(2025, 1, 1, tzinfo=UTC)
# Posts every browser test looks for, among the generated ones: one per script, and a set sharing words.
MARKED = {
    (
        3003,
        90001,
    ): "Release notes moved to GitHub.com/tgvault — the Zanzibar build is out, says the Donaudampfschifffahrtsgesellschaftskapitän.",
    (3003, 90002): "Снова о Занзибаре: архив канала растёт, ссылки на GitHub работают.",
    (4004, 90003): "القناة تنشر ملاحظات زنجبار كل يوم، والأرشيف يحفظ كل شيء.",
    (4004, 90004): "東京都の天気予報：明日は晴れ。Zanzibar とは関係ありません。",
    (3003, 90005): "<img src=x onerror=alert(1)> Zanzibar <b>bold</b> & friends",
}


def fill(uow_factory: UoW, count: int, *, seed: int = 7, pager: int = 0) -> None:
    """Two channels sharing ``count`` generated posts, the :data:`MARKED` posts, and ``pager`` more
    posts that all hold the word ``pagerword`` (for paging through results)."""
    with uow_factory() as uow:
        for channel in CHANNELS:
            uow.channels.upsert(channel, STAMP)
        posts = [
            Post(channel_id=CHANNELS[i % 2].id, message_id=i + 1, date=date, text=text)
            for i, (date, text) in enumerate(search_texts(count, seed))
        ]
        last = posts[-1].date if posts else STAMP
        posts += [
            Post(channel_id=channel_id, message_id=message_id, date=last, text=text)
            for (channel_id, message_id), text in MARKED.items()
        ]
        posts += [
            Post(channel_id=CHANNELS[0].id, message_id=80000 + i, date=last, text=f"pagerword number {i}")
            for i in range(pager)
        ]
        for channel in CHANNELS:
            uow.posts.upsert_many([post for post in posts if post.channel_id == channel.id], STAMP)
        uow.commit()


def build(uow_factory: UoW, out: Path, *, full: bool = False) -> SiteBuildReport:
    """The site of the archive in ``out``."""
    options = SiteOptions(out_dir=out, title="Search test", posts_per_page=50, media_mode="copy")
    return build_site(uow_factory, LocalMediaStore(out.parent / "media"), options, full=full)


@contextmanager
def sqlite_archive(root: Path) -> Iterator[UoW]:
    """A fresh SQLite archive under ``root``: its unit of work factory."""
    engine = create_archive_engine(f"sqlite:///{root / 'archive.db'}")
    upgrade(engine)
    factory = make_session_factory(engine)
    try:
        yield lambda: UnitOfWork(factory)
    finally:
        engine.dispose()
