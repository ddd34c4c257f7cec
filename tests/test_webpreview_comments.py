"""Comments through the web source: Telegram's discussion widget, parsed, paged and archived.

The widget pages are hand-written in the widget's real structure (see ``fixtures/webpreview/discussion/
README.md`` for where that structure comes from), served by the local t.me stand-in.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, text
from structlog.testing import capture_logs
from tests.clocks import HandClock
from warcio.archiveiterator import ArchiveIterator

from tgvault.domain import Channel, ChannelKind, CommentAuthor, EntityKind, MediaStatus, SourceKind
from tgvault.errors import PageLayoutError, TgvaultError
from tgvault.export.site import SiteOptions, build_site
from tgvault.services.archiver import Archiver
from tgvault.services.plans import ChannelPlan, CommentsPlan
from tgvault.services.verify import verify_archive
from tgvault.sources.base import CommentThread, ThreadSource
from tgvault.sources.webpreview import WebClient, WebOptions, WebPreviewSource
from tgvault.sources.webpreview.comment_blocks import Thread
from tgvault.sources.webpreview.discussion import parse_more_answer, parse_widget_page
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.tables import Base
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.storage.warc_store import WarcArchive
from tgvault.testing.webpreview import FakeWebPreview

FIXTURES = Path(__file__).parent / "fixtures" / "webpreview"
WIDGETS = FIXTURES / "discussion"
NAME = "tgvault_webtest"
CHANNEL_ID = 1987654321
GROUP_ID = 1555000111
WIDGET_URL = f"https://t.me/{NAME}/35?embed=1&discussion=1&comments_limit=100"
ALL_COMMENTS = [2005, 2012, 2015, 2018, 2020, 2021, 2022, 2023, 2025]
NAMES = ["Anna W.", "anna_w", "Boris", "Mallory", "c_lara", "Clara", "Dmitri", "dmitri_k", "userpic"]

UoW = Callable[[], UnitOfWork]


def widget() -> str:
    return (WIDGETS / "widget-35.html").read_text(encoding="utf-8")


def first_page() -> Any:
    return parse_widget_page(widget(), url=WIDGET_URL, channel_id=CHANNEL_ID, post_id=35)


def Clock() -> HandClock:
    """A hand-moved clock at this file's start time."""
    return HandClock(datetime(2023, 3, 6, tzinfo=UTC))


@pytest.fixture
def preview() -> Iterator[FakeWebPreview]:
    fake = FakeWebPreview(page_size=6)
    fake.add_saved_page((FIXTURES / "tgvault_webtest.html").read_text())
    fake.set_discussion(NAME, 35, widget())
    for before in (2020, 2012):
        fake.set_comments_answer(before, (WIDGETS / f"more-{before}.json").read_text(encoding="utf-8"))
    with fake.running():
        yield fake


def web_source(fake: FakeWebPreview) -> WebPreviewSource:
    return WebPreviewSource(WebClient(WebOptions(base_url=fake.base_url, request_delay=0)))


def widget_requests(fake: FakeWebPreview) -> list[str]:
    return [seen.path for seen in fake.requests if "discussion=1" in seen.path or seen.form is not None]


# ---- the widget's markup ----------------------------------------------------------------------------


def test_a_widget_page_gives_its_group_its_thread_and_where_older_comments_are() -> None:
    page = first_page()

    assert (GROUP_ID, 2001, 12, 2020) == (page.group_id, page.top_id, page.count, page.before)
    assert page.load_more is not None and page.load_more.form(2020) == {
        "peer": "c1555000111_-4417828080545053944",
        "top_msg_id": "2001",
        "discussion_hash": "83c60ba1c7893cb3dd",
        "before_id": "2020",
        "method": "loadComments",
    }
    assert [2020, 2021, 2022, 2023, 2025] == [item.post.message_id for item in page.comments]
    assert ["a comment without a readable data-post-id ('20x24\"')"] == page.skipped
    assert {GROUP_ID} == {item.post.channel_id for item in page.comments}
    assert {SourceKind.WEB} == {item.post.source for item in page.comments}


