"""Where the web source may send a request: the preview's own host and Telegram's, nothing else.

A page is written by whoever controls it (Telegram, a mirror, an attacker in between), so every URL it
hands over — a photo, a video, a redirect — is checked here before a connection is opened:

- the scheme is http or https;
- the host is the one of ``[web] base_url`` (the operator's choice, trusted as configured, whatever its
  address), or a name in one of :data:`TELEGRAM_DOMAINS` (or below it) on the default port.

The address a name resolves to is checked when the connection is opened (:mod:`.addresses`).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

import httpx

from tgvault.errors import RefusedURLError

TELEGRAM_DOMAINS: Final = ("t.me", "telegram.org", "telesco.pe", "cdn-telegram.org", "telegram-cdn.org")
"""The domains (with every name below them) whose files preview pages show: ``t.me`` itself (channel
photos under ``/i/userpic/``), ``telegram.org`` (emoji and icons), and the file servers ``cdn1.telesco.pe``
… ``cdn5.telesco.pe``, ``cdn*.cdn-telegram.org`` and ``cdn*.telegram-cdn.org``."""
DEFAULT_PORTS: Final = {"http": 80, "https": 443}
SHORT_PATH: Final = 40


def short_url(url: str | httpx.URL) -> str:
    """A URL for a log line or a message: its host and the start of its path (file URLs run to 500 chars),
    with anything unprintable (a terminal escape in a hostile page's URL) shown as ``?``."""
    text = "".join(char if char.isprintable() else "?" for char in str(url)[:2000])
    try:
        split = urlsplit(text)
    except ValueError:
        return text[:60] + ("…" if len(text) > 60 else "")
    tail = (split.path or "/") + (f"?{split.query}" if split.query else "")
    if len(tail) > SHORT_PATH:
        tail = tail[:SHORT_PATH] + "…"
    return f"{split.hostname or '?'}{tail}"


def host_of(url: httpx.URL) -> str:
    """The host a request to ``url`` connects to, as the connection sees it (IDNA, lower case)."""
    return url.raw_host.decode("ascii").lower()


def _under(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


class Destinations:
    """The hosts the web source fetches from: the preview's own (trusted) and Telegram's domains."""

    def __init__(self, base_url: str, domains: tuple[str, ...] = TELEGRAM_DOMAINS) -> None:
        base = httpx.URL(base_url)
        self.base_host = host_of(base)
        self.base_port = base.port or DEFAULT_PORTS.get(base.scheme, 0)
        self.domains = tuple(domain.lower().strip(".") for domain in domains)

    def is_trusted(self, host: str, port: int) -> bool:
        """True for the host and port of ``[web] base_url``: fetched whatever address it has."""
        return host.lower() == self.base_host and port == self.base_port

    def host_problem(self, host: str, port: int) -> str | None:
        """Why a connection to ``host:port`` is refused, or None when it is allowed."""
        if self.is_trusted(host, port):
            return None
        name = host.lower().rstrip(".")
        if not any(_under(name, domain) for domain in self.domains):
            return (
                f"{host} is neither the web preview's host ({self.base_host}) nor one of Telegram's "
                f"({', '.join(self.domains)})"
            )
        if port not in DEFAULT_PORTS.values():
            return f"port {port} is not a web port (80 or 443)"
        return None

    def check(self, url: str | httpx.URL) -> httpx.URL:
        """The parsed URL when it may be fetched; raises :class:`RefusedURLError` saying why not."""
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise RefusedURLError(f"refusing to fetch {short_url(str(url))!r}: not a valid URL") from exc
        if parsed.scheme not in DEFAULT_PORTS or not parsed.raw_host:
            raise RefusedURLError(f"refusing to fetch {short_url(parsed)!r}: not an http(s) URL")
        host = host_of(parsed)
        port = parsed.port or DEFAULT_PORTS[parsed.scheme]
        problem = self.host_problem(host, port)
        if problem is None and parsed.userinfo and not self.is_trusted(host, port):
            problem = "it carries a user name or password"
        if problem is not None:
            raise RefusedURLError(f"refusing to fetch {short_url(parsed)}: {problem}")
        return parsed
