"""A local stand-in for ``t.me``'s web preview, for tests and for trying the web source offline.

:class:`FakeWebPreview` serves ``/s/<channel>`` and ``/s/<channel>?before=<id>`` pages built from a
saved preview page (its header and its message blocks), the files those pages link to, the
landing pages Telegram shows for names without a preview, and posts' discussion widgets with the answers of
the widget's API (:meth:`FakeWebPreview.set_discussion`). Faults (429, 5xx) can be queued, and every
request is recorded, so tests can check pacing and the User-Agent::

    preview = FakeWebPreview(page_size=5)
    name = preview.add_saved_page(Path("tgvault_webtest.html").read_text())
    with preview.running() as base_url:           # http://127.0.0.1:<port>
        ...  # point WebOptions(base_url=base_url) or TGVAULT_WEB__BASE_URL at it

Links to Telegram's file servers (``https://cdn4.telegram-cdn.org/...``) are rewritten to
``<base_url>/cdn/...`` (or ``<files_url>/cdn/...``) when a page is served, so nothing ever leaves the machine. Each file's bytes are
:meth:`FakeWebPreview.file_bytes` of its path unless set in ``files``; :meth:`FakeWebPreview.stream`
serves a path as a generated body of any size, as fast or as slowly as asked (a 300 MB "photo", a server
that trickles), and :meth:`FakeWebPreview.redirect` sends a path elsewhere.

:class:`FakeNetwork` stands in for DNS and the internet when a test needs Telegram's own host names: it
resolves made-up names to the addresses it is told and carries connections to public addresses onto local
servers (hand ``network.resolve`` and ``network.backend()`` to ``WebClient``)::

    network = FakeNetwork()
    network.add_host("cdn4.telesco.pe", "149.154.167.99", serve_on=preview_port)
"""

from __future__ import annotations

import gzip
import hashlib
import re
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from urllib.parse import parse_qs, urlsplit

import httpcore
from selectolax.lexbor import LexborHTMLParser

__all__ = ["FakeNetwork", "FakeWebPreview", "SeenRequest"]

_CDN = re.compile(r"https://cdn\d*\.(?:telegram-cdn\.org|telesco\.pe)/")
_HISTORY_OPEN = re.compile(r"<section[^>]*\btgme_channel_history\b[^>]*>")

UNKNOWN_NAME_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Telegram: Contact @{name}</title></head>
<body class="no_transition">
<div class="tgme_page_wrap"><div class="tgme_body_wrap"><div class="tgme_page">
  <div class="tgme_page_icon"></div>
  <div class="tgme_page_description">If you have <strong>Telegram</strong>, you can contact
  <a class="tgme_username_link" href="tg://resolve?domain={name}">@{name}</a> right away.</div>
</div></div></div>
</body></html>
"""


NO_DISCUSSION_WIDGET = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Telegram Widget</title></head>
<body class="body_widget_discussion emoji_image no_transitions">
<div class="tgme_post_discussion tgme_widget_messages_helper js-message_history">
  <div class="tgme_widget_message_wrap js-widget_message_wrap js-no_messages_wrap">
    <div class="tme_no_messages_found">Discussion is not available at the moment.</div>
  </div>
</div>
</body></html>
"""


@dataclass(frozen=True)
class SeenRequest:
    """One request the fake answered: its path with query, User-Agent, answer status and Host header."""

    path: str
    user_agent: str | None
    status: int
    host: str | None = None
    form: str | None = None
    """What a POST sent (the discussion widget asking for older comments)."""


@dataclass(frozen=True)
class _Stream:
    """A generated body: ``size`` bytes (None: endless), ``chunk`` at a time, ``delay`` seconds apart."""

    size: int | None
    chunk: int
    delay: float
    declare_length: bool
    give_up_after: float = 30.0
    """Seconds after which the fake stops sending whatever the client does (no thread outlives a test)."""


@dataclass
class _Channel:
    prefix: str
    suffix: str
    blocks: dict[int, str]


@dataclass
class _Fault:
    prefix: str
    status: int
    times: int
    headers: dict[str, str] = field(default_factory=dict)