def test_replies_to_comments_make_threads_and_replies_to_the_post_do_not() -> None:
    by_id = {item.post.message_id: item for item in first_page().comments}

    links = {key: item.comment for key, item in by_id.items()}
    assert all(
        link is not None and (CHANNEL_ID, 35) == (link.channel_id, link.post_id) for link in links.values()
    )
    parents = {key: link.reply_to_comment_id for key, link in links.items() if link is not None}
    assert {2020: None, 2021: 2020, 2022: 2021, 2023: None, 2025: None} == parents
    assert 2001 == by_id[2025].post.reply_to_message_id  # it quotes the group's copy of the post
    assert "Thanks for posting this 🙏\nSecond line" == by_id[2025].post.text


def test_authors_edits_media_and_reactions_as_the_widget_shows_them() -> None:
    by_id = {item.post.message_id: item for item in first_page().comments}

    anna, boris = by_id[2020].author, by_id[2021].author
    assert anna is not None and ("web", "Anna W.", "anna_w") == (anna.kind, anna.name, anna.username)
    assert by_id[2022].author == anna, "the same @username is the same author"
    assert boris is not None and ("Boris", None) == (boris.name, boris.username)
    assert anna.id != boris.id and all(2**54 <= author.id < 2**55 for author in (anna, boris))
    assert [True, False] == [by_id[i].post.raw["webpreview"]["edited"] for i in (2020, 2021)]
    assert by_id[2020].post.edit_date is None, "the widget shows that, not when"
    assert [("👍", 14)] == [(r.emoji, r.count) for r in by_id[2020].post.reactions]
    bold = [e for e in by_id[2020].post.entities if e.kind is EntityKind.BOLD]
    assert [(4, 6)] == [(e.offset, e.length) for e in bold]
    photo = by_id[2022].post.media
    assert photo is not None and "photo" == photo.kind.value
    assert by_id[2022].handle is not None
    assert "https://cdn4.telegram-cdn.org/file/comment-2022.jpg" == by_id[2022].handle.url


def test_hostile_comments_are_text_and_name_nobody_in_raw() -> None:
    by_id = {item.post.message_id: item for item in first_page().comments}

    mallory = by_id[2023]
    assert mallory.author is not None and mallory.author.username is None, "a link off Telegram names nobody"
    assert mallory.author.name.startswith('<script>alert("x")</script> Mallory'), "kept as text, never markup"
    assert "Click here  <iframe src=//evil>" == mallory.post.text
    # a link is data, as in a channel post (what shows it allows only http(s)/tg/mailto); nothing else is
    assert [EntityKind.TEXT_LINK] == [e.kind for e in mallory.post.entities]
    for item in by_id.values():
        html = item.post.raw["webpreview"]["html"]
        assert not [name for name in NAMES if name in html], item.post.message_id


def test_a_channel_without_a_public_discussion_says_why() -> None:
    for name, reason in (
        ("unavailable.html", "Discussion is not available at the moment."),
        ("private.html", "Please open Telegram to view this discussion from {name}."),
    ):
        page = parse_widget_page((WIDGETS / name).read_text(), url="u", channel_id=1, post_id=1)
        assert (None, reason, []) == (page.group_id, page.unavailable, page.comments)


def test_telegrams_words_for_no_discussion_cannot_steer_a_terminal() -> None:
    hostile = (WIDGETS / "unavailable.html").read_text().replace("at the moment.", "\x1b[2J\u202egnp.exe")

    page = parse_widget_page(hostile, url="u", channel_id=1, post_id=1)

    assert "Discussion is not available ?[2J?gnp.exe" == page.unavailable


@pytest.mark.parametrize(
    "html",
    ["<html><body><p>Nothing like a widget</p></body></html>", "<div class='js-message_history'></div>"],
)
def test_a_page_that_is_not_a_widget_is_a_layout_error(html: str) -> None:
    if "js-message_history" in html:
        page = parse_widget_page(html, url="u", channel_id=1, post_id=1)
        assert page.group_id is None and page.unavailable  # a thread but no form: no discussion offered
        return
    with pytest.raises(PageLayoutError, match="neither a discussion"):
        parse_widget_page(html, url="u", channel_id=1, post_id=1)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("<html>", "did not answer JSON"),
        ('{"ok": false, "error": "FLOOD"}', "refused"),
        ("{}", "comments_html"),
    ],
)
def test_a_broken_api_answer_is_a_layout_error(body: str, problem: str) -> None:
    with pytest.raises(PageLayoutError, match=problem):
        parse_more_answer(body, url="u", thread=Thread(CHANNEL_ID, 35, GROUP_ID, 2001))


