"""Who calls the API: the CRM integration's API key names the account, and so the tenant.

The key comes as ``Authorization: Bearer sk_…`` or ``X-API-Key: sk_…`` (the key of a CRM
API channel account, ``manage.py add_channel SLUG api``; the same key
``POST /api/v1/messages`` has always taken). :func:`in_key_scope` wraps every operation
(authentication, the view and the serialisation of its answer) in the tenant scope of
the key's account, so every query of the operation sees that tenant's rows only; the
ninja auth classes then hand the account to the view as ``request.auth``.

Rate limits count requests per key in fixed windows of ``API_RATE_LIMIT_WINDOW``
seconds, ``API_RATE_LIMIT`` requests each, in Django's default cache (Redis when
``REDIS_URL`` is set: every process counts in the same counter); past the limit the
answer is 429 with ``Retry-After``.
"""

from __future__ import annotations

import functools
import inspect
import math
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from ninja.security import APIKeyHeader, HttpBearer
from ninja.throttling import BaseThrottle

from channels_app.models import ChannelAccount
from channels_app.selectors import channel_account_for_api_key
from integrations.api.body import body_refusal
from tenants.scoping import tenant_scope

_ACCOUNT = "_api_account"
_wait: ContextVar[float | None] = ContextVar("api_rate_wait", default=None)


def _raw_key(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("X-API-Key", "").strip()


def _account(request: HttpRequest) -> ChannelAccount | None:
    if not hasattr(request, _ACCOUNT):
        setattr(request, _ACCOUNT, channel_account_for_api_key(raw_key=_raw_key(request)))
    return getattr(request, _ACCOUNT)


def in_key_scope(run: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an operation's ``run`` in the tenant scope of the request's API key (none
    without a valid key: the operation's authentication then answers 401). With a key,
    the body is read and parsed first (``integrations.api.body``)."""
    if inspect.iscoroutinefunction(run):

        @functools.wraps(run)
        async def run_async(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            account = await sync_to_async(_account)(request)
            if account is None:
                return await run(request, *args, **kwargs)
            refused = body_refusal(request)
            if refused is not None:
                return refused
            with tenant_scope(account.tenant):
                return await run(request, *args, **kwargs)

        return run_async

    @functools.wraps(run)
    def run_sync(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        account = _account(request)
        if account is None:
            return run(request, *args, **kwargs)
        refused = body_refusal(request)
        if refused is not None:
            return refused
        with tenant_scope(account.tenant):
            return run(request, *args, **kwargs)

    return run_sync


class BearerKey(HttpBearer):
    """``Authorization: Bearer <key>``."""

    def authenticate(self, request: HttpRequest, token: str) -> ChannelAccount | None:
        return _account(request)


class HeaderKey(APIKeyHeader):
    """``X-API-Key: <key>``."""

    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> ChannelAccount | None:
        return _account(request)


def request_account(request: HttpRequest) -> ChannelAccount:
    """The authenticated account of an operation's request."""
    account = getattr(request, "auth", None)
    if not isinstance(account, ChannelAccount):
        raise RuntimeError("the operation runs without an authenticated API key")
    return account


def rate_limit_hit(*, key: str, limit: int, window: float, now: float | None = None) -> float:
    """Count one request of ``key``; 0 when it is within ``limit`` requests of the current
    window, else the seconds until the window ends. Atomic in a shared cache (Redis'
    INCR; the memory cache locks), so concurrent processes never let more through."""
    now = time.time() if now is None else now
    window_index = int(now // window)
    cache_key = f"api-rate:{key}:{window_index}"
    cache = caches["default"]
    timeout = math.ceil(window) + 1
    cache.add(cache_key, 0, timeout=timeout)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr: this is the window's first
        cache.set(cache_key, 1, timeout=timeout)
        count = 1
    if count <= limit:
        return 0.0
    return max((window_index + 1) * window - now, 0.001)


class KeyRateThrottle(BaseThrottle):
    """``API_RATE_LIMIT`` requests per ``API_RATE_LIMIT_WINDOW`` seconds for each key."""

    def allow_request(self, request: HttpRequest) -> bool:
        account = getattr(request, "auth", None)
        limit = settings.API_RATE_LIMIT
        if not isinstance(account, ChannelAccount) or limit <= 0:
            return True
        # Per key: a new key (or a row id reused after a rollback) starts its own count.
        key = f"{account.pk}:{account.api_key_hash[:16]}"
        wait = rate_limit_hit(key=key, limit=limit, window=settings.API_RATE_LIMIT_WINDOW)
        _wait.set(wait)  # one throttle object serves every request: the wait is per context
        return wait == 0

    def wait(self) -> float | None:
        return _wait.get()
