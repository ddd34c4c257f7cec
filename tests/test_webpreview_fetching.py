"""Where the web source may fetch from, how much and for how long, against real local HTTP servers.

A preview page (or a mirror) is untrusted: its media URLs and redirects must never reach a private,
loopback, link-local or metadata address, files stop at the size asked for, every request has a
deadline, and a host that cannot be reached is reported once and skipped instead of retried file by file.
Telegram's own host names are made to resolve through :class:`FakeNetwork`, which carries connections to
public addresses onto local servers, so nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from structlog.testing import capture_logs

from tgvault.domain import Channel
from tgvault.errors import (
    HostUnreachableError,
    MediaTooLargeError,
    MediaUnavailableError,
    RefusedURLError,
    SourceError,
)
from tgvault.sources.base import FetchedPost
from tgvault.sources.webpreview import WebClient, WebOptions, WebPreviewSource
from tgvault.sources.webpreview.addresses import address_problem
from tgvault.testing.webpreview import FakeNetwork, FakeWebPreview

FIXTURES = Path(__file__).parent / "fixtures" / "webpreview"
NAME = "tgvault_webtest"
CHANNEL = Channel(id=1987654321, username=NAME, title="t")
PHOTO3 = "https://cdn4.telegram-cdn.org/file/photo3.jpg"
TELEGRAM_IP = "149.154.167.99"  # a public address; FakeNetwork carries it onto a local server
CDN = "cdn4.telesco.pe"

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


@dataclass
class FakeTime:
    """A clock that moves only when the client sleeps (or a test moves it)."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Sink:
    def __init__(self, limit: int | None = None) -> None:
        self.data = bytearray()
        if limit is not None:
            self.limit = limit

    def write(self, chunk: bytes) -> int:
        self.data.extend(chunk)
        return len(chunk)


def new_preview() -> FakeWebPreview:
    fake = FakeWebPreview(page_size=5)
    fake.add_saved_page((FIXTURES / "tgvault_webtest.html").read_text())
    return fake


@pytest.fixture
def preview() -> Iterator[FakeWebPreview]:
    fake = new_preview()
    with fake.running():
        yield fake


@pytest.fixture
def secret() -> Iterator[FakeWebPreview]:
    """Another local server: an internal service a page must never make tgvault fetch from."""
    fake = FakeWebPreview()
    with fake.running():
        yield fake


def make_source(
    fake: FakeWebPreview,
    network: FakeNetwork | None = None,
    clock: FakeTime | None = None,
    **options: Any,
) -> tuple[WebPreviewSource, FakeTime]:
    clock = clock or FakeTime()
    settings = {"base_url": fake.base_url, "request_delay": 0.0, "backoff": 1.0, "timeout": 5.0, **options}
    extra: dict[str, Any] = {}
    if network is not None:
        extra = {"resolve": network.resolve, "network": network.backend()}
    client = WebClient(WebOptions(**settings), sleep=clock.sleep, clock=clock.clock, **extra)
    return WebPreviewSource(client), clock


def point_photo_at(fake: FakeWebPreview, url: str) -> None:
    """Make post 3's photo link to ``url`` (what a hostile page or mirror does)."""
    fake.edit(NAME, 3, PHOTO3, url)


async def download(source: WebPreviewSource, message_id: int, sink: Sink) -> None:
    fetched = (await source.get_posts(CHANNEL, [message_id]))[message_id]
    assert fetched is not None
    await source.download_media(CHANNEL, fetched, sink)


def file_requests(fake: FakeWebPreview) -> list[str]:
    return [seen.path for seen in fake.requests if not seen.path.startswith("/s/")]


# ---- where: only the preview's host and Telegram's, never a private address -------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{secret}/cdn/file/secret",
        "http://[::1]:{secret}/cdn/file/secret",
        "http://localhost:{secret}/cdn/file/secret",
        "http://10.0.0.5/cdn/file/x",
        "http://192.168.1.1/admin",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:127.0.0.1]:{secret}/cdn/file/secret",
        "http://2130706433:{secret}/cdn/file/secret",
        "http://example.com/photo.jpg",
    ],
)
def test_media_urls_outside_telegram_are_never_fetched(
    preview: FakeWebPreview, secret: FakeWebPreview, url: str
) -> None:
    """A page's photo URL pointing at loopback, a private or metadata address, another port of the
    preview's own machine or any other host is refused before any connection: the file is unavailable."""
    point_photo_at(preview, url.format(secret=secret.port))
    source, _ = make_source(preview)
    sink = Sink()

    with pytest.raises(MediaUnavailableError, match="was not fetched: refusing to fetch"):
        run(download(source, 3, sink))

    assert [] == secret.requests
    assert b"" == bytes(sink.data)
    assert [] == file_requests(preview)


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.10",
        "127.0.0.1",
        "0.0.0.0",
        "169.254.169.254",
        "100.64.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fd00:ec2::254",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    ],
)
def test_a_telegram_name_resolving_to_a_private_address_is_refused(
    preview: FakeWebPreview, address: str
) -> None:
    """An allowed host name whose DNS answer is private, loopback, link-local, multicast, reserved or
    unspecified (IPv4, IPv6, IPv4 inside IPv6) is refused after resolving and before connecting."""
    preview.files_url = f"http://{CDN}"
    network = FakeNetwork()
    network.add_host(CDN, address, serve_on=preview.port)
    source, _ = make_source(preview, network)

    with pytest.raises(MediaUnavailableError, match=f"refusing to connect to {CDN}"):
        run(download(source, 3, Sink()))

    assert [CDN] == network.lookups
    assert [] == [connection for connection in network.connections if connection[1] != preview.port]
    assert [] == file_requests(preview)


