"""Keeps webhook targets off internal networks (SSRF).

Targets must be http(s). Every address a host resolves to is checked, at subscribe time and
again at delivery time (DNS can change between the two, or per request: DNS rebinding), and
the delivery connects to the very addresses that were checked: ``GuardedResolver`` is the
aiohttp resolver of the delivery session, so there is no second lookup to race with.

Refused: anything that is not globally routable (loopback, RFC 1918 private, link-local,
CGNAT, unspecified, reserved, documentation ranges, ...), multicast, and the cloud metadata
endpoints. ``allow_private`` (``HARI_WEBHOOK_ALLOW_PRIVATE``) lifts the first two for local
development; metadata endpoints stay refused even then.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.123",  # AWS time sync
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS IPv6
        "fd00:ec2::23",
    )
)


class TargetRefused(ValueError):
    """The target URL or one of its addresses is not allowed."""


def _unwrap(ip: IPAddress) -> IPAddress:
    """The IPv4 address hidden in an IPv4-mapped, 6to4 or Teredo IPv6 address, else ``ip``."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return embedded
    return ip


def address_refusal(address: str, allow_private: bool = False) -> str | None:
    """Why ``address`` may not be a webhook target, or None when it may."""
    try:
        ip = _unwrap(ipaddress.ip_address(address.split("%", 1)[0]))
    except ValueError:
        return f"'{address}' is not an IP address"
    if ip in METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata address"
    if allow_private:
        return None
    if ip.is_multicast:
        return f"{ip} is a multicast address"
    if not ip.is_global:
        kind = (
            "loopback"
            if ip.is_loopback
            else "link-local"
            if ip.is_link_local
            else "unspecified"
            if ip.is_unspecified
            else "private"
            if ip.is_private
            else "reserved"
        )
        return f"{ip} is not a public address ({kind})"
    return None


def parse_target(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an acceptable http(s) URL; ``TargetRefused`` otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"Not a valid URL: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise TargetRefused("Only http and https URLs are allowed.")
    if not parts.hostname:
        raise TargetRefused("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("Credentials in the URL are not allowed; receivers verify X-Hari-Signature instead.")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def origin(url: str) -> str:
    scheme, host, port = parse_target(url)
    return f"{scheme}://{host}:{port}"


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return True
    except ValueError:
        return False


def check_addresses(host: str, addresses: list[str], allow_private: bool) -> None:
    if not addresses:
        raise TargetRefused(f"'{host}' does not resolve to any address.")
    for address in addresses:
        reason = address_refusal(address, allow_private)
        if reason:
            raise TargetRefused(f"'{host}' is refused: {reason}.")


async def check_target(url: str, allow_private: bool) -> None:
    """Resolve the URL's host now and refuse it if any of its addresses is not allowed."""
    _, host, port = parse_target(url)
    if is_ip_literal(host):
        check_addresses(host, [host], allow_private)
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"'{host}' cannot be resolved: {exc}.") from None
    check_addresses(host, [str(info[4][0]) for info in infos], allow_private)


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that refuses the whole host when any resolved address is not allowed."""

    def __init__(self, allow_private: bool, inner: AbstractResolver | None = None) -> None:
        self.allow_private = allow_private
        self._inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        check_addresses(host, [str(r["host"]) for r in results], self.allow_private)
        return results

    async def close(self) -> None:
        await self._inner.close()


def describe(exc: BaseException) -> str:
    """A short text for delivery logs (aiohttp wraps resolver errors in ClientConnectorError)."""
    cause: Any = exc
    while cause is not None:
        if isinstance(cause, TargetRefused):
            return str(cause)
        cause = cause.__cause__ or cause.__context__
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
