"""HTTP for the web preview: only to allowed hosts and public addresses, bounded, paced, retried.

Built on httpx, with a network layer of tgvault's own (:class:`~.addresses.VettedNetwork`) so that every
connection goes to an address that was checked:

- **Where.** Only the host of ``[web] base_url`` and Telegram's own (:mod:`.destinations`); a name that
  resolves to a private, loopback, link-local, multicast or reserved address is refused, before the first
  request and after every redirect (followed here, each hop checked, at most :data:`MAX_REDIRECTS`).
- **How much.** A page is read up to :data:`MAX_PAGE_BYTES`; a file up to the ``limit`` its caller gives
  (the channel's ``media_max_size``): an announced size over it is refused before the body is read, and a
  body that grows past it is cut off there (:class:`~tgvault.errors.MediaTooLargeError`).
- **How long.** ``timeout`` bounds each connect and each read, and ``deadline`` the whole request, redirects
  and body included, so a server that trickles a byte at a time cannot hold a run.
- **Politeness.** One request at a time per host, ``request_delay`` seconds apart, a clear User-Agent, and
  retries with exponential backoff on 429 and 5xx that honour ``Retry-After``.
- **A host that cannot be reached** (its name does not resolve, the connection is refused, TLS fails) is
  tried once more, then reported once and skipped for ``unreachable_for`` seconds: every request to it
  fails at once with :class:`~tgvault.errors.HostUnreachableError`, so the files it serves stay queued for
  a later run instead of each waiting out its own retries.

A connection is opened per request (as before): nothing is shared between event loops or kept open.
"""

from __future__ import annotations

import asyncio
import codecs
import math
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final
from urllib.parse import urlencode

import httpcore
import httpx
import structlog

from tgvault import __version__
from tgvault.domain import PageCapture
from tgvault.errors import (
    FloodWaitTooLongError,
    HostUnreachableError,
    MediaTooLargeError,
    RefusedURLError,
    SourceError,
)
from tgvault.sources.base import ByteSink
from tgvault.sources.webpreview.addresses import Resolver, VettedNetwork, resolve_with_system
from tgvault.sources.webpreview.destinations import Destinations, host_of, short_url

log = structlog.get_logger("tgvault.sources.webpreview")  # the package's name, as log lines always said

DEFAULT_USER_AGENT: Final = (
    f"tgvault/{__version__} (archiver of public Telegram channels; one request at a time)"
)
RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
MAX_PAGE_BYTES: Final = 10 * 1024 * 1024
MAX_REDIRECTS: Final = 5
CONNECT_RETRIES: Final = 1
"""Tries after a failed connection before the host is taken as unreachable for ``unreachable_for``."""
CHUNK: Final = 64 * 1024
FORM_HEADERS: Final = {
    "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
    "X-Requested-With": "XMLHttpRequest",
    "Accept": "application/json, text/javascript, */*; q=0.01",
}
"""What the discussion widget's script sends with its form (so the answer is the JSON it reads)."""


@dataclass(frozen=True)
class WebOptions:
    """How to talk to the web preview: where, how fast, as whom, how patiently, and for how long."""

    base_url: str = "https://t.me"
    request_delay: float = 1.0
    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = 30.0
    deadline: float = 300.0
    retries: int = 4
    backoff: float = 2.0
    max_wait: float = 300.0
    unreachable_for: float = 300.0


@dataclass(frozen=True)
class WebResponse:
    """An HTTP answer: its status, the URL after redirects, its headers and (for a page) its body."""

    status: int
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    charset: str | None = None
    """The body's declared character set when Python knows it (None otherwise)."""
    capture: PageCapture | None = None
    """For a page: the exchange as it happened (request and response headers, the body as sent)."""


class _Transient(Exception):
    """Internal: the exchange broke before any byte reached a sink; worth another try after a pause."""


