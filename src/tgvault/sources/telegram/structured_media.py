"""Media that are data rather than a file: polls (with their results), locations and contacts."""

from __future__ import annotations

from typing import Any

from telethon.tl import types

from tgvault.domain import Contact, Location, Poll, PollAnswer
from tgvault.sources.telegram.reading import Unexpected, nonempty, opt_int, opt_str, tl_text, type_name


def poll_of(media: Any) -> Poll:
    """A poll with its answers and, when Telegram sent them, its results."""
    poll = media.poll
    if not isinstance(poll, types.Poll):
        raise Unexpected(f"unexpected {type_name(poll)}")
    results = getattr(media, "results", None)
    voters_by_option: dict[bytes, Any] = {}
    total_voters: int | None = None
    if isinstance(results, types.PollResults):
        total_voters = opt_int(results.total_voters, "total_voters")
        for counted in results.results or ():
            voters_by_option[bytes(counted.option)] = counted
    elif results is not None:
        raise Unexpected(f"unexpected {type_name(results)}")

    answers = []
    for answer in poll.answers or ():
        counted = voters_by_option.get(bytes(answer.option))
        answers.append(
            PollAnswer(
                text=tl_text(answer.text, "answer"),
                voters=opt_int(counted.voters, "voters") if counted is not None else None,
                chosen=bool(counted is not None and counted.chosen),
                correct=bool(counted is not None and counted.correct),
            )
        )
    return Poll(
        question=tl_text(poll.question, "question"),
        answers=tuple(answers),
        total_voters=total_voters,
        closed=bool(poll.closed),
        quiz=bool(poll.quiz),
        multiple_choice=bool(poll.multiple_choice),
        public_voters=bool(poll.public_voters),
    )


def location_of(geo: Any, **extra: Any) -> Location | None:
    """A geo point (with ``extra`` venue or live fields), or None when it is empty."""
    if geo is None or isinstance(geo, types.GeoPointEmpty):
        return None
    if not isinstance(geo, types.GeoPoint):
        raise Unexpected(f"unexpected {type_name(geo)}")
    return Location(latitude=float(geo.lat), longitude=float(geo.long), **extra)


def contact_of(media: Any) -> Contact:
    """A shared contact card."""
    user_id = opt_int(media.user_id, "user_id")
    return Contact(
        first_name=opt_str(media.first_name, "first_name") or "",
        last_name=nonempty(media.last_name, "last_name"),
        phone_number=nonempty(media.phone_number, "phone_number"),
        user_id=user_id or None,  # 0 means the contact has no Telegram account
    )
