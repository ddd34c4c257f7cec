"""A local stand-in for ``t.me``'s web preview, for tests and for trying the web source offline.

:class:`FakeWebPreview` serves ``/s/<channel>`` and ``/s/<channel>?before=<id>`` pages built from a
saved preview page (its header and its message blocks), the files those pages link to, and the
landing pages Telegram shows for names without a preview. Faults (429, 5xx) can be queued, and every
request is recorded, so tests can check pacing and the User-Agent::

    preview = FakeWebPreview(page_size=5)
    name = preview.add_saved_page(Path("tgvault_webtest.html").read_text())
    with preview.running() as base_url:           # http://127.0.0.1:<port>
        ...  # point WebOptions(base_url=base_url) or TGVAULT_WEB__BASE_URL at it

Links to Telegram's file servers (``https://cdn4.telegram-cdn.org/...``) are rewritten to
``<base_url>/cdn/...`` when a page is served, so nothing ever leaves the machine. Each file's bytes are
:meth:`FakeWebPreview.file_bytes` of its path unless set in ``files``.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from selectolax.lexbor import LexborHTMLParser

__all__ = ["FakeWebPreview", "SeenRequest"]

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


@dataclass(frozen=True)
class SeenRequest:
    """One request the fake answered: its path with query, User-Agent and answer status."""

    path: str
    user_agent: str | None
    status: int


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

    def __init__(self, *, page_size: int = 20) -> None:
        self.page_size = page_size
        self.files: dict[str, bytes] = {}
        self.requests: list[SeenRequest] = []
        self.max_in_flight = 0
        self._channels: dict[str, _Channel] = {}
        self._raw_pages: dict[str, str] = {}
        self._landings: dict[str, str] = {}
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self.base_url = ""

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

    def fail(
        self, prefix: str, status: int, *, times: int = 1, headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next ``times`` requests whose path starts with ``prefix`` with ``status``."""
        self._faults.append(_Fault(prefix, status, times, dict(headers or {})))

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

    def _answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        for fault in self._faults:
            if fault.times > 0 and path.startswith(fault.prefix):
                fault.times -= 1
                return fault.status, fault.headers, b"busy"
        split = urlsplit(path)
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
        if len(parts) == 1:
            landing = self._landings.get(parts[0].lower(), UNKNOWN_NAME_PAGE.format(name=parts[0]))
            return 200, html_type, landing.encode()
        return 404, html_type, b"<html><body>Not found</body></html>"

    def _rewrite(self, html: str) -> bytes:
        return _CDN.sub(f"{self.base_url}/cdn/", html).encode()

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
                        fake.requests.append(SeenRequest(self.path, self.headers.get("User-Agent"), status))
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                finally:
                    # Counted out before the body goes: the client can send its next request only once it
                    # has the whole body, so that request is never counted beside this one.
                    with fake._lock:
                        fake._in_flight -= 1
                self.wfile.write(body)

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