class _ConnectFailed(Exception):
    """Internal: no connection to ``host`` (name, refusal, TLS, timeout); the host may be unreachable."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(reason)
        self.host = host
        self.reason = reason


def _retry_after(headers: Mapping[str, str], now: datetime) -> float | None:
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


def _known_charset(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _declared_length(headers: Mapping[str, str]) -> int | None:
    value = (headers.get("Content-Length") or "").strip()
    return int(value) if value.isdigit() and len(value) < 20 else None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def _connect_reason(exc: BaseException) -> str:
    """What stopped a connection, in words: the cause under httpx's and anyio's wrappers."""
    seen: BaseException | None = exc
    for _depth in range(10):
        if seen is None:
            break
        if isinstance(seen, BaseExceptionGroup) and seen.exceptions:
            seen = seen.exceptions[0]
            continue
        if isinstance(seen, ssl.SSLError):
            return f"TLS failed ({seen.reason or _reason(seen)})"
        if isinstance(seen, socket.gaierror):
            return f"its name does not resolve ({seen.strerror or _reason(seen)})"
        if isinstance(seen, ConnectionRefusedError):
            return "the connection was refused"
        if isinstance(seen, httpx.ConnectTimeout | httpcore.ConnectTimeout | TimeoutError):
            return "no connection within the timeout"
        if isinstance(seen, OSError) and seen.errno is not None and seen.strerror:
            return f"the connection failed ({seen.strerror})"
        seen = seen.__cause__ or seen.__context__
    return _reason(exc)


def _unreachable(host: str, reason: str, wait: float, page: bool) -> HostUnreachableError:
    advice = (
        "check the network connection (and [web] base_url), then run again"
        if page
        else f"its files stay queued for a later run (the host is tried again in {math.ceil(wait)} s)"
    )
    return HostUnreachableError(host, reason, wait, advice)


class _VettedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool whose network layer is :class:`VettedNetwork`.

    httpx has no public way to hand its pool a network backend, so the pool is replaced after httpx built
    its own (the pinned httpx version is tested); httpx still maps httpcore's errors onto its own.
    """

    def __init__(self, network: VettedNetwork, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, network_backend=network, max_connections=4, max_keepalive_connections=0
        )


