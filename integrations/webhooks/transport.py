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
import itertools
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


# httpcore's pool looks at every connection it holds each time a request starts or ends
# (and at every other connection for each idle one), so its cost grows with the square of
# its size: deliveries go through several small pools in turn instead of one large one.
POOLS = 8
POOL_CONNECTIONS = 25


class _Pools:
    def __init__(self) -> None:
        context = ssl.create_default_context()
        self.pools = [
            httpcore.AsyncConnectionPool(
                ssl_context=context,
                max_connections=POOL_CONNECTIONS,
                max_keepalive_connections=POOL_CONNECTIONS,
                keepalive_expiry=30.0,
                network_backend=GuardedBackend(),
            )
            for _ in range(POOLS)
        ]
        self.turn = itertools.cycle(self.pools)


_pools: dict[asyncio.AbstractEventLoop, _Pools] = {}


def _pool() -> httpcore.AsyncConnectionPool:
    """The next of this event loop's pools (their connections belong to that loop), kept
    open: a worker delivering many events to one CRM reuses its keep-alive connections."""
    loop = asyncio.get_running_loop()
    pools = _pools.get(loop)
    if pools is None:
        for closed in [old for old in _pools if old.is_closed()]:
            del _pools[closed]
        pools = _pools[loop] = _Pools()
    return next(pools.turn)


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