class FakeWebPreview:
    """Serves saved preview pages with ``?before=`` pagination from a local HTTP server."""

    def __init__(self, *, page_size: int = 20, files_url: str | None = None) -> None:
        """``files_url``: where served pages say Telegram's files are (default: this server, ``/cdn/...``)."""
        self.page_size = page_size
        self.files_url = files_url
        self.files: dict[str, bytes] = {}
        self.requests: list[SeenRequest] = []
        self.max_in_flight = 0
        self._channels: dict[str, _Channel] = {}
        self._raw_pages: dict[str, str] = {}
        self._landings: dict[str, str] = {}
        self._faults: list[_Fault] = []
        self._streams: dict[str, _Stream] = {}
        self._redirects: dict[str, tuple[int, str]] = {}
        self._discussions: dict[tuple[str, int], str] = {}
        self._comment_answers: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._in_flight = 0
        self.bytes_sent: dict[str, int] = {}
        """Body bytes the fake managed to send per streamed path (what a client cut off never got)."""
        self.base_url = ""
        self.compress_pages = False
        """Send HTML gzip-compressed to a client that accepts it (as ``t.me`` does)."""

    # -- setting up ------------------------------------------------------------------------------

    def add_saved_page(self, html: str) -> str:
        """Take a saved ``t.me/s/<name>`` page apart into header and message blocks; returns the name."""
        tree = LexborHTMLParser(html)
        blocks: dict[int, str] = {}
        name = ""
        for wrap in tree.css(".tgme_widget_message_wrap"):
            message = wrap.css_first(".tgme_widget_message[data-post]")
            if message is None:
                continue
            post = message.attributes.get("data-post") or ""
            name, _, number = post.rpartition("/")
            blocks[int(number)] = wrap.html or ""
        opening = _HISTORY_OPEN.search(html)
        closing = html.rfind("</section>")
        if not name or opening is None or closing < opening.end():
            raise ValueError("not a saved t.me/s/ page with messages")
        self._channels[name.lower()] = _Channel(html[: opening.end()], html[closing:], blocks)
        return name

    def ids(self, name: str) -> list[int]:
        """Ids of the message blocks the channel shows (album items count under their first id)."""
        return sorted(self._channels[name.lower()].blocks)

    def delete(self, name: str, message_id: int) -> None:
        """Stop showing a post, as after a deletion on Telegram."""
        del self._channels[name.lower()].blocks[message_id]

    def edit(self, name: str, message_id: int, old: str, new: str) -> None:
        """Replace text in one post's block (a text edit, a new view count, an "edited" mark)."""
        channel = self._channels[name.lower()]
        if old not in channel.blocks[message_id]:
            raise ValueError(f"{old!r} is not in post {message_id}")
        channel.blocks[message_id] = channel.blocks[message_id].replace(old, new)

    def block(self, name: str, message_id: int) -> str:
        """The HTML block of one shown post."""
        return self._channels[name.lower()].blocks[message_id]

    def add_block(self, name: str, message_id: int, html: str) -> None:
        """Show a new post (a message block in the saved page's structure)."""
        self._channels[name.lower()].blocks[message_id] = html

    def set_raw_page(self, name: str, html: str) -> None:
        """Serve this page as-is for every ``/s/<name>`` request (a changed layout, an empty channel)."""
        self._raw_pages[name.lower()] = html

    def set_landing(self, name: str, html: str) -> None:
        """Make ``/s/<name>`` redirect to ``/<name>``, which shows this page (a name without a preview)."""
        self._landings[name.lower()] = html

    def set_discussion(self, name: str, post_id: int, html: str) -> None:
        """Serve ``html`` as the discussion widget of a post (``/<name>/<id>?embed=1&discussion=1``);
        a post without one shows Telegram's "Discussion is not available" widget."""
        self._discussions[(name.lower(), post_id)] = html

    def set_comments_answer(self, before_id: int, body: str) -> None:
        """Answer the widget's API (a POST to ``/api/method``) for ``before_id`` with this JSON."""
        self._comment_answers[str(before_id)] = body.encode()

    def fail(
        self, prefix: str, status: int, *, times: int = 1, headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next ``times`` requests whose path starts with ``prefix`` with ``status``."""
        self._faults.append(_Fault(prefix, status, times, dict(headers or {})))

    def stream(
        self,
        path: str,
        size: int | None,
        *,
        chunk: int = 64 * 1024,
        delay: float = 0.0,
        declare_length: bool = False,
    ) -> None:
        """Serve ``path`` as ``size`` generated bytes (None: without end), ``chunk`` bytes every ``delay``
        seconds; ``declare_length`` sends a Content-Length (else the body ends when the connection does)."""
        self._streams[path] = _Stream(size, chunk, delay, declare_length)

    def redirect(self, path: str, location: str, *, status: int = 302) -> None:
        """Answer requests for ``path`` with a redirect to ``location`` (any URL)."""
        self._redirects[path] = (status, location)

    @staticmethod
    def file_bytes(path: str) -> bytes:
        """The bytes served for a file path (such as ``/cdn/file/photo3.jpg``) not set in ``files``."""
        seed = hashlib.sha256(path.encode()).digest()
        return seed * 32

    # -- serving --------------------------------------------------------------------------------------

    def page(self, name: str, before: int | None) -> str:
        """The page ``/s/<name>[?before=N]`` as served (file links not yet rewritten)."""
        channel = self._channels[name.lower()]
        ids = sorted(key for key in channel.blocks if before is None or key < before)
        shown = ids[-self.page_size :]
        more = ""
        if shown and shown[0] != ids[0]:
            more = (
                '<div class="tgme_widget_message_centered js-messages_more_wrap">'
                f'<a href="/s/{name}?before={shown[0]}" class="tme_messages_more js-messages_more" '
                f'data-before="{shown[0]}"></a></div>'
            )
        body = "\n".join(channel.blocks[key] for key in shown)
        return f"{channel.prefix}{more}{body}\n    {channel.suffix}"

    def _answer(self, path: str) -> tuple[int, dict[str, str], bytes | _Stream]:
        for fault in self._faults:
            if fault.times > 0 and path.startswith(fault.prefix):
                fault.times -= 1
                return fault.status, fault.headers, b"busy"
        split = urlsplit(path)
        if split.path in self._redirects:
            status, location = self._redirects[split.path]
            return status, {"Location": location}, b""
        if split.path in self._streams:
            stream = self._streams[split.path]
            headers = {"Content-Type": "image/jpeg"}
            if stream.declare_length and stream.size is not None:
                headers["Content-Length"] = str(stream.size)
            return 200, headers, stream
        parts = [part for part in split.path.split("/") if part]
        html_type = {"Content-Type": "text/html; charset=utf-8"}
        if parts[:1] == ["cdn"]:
            data = self.files.get(split.path, self.file_bytes(split.path))
            return 200, {"Content-Type": "application/octet-stream"}, data
        if len(parts) == 2 and parts[0] == "s":
            name = parts[1].lower()
            if name in self._raw_pages:
                return 200, html_type, self._rewrite(self._raw_pages[name])
            if name not in self._channels:
                return 302, {"Location": f"/{parts[1]}"}, b""
            before_values = parse_qs(split.query).get("before")
            before = int(before_values[0]) if before_values and before_values[0].isdigit() else None
            return 200, html_type, self._rewrite(self.page(name, before))
        if len(parts) == 2 and parts[1].isdigit() and "discussion=1" in split.query:
            html = self._discussions.get((parts[0].lower(), int(parts[1])))
            return 200, html_type, self._rewrite(html if html is not None else NO_DISCUSSION_WIDGET)
        if len(parts) == 1:
            landing = self._landings.get(parts[0].lower(), UNKNOWN_NAME_PAGE.format(name=parts[0]))
            return 200, html_type, landing.encode()
        return 404, html_type, b"<html><body>Not found</body></html>"

    def _send_stream(self, path: str, stream: _Stream, out: BufferedIOBase) -> None:
        """Write a generated body until its size, the client hanging up, or ``give_up_after``."""
        key = urlsplit(path).path
        block = (hashlib.sha256(key.encode()).digest() * (stream.chunk // 32 + 1))[: stream.chunk]
        sent, started = 0, time.monotonic()
        try:
            while stream.size is None or sent < stream.size:
                if time.monotonic() - started > stream.give_up_after:
                    break
                part = block if stream.size is None else block[: stream.size - sent]
                out.write(part)
                out.flush()
                sent += len(part)
                with self._lock:
                    self.bytes_sent[key] = sent
                if stream.delay:
                    time.sleep(stream.delay)
        except OSError:
            return  # the client hung up: exactly what a capped download does

    def _rewrite(self, html: str) -> bytes:
        html = html.replace("https://t.me/api/", f"{self.base_url}/api/")
        html = html.replace("https:\\/\\/t.me\\/api\\/", self.base_url.replace("/", "\\/") + "\\/api\\/")
        return _CDN.sub(f"{self.files_url or self.base_url}/cdn/", html).encode()

    @property
    def port(self) -> int:
        """The local port the server listens on (once running)."""
        return urlsplit(self.base_url).port or 0

    @contextmanager
    def running(self) -> Iterator[str]:
        """Serve on ``127.0.0.1`` (a free port) in a thread; yields the base URL."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with fake._lock:
                    fake._in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake._in_flight)
                try:
                    with fake._lock:
                        status, headers, body = fake._answer(self.path)
                        seen = SeenRequest(
                            self.path, self.headers.get("User-Agent"), status, self.headers.get("Host")
                        )
                        fake.requests.append(seen)
                    accepts = self.headers.get("Accept-Encoding") or ""
                    is_html = headers.get("Content-Type", "").startswith("text/html")
                    if fake.compress_pages and is_html and isinstance(body, bytes) and "gzip" in accepts:
                        body = gzip.compress(body, mtime=0)
                        headers = {**headers, "Content-Encoding": "gzip"}
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    if isinstance(body, bytes):
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                finally:
                    # Counted out before the body goes: the client can send its next request only once it
                    # has the whole body, so that request is never counted beside this one.
                    with fake._lock:
                        fake._in_flight -= 1
                if isinstance(body, bytes):
                    self.wfile.write(body)
                else:
                    fake._send_stream(self.path, body, self.wfile)
                    self.close_connection = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = self.rfile.read(min(length, 1 << 16)).decode("utf-8", "replace")
                before = parse_qs(form).get("before_id", [""])[0]
                extra: dict[str, str] = {}
                with fake._lock:
                    body = fake._comment_answers.get(before)
                    status = 200 if body is not None and urlsplit(self.path).path == "/api/method" else 404
                    if status == 200:
                        for fault in fake._faults:
                            if fault.times > 0 and self.path.startswith(fault.prefix):
                                fault.times -= 1
                                status, body, extra = fault.status, b"busy", fault.headers
                                break
                    fake.requests.append(
                        SeenRequest(
                            self.path, self.headers.get("User-Agent"), status, self.headers.get("Host"), form
                        )
                    )
                payload = fake._rewrite((body or b'{"ok":false,"error":"not found"}').decode())
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                """Keep test output quiet."""

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-web-preview", daemon=True
        )
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        thread.start()
        try:
            yield self.base_url
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)


