"""Records of one post from two sources merge field by field, on real SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tgvault.domain import (
    Channel,
    EntityKind,
    Forward,
    MediaItem,
    MediaKind,
    MediaStatus,
    Post,
    Reaction,
    SourceKind,
    TextEntity,
)
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]
CHANNEL = Channel(id=4242, username="mergechan", title="Merge")
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SHA = "ab" * 32


def post(message_id: int, source: SourceKind, text: str = "same words", **changes: object) -> Post:
    values: dict[str, object] = {
        "channel_id": CHANNEL.id,
        "message_id": message_id,
        "date": T0 + timedelta(minutes=message_id),
        "text": text,
        "source": source,
        "raw": {source.value: {"id": message_id}},
    }
    values.update(changes)
    return Post.model_validate(values)


def store(unit_of_work: UoW, *posts: Post) -> tuple[int, int]:
    with unit_of_work() as uow:
        if uow.channels.get(CHANNEL.id) is None:
            uow.channels.upsert(CHANNEL)
        outcome = uow.posts.upsert_many(list(posts))
        uow.commit()
    return outcome.edited, outcome.unchanged


def load(unit_of_work: UoW, message_id: int) -> tuple[Post, list[str]]:
    with unit_of_work() as uow:
        found = uow.posts.get(CHANNEL.id, message_id)
        revisions = [revision.text for revision in uow.posts.revisions(CHANNEL.id, message_id)]
    assert found is not None
    return found, revisions


def test_web_fills_what_a_desktop_import_lacks(unit_of_work: UoW) -> None:
    """Desktop exports show no views; the web preview does, and its author and forward fill gaps too."""
    bold = (TextEntity(kind=EntityKind.BOLD, offset=0, length=4),)
    store(
        unit_of_work, post(1, SourceKind.TDESKTOP, entities=bold, reactions=(Reaction(emoji="👍", count=2),))
    )
    web = post(
        1,
        SourceKind.WEB,
        views=1200,
        author="Anna",
        forward=Forward(from_name="Elsewhere"),
        reactions=(Reaction(emoji="👍", count=5),),
    )
    assert (0, 1) == store(unit_of_work, web)
    merged, revisions = load(unit_of_work, 1)
    assert (SourceKind.TDESKTOP, bold, 1200, "Anna", "Elsewhere", 5) == (
        merged.source,
        merged.entities,
        merged.views,
        merged.author,
        merged.forward and merged.forward.from_name,
        merged.reactions[0].count,
    )
    assert {"tdesktop": {"id": 1}} == merged.raw
    assert [] == revisions


def test_a_desktop_file_serves_a_post_telethon_has_not_downloaded(unit_of_work: UoW) -> None:
    pending = MediaItem(kind=MediaKind.DOCUMENT, telegram_id=555, size=21, mime_type="application/pdf")
    store(unit_of_work, post(2, SourceKind.TELEGRAM, media=pending, views=9))
    desktop_file = MediaItem(
        kind=MediaKind.DOCUMENT,
        file_name="a.pdf",
        size=21,
        status=MediaStatus.DOWNLOADED,
        sha256=SHA,
        path="ab/x.pdf",
    )
    store(unit_of_work, post(2, SourceKind.TDESKTOP, media=desktop_file))
    merged, revisions = load(unit_of_work, 2)
    assert merged.media is not None
    assert (SourceKind.TELEGRAM, 9, MediaStatus.DOWNLOADED, SHA, 555, "a.pdf") == (
        merged.source,
        merged.views,
        merged.media.status,
        merged.media.sha256,
        merged.media.telegram_id,
        merged.media.file_name,
    )
    assert [] == revisions
    with unit_of_work() as uow:
        assert set() == uow.media.needing_download(CHANNEL.id, [2], max_attempts=3)


def test_telethon_over_a_desktop_import_keeps_the_stored_file_and_adds_no_revision(unit_of_work: UoW) -> None:
    desktop_file = MediaItem(
        kind=MediaKind.VIDEO, size=4096, status=MediaStatus.DOWNLOADED, sha256=SHA, path="ab/v.mp4"
    )
    store(unit_of_work, post(3, SourceKind.TDESKTOP, media=desktop_file, author="Anna"))
    telethon = post(
        3, SourceKind.TELEGRAM, media=MediaItem(kind=MediaKind.VIDEO, telegram_id=77, size=4096), views=3
    )
    assert (0, 1) == store(unit_of_work, telethon)
    merged, revisions = load(unit_of_work, 3)
    assert merged.media is not None
    assert (SourceKind.TELEGRAM, "Anna", 3, MediaStatus.DOWNLOADED, SHA, 77) == (
        merged.source,
        merged.author,
        merged.views,
        merged.media.status,
        merged.media.sha256,
        merged.media.telegram_id,
    )
    assert [] == revisions
    # a later Telethon sync of the same post goes the usual way and keeps everything
    assert (0, 1) == store(unit_of_work, telethon.model_copy(update={"views": 4}))
    again, _ = load(unit_of_work, 3)
    assert again.media is not None and (MediaStatus.DOWNLOADED, 4, "Anna") == (
        again.media.status,
        again.views,
        again.author,
    )


def test_a_file_of_another_size_is_not_taken(unit_of_work: UoW) -> None:
    store(
        unit_of_work,
        post(4, SourceKind.TELEGRAM, media=MediaItem(kind=MediaKind.PHOTO, telegram_id=1, size=900)),
    )
    web_photo = MediaItem(
        kind=MediaKind.PHOTO, size=300, status=MediaStatus.DOWNLOADED, sha256=SHA, path="ab/p.jpg"
    )
    store(unit_of_work, post(4, SourceKind.WEB, media=web_photo))
    merged, _ = load(unit_of_work, 4)
    assert merged.media is not None and (MediaStatus.PENDING, 900) == (merged.media.status, merged.media.size)


def test_richer_text_becomes_current_and_the_other_is_kept_as_a_revision(unit_of_work: UoW) -> None:
    store(unit_of_work, post(5, SourceKind.WEB, text="as the web showed it", views=10))
    assert (1, 0) == store(unit_of_work, post(5, SourceKind.TELEGRAM, text="as Telegram has it"))
    merged, revisions = load(unit_of_work, 5)
    assert ("as Telegram has it", SourceKind.TELEGRAM, 10) == (merged.text, merged.source, merged.views)
    assert ["as the web showed it"] == revisions
    # the poorer source showing its text again keeps it once
    assert (0, 1) == store(unit_of_work, post(5, SourceKind.WEB, text="as the web showed it", views=11))
    merged, revisions = load(unit_of_work, 5)
    assert ("as Telegram has it", 11, ["as the web showed it"]) == (merged.text, merged.views, revisions)


def test_a_post_the_web_cannot_show_adds_no_empty_revision(unit_of_work: UoW) -> None:
    store(unit_of_work, post(6, SourceKind.TELEGRAM, text="members only"))
    hidden = post(6, SourceKind.WEB, text="", parse_error="the web preview does not show this post", views=7)
    store(unit_of_work, hidden)
    merged, revisions = load(unit_of_work, 6)
    assert ("members only", 7, None, []) == (merged.text, merged.views, merged.parse_error, revisions)