# ---- reading threads through the web source ---------------------------------------------------------


def channel() -> Channel:
    return Channel(id=CHANNEL_ID, username=NAME, title="tgvault web test 📎")


def test_read_thread_follows_show_more_as_the_widget_does(preview: FakeWebPreview) -> None:
    source = web_source(preview)
    assert isinstance(source, ThreadSource)

    thread = asyncio.run(source.read_thread(channel(), 35))

    assert [item.post.message_id for item in thread.comments] == ALL_COMMENTS
    assert (True, 12) == (thread.complete, thread.count)
    group = source.discussion_group(channel())
    assert group is not None and (GROUP_ID, ChannelKind.DISCUSSION) == (group.id, group.kind)
    requests = [seen for seen in preview.requests if seen.form is not None]
    forms = [parse_qs(seen.form or "") for seen in requests]
    assert [["2020"], ["2012"]] == [form["before_id"] for form in forms]
    assert {"/api/method?api_hash=3f8a1c09b7d5e2a4"} == {seen.path for seen in requests}
    assert all(form["method"] == ["loadComments"] and form["top_msg_id"] == ["2001"] for form in forms)
    captures = {item.post.message_id: item.capture for item in thread.comments}
    assert all(capture is not None for capture in captures.values())
    first, older = captures[2025], captures[2018]
    assert first is not None and "GET" == first.method and b"data-post-id" in first.body
    assert older is not None and ("POST", True) == (older.method, b"before_id=2020" in older.request_body)


def test_a_thread_is_read_only_down_to_what_is_archived(preview: FakeWebPreview) -> None:
    thread = asyncio.run(web_source(preview).read_thread(channel(), 35, stop_at=2021))

    assert [2020, 2021, 2022, 2023, 2025] == [item.post.message_id for item in thread.comments]
    assert not thread.complete
    assert 1 == len(widget_requests(preview)), "no request for older comments"


def test_an_api_url_elsewhere_is_never_asked(preview: FakeWebPreview) -> None:
    hostile = widget().replace("https:\\/\\/t.me\\/api\\/method", "https:\\/\\/evil.example\\/api\\/method")
    preview.set_discussion(NAME, 35, hostile)

    thread = asyncio.run(web_source(preview).read_thread(channel(), 35))

    assert [2020, 2021, 2022, 2023, 2025] == [item.post.message_id for item in thread.comments]
    assert not thread.complete and 1 == len(widget_requests(preview))


def test_a_post_without_discussion_reads_as_unavailable(preview: FakeWebPreview) -> None:
    thread = asyncio.run(web_source(preview).read_thread(channel(), 34))

    assert CommentThread(34, None, [], unavailable="Discussion is not available at the moment.") == thread


# ---- into the archive (SQLite and PostgreSQL) ----------------------------------------------------------


def archiver(fake: FakeWebPreview, unit_of_work: UoW, media: Path, clock: Clock) -> Archiver:
    return Archiver(web_source(fake), unit_of_work, LocalMediaStore(media), clock=clock)


def plan(name: str = NAME, *, pseudonymous: bool = False) -> ChannelPlan:
    return ChannelPlan(key=f"@{name}", comments=CommentsPlan(pseudonymous=pseudonymous))


