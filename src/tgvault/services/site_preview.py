"""A built site served on this machine only (127.0.0.1), for a browser: ``tgvault demo --serve``.

The standard library's file server is enough for a preview: the site is plain files. It answers only
requests from this machine, serves only files under the site folder, and keeps quiet about each request.
"""

from __future__ import annotations

import errno
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from tgvault.errors import TgvaultError

__all__ = ["SitePreview"]

HOST = "127.0.0.1"


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves files under one folder without a log line per request."""

    def log_message(self, format: str, *args: Any) -> None:
        return


class SitePreview:
    """The site folder served on ``http://127.0.0.1:<port>/`` (``port`` 0: any free port)."""

    def __init__(self, folder: Path, port: int) -> None:
        """Bind the port at once (so a port in use is reported before anything is printed)."""
        handler = functools.partial(_QuietHandler, directory=str(folder))
        try:
            self._server = ThreadingHTTPServer((HOST, port), handler)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise TgvaultError(
                    f"port {port} on {HOST} is in use; choose another with --port (0 picks a free one)"
                ) from None
            raise TgvaultError(f"cannot listen on {HOST}:{port}: {error.strerror or error}") from None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The address to open in a browser."""
        return f"http://{HOST}:{self._server.server_address[1]}/"

    def serve_forever(self) -> None:
        """Answer requests until :meth:`close` is called from another thread (or Ctrl-C)."""
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> SitePreview:
        """Serve in a background thread (for tests and callers that do other things meanwhile)."""
        self._thread = threading.Thread(target=self.serve_forever, name="tgvault-site-preview", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> SitePreview:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
