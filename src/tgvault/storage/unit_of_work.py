"""The unit of work: one transaction over the archive, committed only when asked."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tgvault.errors import ResourceFaultError
from tgvault.storage.repositories import (
    AlertRepository,
    AuditStateRepository,
    ChannelLockRepository,
    ChannelRepository,
    CommentAuthorRepository,
    CounterRepository,
    DiscussionRepository,
    LeaseRepository,
    LedgerRepository,
    MediaQueueRepository,
    MediaRepository,
    PostRepository,
    ReparseRepository,
    RunRepository,
    ServiceStateRepository,
    SummaryRepository,
    SyncStateRepository,
)


class UnitOfWork:
    """A transaction with the archive's repositories.

    Use it as a context manager; work is rolled back on leaving unless :meth:`commit` was called::

        with UnitOfWork(session_factory) as uow:
            uow.posts.upsert_many(posts)
            uow.commit()
    """

    channels: ChannelRepository
    posts: PostRepository
    media: MediaRepository
    sync_state: SyncStateRepository
    runs: RunRepository
    locks: ChannelLockRepository
    summaries: SummaryRepository
    service_state: ServiceStateRepository
    leases: LeaseRepository
    counters: CounterRepository
    alerts: AlertRepository
    audits: AuditStateRepository
    media_queue: MediaQueueRepository
    reparse: ReparseRepository
    discussions: DiscussionRepository
    comment_authors: CommentAuthorRepository
    ledger: LedgerRepository

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None

    def release_inherited_connections(self) -> None:
        """In a child process made by ``fork``: forget the parent's pooled connections (left open for
        the parent) so that this process opens its own. Call before the first query of the child."""
        bind = self._session_factory.kw.get("bind")
        if isinstance(bind, Engine):
            bind.dispose(close=False)

    def reachable_from_other_processes(self) -> bool:
        """False for an archive other processes cannot open (an in-memory SQLite database)."""
        bind = self._session_factory.kw.get("bind")
        if not isinstance(bind, Engine):
            return False
        return not (bind.url.get_backend_name() == "sqlite" and bind.url.database in (None, "", ":memory:"))

    def __enter__(self) -> Self:
        session = self._session_factory()
        self._session = session
        self.channels = ChannelRepository(session)
        self.posts = PostRepository(session)
        self.media = MediaRepository(session)
        self.sync_state = SyncStateRepository(session)
        self.runs = RunRepository(session)
        self.locks = ChannelLockRepository(session)
        self.summaries = SummaryRepository(session)
        self.service_state = ServiceStateRepository(session)
        self.leases = LeaseRepository(session)
        self.counters = CounterRepository(session)
        self.alerts = AlertRepository(session)
        self.audits = AuditStateRepository(session)
        self.media_queue = MediaQueueRepository(session)
        self.reparse = ReparseRepository(session)
        self.discussions = DiscussionRepository(session)
        self.comment_authors = CommentAuthorRepository(session)
        self.ledger = LedgerRepository(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        session = self._require_session()
        try:
            session.rollback()
        except DBAPIError as failure:
            if exc is None:
                raise _fault(failure) from failure
        finally:
            session.close()
            self._session = None
        if isinstance(exc, OperationalError | InterfaceError):
            raise _fault(exc) from exc

    def _require_session(self) -> Session:
        if self._session is None:
            raise RuntimeError("use the unit of work inside a 'with' block")
        return self._session

    def commit(self) -> None:
        """Make everything done in this unit of work durable."""
        self._require_session().commit()

    def rollback(self) -> None:
        """Throw away everything done since the last commit."""
        self._require_session().rollback()


def _fault(exc: DBAPIError) -> ResourceFaultError:
    """A database that cannot be used (locked, unreachable, disk full) as a fault that stops the run."""
    reason = str(exc.orig) if exc.orig is not None else str(exc)
    reason = reason.strip().splitlines()[0] if reason.strip() else type(exc).__name__
    return ResourceFaultError(
        f"the archive database cannot be used ({reason}); committed work is kept, run again when it is back"
    )