def test_a_sync_archives_the_widgets_comments_like_telegrams(
    preview: FakeWebPreview, unit_of_work: UoW, tmp_path: Path
) -> None:
    clock = Clock()
    asyncio.run(archiver(preview, unit_of_work, tmp_path / "media", clock).sync(plan()))

    with unit_of_work() as uow:
        thread = uow.discussions.thread(CHANNEL_ID, 35)
        group = uow.channels.get(GROUP_ID)
        counts = uow.discussions.counts(CHANNEL_ID)
    assert group is not None and ChannelKind.DISCUSSION == group.kind
    assert ALL_COMMENTS == [comment.post.message_id for comment in thread]
    assert {35: len(ALL_COMMENTS)} == counts
    by_id = {comment.post.message_id: comment for comment in thread}
    assert 2021 == by_id[2022].link.reply_to_comment_id and 2020 == by_id[2021].link.reply_to_comment_id
    anna = by_id[2020].author
    assert anna is not None and ("Anna W.", "anna_w", "web") == (anna.name, anna.username, anna.kind)
    photo, refused = by_id[2022].post.media, by_id[2023].post.media
    assert photo is not None and MediaStatus.DOWNLOADED == photo.status
    assert refused is not None and MediaStatus.DOWNLOADED != refused.status
    assert "refusing" in (refused.error or "")
    responses = list(WarcArchive(tmp_path / "media" / "warc").responses(GROUP_ID))
    assert 3 == len(responses), "the widget and the two answers of its API, as WARC records"
    requests = []
    for path in WarcArchive(tmp_path / "media" / "warc").channel_files(GROUP_ID):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "request":
                    requests.append((record.http_headers.protocol, record.content_stream().read()))
    assert ["GET", "POST", "POST"] == sorted(method for method, _ in requests)
    forms = sorted(body for method, body in requests if method == "POST")
    assert [b"before_id=2012", b"before_id=2020"] == [body.split(b"&")[3] for body in forms]
    assert all(b"discussion_hash=83c60ba1c7893cb3dd" in body for body in forms)
    report = verify_archive(
        unit_of_work,
        media_store=LocalMediaStore(tmp_path / "media"),
        warcs=WarcArchive(tmp_path / "media/warc"),
    )
    assert report.ok, report.findings
    with unit_of_work() as uow:
        assert GROUP_ID in uow.ledger.all_channels(), "the group's pages are in its ledger"


def test_an_edited_comment_becomes_a_revision_on_the_next_sync(
    preview: FakeWebPreview, unit_of_work: UoW, tmp_path: Path
) -> None:
    clock = Clock()
    asyncio.run(archiver(preview, unit_of_work, tmp_path / "media", clock).sync(plan()))
    preview.set_discussion(
        NAME,
        35,
        widget().replace("The EXIF says 2021.</div>\n", "The EXIF says 2022, sorry.</div>\n", 1),
    )
    clock.now += timedelta(hours=1)
    before = len(preview.requests)

    asyncio.run(archiver(preview, unit_of_work, tmp_path / "media", clock).sync(plan()))

    with unit_of_work() as uow:
        stored = uow.posts.get(GROUP_ID, 2021)
        revisions = uow.posts.revisions(GROUP_ID, 2021)
    assert stored is not None and "Are you sure? The EXIF says 2022, sorry." == stored.text
    assert ["Are you sure? The EXIF says 2021."] == [revision.text for revision in revisions]
    later = [seen for seen in preview.requests[before:] if seen.form is not None]
    assert [] == later, "only the newest page: the older comments are archived"


def test_pseudonymous_web_comments_keep_no_name_anywhere(
    preview: FakeWebPreview, unit_of_work: UoW, tmp_path: Path
) -> None:
    asyncio.run(archiver(preview, unit_of_work, tmp_path / "media", Clock()).sync(plan(pseudonymous=True)))

    with unit_of_work() as uow:
        session = uow.posts._session
        dump = "\n".join(
            str(tuple(row)) for table in Base.metadata.sorted_tables for row in session.execute(select(table))
        )
        thread = uow.discussions.thread(CHANNEL_ID, 35)
    assert ALL_COMMENTS == [comment.post.message_id for comment in thread]
    assert {"pseudonym"} == {comment.author.kind for comment in thread if comment.author is not None}
    assert [] == [name for name in NAMES if name in dump]
    assert [] == list(WarcArchive(tmp_path / "media" / "warc").responses(GROUP_ID)), "the pages name people"


