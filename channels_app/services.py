"""Writes on channel accounts. The caller holds the tenant's scope."""

from __future__ import annotations

from typing import Any

from channels_app.models import ChannelAccount
from tenants.models import Tenant

SETTABLE = {
    ChannelAccount.Kind.TELEGRAM: ("bot_token",),
    ChannelAccount.Kind.WHATSAPP: ("phone_number_id", "access_token", "app_secret", "verify_token"),
    ChannelAccount.Kind.WIDGET: ("allowed_origins", "greeting", "color"),
    ChannelAccount.Kind.API: (),
}
REQUIRED = {
    ChannelAccount.Kind.TELEGRAM: ("bot_token",),
    ChannelAccount.Kind.WHATSAPP: ("phone_number_id", "access_token", "app_secret"),
    ChannelAccount.Kind.WIDGET: ("allowed_origins",),
    ChannelAccount.Kind.API: (),
}


class ChannelError(ValueError):
    pass


def channel_account_ensure(
    *, tenant: Tenant, kind: str, name: str, values: dict[str, Any]
) -> tuple[ChannelAccount, bool, str]:
    """Create or update the tenant's ``kind`` account called ``name``.

    Returns ``(account, created, api_key)``; ``api_key`` is the new raw key of a
    new CRM API account (shown once; only its hash is stored), else "".
    """
    if kind not in SETTABLE:
        raise ChannelError(f"unknown channel kind {kind!r}")
    unknown = set(values) - set(SETTABLE[kind])
    if unknown:
        raise ChannelError(f"{', '.join(sorted(unknown))} do(es) not apply to {kind}")
    account = ChannelAccount.objects.filter(kind=kind, name=name).first()
    created = account is None
    if account is None:
        account = ChannelAccount(tenant=tenant, kind=kind, name=name)
    for field, value in values.items():
        if value not in (None, ""):
            setattr(account, field, value)
    missing = [f for f in REQUIRED[kind] if not getattr(account, f)]
    if missing:
        raise ChannelError(f"a {kind} account needs {', '.join(missing)}")
    api_key = account.set_api_key() if created and kind == ChannelAccount.Kind.API else ""
    account.full_clean(exclude=["tenant"])
    account.save()
    return account, created, api_key
