"""Row <-> domain record conversions and the SQL building blocks the repositories share."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from typing import Any, TypeVar, cast

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Table, and_, select
from sqlalchemy.orm import Session

from tgvault.domain import (
    EARLIEST_DATE,
    Contact,
    Forward,
    Location,
    MediaItem,
    Poll,
    Post,
    Reaction,
    Record,
    ServiceAction,
    SourceKind,
    TextEntity,
    WebPagePreview,
)
from tgvault.errors import StorageError
from tgvault.storage.tables import MediaItemRow, PostRow

T = TypeVar("T")

# SQLite limits bound parameters per statement; keep IN lists and multi-row inserts below it.
CHUNK = 500


def table(row_class: Any) -> Table:
    """The Core table of a row class (for executemany inserts that skip the ORM's per-row work)."""
    return cast(Table, row_class.__table__)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size`` (bound parameters per statement stay below the limit)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _dump(model: Any) -> Any:
    return None if model is None else model.model_dump(mode="json", exclude_defaults=True)


def entities_json(entities: Iterable[TextEntity]) -> list[dict[str, Any]]:
    """The stored JSON of text entities: ``model_dump(mode="json", exclude_defaults=True)`` of each,
    written by hand (same keys, same order) because it runs for every post archived."""
    dumped = []
    for entity in entities:
        item: dict[str, Any] = {"kind": entity.kind.value, "offset": entity.offset, "length": entity.length}
        if entity.url is not None:
            item["url"] = entity.url
        if entity.language is not None:
            item["language"] = entity.language
        if entity.user_id is not None:
            item["user_id"] = entity.user_id
        if entity.document_id is not None:
            item["document_id"] = entity.document_id
        if entity.collapsed:
            item["collapsed"] = entity.collapsed
        dumped.append(item)
    return dumped


def reactions_json(reactions: Iterable[Reaction]) -> list[dict[str, Any]]:
    """The stored JSON of reactions, like :func:`entities_json` (by hand, as ``model_dump`` would)."""
    dumped = []
    for reaction in reactions:
        item: dict[str, Any] = {}
        if reaction.emoji is not None:
            item["emoji"] = reaction.emoji
        if reaction.custom_emoji_id is not None:
            item["custom_emoji_id"] = reaction.custom_emoji_id
        if reaction.paid:
            item["paid"] = reaction.paid
        item["count"] = reaction.count
        dumped.append(item)
    return dumped


MEDIA_DESCRIPTION = (
    "kind",
    "telegram_id",
    "mime_type",
    "file_name",
    "size",
    "width",
    "height",
    "duration",
    "performer",
    "title",
    "sticker_emoji",
    "spoiler",
)


def media_values(media: MediaItem) -> dict[str, Any]:
    """The ``media_items`` columns of an attachment (its description, download status and thumbnail)."""
    values = {name: getattr(media, name) for name in MEDIA_DESCRIPTION}
    values["kind"] = media.kind.value
    values.update(status=media.status.value, sha256=media.sha256, path=media.path, error=media.error)
    values.update(thumbnail_sha256=media.thumbnail_sha256, thumbnail_path=media.thumbnail_path)
    return values


def post_values(post: Post) -> dict[str, Any]:
    """The ``posts`` columns of a post (its JSON fields dumped as stored)."""
    return {
        "date": post.date,
        "edit_date": post.edit_date,
        "text": post.text,
        "entities": entities_json(post.entities),
        "service": _dump(post.service),
        "author": post.author,
        "grouped_id": post.grouped_id,
        "reply_to_message_id": post.reply_to_message_id,
        "reply_to_channel_id": post.reply_to_channel_id,
        "forward": _dump(post.forward),
        "views": post.views,
        "forwards": post.forwards,
        "replies": post.replies,
        "reactions": reactions_json(post.reactions),
        "poll": _dump(post.poll),
        "web_page": _dump(post.web_page),
        "location": _dump(post.location),
        "contact": _dump(post.contact),
        "pinned": post.pinned,
        "raw": post.raw,
        "parse_error": post.parse_error,
        "source": post.source.value,
    }


def load_post_rows(
    session: Session, channel_id: int, message_ids: Sequence[int]
) -> dict[int, tuple[PostRow, MediaItemRow | None]]:
    """The stored rows of the channel's posts among ``message_ids`` with their media rows, by message id."""
    found: dict[int, tuple[PostRow, MediaItemRow | None]] = {}
    for chunk in chunks(message_ids):
        query = (
            select(PostRow, MediaItemRow)
            .outerjoin(
                MediaItemRow,
                and_(
                    MediaItemRow.channel_id == PostRow.channel_id,
                    MediaItemRow.message_id == PostRow.message_id,
                ),
            )
            .where(PostRow.channel_id == channel_id, PostRow.message_id.in_(chunk))
        )
        for post_row, media_row in session.execute(query):
            found[post_row.message_id] = (post_row, media_row)
    return found


def post_from_row(row: PostRow, media_row: MediaItemRow | None) -> Post:
    """The domain record of a stored post and its media row.

    A row the domain model refuses (written by an older version, or by hand: a location stored as null,
    an id out of range) is still read: the parts that cannot be read are left out and named in
    ``parse_error``, so the post shows as "not fully understood" (its ``raw`` kept) and one bad row never
    stops a build, an export or a re-import (issue 17.2).
    """
    try:
        return _post_from_row(row, media_row)
    except ValidationError:
        return _salvaged_post(row, media_row)


# A post's entities (and reactions) validated in one call rather than one a value.
_ENTITIES: TypeAdapter[tuple[TextEntity, ...]] = TypeAdapter(tuple[TextEntity, ...])
_REACTIONS: TypeAdapter[tuple[Reaction, ...]] = TypeAdapter(tuple[Reaction, ...])


def _post_from_row(row: PostRow, media_row: MediaItemRow | None) -> Post:
    return Post(
        channel_id=row.channel_id,
        message_id=row.message_id,
        date=row.date,
        edit_date=row.edit_date,
        text=row.text,
        entities=_ENTITIES.validate_python(row.entities or ()),
        service=None if row.service is None else ServiceAction.model_validate(row.service),
        author=row.author,
        grouped_id=row.grouped_id,
        reply_to_message_id=row.reply_to_message_id,
        reply_to_channel_id=row.reply_to_channel_id,
        forward=None if row.forward is None else Forward.model_validate(row.forward),
        views=row.views,
        forwards=row.forwards,
        replies=row.replies,
        reactions=_REACTIONS.validate_python(row.reactions or ()),
        media=None if media_row is None else media_from_row(media_row),
        poll=None if row.poll is None else Poll.model_validate(row.poll),
        web_page=None if row.web_page is None else WebPagePreview.model_validate(row.web_page),
        location=None if row.location is None else Location.model_validate(row.location),
        contact=None if row.contact is None else Contact.model_validate(row.contact),
        pinned=row.pinned,
        raw=row.raw,
        parse_error=row.parse_error,
        deleted_at=row.deleted_at,
        source=SourceKind(row.source),
    )


_STORED_PARTS: dict[str, type[Record]] = {
    "service": ServiceAction,
    "forward": Forward,
    "poll": Poll,
    "web_page": WebPagePreview,
    "location": Location,
    "contact": Contact,
}
_STORED_VALUES = (
    *("date", "text", "author", "grouped_id", "reply_to_message_id", "reply_to_channel_id"),
    *("views", "forwards", "replies", "edit_date", "pinned", "deleted_at"),
)


def _salvaged_post(row: PostRow, media_row: MediaItemRow | None) -> Post:
    """The post of a row the model refuses: every part read on its own, the unreadable ones left out."""
    base: dict[str, Any] = {"channel_id": row.channel_id, "message_id": row.message_id, "date": EARLIEST_DATE}
    try:
        Post(**base)
    except ValidationError as exc:
        raise StorageError(
            f"post {row.message_id} of channel {row.channel_id} cannot be read: {exc.errors()[0]['msg']}"
        ) from None
    problems: list[str] = []
    values: dict[str, Any] = {}

    def keep(name: str, read: Callable[[], Any]) -> None:
        try:
            value = read()
            Post(**{**base, name: value})
        except (ValidationError, ValueError, TypeError) as exc:
            detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            problems.append(f"{name}: the archived value cannot be read ({detail})")
        else:
            values[name] = value

    for name in _STORED_VALUES:
        keep(name, partial(getattr, row, name))
    keep("entities", lambda: tuple(TextEntity.model_validate(item) for item in row.entities or ()))
    keep("reactions", lambda: tuple(Reaction.model_validate(item) for item in row.reactions or ()))
    for name, model in _STORED_PARTS.items():
        keep(name, partial(_part, model, getattr(row, name)))
    keep("media", lambda: None if media_row is None else media_from_row(media_row))
    if "text" not in values:
        values["text"] = _printable_text(row.text)
    notes = [row.parse_error] if row.parse_error else []
    return Post(
        **(base | values),
        raw=row.raw,
        parse_error=_printable_text("; ".join(notes + problems)),
        source=SourceKind(row.source),
    )


def _part(model: type[Record], stored: Any) -> Record | None:
    return None if stored is None else model.model_validate(stored)


def _printable_text(value: str | None) -> str:
    """Text that encodes as UTF-8 (lone surrogates replaced)."""
    return (value or "").encode("utf-8", "replace").decode("utf-8")


def media_from_row(row: MediaItemRow) -> MediaItem:
    """The domain record of a stored media row.

    A described value the model refuses (a ``NaN`` duration an older version stored in PostgreSQL, a size
    out of range) is left out rather than stopping the reader: the file itself is still known.
    """
    values = (
        {name: getattr(row, name) for name in MEDIA_DESCRIPTION}
        | {"status": row.status, "sha256": row.sha256, "path": row.path, "error": row.error}
        | {"thumbnail_sha256": row.thumbnail_sha256, "thumbnail_path": row.thumbnail_path}
    )
    try:
        return MediaItem.model_validate(values)
    except ValidationError as exc:
        refused = {str(error["loc"][0]) for error in exc.errors() if error["loc"]} & _OPTIONAL_MEDIA
        if not refused:
            raise
        return MediaItem.model_validate(values | dict.fromkeys(refused))


_OPTIONAL_MEDIA = frozenset(MEDIA_DESCRIPTION) - {"kind", "spoiler"}
