"""What the Telegram and WhatsApp senders share: one retry policy over httpx, and text splitting.

:func:`post_json` (and :func:`post_multipart`, for file uploads) sends one request and
retries what is transient: 429 (waiting what ``Retry-After`` or the body's ``retry_after``
asks, within ``CHANNEL_SEND_MAX_WAIT``), 5xx and network errors (exponential backoff), up
to ``CHANNEL_SEND_RETRIES`` retries. Everything
else (a 4xx the platform means) comes back at once for the caller to class as permanent.
It never raises for an HTTP or network problem: the caller reads :class:`Outcome`. Its network
errors and log lines are redacted (``tenants.redaction``): a Telegram URL carries the bot token.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from tenants.redaction import redact

logger = logging.getLogger(__name__)

TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class Outcome:
    """The last answer (or network error) of a request after its retries."""

    status: int | None  # None: no HTTP answer at all (connection refused, timeout)
    body: Any = None  # parsed JSON, or the text when the body is not JSON
    error: str = ""  # network error, when status is None
    transient: bool = False  # a failure that may pass: 429, 5xx, network errors
    retry_after: float | None = None  # seconds the platform asked to wait

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def split_text(text: str, limit: int = 4096) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at a paragraph, line or word
    boundary when one lies in the last fifth of a piece, never inside a word otherwise."""
    text = text.strip()
    pieces: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = -1
        for boundary in ("\n\n", "\n", " "):
            at = window.rfind(boundary)
            if at >= limit * 4 // 5:
                cut = at
                break
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def _retry_after(response: httpx.Response, body: Any) -> float | None:
    header = response.headers.get("Retry-After")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            return None  # an HTTP date: fall back to backoff
    if isinstance(body, dict):
        # Telegram: {"ok": false, "error_code": 429, "parameters": {"retry_after": 3}}
        value = (body.get("parameters") or {}).get("retry_after", body.get("retry_after"))
        if isinstance(value, int | float):
            return max(0.0, float(value))
    return None


def _parse(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]


async def post_json(
    client: httpx.AsyncClient,
    url: str,
    payload: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    is_transient: Callable[[int, Any], bool] | None = None,
) -> Outcome:
    """POST ``payload`` as JSON once; the :class:`Outcome` says whether trying again later
    may help (``transient``) and how long the platform asked to wait (``retry_after``).

    ``is_transient(status, body)`` may widen what counts as transient (a platform error
    code that means "try again"). Nothing here sleeps: the inbox schedules the retry, so a
    failing recipient never holds a worker slot.
    """
    return await _post(client, url, headers, is_transient, json=payload)


async def post_multipart(
    client: httpx.AsyncClient,
    url: str,
    fields: dict[str, str],
    files: dict[str, tuple[str, bytes, str]],
    *,
    headers: dict[str, str] | None = None,
    is_transient: Callable[[int, Any], bool] | None = None,
) -> Outcome:
    """:func:`post_json` for a ``multipart/form-data`` upload: ``fields`` as form fields,
    ``files`` as ``{name: (filename, content, content type)}`` (Telegram's sendDocument,
    WhatsApp's media upload)."""
    return await _post(client, url, headers, is_transient, data=fields, files=files)


async def _post(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str] | None,
    is_transient: Callable[[int, Any], bool] | None,
    **content: Any,
) -> Outcome:
    try:
        response = await client.post(url, headers=headers, **content)
    except httpx.HTTPError as exc:
        error = redact(f"{type(exc).__name__}: {exc}")[:500]
        return Outcome(status=None, error=error, transient=True)
    body = _parse(response)
    transient = response.status_code in TRANSIENT_STATUSES or bool(
        is_transient and is_transient(response.status_code, body)
    )
    outcome = Outcome(status=response.status_code, body=body, transient=transient)
    if not outcome.ok and transient:
        outcome.retry_after = _retry_after(response, body)
        logger.info("POST %s: %s (transient)", redact(url), _brief(outcome))
    return outcome


def retry_delay(*, attempt: int, asked: float | None) -> float | None:
    """Seconds before try number ``attempt + 1`` of a send (``attempt`` counts from 1), or
    None when no retry is left: what the platform asked for, else exponential backoff
    with jitter. A wait longer than ``CHANNEL_SEND_MAX_WAIT`` is not waited for."""
    if attempt > settings.CHANNEL_SEND_RETRIES:
        return None
    if asked is not None:
        return asked if asked <= settings.CHANNEL_SEND_MAX_WAIT else None
    base = settings.CHANNEL_SEND_BACKOFF * (2 ** (attempt - 1))
    return base * (1 + random.random() / 2)  # noqa: S311 (jitter)


def _brief(outcome: Outcome) -> str:
    return f"HTTP {outcome.status}" if outcome.status is not None else outcome.error


_clients: dict[asyncio.AbstractEventLoop, dict[float, httpx.AsyncClient]] = {}


def shared_client() -> httpx.AsyncClient:
    """One client per event loop (its connection pool belongs to that loop), kept open.

    Building an ``httpx.AsyncClient`` loads the certificate bundle (~30 ms of CPU on the
    event loop); a worker running 50 turns that each show "typing…" every 4 seconds must
    not pay that per call. Connections to the platform are reused too.
    """
    loop = asyncio.get_running_loop()
    per_loop = _clients.get(loop)
    if per_loop is None:
        for closed in [old for old in _clients if old.is_closed()]:
            del _clients[closed]
        per_loop = _clients[loop] = {}
    timeout = settings.CHANNEL_SEND_TIMEOUT
    client = per_loop.get(timeout)
    if client is None:
        client = per_loop[timeout] = httpx.AsyncClient(
            timeout=timeout, limits=httpx.Limits(max_connections=200)
        )
    return client
