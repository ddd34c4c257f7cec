"""A database that cannot be used ends every command with one line saying what failed and what to do.

Real PostgreSQL (a refused port, an unknown database, an unknown role on the test server) and real SQLite
files (damaged, locked by another connection, in a read-only folder), for every command that opens the
archive. The traceback is printed only with ``--log-level debug``. The same net catches what no library
turned into a tgvault error: a closed connection (an ``EOFError``, which click alone prints as a bare
``Aborted!``) and an ``OSError``.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import make_url

from tgvault.cli import main
from tgvault.cli.exits import handles_errors
from tgvault.logs import reset_logging
from tgvault.storage import database
from tgvault.storage.database import create_archive_engine
from tgvault.storage.schema import upgrade

# Read before any test empties the TGVAULT_ variables.
POSTGRES_ADMIN_URL = os.environ.get("TGVAULT_TEST_POSTGRES_URL")

FIXTURE = next((Path(__file__).parent / "fixtures" / "tdesktop").glob("*2026*.json"))

# Every command that opens the archive, with the arguments it needs to get that far.
COMMANDS: list[tuple[str, ...]] = [
    ("status",),
    ("db", "upgrade"),
    ("db", "status"),
    ("import", "tdesktop", str(FIXTURE)),
    ("export", "site"),
    ("export", "json", "@somechannel"),
    ("run", "--once"),
    ("sync", "@somechannel"),
    ("backfill", "@somechannel"),
    ("audit", "@somechannel"),
    ("reparse",),
    ("media", "migrate", "--to", "s3://tgvault-test-bucket/media"),
]
IDS = [" ".join(command[:2]) for command in COMMANDS]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No TGVAULT_ variable from the outside, the test's folder as working directory; the logging the
    commands configured (on the runner's streams) is undone afterwards."""
    for name in list(os.environ):
        if name.startswith("TGVAULT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TGVAULT_MEDIA__DIR", str(tmp_path / "media"))
    monkeypatch.setenv("TGVAULT_SITE__DIR", str(tmp_path / "site"))
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    reset_logging()


def invoke(*args: str, database_url: str) -> Result:
    return CliRunner(env={"TGVAULT_DATABASE__URL": database_url}).invoke(main, list(args))