def test_a_channel_without_comments_on_the_web_is_reported_and_the_others_carry_on(
    preview: FakeWebPreview, unit_of_work: UoW, tmp_path: Path
) -> None:
    other = preview.add_saved_page((FIXTURES / "infoscape_test-2022.html").read_text())
    with capture_logs() as logs:
        outcomes = asyncio.run(
            archiver(preview, unit_of_work, tmp_path / "media", Clock()).sync_many([plan(other), plan()])
        )

    assert [True, True] == [outcome.ok for outcome in outcomes]
    reported = [line for line in logs if line["event"] == "comments are not available on the web"]
    assert [("@infoscape_test", "Discussion is not available at the moment.")] == [
        (line["channel"], line["telegram_says"]) for line in reported
    ]
    asked = [path for path in widget_requests(preview) if path.startswith(f"/{other}/")]
    assert 1 == len(asked), "one widget says it; the channel's other posts are not asked"
    with unit_of_work() as uow:
        assert ALL_COMMENTS == [c.post.message_id for c in uow.discussions.thread(CHANNEL_ID, 35)]


def test_comment_json_fixtures_are_what_the_api_sends() -> None:
    for name in ("more-2020.json", "more-2012.json"):
        answer = json.loads((WIDGETS / name).read_text(encoding="utf-8"))
        assert {"ok", "comments_html", "comments_cnt"} <= set(answer)


def test_web_comments_show_on_the_site_like_telegrams_with_hostile_names_as_text(
    preview: FakeWebPreview, unit_of_work: UoW, tmp_path: Path
) -> None:
    asyncio.run(archiver(preview, unit_of_work, tmp_path / "media", Clock()).sync(plan()))

    build_site(unit_of_work, LocalMediaStore(tmp_path / "media"), SiteOptions(out_dir=tmp_path / "site"))

    page = next((tmp_path / "site").rglob("posts/35.html")).read_text(encoding="utf-8")
    assert "Anna W." in page and "Are you sure? The EXIF says 2021." in page
    assert "Here is the original print, dated on the back." in page and "Is this real?" in page
    assert "&lt;script&gt;alert(" in page and '<script>alert("x")' not in page
    assert "javascript:" not in page and "evil.example" not in page


def test_the_widget_and_its_api_are_paced_and_retried_like_every_page(preview: FakeWebPreview) -> None:
    sleeps: list[float] = []
    now = [1000.0]

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    preview.fail("/api/method", 429, headers={"Retry-After": "7"})
    client = WebClient(
        WebOptions(base_url=preview.base_url, request_delay=2.0), sleep=sleep, clock=lambda: now[0]
    )

    thread = asyncio.run(WebPreviewSource(client).read_thread(channel(), 35))

    assert thread.complete and ALL_COMMENTS == [item.post.message_id for item in thread.comments]
    assert [200, 429, 200, 200] == [seen.status for seen in preview.requests]
    assert 7.0 in sleeps, "Retry-After honoured"
    assert sleeps.count(2.0) >= 2, "request_delay between the widget's requests"


@pytest.mark.parametrize(
    "peer",
    ["c0_1", "c99999999999999_1", "u1555000111_1", "c1555000111", "c-5_1", "c1555000111_1&quot;x"],
)
def test_a_form_naming_no_usable_group_is_no_discussion(peer: str) -> None:
    html = widget().replace('value="c1555000111_-4417828080545053944"', f'value="{peer}"')

    page = parse_widget_page(html, url=WIDGET_URL, channel_id=CHANNEL_ID, post_id=35)

    assert (None, []) == (page.group_id, page.comments)


