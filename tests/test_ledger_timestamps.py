"""RFC 3161 timestamps of the ledger heads from a local TSA (openssl ts -reply over HTTP on 127.0.0.1):
stamped after entries were appended, checked offline by verify, a swapped or altered token caught."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.test_ledger import CHANNEL, T0, archive_with_history, make_post
from tests.tsa_support import LocalTsa, local_tsa

from tgvault.errors import SourceError
from tgvault.services.timestamps import TimestampAuthority, stamp_heads
from tgvault.services.verify import verify_archive
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[LocalTsa]:
    with local_tsa(tmp_path / "tsa") as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> LocalMediaStore:
    media = LocalMediaStore(tmp_path / "media")
    media.prepare()
    return media


def authority(tsa: LocalTsa) -> TimestampAuthority:
    return TimestampAuthority.from_files(tsa.url, tsa.ca_file)


def test_heads_are_stamped_once_per_change_and_verify_offline(
    unit_of_work: UoW, store: LocalMediaStore, tsa: LocalTsa, tmp_path: Path
) -> None:
    archive_with_history(unit_of_work, store)
    assert stamp_heads(unit_of_work, authority(tsa)) == 1
    assert stamp_heads(unit_of_work, authority(tsa)) == 0  # nothing appended since: no new token
    with unit_of_work() as uow:
        uow.posts.upsert_many([make_post(9)], T0 + timedelta(days=1))
        uow.commit()
    assert stamp_heads(unit_of_work, authority(tsa)) == 1
    assert tsa.answered == 2
    with unit_of_work() as uow:
        stamps = uow.ledger.stamps(CHANNEL.id)
        head = uow.ledger.head(CHANNEL.id)
    assert [(s.seq, s.entry_sha256) for s in stamps][-1] == head
    report = verify_archive(unit_of_work, media_store=store)  # the TSA plays no part in verifying
    assert (report.findings, report.timestamps) == ([], 2)
    # The token is a standard RFC 3161 response over the entry hash: openssl alone checks it.
    (tmp_path / "head.tsr").write_bytes(stamps[-1].token)
    checked = subprocess.run(
        ["openssl", "ts", "-verify", "-digest", head[1], "-in", "head.tsr", "-CAfile", str(tsa.ca_file)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Verification: OK" in checked.stdout, checked.stderr


def tamper(uow_factory: UoW, statement: str) -> None:
    with uow_factory() as uow:
        uow.ledger._session.execute(text(statement))
        uow.commit()


def test_a_swapped_or_altered_token_is_found(
    unit_of_work: UoW, store: LocalMediaStore, tsa: LocalTsa
) -> None:
    archive_with_history(unit_of_work, store)
    stamp_heads(unit_of_work, authority(tsa))
    with unit_of_work() as uow:
        uow.posts.upsert_many([make_post(9)], T0 + timedelta(days=1))
        uow.commit()
    stamp_heads(unit_of_work, authority(tsa))
    with unit_of_work() as uow:
        first, second = uow.ledger.stamps(CHANNEL.id)
    # the second entry's token put in the place of the first one's
    tamper(
        unit_of_work,
        f"UPDATE ledger_timestamps SET token = (SELECT token FROM ledger_timestamps WHERE seq = {second.seq}) WHERE seq = {first.seq}",
    )
    found = [f.describe() for f in verify_archive(unit_of_work).findings]
    assert found == [
        f"channel 1001 entry {first.seq}: its RFC 3161 token does not check: Mismatch between messages"
    ]
    # a token moved to another entry, with that entry's hash
    tamper(unit_of_work, f"UPDATE ledger_timestamps SET seq = 3 WHERE seq = {second.seq}")
    found = [f.describe() for f in verify_archive(unit_of_work).findings]
    assert (
        "channel 1001 entry 3: its timestamp was taken over another entry hash than the chain holds" in found
    )


def test_a_token_from_another_authority_is_refused(
    unit_of_work: UoW, store: LocalMediaStore, tmp_path: Path
) -> None:
    archive_with_history(unit_of_work, store)
    with local_tsa(tmp_path / "one") as one, local_tsa(tmp_path / "other") as other:
        stamp_heads(unit_of_work, authority(one))
        other_ca = other.ca_file.read_bytes()
    with unit_of_work() as uow:
        uow.ledger._session.execute(
            text("UPDATE ledger_timestamps SET tsa_certificate = :ca"), {"ca": other_ca}
        )
        uow.commit()
    found = [f.describe() for f in verify_archive(unit_of_work).findings]
    assert len(found) == 1 and "its RFC 3161 token does not check" in found[0]


def test_a_tsa_that_cannot_be_reached_is_one_clear_error(
    unit_of_work: UoW, store: LocalMediaStore, tsa: LocalTsa
) -> None:
    archive_with_history(unit_of_work, store)
    unreachable = TimestampAuthority("http://127.0.0.1:9/tsr", tsa.ca_file.read_bytes(), timeout=2)
    with pytest.raises(SourceError, match="cannot be reached"):
        stamp_heads(unit_of_work, unreachable)
    with unit_of_work() as uow:
        assert uow.ledger.stamps(CHANNEL.id) == []


def test_a_tsa_url_needs_its_ca_certificate() -> None:
    from pydantic import ValidationError

    from tgvault.config import Settings

    with pytest.raises(ValidationError, match="tsa_url needs tsa_ca_file"):
        Settings(ledger={"tsa_url": "https://freetsa.org/tsr"})
    with pytest.raises(ValidationError, match="not an http"):
        Settings(ledger={"tsa_url": "ftp://freetsa.org/tsr", "tsa_ca_file": "ca.pem"})
    assert Settings().ledger.tsa_url is None  # off by default
