"""Writes on channel accounts. The caller holds the tenant's scope."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat

from channels_app.models import ChannelAccount, ConversationRoute, InboundEvent
from crm.events import DomainEvent
from tenants.models import Tenant
from tenants.scoping import tenant_scope

# Keyed by ChannelAccount.Kind, looked up with the kind's string value.
SETTABLE: dict[str, tuple[str, ...]] = {
    ChannelAccount.Kind.TELEGRAM: ("bot_token",),
    ChannelAccount.Kind.WHATSAPP: ("phone_number_id", "access_token", "app_secret", "verify_token"),
    ChannelAccount.Kind.WIDGET: ("allowed_origins", "greeting", "color"),
    ChannelAccount.Kind.API: (),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    ChannelAccount.Kind.TELEGRAM: ("bot_token",),
    ChannelAccount.Kind.WHATSAPP: ("phone_number_id", "access_token", "app_secret"),
    ChannelAccount.Kind.WIDGET: ("allowed_origins",),
    ChannelAccount.Kind.API: (),
}


COLOR = re.compile(r"#[0-9a-fA-F]{6}")


class ChannelError(ValueError):
    pass


def _origin_errors(allowed_origins: str) -> list[str]:
    """The lines that are not an origin the browser would send (``https://host[:port]``)."""
    wrong = []
    for line in allowed_origins.splitlines():
        origin = line.strip().rstrip("/")
        if not origin:
            continue
        try:
            parts = urlsplit(origin)
            valid = (
                parts.scheme in ("http", "https")
                and bool(parts.hostname)
                and not (parts.path or parts.query or parts.fragment or parts.username)
            )
            parts.port  # noqa: B018  (raises on a bad port)
        except ValueError:
            valid = False
        if not valid:
            wrong.append(origin)
    return wrong


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
    account = ChannelAccount.all_objects.filter(kind=kind, name=name).first()
    created = account is None
    if account is None:
        account = ChannelAccount(tenant=tenant, kind=kind, name=name)
    elif account.is_deleted:  # the name is still taken: bring the account back
        account.is_deleted, account.deleted_at = False, None
    for field, value in values.items():
        if value not in (None, ""):
            setattr(account, field, value)
    missing = [f for f in REQUIRED[kind] if not getattr(account, f)]
    if missing:
        raise ChannelError(f"a {kind} account needs {', '.join(missing)}")
    if kind == ChannelAccount.Kind.WIDGET:
        if not COLOR.fullmatch(account.color):
            raise ChannelError(f"color must look like #0b6e4f, not {account.color!r}")
        wrong = _origin_errors(account.allowed_origins)
        if wrong:
            raise ChannelError(f"not an origin (scheme://host[:port], no path): {', '.join(wrong)}")
    api_key = account.set_api_key() if created and kind == ChannelAccount.Kind.API else ""
    account.full_clean(exclude=["tenant"])
    account.save()
    return account, created, api_key


def channel_account_problems(*, account: ChannelAccount) -> dict[str, str]:
    """What an account edited in the desk lacks or has wrong for its kind: field -> reason."""
    problems: dict[str, str] = {}
    for name in REQUIRED.get(account.kind, ()):
        if not getattr(account, name):
            problems[name] = f"A {account.get_kind_display()} account needs this."
    if account.kind == ChannelAccount.Kind.WIDGET:
        if not COLOR.fullmatch(account.color or ""):
            problems["color"] = f"Use a colour like #0b6e4f, not {account.color!r}."
        wrong = _origin_errors(account.allowed_origins)
        if wrong:
            problems["allowed_origins"] = (
                f"Not an origin (scheme://host[:port], no path): {', '.join(wrong)}"
            )
    return problems


def channel_account_save(*, account: ChannelAccount) -> str:
    """Save an account edited in the desk. A new CRM API account gets its key: returned
    once (only its hash is stored), else ""."""
    api_key = ""
    if account._state.adding and account.kind == ChannelAccount.Kind.API:
        api_key = account.set_api_key()
    account.save()
    return api_key


def channel_account_rotate_api_key(*, account: ChannelAccount) -> str:
    """Replace a CRM API account's key; the old one stops working. Returns the new key once."""
    if account.kind != ChannelAccount.Kind.API:
        raise ChannelError(f"{account} is not a CRM API account: it has no API key")
    api_key = account.set_api_key()
    account.save(update_fields=["api_key_hash", "api_key_prefix", "updated_at"])
    return api_key


def contact_channel_data_erase(event: DomainEvent) -> None:
    """``contact.erased``: what the channels hold about the contact goes too: the raw
    webhook events of its platform identity (text, name, metadata, address) and the
    addresses its conversations were answered at."""
    tenant = Tenant.objects.filter(pk=event.tenant_id).first()
    address = event.data.get("platform_user_id") or ""
    if tenant is None:
        return
    with tenant_scope(tenant), transaction.atomic():
        if address:
            InboundEvent.all_objects.filter(
                account__kind=event.data.get("platform"), address=address
            ).update(
                text="[erased]",
                display_name="",
                metadata={},
                address="",
                # the provider's id names the chat ("tg:<account>:<chat id>:<n>")
                external_id=Concat(Value("erased:"), Cast("pk", CharField())),
            )
        ConversationRoute.all_objects.filter(
            conversation_id__in=event.data.get("conversation_ids", [])
        ).update(address="")
