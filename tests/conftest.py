"""Shared fixtures: real SQLite files and a real PostgreSQL database per test; a fake Telegram behind
the loopback MTProto server (``world`` and ``server``; a test module overrides ``world`` to shape it).

PostgreSQL tests run when TGVAULT_TEST_POSTGRES_URL names a server where we may create databases
(e.g. postgresql://postgres@127.0.0.1:5432/postgres). With TGVAULT_TEST_NO_SKIP=1 (set by .ci/run)
every skipped test counts as a failure, so nothing quietly stops being tested.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.schema import upgrade
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.testing.fake_telegram import FakeTelegram
from tgvault.testing.mtproto_server import LoopbackTelegramServer, ServerThread

POSTGRES_ENV = "TGVAULT_TEST_POSTGRES_URL"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI (TGVAULT_TEST_NO_SKIP=1) a skipped test is a failed test."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if os.environ.get("TGVAULT_TEST_NO_SKIP") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, but TGVAULT_TEST_NO_SKIP=1 forbids skips: {report.longrepr}"


def postgres_admin_url() -> str:
    """The PostgreSQL server URL for tests, or skip."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(
            f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/postgres)"
        )
    return url


def create_postgres_database() -> tuple[str, Callable[[], None]]:
    """A fresh, empty PostgreSQL database; returns its URL and a function that drops it."""
    admin_url = make_url(postgres_admin_url()).set(drivername="postgresql+psycopg")
    name = f"tgvault_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'archive.db'}"
        return
    url, drop = create_postgres_database()
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """An empty PostgreSQL database only (for what SQLite cannot do, such as several workers)."""
    url, drop = create_postgres_database()
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def unit_of_work(database_url: str) -> Iterator[Callable[[], UnitOfWork]]:
    """A unit-of-work factory over a migrated, empty archive."""
    engine = create_archive_engine(database_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    yield lambda: UnitOfWork(factory)
    engine.dispose()


@pytest.fixture
def uow_factory(tmp_path: Path) -> Iterator[Callable[[], UnitOfWork]]:
    """A unit-of-work factory over a migrated SQLite archive file in the test's folder."""
    engine = create_archive_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    upgrade(engine)
    factory = make_session_factory(engine)
    yield lambda: UnitOfWork(factory)
    engine.dispose()


def shared_path(relative: str) -> Path:
    """A file under ../shared, or skip when the checkout has no ../shared next to it."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} is not present (../shared is only next to the team's checkouts)")
    return path


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server (moto in server mode) on 127.0.0.1 at a random port, for the session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


S3_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "tgvault-test-key",
    "AWS_SECRET_ACCESS_KEY": "tgvault-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/tgvault-test-aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/tgvault-test-aws-credentials",
}


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new, empty bucket on the test S3 server (the test's AWS variables point at it); its name."""
    for name, value in S3_TEST_ENV.items():
        monkeypatch.setenv(name, value)
    from tgvault.storage.s3_store import S3Options, make_s3_client

    name = f"tgvault-{uuid.uuid4().hex[:16]}"
    make_s3_client(S3Options(endpoint_url=s3_endpoint)).create_bucket(Bucket=name)
    return name


@pytest.fixture
def world() -> FakeTelegram:
    """The fake Telegram a test's client talks to (empty; a module overrides it to add channels or a login)."""
    return FakeTelegram()


@pytest.fixture
def server(world: FakeTelegram) -> Iterator[ServerThread]:
    """``world`` served by the loopback MTProto server on 127.0.0.1; no handler may have failed by the end."""
    with LoopbackTelegramServer.start_in_thread(world.handle, auth_key=world.auth_key) as running:
        world.port = running.port
        yield running
        assert [] == running.server.handler_errors
