"""Issue 14's "done when": with no LLM key, a scripted widget conversation (greeting, need
with a budget, name and e-mail, a request for a person) ends with the contact's name and
e-mail stored, an opportunity whose recommended products are within the budget, and the
conversation handed off; in Spanish and in English.

Through the real path: the widget's WebSocket on the ASGI application, the inbox that
answers in the background, the agent in fallback mode, a real catalog index."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from catalog.models import Product
from channels_app.models import ChannelAccount
from channels_app.widget.consumers import answers_wait
from config.asgi import application
from crm.models import Contact, Conversation, LeadOpportunity, Message
from tenants.scoping import tenant_scope
from tests.factories.catalog import load
from tests.factories.priced_catalog import OVER_BUDGET, PRICED

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = "https://shop.alpha.example"

SCRIPTS = {
    "es": {
        "greeting": "Hola",
        "need": "Necesito un medidor de pH para el laboratorio, con un presupuesto de 3.000 EUR",
        "contact": "Me llamo Ana Pérez y mi e-mail es ana.perez@example.com",
        "person": "Quiero hablar con una persona",
        "name": "Ana Pérez",
        "email": "ana.perez@example.com",
        "budget": "3.000 EUR",
        "said_saved": "Gracias, Ana: he guardado su e-mail ana.perez@example.com",
        "said_handoff": "asesor comercial",
    },
    "en": {
        "greeting": "Hello",
        "need": "I need a pH meter for the lab, my budget is under $3,000",
        "contact": "My name is John Smith, my e-mail is john.smith@example.com",
        "person": "I want to talk to a person",
        "name": "John Smith",
        "email": "john.smith@example.com",
        "budget": "3,000 USD",
        "said_saved": "Thank you, John: I've saved your e-mail john.smith@example.com",
        "said_handoff": "sales representative",
    },
}


@pytest.fixture(autouse=True)
def no_key(settings, catalog_index):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.LLM_API_KEY = ""
    settings.AGENT_FALLBACK_SETTLE_SECONDS = 0.05


@pytest.fixture
def shop(tenant_a):
    assert load(tenant_a, PRICED).created == len(PRICED)
    with tenant_scope(tenant_a):
        widget = ChannelAccount.objects.create(
            tenant=tenant_a, kind=ChannelAccount.Kind.WIDGET, name="Web", allowed_origins=ORIGIN
        )
    return widget


async def _reply(comm: WebsocketCommunicator, text: str) -> str:
    """Send a message and wait for the bot's reply frame."""
    await comm.send_json_to({"type": "message", "text": text})
    while True:
        frame = await comm.receive_json_from(timeout=20)
        if frame["type"] == "message":
            return frame["text"]


def converse(widget: ChannelAccount, texts: list[str]) -> list[str]:
    async def scenario() -> list[str]:
        comm = WebsocketCommunicator(
            application, f"/ws/widget/{widget.key}/", headers=[(b"origin", ORIGIN.encode())]
        )
        connected, _ = await comm.connect()
        assert connected
        assert (await comm.receive_json_from())["type"] == "ready"
        try:
            return [await _reply(comm, text) for text in texts]
        finally:
            await comm.disconnect()
            assert await answers_wait(timeout=20)

    return async_to_sync(scenario)()


@pytest.mark.parametrize("language", ["es", "en"])
def test_a_no_key_conversation_ends_qualified_and_handed_off(shop, language):
    script: dict[str, Any] = SCRIPTS[language]
    greeting, need, saved, handoff = converse(
        shop, [script["greeting"], script["need"], script["contact"], script["person"]]
    )

    assert "SKU" not in greeting  # a greeting gets no product list
    assert script["budget"] in need and "SKU PH-LAB-3" in need
    assert OVER_BUDGET not in need  # the best match costs 3,450: above the budget, not listed
    assert saved.startswith(script["said_saved"]) and "SKU" not in saved
    assert script["said_handoff"] in handoff and "SKU" not in handoff

    with tenant_scope(shop.tenant):
        conversation = Conversation.objects.get()
        contact = Contact.objects.get(pk=conversation.contact_id)
        opportunity = LeadOpportunity.objects.get()
        recommended = list(opportunity.recommendations.values_list("product_sku", flat=True))
        prices = dict(Product.objects.values_list("sku", "price"))
        replies = list(conversation.messages.filter(role=Message.Role.ASSISTANT))
    assert (contact.full_name, contact.email) == (script["name"], script["email"])
    assert conversation.status == Conversation.Status.HANDED_OFF
    assert conversation.needs_attention and "asked for a person" in conversation.attention_reason
    assert opportunity.conversation_id == conversation.pk and opportunity.contact_id == contact.pk
    assert recommended and OVER_BUDGET not in recommended
    assert all(prices[sku] is not None and prices[sku] <= Decimal(3000) for sku in recommended)
    assert script["need"] in opportunity.problem_statement
    assert opportunity.value == prices[recommended[0]] and opportunity.currency == "EUR"
    assert [r.answer_mode for r in replies] == ["fallback"] * 4
    # The reply that announces the handoff is delivered too, though the bot is done.
    assert [r.delivery_status for r in replies] == [Message.Delivery.SENT] * 4


def test_a_burst_over_the_widget_gets_one_reply(shop, settings):
    settings.AGENT_FALLBACK_SETTLE_SECONDS = 0.5
    settings.WIDGET_RATE_LIMIT = "50/60"
    burst = [
        "hola",
        "necesito un medidor de pH",
        "para el laboratorio",
        "presupuesto 3.000 €",
        "me llamo Ana",
        "ana@example.com",
        "¿hola?",
    ]

    async def scenario() -> list[dict[str, Any]]:
        comm = WebsocketCommunicator(
            application, f"/ws/widget/{shop.key}/", headers=[(b"origin", ORIGIN.encode())]
        )
        connected, _ = await comm.connect()
        assert connected
        assert (await comm.receive_json_from())["type"] == "ready"
        for text in burst:  # as fast as the socket takes them
            await comm.send_json_to({"type": "message", "text": text})
        frames = []
        try:
            while not any(f["type"] == "message" for f in frames):
                frames.append(await comm.receive_json_from(timeout=20))
            assert await answers_wait(timeout=20)
            while not await comm.receive_nothing(timeout=0.3):
                frames.append(await comm.receive_json_from())
        finally:
            await comm.disconnect()
        return frames

    frames = async_to_sync(scenario)()
    messages = [f for f in frames if f["type"] == "message"]
    assert len(messages) == 1
    reply = messages[0]["text"]
    assert reply.startswith("Gracias, Ana: he guardado su e-mail ana@example.com.")
    assert "presupuesto de 3.000 EUR" in reply and OVER_BUDGET not in reply
    with tenant_scope(shop.tenant):
        assert Message.objects.filter(role=Message.Role.USER).count() == len(burst)
        assert Message.objects.filter(role=Message.Role.ASSISTANT).count() == 1
        assert LeadOpportunity.objects.count() == 1