def test_any_private_address_among_the_answers_refuses_the_name(preview: FakeWebPreview) -> None:
    """A name answering with a public and a private address is refused (no address is tried)."""
    preview.files_url = f"http://{CDN}"
    network = FakeNetwork()
    network.add_host(CDN, TELEGRAM_IP, "10.0.0.1", serve_on=preview.port)
    source, _ = make_source(preview, network)

    with pytest.raises(MediaUnavailableError, match=re.escape("10.0.0.1 is a private address")):
        run(download(source, 3, Sink()))
    assert [] == file_requests(preview)


def test_public_addresses_pass() -> None:
    """Telegram's real addresses are public: nothing to refuse."""
    assert [None, None, None] == [
        address_problem(address) for address in ("149.154.167.99", "91.108.56.100", "2001:67c:4e8:f004::9")
    ]


def test_files_from_telegrams_cdn_are_fetched_from_the_address_that_was_checked(
    preview: FakeWebPreview,
) -> None:
    """A CDN name is resolved once and the connection goes to exactly that address, with the name kept in
    the Host header: a second DNS answer (rebinding to 127.0.0.1) is never used."""
    preview.files_url = f"http://{CDN}"
    network = FakeNetwork()
    network.routes[TELEGRAM_IP] = preview.port
    network.answer_in_turn(CDN, [TELEGRAM_IP], ["127.0.0.1"])
    source, _ = make_source(preview, network)
    sink = Sink()

    run(download(source, 3, sink))

    assert FakeWebPreview.file_bytes("/cdn/file/photo3.jpg") == bytes(sink.data)
    assert [CDN] == network.lookups
    assert [(TELEGRAM_IP, 80)] == [connection for connection in network.connections if connection[1] == 80]
    assert [CDN] == [seen.host for seen in preview.requests if seen.path.startswith("/cdn/")]


def test_a_redirect_to_a_private_address_is_not_followed(
    preview: FakeWebPreview, secret: FakeWebPreview
) -> None:
    """The preview's own host may redirect, but each hop is checked: not to another local port."""
    preview.redirect("/cdn/file/photo3.jpg", f"http://127.0.0.1:{secret.port}/cdn/file/secret")
    source, _ = make_source(preview)
    sink = Sink()

    with pytest.raises(MediaUnavailableError, match=re.escape("refusing to fetch 127.0.0.1/cdn/file/secret")):
        run(download(source, 3, sink))
    assert [] == secret.requests
    assert b"" == bytes(sink.data)


def test_a_redirect_to_a_name_resolving_privately_is_not_followed(preview: FakeWebPreview) -> None:
    """A hop to an allowed name is resolved and checked like the first request."""
    preview.redirect("/cdn/file/photo3.jpg", f"http://{CDN}/latest/meta-data/")
    network = FakeNetwork()
    network.add_host(CDN, "169.254.169.254", serve_on=preview.port)
    source, _ = make_source(preview, network)

    with pytest.raises(MediaUnavailableError, match=re.escape("169.254.169.254 is a link-local address")):
        run(download(source, 3, Sink()))
    assert ["/cdn/file/photo3.jpg"] == file_requests(preview)


def test_redirects_are_followed_a_few_hops_at_most(preview: FakeWebPreview) -> None:
    """A redirect loop on an allowed host ends after a few hops with an error, not forever."""
    preview.redirect("/cdn/file/photo3.jpg", "/cdn/file/photo3.jpg")
    source, _ = make_source(preview)

    with pytest.raises(SourceError, match="more than 5 redirects"):
        run(download(source, 3, Sink()))
    assert 6 == len(file_requests(preview))


