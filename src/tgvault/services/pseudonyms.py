"""Pseudonymous comments (``comments_authors = "pseudonymous"``): commenters kept under a stable pseudonym.

A commenter's pseudonym is derived from their Telegram id with this archive's own key (HMAC-SHA256, the
key made once and kept in the archive), so the same person is the same pseudonym in every thread of the
archive and in no other archive. Before a comment is stored, everything that names a person is replaced
or dropped: its author (id, name, @username), the user ids of ``from_id``, mentions, forwards and
reactions' senders in the raw TL, and names there (first and last names, usernames, phone numbers,
signatures, a forward's ``from_name``). Nothing of it reaches the database, the media names, the site
or an export, because nothing of it is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from tgvault.domain import CommentAuthor, EntityKind, Post, PostRevision, TextEntity
from tgvault.sources.base import FetchedPost

PSEUDONYM = "pseudonym"
"""The ``kind`` of a pseudonymous author."""
PSEUDONYM_FLOOR = 1 << 55
"""Pseudonyms' ids start here (Telegram's ids are below 2**53): an id at or above it is one already."""
_DROPPED = frozenset(
    {
        "first_name",
        "last_name",
        "username",
        "usernames",
        "phone",
        "post_author",
        "from_name",
        "from_rank",
        "rank",
        "title",
    }
)
_DESKTOP_DROPPED = _DROPPED | frozenset(
    {
        "from",
        "from_id",
        "forwarded_from",
        "forwarded_from_id",
        "saved_from",
        "author",
        "actor",
        "actor_id",
        "members",
        "inviter",
        "phone_number",
        "contact_information",
        "contact_vcard",
    }
)
"""What names a person in a Telegram Desktop export's message (``from``, ``from_id`` like ``user123``,
a forward's origin, a service message's actor and members, a shared contact), dropped besides the above."""
_USER_ID_KEYS = frozenset({"user_id"})


class Pseudonyms:
    """Turns commenters into stable pseudonyms with one archive's key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a pseudonym key has at least 16 bytes")
        self._key = key

    def id_of(self, user_id: int) -> int:
        """The pseudonym's id: a positive 56-bit number (not a Telegram id: those are below 2**53); a
        pseudonym's id is its own (so making a record pseudonymous twice changes nothing)."""
        if PSEUDONYM_FLOOR <= user_id < PSEUDONYM_FLOOR << 1:
            return user_id
        digest = hmac.new(self._key, f"user:{user_id}".encode(), hashlib.sha256).digest()
        return PSEUDONYM_FLOOR | int.from_bytes(digest[:7], "big") >> 1

    def author(self, author: CommentAuthor) -> CommentAuthor:
        """The pseudonymous author standing for ``author``."""
        pseudo = self.id_of(author.id)
        tag = base64.b32encode(pseudo.to_bytes(8, "big")).decode("ascii").rstrip("=")[-6:].lower()
        return CommentAuthor(id=pseudo, kind=PSEUDONYM, name=f"Commenter {tag}")

    def item(self, fetched: FetchedPost) -> FetchedPost:
        """A fetched group message with nothing left that names a person (its TL handle is kept only in
        memory, to download its file; it is never stored)."""
        author = self.author(fetched.author) if fetched.author is not None else None
        comment = fetched.comment
        if comment is not None:
            comment = comment.model_copy(update={"author_id": author.id if author is not None else None})
        return FetchedPost(
            self.post(fetched.post),
            fetched.handle,
            thread=fetched.thread,
            author=author,
            comment=comment,
        )

    def post(self, post: Post, *, desktop: bool = False) -> Post:
        """The message's record with user ids replaced by pseudonyms and names dropped (``desktop``: its raw
        message is a Desktop export's, whose fields name people differently)."""
        entities = self._entities(post.entities)
        forward = post.forward
        if forward is not None:
            forward = forward.model_copy(
                update={
                    "from_user_id": None
                    if forward.from_user_id is None
                    else self.id_of(forward.from_user_id),
                    "from_name": None,
                    "post_author": None,
                }
            )
        dropped = _DESKTOP_DROPPED if desktop else _DROPPED
        raw = self._scrub(post.raw, dropped) if post.raw is not None else None
        return post.model_copy(update={"entities": entities, "forward": forward, "author": None, "raw": raw})

    def revision(self, revision: PostRevision) -> PostRevision:
        """An earlier state of a message with user ids replaced and names dropped, like :meth:`post`."""
        raw = revision.raw
        dropped = _DESKTOP_DROPPED if raw is not None and is_desktop(raw) else _DROPPED
        return revision.model_copy(
            update={
                "entities": self._entities(revision.entities),
                "raw": None if raw is None else self._scrub(raw, dropped),
            }
        )

    def _entities(self, entities: tuple[TextEntity, ...]) -> tuple[TextEntity, ...]:
        return tuple(
            entity.model_copy(update={"user_id": self.id_of(entity.user_id)})
            if entity.kind is EntityKind.MENTION_NAME and entity.user_id is not None
            else entity
            for entity in entities
        )

    def _scrub(self, raw: dict[str, Any], dropped: frozenset[str]) -> dict[str, Any]:
        """A copy of raw TL with user ids replaced and names dropped, walked with its own stack."""
        root: dict[str, Any] = {}
        stack: list[tuple[Any, Any]] = [(raw, root)]
        while stack:
            source, target = stack.pop()
            items = source.items() if isinstance(source, dict) else enumerate(source)
            for key, value in items:
                if isinstance(key, str) and key in dropped:
                    continue
                if isinstance(value, dict | list):
                    copy: Any = {} if isinstance(value, dict) else [None] * len(value)
                    stack.append((value, copy))
                    value = copy
                elif isinstance(key, str) and key in _USER_ID_KEYS and isinstance(value, int):
                    value = self.id_of(value)
                if isinstance(target, dict):
                    target[key] = value
                else:
                    target[key] = value
        return root


def is_desktop(raw: dict[str, Any]) -> bool:
    """True for a raw message from a Telegram Desktop export (Telethon's TL dicts name their type in ``_``)."""
    return "_" not in raw
