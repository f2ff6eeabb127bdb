"""The webhooks' lean route (``channels_app.ingest``) through the real ASGI application:
concurrent Telegram POSTs committed in shared transactions (group commit), each answered
only once its rows are stored; the account cache; Django still serving everything else.
The background work then runs in a real worker and replies reach a Bot API server on
127.0.0.1 (tests/fakes/telegram_server.py)."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from channels_app import ingest
from channels_app.ingest import GroupCommit, Write
from channels_app.models import ChannelAccount, InboundEvent
from channels_app.selectors import webhook_account, webhook_accounts_forget
from crm.models import Message
from tenants.scoping import scopes_disabled, tenant_scope
from tests.factories import ChannelAccountFactory
from tests.fakes.telegram_server import FakeTelegram, text_update

pytestmark = pytest.mark.django_db(transaction=True)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@pytest.fixture
def telegram(settings):
    server = FakeTelegram().start()
    settings.TELEGRAM_API_BASE = server.base_url
    yield server
    server.stop()


@pytest.fixture
def bot(tenant_a) -> ChannelAccount:
    with tenant_scope(tenant_a):
        return ChannelAccountFactory(tenant=tenant_a, name="Ventas")


def asgi_client() -> httpx.AsyncClient:
    from config.asgi import application

    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://testserver"
    )


async def _post_all(bot: ChannelAccount, payloads: list[dict[str, Any]]) -> list[httpx.Response]:
    async with asgi_client() as client:
        return await asyncio.gather(
            *(
                client.post(
                    f"/webhooks/telegram/{bot.key}/",
                    content=json.dumps(p).encode(),
                    headers={SECRET_HEADER: bot.webhook_secret},
                )
                for p in payloads
            )
        )


def test_concurrent_updates_share_commits_and_each_is_stored_once(bot, tenant_a, telegram):
    payloads = [text_update(7000 + n, f"Hola {n}") for n in range(40)]
    committers_before = set(ingest._committers.values())

    responses = asyncio.run(_post_all(bot, payloads + payloads[:5]))  # 5 redelivered at once

    assert all(r.status_code == 200 for r in responses)
    assert sum(r.json()["duplicate"] for r in responses) == 5
    [committer] = set(ingest._committers.values()) - committers_before
    assert committer.batches < 40  # requests waited together for shared commits
    with tenant_scope(tenant_a):
        assert InboundEvent.objects.count() == 40
    assert DBTaskResult.objects.count() == 40  # one resolve task per chat, in the same commits

    call_command("worker", "--batch", stdout=io.StringIO())

    assert sorted(c.chat_id for c in telegram.calls("sendMessage")) == [7000 + n for n in range(40)]
    with tenant_scope(tenant_a):
        assert Message.objects.filter(role=Message.Role.USER).count() == 40


def test_the_lean_route_refuses_what_the_django_view_refuses(bot, settings):
    settings.WEBHOOK_MAX_BYTES = 2000

    async def go() -> list[httpx.Response]:
        url = f"/webhooks/telegram/{bot.key}/"
        good = {SECRET_HEADER: bot.webhook_secret}
        async with asgi_client() as client:
            return [
                await client.post(url, content=b"{}", headers={SECRET_HEADER: "forged"}),
                await client.post("/webhooks/telegram/unknown-key/", content=b"{}", headers=good),
                await client.post(url, content=b"x" * 3000, headers=good),
                await client.post(url, content=b"{not json", headers=good),
                await client.get(url),  # not a POST: Django answers
                await client.get("/healthz/"),  # everything else is Django's
            ]

    forged, unknown, large, broken, get, health = asyncio.run(go())
    assert forged.status_code == 403 and "Secret-Token" in forged.json()["error"]
    assert unknown.status_code == 404 and unknown.json() == {
        "ok": False,
        "error": "unknown webhook",
    }
    assert large.status_code == 413 and "larger than 2000 bytes" in large.json()["error"]
    assert broken.status_code == 400 and broken.json()["error"].startswith("malformed JSON")
    assert get.status_code == 405 and get.headers["Allow"] == "POST"
    assert health.status_code == 200
    with scopes_disabled():
        assert not InboundEvent.objects.exists()


def _database_error(_: Any) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")


def _driver_refusal(_: Any) -> None:
    """What a driver raises for a value it cannot send (issue 13: a lone surrogate)."""
    raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")


@pytest.mark.parametrize(
    ("broken", "says"),
    [(_database_error, "no_such_table"), (_driver_refusal, "surrogates not allowed")],
)
def test_one_failing_write_fails_alone_and_is_never_a_stack_trace(bot, tenant_a, broken, says):
    def good(_: Any) -> str:
        return "stored"

    async def go() -> list[Any]:
        committer = GroupCommit()
        return await asyncio.gather(
            committer(Write(tenant_a, run=good)),
            committer(Write(tenant_a, run=broken)),
            committer(Write(tenant_a, run=good)),
            return_exceptions=True,
        )

    first, failed, third = asyncio.run(go())
    assert (first, third) == ("stored", "stored")
    assert says in str(failed)


def test_the_account_cache_serves_hits_and_forgets_on_save(
    bot, settings, django_assert_num_queries
):
    settings.CHANNEL_ACCOUNT_CACHE_SECONDS = 60
    webhook_accounts_forget()
    kind = ChannelAccount.Kind.TELEGRAM

    assert asyncio.run(webhook_account(kind=kind, key=bot.key)) == bot
    with django_assert_num_queries(0):
        assert asyncio.run(webhook_account(kind=kind, key=bot.key)) == bot

    with tenant_scope(bot.tenant):
        bot.is_active = False
        bot.save()  # this process forgets at once
    assert asyncio.run(webhook_account(kind=kind, key=bot.key)) is None
