"""Post outlines: the light facts of posts a site build plans its pages from, and what changed since."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, and_, case, func, select
from sqlalchemy import cast as cast_to
from sqlalchemy.orm import Session

from tgvault.domain import EntityKind, MediaStatus, TextEntity
from tgvault.storage.database import load_json
from tgvault.storage.repositories.rows import chunks, table
from tgvault.storage.tables import MediaItemRow, PostRow

# Core tables, not the mapped classes: a site build reads outlines as plain rows, and in a fresh process a
# statement on them compiles without the ORM's per-statement work (or its mapper configuration)
_POSTS = table(PostRow)
_MEDIA = table(MediaItemRow)
_MEDIA_OF_POST = and_(_MEDIA.c.channel_id == _POSTS.c.channel_id, _MEDIA.c.message_id == _POSTS.c.message_id)


@dataclass(frozen=True, slots=True)
class PostOutline:
    """A post's light facts for planning pages: dates, links between posts, counters, text and hashtags.

    ``version`` changes whenever the post or its media row is written (their ``updated_at`` stamps, as
    the database spells them). ``media_path`` is the stored file the site shows: the attachment when
    downloaded, else its stored thumbnail if any; ``hashtags`` are the post's hashtag entities (the only
    entities a page plan needs) and ``text`` is read only for posts that have some (else "").
    """

    message_id: int
    date: datetime
    version: str
    media_path: str | None
    grouped_id: int | None
    reply_to_message_id: int | None
    reply_to_channel_id: int | None
    views: int | None
    is_service: bool
    deleted: bool
    text: str
    hashtags: tuple[TextEntity, ...]


class OutlineReader:
    """Outlines of a channel's posts and the marks that tell a site build which posts changed."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def outline(self, channel_id: int, *, batch_size: int = 5000) -> Iterator[PostOutline]:
        """Stream the light facts of a channel's posts by message id (no raw TL, no media description).

        Enough to plan pages and to tell from the archive which pages changed. A hot path on every
        site build: the stamps are read as text (no datetime objects), and the text and entities only
        of posts with a hashtag entity.
        """
        last: int | None = None
        while True:
            query = _outline_query(channel_id).order_by(_POSTS.c.message_id).limit(batch_size)
            if last is not None:
                query = query.where(_POSTS.c.message_id > last)
            rows = self._session.execute(query).all()
            if not rows:
                return
            yield from map(_outline_from_row, rows)
            last = rows[-1][0]

    def outline_for(self, channel_id: int, message_ids: Iterable[int]) -> list[PostOutline]:
        """The outlines (as :meth:`outline` makes them) of the given posts that exist, by message id."""
        found: list[PostOutline] = []
        for chunk in chunks(sorted(set(message_ids))):
            query = _outline_query(channel_id).where(_POSTS.c.message_id.in_(chunk))
            found.extend(map(_outline_from_row, self._session.execute(query).all()))
        found.sort(key=lambda outline: outline.message_id)
        return found

    def versions_for(self, channel_id: int, message_ids: Iterable[int]) -> dict[int, tuple[str, bool]]:
        """(``version``, deleted) of the given posts that exist, as their outlines would hold them: what
        tells a site build whether a post read again changed since its plan was made, in a light read."""
        found: dict[int, tuple[str, bool]] = {}
        for chunk in chunks(sorted(set(message_ids))):
            query = (
                select(
                    _POSTS.c.message_id,
                    cast_to(_POSTS.c.updated_at, String),
                    cast_to(_MEDIA.c.updated_at, String),
                    _POSTS.c.deleted_at.is_not(None),
                )
                .outerjoin(_MEDIA, _MEDIA_OF_POST)
                .where(_POSTS.c.channel_id == channel_id, _POSTS.c.message_id.in_(chunk))
            )
            for message_id, post_version, media_version, deleted in self._session.execute(query):
                found[message_id] = (f"{post_version}|{media_version}", bool(deleted))
        return found

    def change_marks(self, channel_id: int) -> tuple[datetime | None, datetime | None]:
        """The latest ``updated_at`` of the channel's posts and of its media rows (None when none).

        With :meth:`changed_since`, a site build reads only the posts written after its last build.
        """
        posts = self._session.scalar(
            select(func.max(_POSTS.c.updated_at)).where(_POSTS.c.channel_id == channel_id)
        )
        media = self._session.scalar(
            select(func.max(_MEDIA.c.updated_at)).where(_MEDIA.c.channel_id == channel_id)
        )
        return posts, media

    def changed_since(self, channel_id: int, posts_since: datetime, media_since: datetime) -> set[int]:
        """Ids of the channel's posts whose row was written after ``posts_since``, or whose media row was
        written after ``media_since`` (both read through ``(channel_id, updated_at)`` indexes)."""
        posts = self._session.scalars(
            select(_POSTS.c.message_id).where(
                _POSTS.c.channel_id == channel_id, _POSTS.c.updated_at > posts_since
            )
        )
        media = self._session.scalars(
            select(_MEDIA.c.message_id).where(
                _MEDIA.c.channel_id == channel_id, _MEDIA.c.updated_at > media_since
            )
        )
        return set(posts) | set(media)


def _outline_query(channel_id: int) -> Select[*tuple[Any, ...]]:
    has_hashtag = cast_to(_POSTS.c.entities, String).contains('"hashtag"')
    return (
        select(
            _POSTS.c.message_id,
            _POSTS.c.date,
            cast_to(_POSTS.c.updated_at, String).label("post_version"),
            cast_to(_MEDIA.c.updated_at, String).label("media_version"),
            _MEDIA.c.status,
            _MEDIA.c.path,
            _POSTS.c.grouped_id,
            _POSTS.c.reply_to_message_id,
            _POSTS.c.reply_to_channel_id,
            _POSTS.c.views,
            _POSTS.c.service.is_not(None).label("is_service"),
            _POSTS.c.deleted_at.is_not(None).label("is_deleted"),
            case((has_hashtag, _POSTS.c.text), else_="").label("hashtag_text"),
            case((has_hashtag, _POSTS.c.entities), else_=None).label("hashtag_entities"),
            _MEDIA.c.thumbnail_path,
        )
        .outerjoin(_MEDIA, _MEDIA_OF_POST)
        .where(_POSTS.c.channel_id == channel_id)
    )


_DOWNLOADED = MediaStatus.DOWNLOADED.value


def _outline_from_row(row: Any) -> PostOutline:
    entities = row[13]
    if isinstance(entities, str):  # a CASE hides the JSON type from some dialects
        entities = load_json(entities)
    return PostOutline(
        message_id=row[0],
        date=row[1],
        version=f"{row[2]}|{row[3]}",  # as versions_for spells it
        media_path=row[5] if row[4] == _DOWNLOADED else row[14],
        grouped_id=row[6],
        reply_to_message_id=row[7],
        reply_to_channel_id=row[8],
        views=row[9],
        is_service=bool(row[10]),
        deleted=bool(row[11]),
        text=row[12] or "",
        hashtags=tuple(
            TextEntity.model_validate(item)
            for item in entities or ()
            if item.get("kind") == EntityKind.HASHTAG.value
        ),
    )
