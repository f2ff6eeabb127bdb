"""The inbound edges as their senders reach them, for the hostile-input tests: a POST
through Django's ASGI handler or through the whole ASGI application (the lean webhook
route in front of Django, as Daphne serves it), and the accounts each edge needs."""

from __future__ import annotations

from typing import Any

import httpx
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from channels_app.models import ChannelAccount
from channels_app.services import channel_account_ensure
from tenants.models import Tenant
from tenants.scoping import tenant_scope
from tests.factories import ChannelAccountFactory

TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def post(path: str, raw: bytes, headers: dict[str, str], *, lean: bool = False) -> Any:
    """POST ``raw`` to ``path``: through the lean route when ``lean``, else Django's."""
    if not lean:
        return async_to_sync(AsyncClient().post)(
            path, data=raw, content_type="application/json", headers=headers
        )
    from config.asgi import application

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.post(path, content=raw, headers=headers)

    return async_to_sync(go)()


def whatsapp_account(tenant: Tenant) -> ChannelAccount:
    with tenant_scope(tenant):
        return ChannelAccountFactory(
            tenant=tenant,
            kind=ChannelAccount.Kind.WHATSAPP,
            bot_token="",
            phone_number_id="106540352242922",
            access_token="EAAtest-token",
            app_secret="app-secret",
            verify_token="verify",
        )


def telegram_bot(tenant: Tenant) -> ChannelAccount:
    with tenant_scope(tenant):
        return ChannelAccountFactory(tenant=tenant, name="Ventas")


def api_key(tenant: Tenant) -> str:
    """The key of a new CRM API account of ``tenant``."""
    with tenant_scope(tenant):
        _, _, key = channel_account_ensure(
            tenant=tenant, kind=ChannelAccount.Kind.API, name="CRM", values={}
        )
    return key
