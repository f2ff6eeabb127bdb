"""Which webhook URLs may be called: no request of ours may reach the service's own network.

A URL must be ``http`` or ``https`` with a host name and no credentials, and every address
its host resolves to must be public (not private, loopback, link-local, shared, reserved or
multicast; IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry). It is
checked when the endpoint is saved (:func:`url_problem`) and again on every connection
(:class:`GuardedBackend`): the backend resolves the host itself, refuses when any
address is not public, and connects to the address it checked, so a DNS answer that
changes between the check and the connection (rebinding) cannot slip through.
``WEBHOOK_ALLOW_PRIVATE_URLS`` turns the address check off (local receivers and tests).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
from django.conf import settings

DNS_TIMEOUT = 5.0  # seconds to resolve a host


class UnsafeAddressError(httpcore.ConnectError):
    """The URL's host resolves to an address webhooks may not reach (not retried)."""


def private_urls_allowed() -> bool:
    return bool(settings.WEBHOOK_ALLOW_PRIVATE_URLS)


def address_problem(address: str) -> str | None:
    """Why ``address`` may not be called, or None when it is a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return f"{address} is a loopback address"
    if ip.is_link_local:
        return f"{address} is a link-local address"
    if ip.is_private:
        return f"{address} is a private address"
    if ip.is_multicast or not ip.is_global:
        return f"{address} is not a public address"
    return None


def addresses_problem(addresses: Iterable[str]) -> str | None:
    for address in addresses:
        problem = address_problem(address)
        if problem:
            return problem
    return None


def url_shape_problem(url: str) -> str | None:
    """Why ``url`` is not an acceptable webhook URL on its face, or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError as exc:
        return f"Not a valid URL: {exc}."
    if parts.scheme not in ("http", "https"):
        return "Only http:// and https:// URLs can receive webhooks."
    if not parts.hostname:
        return "The URL needs a host name."
    if parts.username or parts.password:
        return "Credentials in the URL are not allowed; the signature authenticates us."
    return None


def url_problem(url: str) -> str | None:
    """Why ``url`` may not receive webhooks, or None: its shape and, unless private URLs
    are allowed, every address its host resolves to now."""
    problem = url_shape_problem(url)
    if problem or private_urls_allowed():
        return problem
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return f"The host {host} does not resolve."
    problem = addresses_problem(str(info[4][0]) for info in infos)
    return f"The URL is refused: {problem}." if problem else None


async def resolve(host: str, port: int) -> list[str]:
    """The addresses of ``host`` (an IP literal is its own address)."""
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), DNS_TIMEOUT
        )
    except (OSError, TimeoutError) as exc:
        raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend that resolves, checks and connects to a checked address
    (TLS still verifies the certificate against the URL's host name)."""

    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve(host, port)
        if not private_urls_allowed():
            problem = addresses_problem(addresses)
            if problem:
                raise UnsafeAddressError(f"refused: {host} resolves to {problem}")
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._backend.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                error = exc
        raise error or httpcore.ConnectError(f"{host}: no address to connect to")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeAddressError("webhooks never connect to a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)
