"""Switching a channel's ``comments_authors`` from ``"keep"`` to ``"pseudonymous"``: the comments already
archived are rewritten as if they had been archived pseudonymously from the start.

It happens by itself on the next run that reads the channel's comments (``tgvault sync``, ``backfill``,
``audit``, ``run``; live mode too), before any comment is read, so nothing new is written beside a
comment not yet rewritten. Each comment's author becomes its pseudonym (the ``users`` row of the person
is deleted once no comment names it), and its message, every earlier state of it and their raw TL lose
what names a person, exactly as :class:`~tgvault.services.pseudonyms.Pseudonyms` treats a comment before
it is stored. The channel's posts with rewritten comments are marked changed, so the next site build
writes their pages again; exports read the rewritten rows.

Kill -9 safe: a page of comments is rewritten in one transaction that also records how far the rewrite
is, and making a comment pseudonymous twice changes nothing, so a killed rewrite resumes where its last
transaction ended. The ledger is append-only: a comment whose hashed state changes (a mention naming a
user id) is recorded again as new ``revision`` entries (see
:mod:`tgvault.storage.repositories.comment_authors`), so ``tgvault verify`` passes; the entries written
before the switch keep the hashes of the old states (hashes, not the names).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tgvault.services.pseudonyms import Pseudonyms, is_desktop
from tgvault.storage.repositories import ArchivedComment
from tgvault.storage.repositories.comment_authors import DONE
from tgvault.storage.unit_of_work import UnitOfWork

PAGE = 200
"""Comments rewritten in one transaction."""
_START = (-(1 << 62), -(1 << 62))


def pseudonymize_archived(
    unit_of_work: Callable[[], UnitOfWork], channel_id: int, clock: Callable[[], datetime]
) -> int:
    """Make every archived comment of the channel pseudonymous (resuming a stopped rewrite); returns
    how many changed. Once done, a call costs one read until :func:`keep_authors` is called."""
    with unit_of_work() as uow:
        mark = uow.comment_authors.mark(channel_id)
        if mark == DONE:
            return 0
        private = Pseudonyms(uow.discussions.pseudonym_key(clock()))
        uow.commit()
    after = _START
    if mark is not None:
        group_id, _, message_id = mark.partition(":")
        after = (int(group_id), int(message_id))
    changed = 0
    while True:
        with unit_of_work() as uow:
            now = clock()
            page = uow.comment_authors.page(channel_id, after, PAGE)
            if not page:
                uow.comment_authors.set_mark(channel_id, DONE, now)
                uow.commit()
                return changed
            rewritten = [_private(private, comment) for comment in page]
            uow.discussions.save_authors([c.author for c in rewritten if c.author is not None], now)
            changed += uow.comment_authors.rewrite(rewritten, now)
            before = [c.link.author_id for c in page if c.link.author_id is not None]
            uow.comment_authors.drop_unused_authors(
                [author_id for author_id in before if private.id_of(author_id) != author_id]
            )
            touched = [new.link.post_id for old, new in zip(page, rewritten, strict=True) if old != new]
            uow.discussions.touch_posts(channel_id, touched, now)
            last = page[-1].link
            after = (last.group_id, last.message_id)
            uow.comment_authors.set_mark(channel_id, f"{after[0]}:{after[1]}", now)
            uow.commit()


def keep_authors(unit_of_work: Callable[[], UnitOfWork], channel_id: int) -> None:
    """The channel keeps authors (again): a later switch to pseudonymous rewrites its comments anew."""
    with unit_of_work() as uow:
        if uow.comment_authors.mark(channel_id) is not None:
            uow.comment_authors.clear_mark(channel_id)
            uow.commit()


def _private(private: Pseudonyms, comment: ArchivedComment) -> ArchivedComment:
    """The comment as pseudonymous mode would have stored it."""
    link = comment.link
    if link.author_id is not None:
        link = link.model_copy(update={"author_id": private.id_of(link.author_id)})
    raw = comment.post.raw
    return ArchivedComment(
        link=link,
        post=private.post(comment.post, desktop=raw is not None and is_desktop(raw)),
        revisions=tuple(private.revision(revision) for revision in comment.revisions),
        author=None if comment.author is None else private.author(comment.author),
    )
