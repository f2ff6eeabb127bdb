"""Reads the edges use before any tenant scope exists: which account a request is for."""

from __future__ import annotations

from channels_app.models import ChannelAccount, hash_api_key
from tenants.scoping import scopes_disabled


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
