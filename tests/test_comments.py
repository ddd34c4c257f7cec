"""Discussion comments: a channel's linked group archived through real Telethon code against the fake
Telegram, into real SQLite and PostgreSQL; what each sync costs in requests."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from telethon import TelegramClient
from telethon.sessions import StringSession
from telethon.tl import types
from telethon.tl.functions.channels import GetMessagesRequest
from telethon.tl.functions.messages import GetRepliesRequest

from tgvault.domain import ChannelKind
from tgvault.export.desktop_json import export_channel_json
from tgvault.export.site import SiteOptions, build_site
from tgvault.services.archiver import Archiver
from tgvault.services.audit import Auditor
from tgvault.services.plans import NO_MEDIA, ChannelPlan, CommentsPlan, RefreshWindow
from tgvault.sources.telegram import TelegramSource
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.tables import Base, CommentRow, PostRow, UserRow
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing import (
    FAKE_API_HASH,
    FAKE_API_ID,
    FakeChannel,
    FakeTelegram,
    add_post,
    fake_client,
    photo_media,
)
from tgvault.testing.content.comments import add_comments, commenters
from tgvault.testing.fake_telegram.discussions import FakeDiscussion
from tgvault.testing.fake_telegram.rpc import rpc_error, unwrap
from tgvault.testing.mtproto_server import LoopbackTelegramServer

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


def test_export_json_carries_each_posts_comments_and_the_group_exports_on_its_own(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    world = FakeTelegram()
    channel, discussion = channel_with_group(world, "exported", 4)
    ana, bo = world.add_user("Ana", "Lima", username="ana_l"), world.add_user("Bo", "")
    first = discussion.add_comment(4, ana, "first", date=world.now() - timedelta(minutes=9))
    second = discussion.add_comment(
        4, bo, "a reply", date=world.now() - timedelta(minutes=8), reply_to=first.id
    )
    plan = ChannelPlan("@exported", media=NO_MEDIA, comments=COMMENTS)
    run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))
    world.edit_message(discussion.group, first.id, "first (edited)")
    world.delete_messages(discussion.group, [second.id])
    run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))

    store = LocalMediaStore(tmp_path / "media")
    with unit_of_work() as uow:
        found = uow.channels.get(channel.id)
        group = uow.channels.get(discussion.group.id)
        assert found is not None and group is not None
        export_channel_json(uow, found, tmp_path / "channel", store)
        export_channel_json(uow, group, tmp_path / "group", store)
    exported = json.loads((tmp_path / "channel" / "result.json").read_text(encoding="utf-8"))
    posts = {message["id"]: message for message in exported["messages"]}
    assert "comments" not in posts[3]["tgvault"]
    comments = posts[4]["tgvault"]["comments"]
    assert [first.id, second.id] == [comment["id"] for comment in comments]
    top, reply = comments
    assert ("Ana Lima", f"user{ana.id}", "first (edited)") == (top["from"], top["from_id"], top["text"])
    assert "reply_to_message_id" not in top, "a comment on the post itself answers no comment"
    assert "edited_unixtime" in top and ["first"] == [r["text"] for r in top["tgvault"]["revisions"]]
    assert first.id == reply["reply_to_message_id"] and (f"user{bo.id}", "a reply") == (
        reply["from_id"],
        reply["text"],
    )
    assert reply["tgvault"]["deleted"] and reply["tgvault"]["deleted_at"]
    assert {"id", "type", "date", "date_unixtime", "text_entities"} <= set(top)
    alone = json.loads((tmp_path / "group" / "result.json").read_text(encoding="utf-8"))
    assert ("private_supergroup", discussion.group.id) == (alone["type"], alone["id"])
    assert [("Ana Lima", f"user{ana.id}"), ("Bo", f"user{bo.id}")] == [
        (message["from"], message["from_id"]) for message in alone["messages"]
    ]


def test_pseudonymous_mode_stores_no_name_or_user_id_anywhere(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    channel, discussion = channel_with_group(world, "private_people", 3)
    zed = world.add_user("Zebediah", "Quartermaine", username="zeb_quarter")
    yo = world.add_user("Yolanda", "Marchetti", username="yoyo_march")
    at = world.now() - timedelta(minutes=30)
    photo = photo_media(discussion.group, size=25_000, seed=5)
    first = discussion.add_comment(3, zed, "I was there", date=at, media=photo)
    mention = [types.MessageEntityMentionName(offset=0, length=3, user_id=zed.id)]
    discussion.add_comment(3, yo, "you? really", date=at, reply_to=first.id, entities=mention)
    discussion.add_comment(2, zed, "again me", date=at)
    plan = ChannelPlan("@private_people", media=NO_MEDIA, comments=CommentsPlan(pseudonymous=True))
    run(world, unit_of_work, tmp_path / "media", lambda a: a.sync(plan))
    world.edit_message(discussion.group, first.id, "I was there, honestly")
    run(
        world, unit_of_work, tmp_path / "media", lambda a: a.sync(plan)
    )  # re-read for the edit: scrubbed as well

    secrets = [
        str(zed.id),
        str(yo.id),
        "Zebediah",
        "Quartermaine",
        "zeb_quarter",
        "Yolanda",
        "Marchetti",
        "yoyo",
    ]
    with unit_of_work() as uow:
        session = uow.posts._session  # type: ignore[attr-defined]
        dump = []
        for table in Base.metadata.sorted_tables:
            dump.extend(str(tuple(row)) for row in session.execute(select(table)))
        threads = uow.discussions.threads(channel.id, [2, 3])
        found = uow.channels.get(channel.id)
        group = uow.channels.get(discussion.group.id)
        assert found is not None and group is not None
        export_channel_json(uow, found, tmp_path / "export", LocalMediaStore(tmp_path / "media"))
        export_channel_json(uow, group, tmp_path / "group", LocalMediaStore(tmp_path / "media"))
    assert 4 <= len(dump) and "I was there, honestly" in "\n".join(dump)
    authors = [comment.author for thread in threads.values() for comment in thread]
    assert all(author is not None and author.kind == "pseudonym" for author in authors)
    assert threads[3][0].author == threads[2][0].author, "the same person is the same pseudonym"
    assert threads[3][0].author != threads[3][1].author
    assert threads[3][1].post.entities[0].user_id == threads[3][0].author.id  # type: ignore[union-attr]
    assert any(p.name.endswith(".jpg") for p in (tmp_path / "media").rglob("*")), "the photo was stored"
    build_site(unit_of_work, LocalMediaStore(tmp_path / "media"), SiteOptions(out_dir=tmp_path / "site"))
    page = next((tmp_path / "site").rglob("posts/3.html")).read_text(encoding="utf-8")
    assert "Commenter " in page and "I was there, honestly" in page
    places = {
        "database": "\n".join(dump),
        "media names": "\n".join(str(p) for p in (tmp_path / "media").rglob("*")),
        "site": "\n".join(p.read_text(encoding="utf-8") for p in (tmp_path / "site").rglob("*.html")),
        "export": (tmp_path / "export/result.json").read_text(encoding="utf-8")
        + (tmp_path / "group/result.json").read_text(encoding="utf-8"),
    }
    leaks = [(place, secret) for place, text in places.items() for secret in secrets if secret in text]
    assert [] == leaks


def test_an_incremental_site_build_shows_new_and_edited_comments(unit_of_work: UoW, tmp_path: Path) -> None:
    world = FakeTelegram()
    channel, discussion = channel_with_group(world, "livelysite", 3)
    ana = world.add_user("Ana", "Lima")
    at = world.now() - timedelta(minutes=30)
    first = discussion.add_comment(3, ana, "first words", date=at)
    plan = ChannelPlan("@livelysite", media=NO_MEDIA, comments=COMMENTS)
    store = LocalMediaStore(tmp_path / "media")
    options = SiteOptions(out_dir=tmp_path / "site")
    run(world, unit_of_work, tmp_path / "media", lambda a: a.sync(plan))
    build_site(unit_of_work, store, options)
    page = tmp_path / "site" / "c" / str(channel.id) / "posts" / "3.html"
    assert "first words" in page.read_text(encoding="utf-8")

    world.advance(60)
    world.edit_message(discussion.group, first.id, "second thoughts")
    run(world, unit_of_work, tmp_path / "media", lambda a: a.sync(plan))
    build_site(unit_of_work, store, options)
    assert "second thoughts" in page.read_text(encoding="utf-8"), "an edit alone re-renders the page"

    world.advance(60)
    discussion.add_comment(3, ana, "and a new one", date=world.now())
    run(world, unit_of_work, tmp_path / "media", lambda a: a.sync(plan))
    build_site(unit_of_work, store, options)
    text = page.read_text(encoding="utf-8")
    assert "and a new one" in text and '<h2 id="comments-title">2 comments</h2>' in text

    hidden = SiteOptions(out_dir=tmp_path / "site", comments_hidden=("livelysite",))
    build_site(unit_of_work, store, hidden)  # comments = false set later: every page without them
    assert all(
        "comment" not in p.read_text(encoding="utf-8") for p in (tmp_path / "site" / "c").rglob("*.html")
    )


def test_comments_over_the_loopback_mtproto_server(unit_of_work: UoW, tmp_path: Path) -> None:
    """The same, with every request and answer serialized over a real MTProto socket."""
    world = FakeTelegram()
    channel, discussion = channel_with_group(world, "oversocket", 30)
    add_comments(world, discussion, [10, 30], 260, users=commenters(world, 20))
    plan = ChannelPlan("@oversocket", media=NO_MEDIA, comments=COMMENTS)

    async def go() -> None:
        async with LoopbackTelegramServer(world.handle, auth_key=world.auth_key) as server:
            world.port = server.port
            client = TelegramClient(StringSession(server.session_string()), FAKE_API_ID, FAKE_API_HASH)
            await client.connect()
            try:
                archiver = Archiver(
                    TelegramSource(client, request_delay=0),
                    unit_of_work,
                    LocalMediaStore(tmp_path),
                    clock=world.now,
                )
                await archiver.sync(plan)
            finally:
                await client.disconnect()
            assert [] == server.handler_errors

    asyncio.run(go())
    assert expected_comments(discussion) == archived_comments(unit_of_work, channel.id)
    sizes = [len(ids) for ids in discussion.threads.values()]
    assert sum(1 + (size - 1) // 100 for size in sizes) == world.count(GetRepliesRequest)


class FailingOnce(FakeTelegram):
    """A Telegram whose ``after``-th ``getReplies`` fails once (the run stops there, as if killed)."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.left = after

    async def handle(self, request: Any) -> Any:
        if isinstance(unwrap(request), GetRepliesRequest):
            self.left -= 1
            if self.left == 0:
                raise rpc_error(unwrap(request), "CHANNEL_PRIVATE")
        return await super().handle(request)


