"""Hostile input at the inbound edges (issue 13): a lone surrogate or NUL is replaced with
U+FFFD (``channels_app.text``), never stored raw and never a 5xx, through the lean ASGI
route and the Django views alike; a number no column holds is a 400 in the edges' one
error format (``channels_app.webhooks.error_body``), never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from channels_app.inbox import inbound_events_resolve
from channels_app.models import ChannelAccount, InboundEvent
from crm.models import Contact, Message
from tenants.scoping import scopes_disabled, tenant_scope
from tests import edges
from tests.edges import TELEGRAM_SECRET_HEADER as SECRET_HEADER
from tests.edges import post
from tests.fakes import whatsapp_server as wa
from tests.fakes.telegram_server import text_update

pytestmark = pytest.mark.django_db(transaction=True)

BAD = ["\ud800", "\udc00", "\x00"]
HUGE = "9" * 5000  # past Python's 4,300 digits: json.loads raises ValueError


@pytest.fixture
def whatsapp_account(tenant_a) -> ChannelAccount:
    return edges.whatsapp_account(tenant_a)


@pytest.fixture
def bot(tenant_a) -> ChannelAccount:
    return edges.telegram_bot(tenant_a)


@pytest.fixture
def api_key(tenant_a) -> str:
    return edges.api_key(tenant_a)


def resolve(account: ChannelAccount, addresses: list[str]) -> None:
    """What the worker's resolve task does with the raw events (without answering)."""
    with tenant_scope(account.tenant):
        for address in addresses:
            inbound_events_resolve(account_id=account.pk, address=address)


def user_texts(tenant) -> list[str]:
    with tenant_scope(tenant):
        return list(
            Message.objects.filter(role=Message.Role.USER)
            .order_by("pk")
            .values_list("content", flat=True)
        )


def contact_names(tenant) -> set[str]:
    with tenant_scope(tenant):
        return set(Contact.objects.values_list("full_name", flat=True))


# Lone surrogates and NUL are stored as U+FFFD ---------------------------------------------


@pytest.mark.parametrize("lean", [True, False], ids=["lean-route", "django-view"])
@pytest.mark.parametrize("where", ["text", "name"])
@pytest.mark.parametrize("bad", BAD, ids=["d800", "dc00", "nul"])
def test_whatsapp_three_messages_with_a_bad_second_are_all_stored(
    whatsapp_account, tenant_a, bad, where, lean
):
    account = whatsapp_account
    senders = ["573001111111", "573002222222", "573003333333"]
    payload = wa.notification(
        account.phone_number_id,
        contacts=[
            wa.contact(s, f"Ana {bad}" if (n == 1 and where == "name") else f"Cliente {n}")
            for n, s in enumerate(senders)
        ],
        messages=[
            wa.text(s, f"dos {bad} dos" if (n == 1 and where == "text") else f"mensaje {n}")
            for n, s in enumerate(senders)
        ],
    )
    raw = json.dumps(payload).encode()  # ensure_ascii: the surrogate travels as \ud800

    response = post(account.webhook_path(), raw, wa.signed(raw, account.app_secret)[1], lean=lean)

    assert response.status_code == 200, response.content
    assert response.json()["stored"] == 3
    resolve(account, senders)
    texts, names = user_texts(tenant_a), contact_names(tenant_a)
    assert len(texts) == 3
    if where == "text":
        assert "dos \ufffd dos" in texts
    else:
        assert "Ana \ufffd" in names
    assert not any(bad in t for t in [*texts, *names])


@pytest.mark.parametrize("lean", [True, False], ids=["lean-route", "django-view"])
@pytest.mark.parametrize("bad", BAD, ids=["d800", "dc00", "nul"])
def test_telegram_text_and_name_are_stored_replaced(bot, tenant_a, bad, lean):
    payload = text_update(5550001, f"hola {bad} quiero", first_name=f"Ana {bad}")

    response = post(
        bot.webhook_path(),
        json.dumps(payload).encode(),
        {SECRET_HEADER: bot.webhook_secret},
        lean=lean,
    )

    assert response.status_code == 200, response.content
    resolve(bot, ["5550001"])
    assert user_texts(tenant_a) == ["hola \ufffd quiero"]
    assert contact_names(tenant_a) == {"Ana \ufffd Gómez"}


