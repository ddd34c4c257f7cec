"""The ledger under several writers of one channel (PostgreSQL) and under kill -9 (SQLite and PostgreSQL):
sequence numbers without gaps or duplicates, a chain that verifies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta

from tgvault.domain import Channel, Post
from tgvault.services.verify import verify_archive
from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.schema import upgrade
from tgvault.storage.unit_of_work import UnitOfWork

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
CHANNEL = Channel(id=1001, username="news", title="News", subscribers=10)


def post(message_id: int, text: str = "hello") -> Post:
    return Post(
        channel_id=CHANNEL.id, message_id=message_id, date=T0 + timedelta(minutes=message_id), text=text
    )


def check_chain(factory: object) -> int:
    """The channel's entries number 1..n, and verify finds nothing; returns n."""
    with UnitOfWork(factory) as uow:  # type: ignore[arg-type]
        seqs = [entry.seq for entry in uow.ledger.entries(CHANNEL.id)]
    assert seqs == list(range(1, len(seqs) + 1))
    report = verify_archive(lambda: UnitOfWork(factory))  # type: ignore[arg-type]
    assert [f.describe() for f in report.findings] == []
    return len(seqs)


def test_several_writers_of_one_channel_never_fork_the_chain(postgres_url: str) -> None:
    engine = create_archive_engine(postgres_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with UnitOfWork(factory) as uow:
        uow.channels.upsert(CHANNEL, T0)
        uow.commit()
    failures: list[BaseException] = []
    start = threading.Barrier(4)

    def write(worker: int) -> None:
        try:
            start.wait()
            for batch in range(15):
                first = 1 + worker * 1000 + batch * 10
                with UnitOfWork(factory) as uow:
                    uow.posts.upsert_many([post(i) for i in range(first, first + 10)], T0)
                    uow.posts.upsert_many([post(first, f"edited by {worker}")], T0 + timedelta(seconds=1))
                    uow.commit()
        except BaseException as failure:
            failures.append(failure)

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == []
        assert check_chain(factory) == 4 * 15 * 11
    finally:
        engine.dispose()


WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime, timedelta
    from tgvault.domain import Channel, Post
    from tgvault.storage.database import create_archive_engine, make_session_factory
    from tgvault.storage.unit_of_work import UnitOfWork

    T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    factory = make_session_factory(create_archive_engine(sys.argv[1]))
    with UnitOfWork(factory) as uow:
        batch = uow.ledger.count_posts(1001) // 50  # go on after what an earlier, killed writer committed
    while True:
        with UnitOfWork(factory) as uow:
            first = batch * 50 + 1
            posts = [
                Post(channel_id=1001, message_id=i, date=T0, text=f"post {i}") for i in range(first, first + 50)
            ]
            uow.posts.upsert_many(posts, T0)
            uow.posts.mark_deleted(1001, range(first, first + 5), T0 + timedelta(hours=1))
            uow.commit()
        print(batch, flush=True)
        batch += 1
    """
)


def test_a_writer_killed_at_any_moment_leaves_a_chain_without_gaps(database_url: str) -> None:
    engine = create_archive_engine(database_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with UnitOfWork(factory) as uow:
        uow.channels.upsert(CHANNEL, T0)
        uow.commit()
    try:
        for round_ in range(3):
            child = subprocess.Popen(
                [sys.executable, "-c", WRITER, database_url],
                stdout=subprocess.PIPE,
                env=os.environ | {"PYTHONUNBUFFERED": "1"},
            )
            assert child.stdout is not None
            for _ in range(3 + round_):  # a few commits, then a kill in the middle of the next one
                assert child.stdout.readline()
            time.sleep(0.01 * round_)
            child.send_signal(signal.SIGKILL)
            child.wait()
            entries = check_chain(factory)
            with UnitOfWork(factory) as uow:
                posts = uow.ledger.count_posts(CHANNEL.id)
            assert entries == posts + (posts // 50) * 5  # every committed post and tombstone, nothing more
    finally:
        engine.dispose()