def test_allowed_redirects_still_work(preview: FakeWebPreview) -> None:
    """A redirect within the preview's host (a moved file) is followed."""
    preview.redirect("/cdn/file/photo3.jpg", "/cdn/file/moved.jpg")
    source, _ = make_source(preview)
    sink = Sink()

    run(download(source, 3, sink))
    assert FakeWebPreview.file_bytes("/cdn/file/moved.jpg") == bytes(sink.data)


# ---- how much: a file stops at its limit ----------------------------------------------------------


@pytest.mark.parametrize("declare_length", [False, True])
def test_a_300_mb_photo_stops_at_the_limit(preview: FakeWebPreview, declare_length: bool) -> None:
    """A "photo" of 300 MB (announced or not) is cut off at the sink's limit: MediaTooLargeError, and
    nothing past the limit is written."""
    preview.stream("/cdn/file/photo3.jpg", 300 * 1024 * 1024, declare_length=declare_length)
    source, _ = make_source(preview)
    sink = Sink(limit=1024 * 1024)
    started = time.monotonic()

    with pytest.raises(MediaTooLargeError, match=r"over the channel's media_max_size \(1048576\)"):
        run(download(source, 3, sink))

    assert len(sink.data) <= 1024 * 1024
    assert 0 == len(sink.data) if declare_length else len(sink.data) > 0
    assert preview.bytes_sent.get("/cdn/file/photo3.jpg", 0) < 100 * 1024 * 1024
    assert time.monotonic() - started < 30


# ---- how long: an overall deadline, not only a per-read timeout ------------------------------------


@pytest.mark.parametrize("path", ["/cdn/file/photo3.jpg", f"/s/{NAME}"])
def test_a_server_trickling_bytes_is_cut_off_at_the_deadline(preview: FakeWebPreview, path: str) -> None:
    """One byte every 50 ms never trips the 5 s read timeout; the 1 s deadline of the request ends it."""
    channel_post = (
        run(make_source(preview)[0].get_posts(CHANNEL, [3]))[3] if path.startswith("/cdn/") else None
    )
    preview.stream(path, None, chunk=1, delay=0.05)
    source, _ = make_source(preview, deadline=1.0, retries=0)
    started = time.monotonic()

    with pytest.raises(SourceError, match="no complete answer within 1 s"):
        if channel_post is not None:
            run(source.download_media(CHANNEL, channel_post, Sink()))
        else:
            run(source.resolve(f"@{NAME}"))

    assert time.monotonic() - started < 5


# ---- a host that cannot be reached ------------------------------------------------------------------


def unreachable_setup(
    preview: FakeWebPreview, how: str
) -> tuple[WebPreviewSource, FakeTime, FakeNetwork, list[FetchedPost]]:
    preview.files_url = f"{'https' if how == 'tls' else 'http'}://{CDN}"
    network = FakeNetwork()
    if how == "refused":
        network.add_host(CDN, TELEGRAM_IP)  # no route: the connection is refused, as by a closed port
    if how == "tls":
        network.add_host(CDN, TELEGRAM_IP, serve_on=preview.port)  # an HTTP server where TLS is expected
    source, clock = make_source(preview, network, backoff=2.0)
    fetched = run(source.get_posts(CHANNEL, [3, 5, 11, 19]))
    return source, clock, network, [item for item in fetched.values() if item is not None]


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("no such name", "its name does not resolve"),
        ("refused", "the connection was refused"),
        ("tls", "TLS failed"),
    ],
)
def test_an_unreachable_file_host_is_reported_once_and_skipped(
    preview: FakeWebPreview, how: str, reason: str
) -> None:
    """DNS failure, a refused connection or a TLS failure: one more try, then one warning naming the host,
    and every other file of that host fails at once (no five retries each, no "busy" message, no long
    URLs)."""
    source, clock, network, posts = unreachable_setup(preview, how)

    async def go() -> list[BaseException | None]:
        outcomes: list[BaseException | None] = []
        for item in posts:
            try:
                await source.download_media(CHANNEL, item, Sink())
                outcomes.append(None)
            except SourceError as exc:
                outcomes.append(exc)
        return outcomes

    with capture_logs() as logs:
        outcomes = run(go())

    assert 4 == len(posts)
    assert [HostUnreachableError] * 4 == [type(outcome) for outcome in outcomes]
    assert {CDN} == {outcome.host for outcome in outcomes if isinstance(outcome, HostUnreachableError)}
    assert all(str(outcome).startswith(f"cannot reach {CDN}: {reason}") for outcome in outcomes)
    assert [2.0] == clock.sleeps  # one short pause before the one retry, then nothing
    attempts = network.lookups if how == "no such name" else network.connections
    assert 2 == len([entry for entry in attempts if CDN in entry or TELEGRAM_IP in entry])
    assert [] == file_requests(preview)
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert [("web host cannot be reached; its requests wait", CDN)] == [
        (entry["event"], entry["host"]) for entry in warnings
    ]
    assert [] == [entry for entry in logs if "busy" in entry["event"]]
    assert all(len(str(value)) < 300 for entry in logs for value in entry.values())


