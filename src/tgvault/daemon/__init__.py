"""The long-running service (``tgvault run``): every configured channel synced on its own schedule, its
state and backoff kept, audits run in slices, ``live`` channels followed, the channels shared among
workers through leases, one service per archive held by a lock, a health file kept, the site rebuilt
after changes.

The package has no face: import from its modules (``tgvault.daemon.entry`` has :func:`serve` and
:func:`sync_once`, what the CLI runs; ``tgvault.daemon.orchestrator`` the :class:`Service` that wires the
collaborators together). So ``tgvault health``, a healthcheck run every 30 s, imports
``tgvault.daemon.health`` alone, without the scheduler, the database layer and the sources.
"""
