"""HTTP for the web preview: one request at a time per host, paced, retried on 429 and 5xx.

HTTP is the standard library's ``urllib`` run in a worker thread (:func:`asyncio.to_thread`): requests
go out one at a time anyway, so an async HTTP stack would add dependencies and no speed.
"""

from __future__ import annotations

import asyncio
import http.client
import math
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import IO, Final
from urllib.parse import urlsplit

import structlog

from tgvault import __version__
from tgvault.errors import FloodWaitTooLongError, SourceError
from tgvault.sources.base import ByteSink

log = structlog.get_logger("tgvault.sources.webpreview")  # the package's name, as log lines always said

DEFAULT_USER_AGENT: Final = (
    f"tgvault/{__version__} (archiver of public Telegram channels; one request at a time)"
)
RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
MAX_PAGE_BYTES: Final = 10 * 1024 * 1024
CHUNK: Final = 64 * 1024


@dataclass(frozen=True)
class WebOptions:
    """How to talk to the web preview: where, how fast, as whom, and how patiently."""

    base_url: str = "https://t.me"
    request_delay: float = 1.0
    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = 30.0
    retries: int = 4
    backoff: float = 2.0
    max_wait: float = 300.0


@dataclass(frozen=True)
class WebResponse:
    """An HTTP answer: its status, the URL after redirects, its headers and (for a page) its body."""

    status: int
    url: str
    headers: Message
    body: bytes = b""


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http(s) URLs."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urlsplit(newurl).scheme not in ("http", "https"):
            raise urllib.error.HTTPError(newurl, code, f"refused redirect to {newurl!r}", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _Transient(Exception):
    """Internal: the connection failed before any byte reached a sink; worth another try."""


def _retry_after(headers: Message, now: datetime) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class WebClient:
    """HTTP for the web preview: one request at a time per host, paced, retried on 429 and 5xx."""

    def __init__(
        self,
        options: WebOptions | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options or WebOptions()
        self._sleep = sleep
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}
        self._opener = urllib.request.build_opener(_SafeRedirects())
        self.requests = 0

    def _lock(self, host: str) -> asyncio.Lock:
        lock = self._locks.get(host)
        if lock is None:
            lock = self._locks[host] = asyncio.Lock()
        return lock

    async def get(self, url: str) -> WebResponse:
        """GET a page (at most 10 MB): the final status, URL after redirects, headers and body."""
        return await self._request(url, None)

    async def download(self, url: str, sink: ByteSink) -> WebResponse:
        """GET a file into ``sink`` in chunks; the body of a non-200 answer is not written."""
        return await self._request(url, sink)

    async def _request(self, url: str, sink: ByteSink | None) -> WebResponse:
        split = urlsplit(url)
        if split.scheme not in ("http", "https") or not split.hostname:
            raise SourceError(f"refusing to fetch {url!r}: not an http(s) URL")
        host = split.netloc.lower()
        options = self.options
        async with self._lock(host):
            attempt = 0
            problem = ""
            while True:
                last = self._last.get(host)
                if last is not None and options.request_delay > 0:
                    pause = last + options.request_delay - self._clock()
                    if pause > 0:
                        await self._sleep(pause)
                try:
                    response = await asyncio.to_thread(self._blocking, url, sink)
                except _Transient as exc:
                    response = None
                    problem = str(exc)
                finally:
                    self._last[host] = self._clock()
                    self.requests += 1
                if response is not None and response.status not in RETRY_STATUSES:
                    return response
                if response is not None:
                    problem = f"HTTP {response.status}"
                if attempt >= options.retries:
                    raise SourceError(f"{host}: {problem} after {attempt + 1} tries; try again later")
                wait = options.backoff * 2**attempt
                if response is not None:
                    asked = _retry_after(response.headers, datetime.now(UTC))
                    if asked is not None:
                        wait = asked
                if wait > options.max_wait:
                    raise FloodWaitTooLongError(math.ceil(wait))
                log.info("web preview busy; waiting", host=host, problem=problem, seconds=wait)
                attempt += 1
                await self._sleep(wait)

    def _blocking(self, url: str, sink: ByteSink | None) -> WebResponse:
        """One HTTP exchange (run in a worker thread)."""
        headers = {"User-Agent": self.options.user_agent, "Accept-Language": "en"}
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - the scheme is checked above
        try:
            with self._opener.open(request, timeout=self.options.timeout) as answer:
                status, final = answer.status, answer.geturl()
                if status != 200:
                    return WebResponse(status, final, answer.headers)
                if sink is None:
                    body = answer.read(MAX_PAGE_BYTES + 1)
                    if len(body) > MAX_PAGE_BYTES:
                        raise SourceError(f"{final}: the page is larger than {MAX_PAGE_BYTES} bytes")
                    return WebResponse(status, final, answer.headers, body)
                self._stream(answer, final, sink)
                return WebResponse(status, final, answer.headers)
        except urllib.error.HTTPError as error:
            try:
                return WebResponse(error.code, error.geturl() or url, error.headers)
            finally:
                error.close()
        except (OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise _Transient(f"cannot fetch {url} ({reason})") from exc

    @staticmethod
    def _stream(answer: IO[bytes], url: str, sink: ByteSink) -> None:
        """Copy a response into ``sink``; a break after the first byte is an error, not a retry."""
        written = False
        try:
            while chunk := answer.read(CHUNK):
                sink.write(chunk)
                written = True
        except (OSError, http.client.HTTPException) as exc:
            if not written:
                raise _Transient(f"the download of {url} failed ({exc})") from exc
            raise SourceError(f"{url}: the download broke off ({exc}); it is retried on a later run") from exc
