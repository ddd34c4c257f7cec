"""``tgvault reparse``: map the raw TL of posts kept with a parse error again, and upgrade them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tgvault.domain import Post
from tgvault.services.progress import Progress, SilentProgress
from tgvault.storage.unit_of_work import UnitOfWork

Remap = Callable[[dict[str, Any], int], Post | None]


@dataclass(frozen=True)
class ReparseReport:
    """How many posts with a parse error were read again, upgraded (fully understood now), or improved."""

    examined: int = 0
    upgraded: int = 0
    improved: int = 0
    still_failing: int = 0


def reparse(
    unit_of_work: Callable[[], UnitOfWork],
    remap: Remap,
    clock: Callable[[], datetime],
    channel_id: int | None = None,
    *,
    progress: Progress | None = None,
) -> ReparseReport:
    """Re-map every post with a parse error (of one channel, or all) from its raw TL; store better readings.

    A post is written again only when its new reading differs in what failed; one that still cannot be
    mapped is left as it is. Newly understood media is recorded and downloaded by the channel's next run.
    ``progress`` counts the posts read again of their total.
    """
    progress = progress or SilentProgress()
    with unit_of_work() as uow:
        total = uow.reparse.count_with_parse_errors(channel_id)
    progress.started("reparse", total, "posts")
    try:
        return _reparse_all(unit_of_work, remap, clock, channel_id, progress)
    finally:
        progress.finished()


def _reparse_all(
    unit_of_work: Callable[[], UnitOfWork],
    remap: Remap,
    clock: Callable[[], datetime],
    channel_id: int | None,
    progress: Progress,
) -> ReparseReport:
    examined = upgraded = improved = failing = 0
    after = (0, 0)
    while True:
        with unit_of_work() as uow:
            batch = uow.reparse.with_parse_errors(channel_id, after=after)
            if not batch:
                break
            for post_channel, message_id, old_error, raw in batch:
                examined += 1
                try:
                    post = remap(raw, post_channel)
                except Exception as exc:
                    failing += 1
                    progress.warn(
                        "post still not understood",
                        channel_id=post_channel,
                        message_id=message_id,
                        error=str(exc),
                    )
                    continue
                if post is None or post.parse_error == old_error:
                    failing += 1
                    continue
                uow.reparse.replace(post, clock())
                if post.parse_error is None:
                    upgraded += 1
                else:
                    improved += 1
                    failing += 1
            uow.commit()
            after = (batch[-1][0], batch[-1][1])
        progress.advance(len(batch))
    return ReparseReport(examined, upgraded, improved, failing)