@pytest.mark.parametrize("bad", BAD, ids=["d800", "dc00", "nul"])
def test_crm_api_text_name_metadata_and_ids_are_stored_replaced(tenant_a, api_key, fake_llm, bad):
    fake_llm.text("Con gusto.")
    payload = {
        "contact": {"crm_contact_id": f"CRM-{bad}", "full_name": f"Laura {bad}"},
        "text": f"necesito {bad} un medidor",
        "metadata": {f"k{bad}": [f"v{bad}", {"n": f"x{bad}"}]},
        "external_id": f"ext-{bad}",
    }

    response = post("/api/v1/messages", json.dumps(payload).encode(), _bearer(api_key))

    assert response.status_code == 200, response.content
    with tenant_scope(tenant_a):
        message = Message.objects.get(role=Message.Role.USER)
        contact = Contact.objects.get()
    assert message.content == "necesito \ufffd un medidor"
    assert message.metadata == {"k\ufffd": ["v\ufffd", {"n": "x\ufffd"}]}
    assert message.external_id.endswith(":ext-\ufffd")
    assert (contact.full_name, contact.crm_contact_id) == ("Laura \ufffd", "CRM-\ufffd")


@pytest.mark.parametrize("bad", BAD, ids=["d800", "dc00", "nul"])
def test_widget_frame_text_is_stored_replaced(tenant_a, fake_llm, settings, bad):
    from channels.testing import WebsocketCommunicator

    from config.asgi import application

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    fake_llm.text("Con gusto.")
    origin = "https://shop.alpha.example"
    with tenant_scope(tenant_a):
        account = ChannelAccount.objects.create(
            tenant=tenant_a, kind=ChannelAccount.Kind.WIDGET, name="Web", allowed_origins=origin
        )

    async def scenario() -> dict[str, Any]:
        from channels_app.widget.consumers import answers_wait

        comm = WebsocketCommunicator(
            application, f"/ws/widget/{account.key}/", headers=[(b"origin", origin.encode())]
        )
        connected, _ = await comm.connect()
        assert connected
        assert (await comm.receive_json_from())["type"] == "ready"
        await comm.send_to(text_data=json.dumps({"type": "message", "text": f"hola {bad}"}))
        answer = await comm.receive_json_from(timeout=10)
        await comm.disconnect()
        assert await answers_wait(timeout=15)
        return answer

    assert async_to_sync(scenario)()["type"] == "ack"
    assert user_texts(tenant_a) == ["hola \ufffd"]


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# Numbers no column holds: 400 in the one error format --------------------------------------


def _edges(bot: ChannelAccount, whatsapp: ChannelAccount, api_key: str, number: str):
    """(path, raw body, headers) of each edge, with ``number`` where an int belongs."""
    telegram = json.dumps(text_update(5550001, "hola")).replace(
        '"update_id": ', f'"update_id": {number}, "x": ', 1
    )
    whatsapp_raw = json.dumps(
        wa.notification(whatsapp.phone_number_id, messages=[wa.text("573001111111", "hola")])
    ).replace('"entry": ', f'"n": {number}, "entry": ', 1)
    api = json.dumps(
        {
            "contact": {"crm_contact_id": "CRM-1"},
            "text": "hola",
            "external_id": "ext-1",
            "metadata": {"n": 0},
        }
    ).replace('{"n": 0}', f'{{"n": {number}}}')
    return [
        (bot.webhook_path(), telegram.encode(), {SECRET_HEADER: bot.webhook_secret}),
        (
            whatsapp.webhook_path(),
            whatsapp_raw.encode(),
            wa.signed(whatsapp_raw.encode(), whatsapp.app_secret)[1],
        ),
        ("/api/v1/messages", api.encode(), _bearer(api_key)),
    ]


@pytest.mark.parametrize("number", [HUGE, "1e999", "-1e999", "NaN", "Infinity"])
def test_a_number_no_column_holds_is_400_in_the_error_format_at_every_edge(
    bot, whatsapp_account, api_key, number
):
    for lean in (True, False):
        for path, raw, headers in _edges(bot, whatsapp_account, api_key, number):
            if lean and path.startswith("/api/"):
                continue  # the API is Django's only
            response = post(path, raw, headers, lean=lean)
            assert response.status_code == 400, (path, lean, response.content)
            body = response.json()
            if path.startswith("/api/"):  # the REST API's errors are RFC 9457 problems
                assert response["Content-Type"] == "application/problem+json", path
                assert body["status"] == 400, path
                body = {"ok": False, "error": body["detail"]}
            assert body["ok"] is False, path
            assert body["error"].startswith("number out of range"), (path, body)
    with scopes_disabled():
        assert not InboundEvent.objects.exists()
        assert not Message.objects.exists()


def test_a_telegram_id_past_64_bits_is_400_not_a_long_address(bot, tenant_a):
    payload = text_update(10**30, "hola")

    response = post(bot.webhook_path(), json.dumps(payload).encode(), {SECRET_HEADER: "x"})
    assert response.status_code == 403  # the secret comes first
    response = post(
        bot.webhook_path(), json.dumps(payload).encode(), {SECRET_HEADER: bot.webhook_secret}
    )

    assert response.status_code == 400
    assert response.json()["error"] == "not a Telegram Update"
    assert "message.chat.id" in {d["field"] for d in response.json()["details"]}
    with scopes_disabled():
        assert not InboundEvent.objects.exists()
