"""Connections only to public addresses, and only to the address that was checked.

:class:`VettedNetwork` is the network layer under the web source's HTTP client (an httpcore network
backend). For every connection it checks the host (:class:`~.destinations.Destinations`), resolves the
name once, refuses the connection when any address the name has is private, loopback, link-local (cloud
metadata: ``169.254.169.254``, ``fd00:ec2::254``), multicast, reserved or unspecified — IPv4 and IPv6,
including IPv4 inside IPv6 (``::ffff:10.0.0.1``, 6to4, NAT64) — and then connects to exactly the address it
checked. TLS still names the host (SNI and certificate check), so nothing changes for a real server, and
a name that resolves elsewhere a moment later (DNS rebinding) changes nothing either.

The host of ``[web] base_url`` is the operator's choice and is connected to whatever its address (tests and
mirrors run on ``127.0.0.1``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Final

import httpcore

from tgvault.errors import RefusedURLError
from tgvault.sources.webpreview.destinations import Destinations

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Resolves a host name and port to IP addresses (raises :class:`OSError` when the name does not resolve)."""

_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")


async def resolve_with_system(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for ``host`` (each once, in its order)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), which is where packets really go."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_problem(text: str) -> str | None:
    """Why a connection to this IP address is refused, or None for a public (global unicast) address."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return f"{text!r} is not an IP address"
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            problem = address_problem(str(inner))
            if problem is not None:
                return f"{problem} (inside {address})"
    checks = (
        (address.is_unspecified, "the unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address (where cloud metadata services answer)"),
        (address.is_multicast, "a multicast address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a public address"),
    )
    for refused, why in checks:
        if refused:
            return f"{address} is {why}"
    return None


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class VettedNetwork(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to allowed hosts at public addresses (see the module's docstring).

    ``resolve`` and ``inner`` are seams: tests give a resolver that knows made-up names and a backend that
    maps public addresses onto local servers.
    """

    def __init__(
        self,
        destinations: Destinations,
        resolve: Resolver = resolve_with_system,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._destinations = destinations
        self._resolve = resolve
        self._inner = inner or httpcore.AnyIOBackend()

    async def addresses(self, host: str, port: int, timeout: float | None) -> list[str]:
        """The checked addresses to connect to for ``host:port`` (RefusedURLError, or ConnectError)."""
        trusted = self._destinations.is_trusted(host, port)
        problem = None if trusted else self._destinations.host_problem(host, port)
        if problem is not None:
            raise RefusedURLError(f"refusing to connect: {problem}")
        if _is_ip_literal(host):
            found: Sequence[str] = [host]
        else:
            try:
                async with asyncio.timeout(timeout):
                    found = await self._resolve(host, port)
            except TimeoutError as exc:
                raise httpcore.ConnectTimeout(f"its name did not resolve within {timeout} s") from exc
            except OSError as exc:
                detail = exc.strerror or str(exc) or type(exc).__name__
                raise httpcore.ConnectError(f"its name does not resolve ({detail})") from exc
        if not found:
            raise httpcore.ConnectError("its name has no address")
        if not trusted:
            for address in found:
                refused = address_problem(address)
                if refused is not None:
                    raise RefusedURLError(f"refusing to connect to {host}: {refused}")
        return list(found)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first checked address of ``host`` that answers."""
        last: Exception | None = None
        for address in await self.addresses(host, port, timeout):
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None  # addresses() returns at least one address
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never: the web source talks TCP only."""
        raise RefusedURLError("refusing to connect to a Unix socket")

    async def sleep(self, seconds: float) -> None:
        """Sleep as the inner backend does."""
        await self._inner.sleep(seconds)
