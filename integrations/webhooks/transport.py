"""One signed POST of a webhook payload: bounded in time and size, never redirected.

httpcore (the connection pool under httpx) sends it through :class:`GuardedBackend`, so the
address check happens on the connection itself. httpcore follows no redirect: a 3xx is a
non-2xx answer like any other. At most :data:`EXCERPT_BYTES` of the answer are read; the
whole attempt (DNS, connect, send, answer) is bounded by the connect and read timeouts
plus a second. :func:`webhook_post` never raises for an HTTP or network problem: the
:class:`AttemptOutcome` says what happened and whether trying again may help.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass

import httpcore
from django.conf import settings

from integrations.webhooks.safety import GuardedBackend, UnsafeAddressError

EXCERPT_BYTES = 2048  # of the answer's body kept in the delivery log
USER_AGENT = "b2b-sales-agent-webhooks/1"


@dataclass(frozen=True)
class AttemptOutcome:
    status_code: int | None  # None: no HTTP answer (refused, timed out, unsafe address)
    duration_ms: int
    excerpt: str = ""
    error: str = ""
    permanent: bool = False  # retrying cannot help (the address is refused)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


_pools: dict[asyncio.AbstractEventLoop, httpcore.AsyncConnectionPool] = {}


def _pool() -> httpcore.AsyncConnectionPool:
    """One pool per event loop (its connections belong to that loop), kept open: a worker
    delivering many events to one CRM reuses its keep-alive connections."""
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        for closed in [old for old in _pools if old.is_closed()]:
            del _pools[closed]
        pool = _pools[loop] = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(),
            max_connections=200,
            max_keepalive_connections=50,
            keepalive_expiry=30.0,
            network_backend=GuardedBackend(),
        )
    return pool


async def _excerpt(response: httpcore.Response) -> str:
    data = b""
    async for chunk in response.aiter_stream():
        data += chunk
        if len(data) >= EXCERPT_BYTES:
            break
    return data[:EXCERPT_BYTES].decode("utf-8", errors="replace")


async def webhook_post(url: str, body: bytes, headers: dict[str, str]) -> AttemptOutcome:
    """POST ``body`` (JSON) with ``headers`` to ``url`` once."""
    connect, read = settings.WEBHOOK_CONNECT_TIMEOUT, settings.WEBHOOK_READ_TIMEOUT
    timeouts = {"connect": connect, "read": read, "write": read, "pool": connect}
    sent: list[tuple[bytes | str, bytes | str]] = [
        ("Content-Type", "application/json"),
        ("User-Agent", USER_AGENT),
        *headers.items(),
    ]
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        async with asyncio.timeout(connect + read + 1.0):
            async with _pool().stream(
                "POST", url, headers=sent, content=body, extensions={"timeout": timeouts}
            ) as response:
                excerpt = await _excerpt(response)
                return AttemptOutcome(response.status, elapsed(), excerpt=excerpt)
    except UnsafeAddressError as exc:
        return AttemptOutcome(None, elapsed(), error=str(exc)[:500], permanent=True)
    except (TimeoutError, httpcore.TimeoutException) as exc:
        reason = type(exc).__name__ if isinstance(exc, httpcore.TimeoutException) else "timeout"
        return AttemptOutcome(None, elapsed(), error=f"timed out ({reason})")
    except (httpcore.NetworkError, httpcore.ProtocolError, OSError) as exc:
        return AttemptOutcome(None, elapsed(), error=f"{type(exc).__name__}: {exc}"[:500])
    except httpcore.UnsupportedProtocol as exc:
        return AttemptOutcome(None, elapsed(), error=str(exc)[:500], permanent=True)