class FakeNetwork:
    """DNS and the internet for a test: names resolve as told, and public addresses lead to local servers.

    ``resolve`` is a resolver for ``WebClient(resolve=...)``; :meth:`backend` a network backend for
    ``WebClient(network=...)`` that connects loopback addresses as they are and a routed public address to
    the local port it was given (an address without a route goes to a closed local port: refused).
    ``lookups`` and ``connections`` record what the client asked for.
    """

    def __init__(self) -> None:
        self._answers: dict[str, list[list[str]]] = {}
        self.routes: dict[str, int] = {}
        self.lookups: list[str] = []
        self.connections: list[tuple[str, int]] = []

    def add_host(self, name: str, *addresses: str, serve_on: int | None = None) -> None:
        """Make ``name`` resolve to ``addresses``; ``serve_on``: connections to them reach this local port."""
        self._answers[name.lower()] = [list(addresses)]
        if serve_on is not None:
            for address in addresses:
                self.routes[address] = serve_on

    def answer_in_turn(self, name: str, *answers: list[str]) -> None:
        """Resolve ``name`` to each answer in turn, the last one from then on (a DNS rebinding attack)."""
        self._answers[name.lower()] = [list(answer) for answer in answers]

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses set for ``host``; ``socket.gaierror`` for a name nobody set (it does not resolve)."""
        self.lookups.append(host)
        answers = self._answers.get(host.lower().rstrip("."))
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers.pop(0) if len(answers) > 1 else list(answers[0])

    def backend(self) -> httpcore.AsyncNetworkBackend:
        """A network backend that reaches local servers only (see the class docstring)."""
        return _RoutedBackend(self)


def _closed_port() -> int:
    """A local port nothing listens on (just freed), so a connection to it is really refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class _RoutedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, network: FakeNetwork) -> None:
        self._network = network
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self._network.connections.append((host, port))
        if host not in ("127.0.0.1", "::1", "localhost"):
            host, port = "127.0.0.1", self._network.routes.get(host) or _closed_port()
        return await self._inner.connect_tcp(host, port, timeout=timeout, socket_options=socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("no Unix sockets in the fake network")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
