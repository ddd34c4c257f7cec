"""Discussion comments: a channel's linked group archived through real Telethon code against the fake
Telegram, into real SQLite and PostgreSQL; what each sync costs in requests."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from telethon.tl.functions.channels import GetMessagesRequest
from telethon.tl.functions.messages import GetRepliesRequest

from tgvault.domain import ChannelKind
from tgvault.services.archiver import Archiver
from tgvault.services.audit import Auditor
from tgvault.services.plans import NO_MEDIA, ChannelPlan, CommentsPlan, RefreshWindow
from tgvault.sources.telegram import TelegramSource
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.tables import CommentRow, PostRow, UserRow
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing import FakeChannel, FakeTelegram, add_post, fake_client
from tgvault.testing.content.comments import add_comments, commenters
from tgvault.testing.fake_telegram.discussions import FakeDiscussion

UoW = Callable[[], UnitOfWork]
COMMENTS = CommentsPlan(media=NO_MEDIA)
WINDOW = RefreshWindow(newest_posts=50, days=0)


def run(world: FakeTelegram, unit_of_work: UoW, media: Path, action: Callable[[Archiver], Any]) -> Any:
    async def go() -> Any:
        async with fake_client(world) as client:
            archiver = Archiver(
                TelegramSource(client, request_delay=0), unit_of_work, LocalMediaStore(media), clock=world.now
            )
            return await action(archiver)

    return asyncio.run(go())


def channel_with_group(world: FakeTelegram, username: str, posts: int) -> tuple[FakeChannel, FakeDiscussion]:
    channel = world.add_channel(username)
    start = world.now() - timedelta(days=3 * 365)
    for number in range(posts):
        add_post(
            channel, f"post number {number}", date=start + timedelta(hours=5 * number), views=10, forwards=1
        )
    return channel, world.add_discussion_group(channel)


def archived_comments(
    unit_of_work: UoW, channel_id: int
) -> dict[int, tuple[int, str, int | None, int | None]]:
    """Every archived comment: group message id -> (post id, text, comment replied to, author id)."""
    with unit_of_work() as uow:
        session = uow.posts._session  # type: ignore[attr-defined]
        rows = session.execute(
            select(CommentRow, PostRow.text)
            .join(
                PostRow,
                (PostRow.channel_id == CommentRow.group_id) & (PostRow.message_id == CommentRow.message_id),
            )
            .where(CommentRow.channel_id == channel_id)
        )
        return {
            row.CommentRow.message_id: (
                row.CommentRow.post_id,
                row.text,
                row.CommentRow.reply_to_comment_id,
                row.CommentRow.author_id,
            )
            for row in rows
        }


def expected_comments(discussion: FakeDiscussion) -> dict[int, tuple[int, str, int | None, int | None]]:
    found = {}
    for post_id, ids in discussion.threads.items():
        for message_id in ids:
            message = discussion.group.messages[message_id]
            parent = message.reply_to.reply_to_msg_id if message.reply_to.reply_to_top_id else None
            found[message_id] = (post_id, message.message, parent, message.from_id.user_id)
    return found


def test_1000_posts_with_5000_comments_on_300_are_archived_exactly_and_a_quiet_sync_asks_for_none(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    world = FakeTelegram()
    channel, discussion = channel_with_group(world, "talkative", 1000)
    commented = sorted(range(1, 1001, 3))[:300]
    add_comments(world, discussion, commented, 5000, seed=7)
    plan = ChannelPlan("@talkative", media=NO_MEDIA, refresh=WINDOW, comments=COMMENTS)

    run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))

    assert expected_comments(discussion) == archived_comments(unit_of_work, channel.id)
    assert 5000 == len(expected_comments(discussion))
    first_cost = world.count(GetRepliesRequest)
    threads = Counter(len(ids) for ids in discussion.threads.values())
    # one request per thread, one more per further 100 comments: nothing asked twice
    assert sum(count * (1 + (size - 1) // 100) for size, count in threads.items()) == first_cost
    with unit_of_work() as uow:
        group = uow.channels.get(discussion.group.id)
        assert group is not None and group.kind is ChannelKind.DISCUSSION
        assert [channel.id] == [c.id for c in uow.channels.list()], "the group is no channel of its own"
        assert 5000 == uow.posts.count(discussion.group.id), "the group's copies of posts are not comments"
        session = uow.posts._session  # type: ignore[attr-defined]
        users = {row.id: (row.name, row.username) for row in session.scalars(select(UserRow))}
        counts = uow.discussions.counts(channel.id)
    for user_id in {value[3] for value in expected_comments(discussion).values()}:
        user = world.users[user_id]
        assert users[user_id] == (" ".join(filter(None, (user.first_name, user.last_name))), user.username)
    assert {post_id: len(ids) for post_id, ids in discussion.threads.items()} == counts

    world.requests.clear()
    run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))
    assert 0 == world.count(GetRepliesRequest), "nothing changed: no thread is asked for"
    print(
        f"\nfirst sync: {first_cost} getReplies for 5000 comments; quiet sync: {len(world.requests)} requests"
    )


def test_new_comments_are_fetched_from_the_newest_archived_one_on(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    channel, discussion = channel_with_group(world, "growing", 20)
    people = commenters(world, 5)
    add_comments(world, discussion, [20], 150, users=people)
    plan = ChannelPlan("@growing", media=NO_MEDIA, comments=COMMENTS)
    run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))
    assert 2 == world.count(GetRepliesRequest)

    world.requests.clear()
    newest = discussion.thread_ids(20)[-1]
    first = discussion.add_comment(20, people[0], "one more", date=world.now())
    discussion.add_comment(20, people[1], "and a reply", date=world.now(), reply_to=first.id)
    run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))

    asked = [request for request in world.requests if isinstance(request, GetRepliesRequest)]
    assert 1 == len(asked)
    assert newest + 1 == asked[0].offset_id, "from the newest archived comment on"
    archived = archived_comments(unit_of_work, channel.id)
    assert 152 == len(archived)
    assert (20, "and a reply", first.id, people[1].id) == archived[first.id + 1]


def test_comments_on_a_year_old_post_are_found_by_the_audit(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    channel, discussion = channel_with_group(world, "oldnews", 300)
    people = commenters(world, 5)
    add_comments(world, discussion, [10, 250], 30, users=people)
    plan = ChannelPlan("@oldnews", media=NO_MEDIA, refresh=WINDOW, comments=COMMENTS)
    run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))
    assert 30 == len(archived_comments(unit_of_work, channel.id))

    world.advance(86400)
    late = discussion.add_comment(10, people[2], "a year later: this was right", date=world.now())
    first = discussion.add_comment(5, people[3], "first comment on a quiet post", date=world.now())
    run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))
    assert late.id not in archived_comments(unit_of_work, channel.id), "far outside the refresh window"

    world.requests.clear()
    outcome = run(
        world,
        unit_of_work,
        tmp_path,
        lambda a: Auditor(a, unit_of_work, clock=world.now).audit(plan, pause=0),
    )

    assert outcome.complete
    archived = archived_comments(unit_of_work, channel.id)
    assert (10, "a year later: this was right", None, people[2].id) == archived[late.id]
    assert (5, "first comment on a quiet post", None, people[3].id) == archived[first.id]
    assert 2 == world.count(GetRepliesRequest), "only the two threads whose header changed"


def test_an_edited_and_a_deleted_comment_are_recorded(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    channel, discussion = channel_with_group(world, "heated", 10)
    people = commenters(world, 3)
    added = add_comments(world, discussion, [9, 10], 12, users=people)
    plan = ChannelPlan(
        "@heated", media=NO_MEDIA, refresh=RefreshWindow(newest_posts=10, days=10_000), comments=COMMENTS
    )
    run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))

    world.advance(600)
    edited, deleted = added[1].id, added[4].id
    original, deleted_under = added[1].message, discussion.posts[added[4].id]
    world.edit_message(discussion.group, edited, "edited: I was wrong")
    world.delete_messages(discussion.group, [deleted])
    world.requests.clear()
    run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))

    group_id = discussion.group.id
    with unit_of_work() as uow:
        post = uow.posts.get(group_id, edited)
        assert post is not None and "edited: I was wrong" == post.text and post.edit_date is not None
        assert [original] == [revision.text for revision in uow.posts.revisions(group_id, edited)]
        gone = uow.posts.get(group_id, deleted)
        assert gone is not None and gone.deleted_at == world.now() and added[4].message == gone.text
        counts = uow.discussions.counts(channel.id)
        thread = uow.discussions.thread(channel.id, deleted_under)
    assert {9: len(discussion.thread_ids(9)), 10: len(discussion.thread_ids(10))} == counts
    assert deleted in [comment.post.message_id for comment in thread if comment.post.deleted_at is not None]
    assert 0 == world.count(GetRepliesRequest)
    assert 1 <= world.count(GetMessagesRequest)


def test_comments_off_or_no_group_asks_for_nothing(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    _channel, discussion = channel_with_group(world, "quiet", 5)
    add_comments(world, discussion, [5], 3, users=commenters(world, 2))
    plain = world.add_channel("plain")
    add_post(plain, "no discussion here")
    run(world, unit_of_work, tmp_path, lambda a: a.sync(ChannelPlan("@quiet", media=NO_MEDIA)))
    run(
        world,
        unit_of_work,
        tmp_path,
        lambda a: a.sync(ChannelPlan("@plain", media=NO_MEDIA, comments=COMMENTS)),
    )
    assert 0 == world.count(GetRepliesRequest)
    with unit_of_work() as uow:
        session = uow.posts._session  # type: ignore[attr-defined]
        assert 0 == session.scalar(select(func.count()).select_from(CommentRow))
        assert uow.channels.get(discussion.group.id) is None
