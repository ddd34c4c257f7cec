"""A TSA that embeds its whole certificate chain in each reply (its own certificate and an intermediate CA,
`certs =` in `openssl ts`'s configuration), as public TSAs do: its tokens are taken, kept as sent and
checked offline against the root CA alone, by `verify`, `verify --bundle` and `openssl ts -verify`; a
token altered or checked against another root still fails. (Real SQLite and PostgreSQL.)"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.test_ledger import CHANNEL, archive_with_history
from tests.tsa_support import LocalTsa, local_tsa, make_authority

from tgvault.export.evidence import export_evidence
from tgvault.services.evidence_check import verify_bundle
from tgvault.services.timestamps import TimestampAuthority, in_der_order, stamp_heads, token_problem
from tgvault.services.verify import verify_archive
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]


@pytest.fixture
def chained(tmp_path: Path) -> Iterator[LocalTsa]:
    with local_tsa(tmp_path / "tsa", chain=True) as running:
        yield running


def embedded_subjects(token: bytes, folder: Path) -> list[str]:
    (folder / "r.tsr").write_bytes(token)
    subprocess.run(
        ["openssl", "ts", "-reply", "-in", "r.tsr", "-token_out", "-out", "t.der"], cwd=folder, check=True
    )
    shown = subprocess.run(
        ["openssl", "pkcs7", "-inform", "DER", "-in", "t.der", "-print_certs", "-noout"],
        cwd=folder,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [line for line in shown.splitlines() if line.startswith("subject=")]


def test_a_tsa_sending_its_whole_chain_is_stamped_and_checked_offline(
    unit_of_work: UoW, chained: LocalTsa, tmp_path: Path
) -> None:
    store = LocalMediaStore(tmp_path / "media")
    store.prepare()
    archive_with_history(unit_of_work, store)
    assert stamp_heads(unit_of_work, TimestampAuthority.from_files(chained.url, chained.ca_file)) == 1
    with unit_of_work() as uow:
        (stamp,) = uow.ledger.stamps(CHANNEL.id)
    assert len(embedded_subjects(stamp.token, tmp_path)) == 2  # the TSA's and the intermediate CA's
    assert in_der_order(stamp.token) != stamp.token  # as OpenSSL writes it: not in DER order; kept as sent
    report = verify_archive(unit_of_work, media_store=store)
    assert (report.findings, report.timestamps) == ([], 1)
    (tmp_path / "head.tsr").write_bytes(stamp.token)
    checked = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-digest",
            stamp.entry_sha256,
            "-in",
            "head.tsr",
            "-CAfile",
            str(chained.ca_file),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Verification: OK" in checked.stdout, checked.stderr
    with unit_of_work() as uow:
        folder = tmp_path / "bundle"
        export_evidence(uow, CHANNEL.id, 1, folder, store, made_at="2026-12-07T12:00:00Z")
    bundle = verify_bundle(folder)
    assert bundle.problems == [] and bundle.stamped

    # still refused: another root, another hash, a token altered
    other = tmp_path / "other"
    make_authority(other, "someone else")
    assert token_problem(stamp.token, (other / "ca.pem").read_bytes(), stamp.entry_sha256) is not None
    assert token_problem(stamp.token, chained.ca_file.read_bytes(), "0" * 64) is not None
    with unit_of_work() as uow:
        forged = bytearray(stamp.token)
        forged[-40] ^= 1  # inside the signature
        uow.ledger._session.execute(
            text("UPDATE ledger_timestamps SET token = :token"), {"token": bytes(forged)}
        )
        uow.commit()
    found = [f.describe() for f in verify_archive(unit_of_work).findings]
    assert any("its RFC 3161 token does not check" in line for line in found), found