def test_an_unreachable_host_is_tried_again_after_a_while(preview: FakeWebPreview) -> None:
    """The skip lasts ``unreachable_for`` seconds; then the host is tried again (and now answers)."""
    source, clock, network, posts = unreachable_setup(preview, "no such name")
    [photo] = [item for item in posts if item.post.message_id == 3]
    with pytest.raises(HostUnreachableError):
        run(source.download_media(CHANNEL, photo, Sink()))
    network.add_host(CDN, TELEGRAM_IP, serve_on=preview.port)
    with pytest.raises(HostUnreachableError):
        run(source.download_media(CHANNEL, photo, Sink()))

    clock.now += 301
    sink = Sink()
    run(source.download_media(CHANNEL, photo, sink))
    assert FakeWebPreview.file_bytes("/cdn/file/photo3.jpg") == bytes(sink.data)


def test_busy_answers_are_still_retried_with_backoff(preview: FakeWebPreview) -> None:
    """429/5xx is a busy host, not an unreachable one: backoff as before, no warning."""
    preview.fail("/cdn/file/photo3.jpg", 503, times=2)
    source, clock = make_source(preview, backoff=1.0)
    sink = Sink()

    with capture_logs() as logs:
        run(download(source, 3, sink))

    assert FakeWebPreview.file_bytes("/cdn/file/photo3.jpg") == bytes(sink.data)
    assert [1.0, 2.0] == clock.sleeps
    assert ["web preview busy; waiting"] * 2 == [entry["event"] for entry in logs]
    assert [] == [entry for entry in logs if entry["log_level"] == "warning"]


def test_log_lines_show_short_urls(preview: FakeWebPreview) -> None:
    """A retried file's log line names its host and the start of its path, not a 500-character URL."""
    long_path = "/cdn/file/" + "A" * 500 + ".jpg"
    point_photo_at(preview, preview.base_url + long_path)
    preview.fail(long_path, 503, times=1)
    source, _ = make_source(preview)

    with capture_logs() as logs:
        run(download(source, 3, Sink()))

    [busy] = [entry for entry in logs if entry["event"] == "web preview busy; waiting"]
    assert "127.0.0.1/cdn/file/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA…" == busy["url"]


def test_only_http_urls_are_fetched_and_refusals_are_typed() -> None:
    """A URL that is not http(s) raises RefusedURLError before anything is opened."""
    client = WebClient(WebOptions(request_delay=0))
    with pytest.raises(RefusedURLError, match="not an http"):
        run(client.get("gopher://t.me/s/x"))


def test_the_deadline_is_a_setting(tmp_path: Path) -> None:
    """``[web] deadline`` reaches the client (300 s unless set); 0 is refused naming the field."""
    from tgvault.app import web_source
    from tgvault.config import load_settings
    from tgvault.errors import ConfigError

    assert 300.0 == web_source(load_settings(None, env={}))._client.options.deadline
    settings = load_settings(None, env={"TGVAULT_WEB__DEADLINE": "45"})
    assert 45.0 == web_source(settings)._client.options.deadline
    path = tmp_path / "tgvault.toml"
    path.write_text("[web]\ndeadline = 0\n")
    with pytest.raises(ConfigError, match=re.escape("web.deadline: 0 is out of range")):
        load_settings(path, env={})


@pytest.mark.parametrize("location", ["file:///etc/passwd", "gopher://t.me/x", "http://[::1", "//10.0.0.1/x"])
def test_a_redirect_to_a_non_web_or_broken_url_is_refused(preview: FakeWebPreview, location: str) -> None:
    """A hop to another scheme, a URL that does not parse or a private address is refused by name."""
    preview.redirect("/cdn/file/photo3.jpg", location)
    source, _ = make_source(preview)

    with pytest.raises(MediaUnavailableError, match="was not fetched: refusing to fetch"):
        run(download(source, 3, Sink()))


def test_urls_in_messages_are_short_and_printable() -> None:
    """Log lines and errors show a URL's host and path start, with terminal escapes neutralised."""
    from tgvault.sources.webpreview.destinations import short_url

    assert "cdn4.telesco.pe/file/" + "A" * 34 + "…" == short_url("https://cdn4.telesco.pe/file/" + "A" * 500)
    assert "t.me/s/name?before=30" == short_url("https://t.me/s/name?before=30")
    assert "\x1b" not in short_url("http://x/\x1b[2J\x1b]0;owned\x07")
