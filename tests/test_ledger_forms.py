"""The ledger's canonical form 2 covers a post's poll and link preview; entries in form 1 still verify.

Real SQLite and PostgreSQL: a poll or preview changed by SQL (current state or an earlier revision) is
found; an archive whose entries were written in form 1 (the ledger's backfill) verifies after the upgrade,
and its later entries are in form 2.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.test_ledger import findings, run_sql
from tests.test_storage import CHANNEL, T0, UoW, make_post

from tgvault.domain import Poll, PollAnswer, WebPagePreview
from tgvault.services.verify import verify_archive
from tgvault.storage.ledger_records import VERSION, revision_record
from tgvault.storage.unit_of_work import UnitOfWork

POLL = Poll(
    question="Lunch?",
    answers=(PollAnswer(text="Yes", voters=7), PollAnswer(text="No", voters=2)),
    total_voters=9,
    closed=True,
)
PREVIEW = WebPagePreview(url="https://example.org/a", title="A page", description="What it says")


def archive_with_attachments(uow_factory: UoW) -> None:
    """Post 1 with a poll, post 2 with a link preview, post 3 whose preview was edited (revision 1 keeps
    the first one)."""
    with uow_factory() as uow:
        uow.channels.upsert(CHANNEL, T0)
        uow.posts.upsert_many(
            [make_post(1, poll=POLL), make_post(2, web_page=PREVIEW), make_post(3, web_page=PREVIEW)], T0
        )
        uow.commit()
    edited = PREVIEW.model_copy(update={"title": "A page, retitled"})
    with uow_factory() as uow:
        uow.posts.upsert_many([make_post(3, web_page=edited)], T0 + timedelta(hours=1))
        uow.commit()


def test_the_state_record_holds_poll_and_preview_in_form_2_only() -> None:
    poll = POLL.model_dump(mode="json", exclude_defaults=True)
    form_2 = revision_record(1, 2, "hi", [], None, poll, None)
    assert VERSION == 2
    assert (form_2["v"], form_2["poll"]["answers"][0]["voters"], form_2["web_page"]) == (2, 7, None)
    form_1 = revision_record(1, 2, "hi", [], None, poll, None, form=1)
    assert form_1 == {
        "v": 1,
        "channel_id": 1,
        "message_id": 2,
        "text": "hi",
        "entities": [],
        "edit_date": None,
    }


def test_an_archive_with_polls_and_previews_verifies(unit_of_work: UoW) -> None:
    archive_with_attachments(unit_of_work)
    with unit_of_work() as uow:
        entries = list(uow.ledger.entries(CHANNEL.id))
    assert {e.form_version for e in entries} == {2}
    assert findings(unit_of_work) == []


TAMPERING = {
    "poll results changed": (
        """UPDATE posts SET poll = '{"question": "Lunch?", "answers": [{"text": "Yes", "voters": 1}, """
        """{"text": "No", "voters": 8}], "total_voters": 9, "closed": true}' WHERE message_id = 1""",
        "channel 1001 post 1 entry 2: text, formatting, edit date, poll or link preview differ",
    ),
    "poll reopened": (
        """UPDATE posts SET poll = '{"question": "Lunch?", "answers": [{"text": "Yes", "voters": 7}, """
        """{"text": "No", "voters": 2}], "total_voters": 9}' WHERE message_id = 1""",
        "channel 1001 post 1 entry 2: text, formatting, edit date, poll or link preview differ",
    ),
    "link preview changed": (
        """UPDATE posts SET web_page = '{"url": "https://example.org/elsewhere", "title": "A page"}' """
        "WHERE message_id = 2",
        "channel 1001 post 2 entry 4: text, formatting, edit date, poll or link preview differ",
    ),
    "earlier preview changed": (
        """UPDATE post_revisions SET web_page = '{"url": "https://example.org/b"}' WHERE message_id = 3""",
        "channel 1001 post 3: revision 1 differs from every state the ledger recorded",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_a_poll_or_link_preview_changed_by_sql_is_found(unit_of_work: UoW, case: str) -> None:
    archive_with_attachments(unit_of_work)
    statement, expected = TAMPERING[case]
    run_sql(unit_of_work, statement)
    found = findings(unit_of_work)
    assert any(line.startswith(expected) for line in found), found


def test_entries_in_form_1_still_verify_after_the_upgrade(database_url: str, tmp_path: Path) -> None:
    from alembic import command

    from tgvault.storage.database import create_archive_engine, make_session_factory
    from tgvault.storage.schema import alembic_config, upgrade

    engine = create_archive_engine(database_url)
    try:
        upgrade(engine)
        factory = make_session_factory(engine)

        def uow_factory() -> UnitOfWork:
            return UnitOfWork(factory)

        archive_with_attachments(uow_factory)
        config = alembic_config()
        with engine.begin() as connection:  # back to an archive from before the ledger
            config.attributes["connection"] = connection
            command.downgrade(config, "0009")
        upgrade(engine)  # the ledger's backfill writes form 1; 0012 adds the form and the revisions' columns
        with uow_factory() as uow:
            backfilled = list(uow.ledger.entries(CHANNEL.id))
        assert {e.form_version for e in backfilled} == {1}
        assert verify_archive(uow_factory).findings == []
        with uow_factory() as uow:  # an edit after the upgrade: its entries are in form 2
            uow.posts.upsert_many([make_post(1, "hello, edited", poll=POLL)], datetime.now(UTC))
            uow.commit()
        with uow_factory() as uow:
            later = list(uow.ledger.entries(CHANNEL.id))[len(backfilled) :]
        assert later and {e.form_version for e in later} == {2}
        assert verify_archive(uow_factory).findings == []
        run_sql(uow_factory, "UPDATE post_revisions SET text = 'never said' WHERE message_id = 1")
        found = [f.describe() for f in verify_archive(uow_factory).findings]
        assert any("post 1: revision 1 differs" in line for line in found), found
    finally:
        engine.dispose()