class WebClient:
    """HTTP for the web preview (see the module's docstring)."""

    def __init__(
        self,
        options: WebOptions | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        resolve: Resolver = resolve_with_system,
        network: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        """``resolve`` and ``network`` are seams for tests (names that resolve as told, local servers)."""
        self.options = options or WebOptions()
        self.destinations = Destinations(self.options.base_url)
        self._network = VettedNetwork(self.destinations, resolve, network)
        self._sleep = sleep
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}
        self._unreachable: dict[str, tuple[float, str]] = {}
        self._ssl: ssl.SSLContext | None = None
        self.requests = 0

    def _lock(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def get(self, url: str) -> WebResponse:
        """GET a page (at most 10 MB): the final status, URL after redirects, headers and body."""
        return await self._request(url, None, None)

    async def download(self, url: str, sink: ByteSink, *, limit: int | None = None) -> WebResponse:
        """GET a file into ``sink`` in chunks, at most ``limit`` bytes; a non-200 body is not written."""
        return await self._request(url, sink, limit)

    async def post_form(self, url: str, form: Mapping[str, str]) -> WebResponse:
        """POST a form as a page's script does (the discussion widget asking for older comments) and read
        the answer as a page; a redirect is not followed (its status is the answer)."""
        body = urlencode(list(form.items())).encode("ascii")
        return await self._request(url, None, None, body)

    # -- one request, retried ------------------------------------------------------------------------

    def _check_reachable(self, host: str, page: bool) -> None:
        marked = self._unreachable.get(host)
        if marked is None:
            return
        until, reason = marked
        left = until - self._clock()
        if left <= 0:
            del self._unreachable[host]
            return
        raise _unreachable(host, reason, left, page)

    def _mark_unreachable(self, host: str, reason: str, page: bool) -> HostUnreachableError:
        wait = self.options.unreachable_for
        self._unreachable[host] = (self._clock() + wait, reason)
        log.warning("web host cannot be reached; its requests wait", host=host, reason=reason, seconds=wait)
        return _unreachable(host, reason, wait, page)

    async def _request(
        self, url: str, sink: ByteSink | None, limit: int | None, form: bytes | None = None
    ) -> WebResponse:
        target = self.destinations.check(url)
        host = host_of(target)
        key = f"{host}:{target.port or ''}"
        self._check_reachable(host, sink is None)
        options = self.options
        async with self._lock(key):
            attempt = connect_failures = 0
            problem = ""
            while True:
                self._check_reachable(host, sink is None)  # found unreachable while this one waited
                last = self._last.get(key)
                if last is not None and options.request_delay > 0:
                    pause = last + options.request_delay - self._clock()
                    if pause > 0:
                        await self._sleep(pause)
                response: WebResponse | None = None
                try:
                    response = await self._exchange(target, sink, limit, form)
                except _ConnectFailed as failed:
                    if connect_failures >= CONNECT_RETRIES:
                        raise self._mark_unreachable(failed.host, failed.reason, sink is None) from None
                    connect_failures += 1
                    log.info(
                        "web host did not answer; trying once more",
                        host=failed.host,
                        reason=failed.reason,
                        seconds=options.backoff,
                    )
                    await self._sleep(options.backoff)
                    continue
                except _Transient as exc:
                    problem = str(exc)
                finally:
                    self._last[key] = self._clock()
                    self.requests += 1
                if response is not None and response.status not in RETRY_STATUSES:
                    return response
                if response is not None:
                    problem = f"HTTP {response.status}"
                if attempt >= options.retries:
                    raise SourceError(
                        f"{short_url(target)}: {problem} after {attempt + 1} tries; try again later"
                    )
                wait = options.backoff * 2**attempt
                if response is not None:
                    asked = _retry_after(response.headers, datetime.now(UTC))
                    if asked is not None:
                        wait = asked
                if wait > options.max_wait:
                    raise FloodWaitTooLongError(math.ceil(wait))
                busy = response is not None
                log.info(
                    "web preview busy; waiting" if busy else "web request failed; trying again",
                    host=host,
                    url=short_url(target),
                    problem=problem,
                    seconds=wait,
                )
                attempt += 1
                await self._sleep(wait)

    # -- one exchange: redirects followed and checked, the body bounded --------------------------------

    @asynccontextmanager
    async def _http(self) -> AsyncIterator[httpx.AsyncClient]:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        transport = _VettedTransport(self._network, self._ssl)
        headers = {"User-Agent": self.options.user_agent, "Accept-Language": "en"}
        async with httpx.AsyncClient(
            transport=transport,
            headers=headers,
            timeout=httpx.Timeout(self.options.timeout),
            follow_redirects=False,
            trust_env=False,
        ) as http:
            yield http

    async def _exchange(
        self, url: httpx.URL, sink: ByteSink | None, limit: int | None, form: bytes | None = None
    ) -> WebResponse:
        """One request with its redirects (a GET's), within ``deadline``."""
        deadline = self.options.deadline
        try:
            async with asyncio.timeout(deadline), self._http() as http:
                return await self._follow(http, url, sink, limit, form)
        except TimeoutError:
            raise SourceError(
                f"{short_url(url)}: no complete answer within {deadline:g} s (the deadline of one request); "
                "it is tried again on a later run"
            ) from None

    async def _follow(
        self,
        http: httpx.AsyncClient,
        url: httpx.URL,
        sink: ByteSink | None,
        limit: int | None,
        form: bytes | None = None,
    ) -> WebResponse:
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            headers = {"Accept-Encoding": "identity"} if sink is not None else {}
            method = "GET" if form is None else "POST"
            if form is not None:
                headers = {**FORM_HEADERS, **headers}
            try:
                request = http.build_request(method, current, headers=headers, content=form)
                answer = await http.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise _ConnectFailed(host_of(current), _connect_reason(exc)) from exc
            except httpx.RemoteProtocolError as exc:
                if str(exc).startswith("Invalid URL in location header"):  # httpx reads Location itself
                    raise RefusedURLError(
                        f"refusing to fetch the redirect from {short_url(current)}: {_reason(exc)}"
                    ) from exc
                raise _Transient(f"cannot fetch {short_url(current)} ({_reason(exc)})") from exc
            except httpx.TransportError as exc:
                raise _Transient(f"cannot fetch {short_url(current)} ({_reason(exc)})") from exc
            try:
                location = answer.headers.get("Location")
                if answer.status_code in REDIRECT_STATUSES and location and form is None:
                    current = self.destinations.check(_joined(current, location))
                    continue
                if answer.status_code != 200:
                    return WebResponse(answer.status_code, str(current), answer.headers)
                if sink is None:
                    fetched_at = datetime.now(UTC)
                    raw = await _read_page(answer, current)
                    body = _decoded(answer, raw, current)
                    charset = _known_charset(answer.charset_encoding)
                    capture = _capture(answer, str(current), fetched_at, raw, form)
                    return WebResponse(200, str(current), answer.headers, body, charset, capture)
                fetched_at = datetime.now(UTC)
                await _stream(answer, current, sink, limit)
                # the exchange without its body (that went to the sink): kept as WARC beside the file
                capture = _capture(answer, str(current), fetched_at, b"")
                return WebResponse(200, str(current), answer.headers, capture=capture)
            finally:
                await answer.aclose()
        raise SourceError(f"{short_url(url)}: more than {MAX_REDIRECTS} redirects; not followed")


def _joined(current: httpx.URL, location: str) -> httpx.URL | str:
    """Where a redirect points, resolved against the URL that answered (left as text when it cannot be)."""
    try:
        return current.join(location.strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        return location


def _pairs(raw: list[tuple[bytes, bytes]]) -> tuple[tuple[str, str], ...]:
    return tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in raw)


def _capture(
    answer: httpx.Response, url: str, fetched_at: datetime, raw: bytes, form: bytes | None = None
) -> PageCapture:
    """The exchange as it went over the wire: headers as sent, the body before any decoding (and what a
    POST sent)."""
    return PageCapture(
        method="GET" if form is None else "POST",
        request_body=form or b"",
        url=url,
        fetched_at=fetched_at,
        request_headers=_pairs(answer.request.headers.raw),
        status=answer.status_code,
        reason=answer.reason_phrase,
        http_version=answer.http_version,
        response_headers=_pairs(answer.headers.raw),
        body=raw,
    )


def _decoded(answer: httpx.Response, raw: bytes, url: httpx.URL) -> bytes:
    """The page's body with its Content-Encoding undone, at most :data:`MAX_PAGE_BYTES`."""
    if not answer.headers.get("Content-Encoding"):
        return raw
    body = bytearray()
    try:
        for chunk in httpx.Response(200, headers=answer.headers, content=raw).iter_bytes(CHUNK):
            body.extend(chunk)
            if len(body) > MAX_PAGE_BYTES:
                raise SourceError(f"{short_url(url)}: the page is larger than {MAX_PAGE_BYTES} bytes")
    except httpx.DecodingError as exc:
        raise _Transient(f"the page {short_url(url)} could not be decoded ({_reason(exc)})") from exc
    return bytes(body)


async def _read_page(answer: httpx.Response, url: httpx.URL) -> bytes:
    """The page's body as sent (still compressed when it was), at most :data:`MAX_PAGE_BYTES`."""
    body = bytearray()
    try:
        async for chunk in answer.aiter_raw(CHUNK):
            body.extend(chunk)
            if len(body) > MAX_PAGE_BYTES:
                raise SourceError(f"{short_url(url)}: the page is larger than {MAX_PAGE_BYTES} bytes")
    except httpx.TransportError as exc:
        raise _Transient(f"the page {short_url(url)} broke off ({_reason(exc)})") from exc
    return bytes(body)


async def _stream(answer: httpx.Response, url: httpx.URL, sink: ByteSink, limit: int | None) -> None:
    """Copy a file into ``sink``, at most ``limit`` bytes; a break after the first byte is an error."""
    declared = _declared_length(answer.headers)
    if limit is not None and declared is not None and declared > limit:
        raise MediaTooLargeError(limit, declared)
    written = 0
    try:
        async for chunk in answer.aiter_bytes(CHUNK):
            if limit is not None and written + len(chunk) > limit:
                raise MediaTooLargeError(limit)
            sink.write(chunk)
            written += len(chunk)
    except httpx.TransportError as exc:
        if not written:
            raise _Transient(f"the download of {short_url(url)} failed ({_reason(exc)})") from exc
        raise SourceError(
            f"{short_url(url)}: the download broke off ({_reason(exc)}); it is retried on a later run"
        ) from exc