def assert_one_line_error(result: Result, *fragments: str) -> None:
    """Handled (the command exited itself, no exception escaped), exit 1, one line naming the failure."""
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert 1 == result.exit_code, result.output
    lines = result.stderr.strip().splitlines()
    assert 1 == len(lines), result.stderr
    assert lines[0].startswith("tgvault: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def postgres_admin_url() -> str:
    if not POSTGRES_ADMIN_URL:
        pytest.skip("PostgreSQL tests need TGVAULT_TEST_POSTGRES_URL")
    return POSTGRES_ADMIN_URL


def postgres_at(*, user: str | None = None, database: str | None = None, port: int | None = None) -> str:
    url = make_url(postgres_admin_url())
    if user is not None:
        url = url.set(username=user)
    if database is not None:
        url = url.set(database=database)
    if port is not None:
        url = url.set(port=port)
    return url.render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---- PostgreSQL -------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_a_refused_postgresql_port_is_one_line_for_every_command(
    clean_env: Path, command: tuple[str, ...]
) -> None:
    port = free_port()
    url = make_url(postgres_at(port=port)).set(host="127.0.0.1").render_as_string(hide_password=False)
    result = invoke(*command, database_url=url)
    assert_one_line_error(result, f"cannot connect to PostgreSQL at 127.0.0.1:{port}: connection refused")


@pytest.mark.postgres
@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_an_unknown_postgresql_database_is_one_line_for_every_command(
    clean_env: Path, command: tuple[str, ...]
) -> None:
    result = invoke(*command, database_url=postgres_at(database="tgvault_no_such_database"))
    assert_one_line_error(result, "has no database 'tgvault_no_such_database'", "createdb")


@pytest.mark.postgres
@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_an_unknown_postgresql_role_is_one_line_for_every_command(
    clean_env: Path, command: tuple[str, ...]
) -> None:
    result = invoke(*command, database_url=postgres_at(user="tgvault_no_such_role"))
    assert_one_line_error(result, "has no role 'tgvault_no_such_role'", "createuser")


@pytest.mark.postgres
def test_the_traceback_and_only_then_with_log_level_debug(tmp_path: Path) -> None:
    """A real process: no traceback by default; --log-level debug shows it, with the password masked."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    url = postgres_at(user="tgvault_no_such_role")
    env["TGVAULT_DATABASE__URL"] = (
        make_url(url).set(password="hunter2-secret").render_as_string(hide_password=False)
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tgvault", *args], cwd=tmp_path, env=env, capture_output=True, text=True
        )

    quiet = run("status")
    assert 1 == quiet.returncode
    assert "Traceback" not in quiet.stderr
    assert 1 == len(quiet.stderr.strip().splitlines()), quiet.stderr
    debug = run("--log-level", "debug", "status")
    assert 1 == debug.returncode
    assert "Traceback" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == quiet.stderr.strip()
    assert "hunter2-secret" not in debug.stderr + quiet.stderr


@pytest.mark.parametrize(
    ("message", "fragment"),
    [
        ('connection failed: FATAL:  password authentication failed for user "ann"', "refused the password"),
        ("connection failed: fe_sendauth: no password supplied", "asks user 'ann' for a password"),
        (
            'connection failed: FATAL:  no pg_hba.conf entry for host "10.0.0.9", user "ann", database "db"',
            "pg_hba.conf",
        ),
        (
            'connection failed: could not translate host name "dbhost" to address: Name or service not known',
            "cannot be resolved",
        ),
        ("connection failed: timeout expired", "no answer from PostgreSQL"),
    ],
)
def test_postgresql_connection_failures_say_what_to_do(message: str, fragment: str) -> None:
    """The failures a test server cannot produce (it trusts every local user) as psycopg words them."""
    import psycopg

    from tgvault.storage.database_faults import fault_from

    fault = fault_from(psycopg.OperationalError(message), make_url("postgresql+psycopg://ann:pw@dbhost/db"))
    assert fault is not None
    assert fragment in str(fault)
    assert "pw@" not in str(fault)


# ---- SQLite -------------------------------------------------------------------------------------------


def migrated(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = create_archive_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_a_damaged_sqlite_file_is_one_line_for_every_command(
    clean_env: Path, command: tuple[str, ...]
) -> None:
    damaged = clean_env / "archive.db"
    damaged.write_bytes(b"this is not a SQLite database, it was overwritten " * 100)
    result = invoke(*command, database_url=f"sqlite:///{damaged}")
    assert_one_line_error(result, f"the SQLite archive {damaged} is damaged or not a database", "backup")


class ReadOnlyFolder:
    """A folder the test's user cannot write: a read-only bind mount as root, chmod 555 otherwise."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mounted = False

    def __enter__(self) -> Path:
        if os.geteuid() == 0:
            subprocess.run(["mount", "--bind", str(self.path), str(self.path)], check=True)
            self.mounted = True
            subprocess.run(["mount", "-o", "remount,ro,bind", str(self.path)], check=True)
        else:
            self.path.chmod(0o555)
        return self.path

    def __exit__(self, *exc: object) -> None:
        if self.mounted:
            subprocess.run(["umount", str(self.path)], check=True)
        else:
            self.path.chmod(0o755)


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_an_archive_in_a_read_only_folder_is_one_line_for_every_command(
    clean_env: Path, command: tuple[str, ...]
) -> None:
    folder = clean_env / "db"
    folder.mkdir()
    url = migrated(folder / "archive.db")
    with ReadOnlyFolder(folder):
        result = invoke(*command, database_url=url)
    assert_one_line_error(result, f"the folder {folder} is not writable")


def test_a_new_archive_in_a_read_only_folder_is_one_line(clean_env: Path) -> None:
    folder = clean_env / "db"
    folder.mkdir()
    with ReadOnlyFolder(folder):
        inside = invoke("db", "upgrade", database_url=f"sqlite:///{folder / 'archive.db'}")
        below = invoke("db", "upgrade", database_url=f"sqlite:///{folder / 'sub' / 'archive.db'}")
    assert_one_line_error(inside, f"the folder {folder} is not writable")
    assert_one_line_error(below, f"cannot create the folder {folder / 'sub'} for the SQLite archive")


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite gives up on a lock after 0.2 s instead of 30 s."""
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 200)


@pytest.fixture
def locked_archive(clean_env: Path) -> Iterator[str]:
    """An archive another connection holds the write lock on."""
    path = clean_env / "archive.db"
    url = migrated(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield url
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.usefixtures("short_busy_timeout")
@pytest.mark.parametrize(
    "command", [("import", "tdesktop", str(FIXTURE)), ("status", "--clear-alerts")], ids=["import", "status"]
)
def test_a_locked_sqlite_archive_is_one_line(
    locked_archive: str, clean_env: Path, command: tuple[str, ...]
) -> None:
    result = invoke(*command, database_url=locked_archive)
    assert_one_line_error(
        result, f"the SQLite archive {clean_env / 'archive.db'} is locked by another process"
    )


def test_an_unknown_schema_revision_is_a_usage_error(clean_env: Path) -> None:
    result = invoke("db", "upgrade", "--revision", "9999", database_url=f"sqlite:///{clean_env / 'a.db'}")
    assert isinstance(result.exception, SystemExit)
    assert 2 == result.exit_code
    assert "cannot upgrade to schema revision '9999'" in result.stderr


# ---- the CLI's last net ------------------------------------------------------------------------------


def failing_command(error: BaseException) -> click.Command:
    """A command (as every tgvault command: wrapped by handles_errors) that fails with ``error``."""

    @click.command()
    @handles_errors
    def command() -> None:
        raise error

    return command


def test_a_closed_connection_is_one_line_not_aborted() -> None:
    """An IncompleteReadError (an EOFError) from a connection the server closed: not click's "Aborted!"."""

    async def read_from_a_closed_connection() -> bytes:
        reader = asyncio.StreamReader()
        reader.feed_data(b"abc")
        reader.feed_eof()
        return await reader.readexactly(8)

    with pytest.raises(asyncio.IncompleteReadError) as raised:
        asyncio.run(read_from_a_closed_connection())
    result = CliRunner().invoke(failing_command(raised.value))
    assert 1 == result.exit_code
    assert "Aborted!" not in result.output
    assert result.stderr.startswith("tgvault: error: the connection was closed before its answer arrived")
    assert 1 == len(result.stderr.strip().splitlines())


@pytest.mark.parametrize(
    ("error", "fragment"),
    [
        (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), "a network connection failed"),
        (socket.gaierror(-2, "Name or service not known"), "a host name could not be resolved"),
        (PermissionError(errno.EACCES, "Permission denied", "/srv/site/index.html"), "permission denied"),
        (OSError(errno.ENOSPC, "No space left on device", "/srv/site"), "the disk is full"),
    ],
)
def test_an_os_error_is_one_line(error: OSError, fragment: str) -> None:
    result = CliRunner().invoke(failing_command(error))
    assert isinstance(result.exception, SystemExit)
    assert 1 == result.exit_code
    assert fragment in result.stderr
    assert 1 == len(result.stderr.strip().splitlines())