@pytest.mark.slow
def test_the_cli_archives_web_comments_and_says_when_a_channel_has_none(
    preview: FakeWebPreview, tmp_path: Path
) -> None:
    """The real command, no config: comments are on by default, and a channel without says so in one line."""
    other = preview.add_saved_page((FIXTURES / "infoscape_test-2022.html").read_text())
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    env.update(
        TGVAULT_WEB__BASE_URL=preview.base_url,
        TGVAULT_WEB__REQUEST_DELAY="0",
        TGVAULT_DATABASE__URL=f"sqlite:///{tmp_path / 'archive.db'}",
        TGVAULT_MEDIA__DIR=str(tmp_path / "media"),
    )

    result = subprocess.run(
        [sys.executable, "-m", "tgvault", "sync", f"@{other}", f"@{NAME}", "--source", "web"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert 0 == result.returncode, result.stderr
    assert "Traceback" not in result.stderr
    notice = [line for line in result.stderr.splitlines() if "comments are not available on the web" in line]
    assert 1 == len(notice) and f"@{other}" in notice[0], result.stderr
    assert "Discussion is not available at the moment." in notice[0]
    engine = create_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    try:
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT message_id FROM comments WHERE channel_id = :c ORDER BY message_id"),
                {"c": CHANNEL_ID},
            )
            assert ALL_COMMENTS == [row[0] for row in found]
    finally:
        engine.dispose()


def test_a_comment_known_from_telegram_keeps_its_author_when_the_widget_reads_it(
    preview: FakeWebPreview, unit_of_work: UoW, tmp_path: Path
) -> None:
    clock = Clock()
    asyncio.run(archiver(preview, unit_of_work, tmp_path / "media", clock).sync(plan()))
    with unit_of_work() as uow:
        uow.discussions.save_authors([CommentAuthor(id=777, name="Anna Weber", username="anna_w")])
        link = uow.discussions.group_links(GROUP_ID, [2020])[2020]
        uow.discussions.link([link.model_copy(update={"author_id": 777})])
        uow.commit()
    clock.now += timedelta(hours=1)

    asyncio.run(archiver(preview, unit_of_work, tmp_path / "media", clock).sync(plan()))

    with unit_of_work() as uow:
        by_id = {c.post.message_id: c for c in uow.discussions.thread(CHANNEL_ID, 35)}
    assert by_id[2020].author == CommentAuthor(id=777, name="Anna Weber", username="anna_w")
    assert by_id[2021].author is not None and "web" == by_id[2021].author.kind


def test_a_sync_where_nothing_changed_asks_one_widget_per_refresh_post_and_no_older_page(
    preview: FakeWebPreview, unit_of_work: UoW, tmp_path: Path
) -> None:
    clock = Clock()
    asyncio.run(archiver(preview, unit_of_work, tmp_path / "media", clock).sync(plan()))
    first = len(preview.requests)
    clock.now += timedelta(hours=1)

    counts = asyncio.run(archiver(preview, unit_of_work, tmp_path / "media", clock).sync(plan()))

    later = preview.requests[first:]
    widgets = [seen for seen in later if "discussion=1" in seen.path]
    assert 33 == len(widgets), "the refresh window: the channel's 33 posts"
    assert [] == [seen for seen in later if seen.form is not None]
    assert (0, 0) == (counts.posts_added, counts.posts_edited)
    with unit_of_work() as uow:
        assert ALL_COMMENTS == [c.post.message_id for c in uow.discussions.thread(CHANNEL_ID, 35)]


_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=20)
_VALUE = st.one_of(
    _TEXT, st.sampled_from(["", "0", "2020", "9" * 40, "²", "١٢", "-1", "c1_1", "c1555000111_-1"])
).map(lambda value: value.replace('"', "&quot;"))


@st.composite
def widget_pages(draw: st.DrawFn) -> str:
    page = widget()
    for old in ('data-post-id="2021"', 'data-reply-to="2020"', 'data-before="2020"', 'value="2001"'):
        name = old.split("=")[0]
        page = page.replace(old, f'{name}="{draw(_VALUE)}"', 1)
    page = page.replace('value="c1555000111_-4417828080545053944"', f'value="{draw(_VALUE)}"')
    page = page.replace('datetime="2023-03-05T10:07:30+00:00"', f'datetime="{draw(_VALUE)}"')
    page = page.replace("Are you sure? The EXIF says 2021.", draw(_TEXT).replace("<", "&lt;"))
    page = page.replace(
        '"comments_cnt":12', f'"comments_cnt":{draw(st.sampled_from(["12", "-1", "1e99", "{"]))}'
    )
    return page


@settings(derandomize=True, database=None, deadline=None, max_examples=150)
@given(page=widget_pages())
def test_any_widget_page_is_read_or_refused_with_a_tgvault_error(page: str) -> None:
    try:
        parsed = parse_widget_page(page, url=WIDGET_URL, channel_id=CHANNEL_ID, post_id=35)
    except TgvaultError as exc:
        assert "\n" not in str(exc)
        return
    for item in parsed.comments:
        item.post.text.encode("utf-8")
