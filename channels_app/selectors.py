"""Reads the edges use before any tenant scope exists: which account a request is for.

Webhook accounts are also kept in a small in-process cache (:func:`webhook_account`), so
an acknowledgement costs no query: an entry lives ``CHANNEL_ACCOUNT_CACHE_SECONDS`` and is
dropped at once when this process saves or deletes an account or a tenant (another
process sees the change within that time).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from channels_app.models import ChannelAccount, hash_api_key
from tenants.scoping import scopes_disabled

_cache: dict[tuple[str, str], tuple[float, ChannelAccount | None]] = {}
_cache_lock = threading.Lock()


def channel_account_for_key(*, kind: str, key: str) -> ChannelAccount | None:
    """The active account of ``kind`` whose public key is ``key`` (a webhook URL, the widget).

    The only unscoped read of the edges: the key is what tells us the tenant.
    """
    if not key or len(key) > 64:
        return None
    with scopes_disabled():
        return (
            ChannelAccount.objects.select_related("tenant")
            .filter(kind=kind, key=key, is_active=True, tenant__is_active=True)
            .first()
        )


async def webhook_account(*, kind: str, key: str) -> ChannelAccount | None:
    """:func:`channel_account_for_key` through the cache (a miss is cached too, briefly)."""
    ttl = settings.CHANNEL_ACCOUNT_CACHE_SECONDS
    now = time.monotonic()
    hit = _cache.get((kind, key))
    if hit is not None and hit[0] > now:
        return hit[1]
    account = await sync_to_async(channel_account_for_key)(kind=kind, key=key)
    if ttl > 0 and key and len(key) <= 64:
        with _cache_lock:
            if len(_cache) > 10_000:  # unknown keys must not grow it without bound
                _cache.clear()
            _cache[(kind, key)] = (now + ttl, account)
    return account


def webhook_accounts_forget(**_: Any) -> None:
    """Drop every cached account (an account or a tenant changed in this process)."""
    with _cache_lock:
        _cache.clear()


def channel_account_for_api_key(*, raw_key: str) -> ChannelAccount | None:
    """The active CRM API account this bearer key belongs to (keys are stored hashed)."""
    if not raw_key or len(raw_key) > 200:
        return None
    with scopes_disabled():
        return (
            ChannelAccount.objects.select_related("tenant")
            .filter(
                kind=ChannelAccount.Kind.API,
                api_key_hash=hash_api_key(raw_key),
                is_active=True,
                tenant__is_active=True,
            )
            .first()
        )