def test_comments_that_cannot_be_read_midway_are_completed_by_the_next_run_with_no_duplicate_or_gap(
    unit_of_work: UoW, tmp_path: Path
) -> None:
    world = FailingOnce(after=40)
    channel, discussion = channel_with_group(world, "stopped", 200)
    add_comments(world, discussion, list(range(100, 200)), 900, users=commenters(world, 30))
    plan = ChannelPlan("@stopped", media=NO_MEDIA, comments=COMMENTS)
    first = run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))
    assert 200 == first.posts_added, "the channel's own sync stands when its comments cannot be read"
    partial = archived_comments(unit_of_work, channel.id)
    assert 0 < len(partial) < 900
    world.requests.clear()
    run(world, unit_of_work, tmp_path, lambda a: a.sync(plan))
    assert expected_comments(discussion) == archived_comments(unit_of_work, channel.id)
    with unit_of_work() as uow:
        assert 900 == uow.posts.count(discussion.group.id)
    sizes = [len(discussion.thread_ids(post_id)) for post_id in range(100, 200)]
    done = {post_id for _message_id, (post_id, *_rest) in partial.items()}
    assert world.count(GetRepliesRequest) <= sum(1 + (s - 1) // 100 for s in sizes) - len(done) + 2


def test_the_authors_of_comments_read_by_get_replies_are_named(unit_of_work: UoW, tmp_path: Path) -> None:
    """The names come from the getReplies answer's users and chats (no private Telethon call fills them)."""
    world = FakeTelegram()
    channel, discussion = channel_with_group(world, "named_people", 2)
    ana = world.add_user("Ana", "Lima", username="ana_l")
    at = world.now() - timedelta(minutes=5)
    discussion.add_comment(2, ana, "hello", date=at)
    discussion.add_comment(2, world.add_user("Bo", ""), "me too", date=at)
    plan = ChannelPlan("@named_people", media=NO_MEDIA, comments=COMMENTS)
    run(world, unit_of_work, tmp_path / "media", lambda a: a.sync(plan))  # one sync: getReplies only
    with unit_of_work() as uow:
        thread = uow.discussions.thread(channel.id, 2)
    assert [("user", "Ana Lima", "ana_l"), ("user", "Bo", None)] == [
        (c.author.kind, c.author.name, c.author.username) for c in thread if c.author is not None
    ]
