"""Quotes in the web widget through the real ASGI application: a quote sent in the chat
arrives as a message frame with a signed link to its PDF and an accept button's payload
(a rep's with the rep's name); a quote_accept frame is stored as the visitor's message and
accepted before the agent runs; a quote that is not the visitor's is refused with an
error frame and nothing stored; the rate limit counts presses; the history shows the
quote with its status after a reconnect."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from channels_app.quotes import accept_payload
from channels_app.widget.consumers import answers_wait
from crm.audit import Actor
from crm.models import Conversation, LeadOpportunity, Message
from quotes.models import Quote
from quotes.services import LineRequest, quote_prepare
from tenants.scoping import tenant_scope
from tests.factories import LeadOpportunityFactory, ProductFactory
from tests.functional.test_widget import ORIGIN_A, frames_until, open_socket, run, stored, widget

pytestmark = pytest.mark.django_db(transaction=True)

REPLY = "Le preparo el presupuesto del turbidímetro."


@pytest.fixture(autouse=True)
def fresh_layer(settings, catalog_index):
    """A new in-memory channel layer per test (its queues belong to one event loop)."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def widget_a(tenant_a):
    return widget(tenant_a, ORIGIN_A)


@pytest.fixture
def laura(teammate):
    teammate.first_name, teammate.last_name = "Laura", "Gómez"
    teammate.save()
    return teammate


@pytest.fixture(autouse=True)
def immediate_tasks(settings):
    """A rep's send is delivered by its task at once (as a worker would, later)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.PUBLIC_BASE_URL = "https://app.example"


@pytest.fixture
def products(tenant_a):
    with tenant_scope(tenant_a):
        return [
            ProductFactory(
                tenant=tenant_a, sku="TU-5200", price=Decimal("1450.00"), currency="EUR"
            ),
            ProductFactory(tenant=tenant_a, sku="PH-01", price=Decimal("89.90"), currency="EUR"),
        ]


def draft_in(tenant, conversation: Conversation | None = None) -> Quote:
    """A draft for the latest conversation (its contact's opportunity)."""
    with tenant_scope(tenant):
        conversation = conversation or Conversation.objects.order_by("-pk").first()
        opportunity = LeadOpportunityFactory(
            tenant=tenant, contact=conversation.contact, conversation=conversation
        )
        return quote_prepare(
            opportunity=opportunity,
            lines=[LineRequest("TU-5200", 2), LineRequest("PH-01", 3)],
            actor=Actor.agent(),
            conversation=conversation,
        )


def rep_sends(tenant, quote: Quote, rep) -> None:
    from desk.services import quote_deliver

    with tenant_scope(tenant):
        quote_deliver(quote=quote, user=rep)


async def chat_started(key: str, fake_llm) -> tuple[Any, dict[str, Any]]:
    fake_llm.text(REPLY)
    comm, ready = await open_socket(key)
    await comm.send_json_to({"type": "message", "text": "Quiero un presupuesto", "id": "m1"})
    await frames_until(comm, "message")
    return comm, ready


async def quote_sent_and_pressed(comm, tenant, rep) -> tuple[Quote, dict, dict]:
    """A rep sends a draft; the visitor presses its Accept button (frame id "qa1").
    ``(quote, the quote's message frame, the frame answering the press)``."""
    quote = await database_sync_to_async(draft_in)(tenant)
    await database_sync_to_async(rep_sends)(tenant, quote, rep)
    sent = (await frames_until(comm, "message"))[-1]
    payload = sent["quote"]["accept_payload"]
    await comm.send_json_to({"type": "quote_accept", "payload": payload, "id": "qa1"})
    return quote, sent, await comm.receive_json_from(timeout=10)


def test_a_rep_sent_quote_arrives_with_its_link_and_button_and_a_press_accepts_it(
    widget_a, products, laura, fake_llm
):
    quote: Quote | None = None

    async def scenario():
        nonlocal quote
        comm, ready = await chat_started(widget_a.key, fake_llm)
        quote, sent, ack = await quote_sent_and_pressed(comm, widget_a.tenant, laura)
        payload = sent["quote"]["accept_payload"]
        result = (await frames_until(comm, "message"))[-1]
        await answers_wait()
        # A second press of the same quote is recognised: acknowledged, nothing more.
        await comm.send_json_to({"type": "quote_accept", "payload": payload, "id": "qa2"})
        second = await comm.receive_json_from(timeout=10)
        await answers_wait()
        nothing_more = await comm.receive_nothing(timeout=0.5)
        await comm.disconnect()
        again, resumed = await open_socket(widget_a.key, token=ready["token"])
        await again.disconnect()
        return sent, ack, result, (second, nothing_more), resumed

    sent, ack, result, (second, nothing_more), resumed = run(scenario)
    assert second == {"type": "ack", "id": "qa2"} and nothing_more
    assert quote is not None
    assert sent["role"] == "agent" and sent["author"] == "Laura"  # a rep's, named
    assert quote.reference in sent["text"]  # the caption
    attachment = sent["quote"]
    assert attachment["reference"] == quote.reference == "Q-00001"
    assert attachment["accept_payload"] == accept_payload(quote.public_key)
    assert attachment["status"] == "sent" and attachment["accept_label"]
    assert attachment["download_url"].startswith("https://app.example/q/")
    assert attachment["download_url"].endswith(".pdf")
    assert ack == {"type": "ack", "id": "qa1"}
    assert result["role"] == "assistant"
    thanks = f"¡Gracias! Hemos recibido su aceptación del presupuesto {quote.reference}."
    assert result["text"].startswith(thanks)

    with tenant_scope(widget_a.tenant):
        quote.refresh_from_db()
        opportunity = LeadOpportunity.objects.get(pk=quote.opportunity_id)
        press = Message.objects.get(metadata__quote_accept=quote.public_key)  # one, not two
        answers = Message.objects.filter(metadata__quote_answer__isnull=False).count()
    assert answers == 1
    assert quote.status == Quote.Status.ACCEPTED and opportunity.status == "won"
    assert press.role == Message.Role.USER and press.content == "Acepto el presupuesto Q-00001"
    assert press.handled_at is not None
    assert len(fake_llm.requests) == 1  # only the first message reached the agent

    # The PDF behind the link.
    path = attachment["download_url"].removeprefix("https://app.example")
    response = Client().get(path)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")

    # After a reconnect: the quote, now accepted (its button off), and the press.
    history = resumed["history"]
    shown = next(item for item in history if item.get("quote"))
    assert shown["quote"]["status"] == "accepted" and shown["author"] == "Laura"
    assert [item["text"] for item in history[-2:]] == [press.content, result["text"]]


def test_a_quote_of_another_visitor_is_refused_and_nothing_is_stored(widget_a, products, fake_llm):
    async def scenario():
        other, _ = await chat_started(widget_a.key, fake_llm)
        await other.disconnect()
        theirs = await database_sync_to_async(draft_in)(widget_a.tenant)
        comm, _ = await chat_started(widget_a.key, fake_llm)
        before = await database_sync_to_async(stored)()
        await comm.send_json_to(
            {"type": "quote_accept", "payload": accept_payload(theirs.public_key), "id": "x1"}
        )
        refused = await comm.receive_json_from(timeout=5)
        await comm.send_json_to({"type": "quote_accept", "payload": "something-else", "id": "x2"})
        other_payload = await comm.receive_json_from(timeout=5)
        after = await database_sync_to_async(stored)()
        await comm.disconnect()
        return theirs, refused, other_payload, before, after

    theirs, refused, other_payload, before, after = run(scenario)
    assert refused["type"] == "error" and refused["code"] == "unknown_quote"
    assert refused["id"] == "x1"
    assert other_payload["code"] == "unknown_quote"
    assert before == after  # nothing stored
    with tenant_scope(widget_a.tenant):
        theirs.refresh_from_db()
    assert theirs.status == Quote.Status.DRAFT


def test_presses_count_against_the_rate_limit(widget_a, products, laura, fake_llm, settings):
    settings.WIDGET_RATE_LIMIT = "1/60"

    async def scenario():
        comm, _ = await chat_started(widget_a.key, fake_llm)
        quote, _, limited = await quote_sent_and_pressed(comm, widget_a.tenant, laura)
        await comm.disconnect()
        return quote, limited

    quote, limited = run(scenario)
    assert limited["type"] == "error" and limited["code"] == "rate_limited"
    assert limited["id"] == "qa1" and limited["retry_after"] >= 1
    with tenant_scope(widget_a.tenant):
        quote.refresh_from_db()
    assert quote.status == Quote.Status.SENT


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "quote_accept"},
        {"type": "quote_accept", "payload": "quote-accept:" + "k" * 80},
        {"type": "quote_accept", "payload": 42},
    ],
)
def test_a_malformed_press_is_a_bad_frame(widget_a, frame):
    async def scenario():
        comm, _ = await open_socket(widget_a.key)
        await comm.send_json_to(frame)
        error = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        return error

    assert run(scenario)["code"] == "bad_frame"


# Done when (issue 16): from the conversation to an accepted quote in the widget ------------


def test_a_conversation_ends_in_a_quote_shown_once_in_the_widget_and_accepted_with_its_button(
    widget_a, owner, fake_llm
):
    from quotes.services import quote_approve
    from tests.functional.test_quotes_telegram import assert_pdf_shows
    from tests.helpers_quotes import (
        QUOTE_REPLY,
        QUOTE_REQUEST,
        assert_matches_catalog,
        draft_of,
        load_priced_catalog,
        script_quote_turn,
    )

    load_priced_catalog(widget_a.tenant)
    script_quote_turn(fake_llm)
    drafted: list[Quote] = []

    def approve_and_send(quote: Quote) -> None:
        from desk.services import quote_deliver

        with tenant_scope(widget_a.tenant):
            quote_approve(quote=quote, actor=Actor.rep(owner))
            quote_deliver(quote=quote, user=owner)

    async def scenario():
        comm, _ = await open_socket(widget_a.key)
        await comm.send_json_to({"type": "message", "text": QUOTE_REQUEST, "id": "q1"})
        reply = (await frames_until(comm, "message"))[-1]
        await answers_wait()
        quiet = await comm.receive_nothing(timeout=0.3)  # a draft waits for a rep
        conversation_id = await database_sync_to_async(_conversation_id)()
        quote = await database_sync_to_async(draft_of)(widget_a.tenant, conversation_id)
        drafted.append(quote)
        status_before = quote.status
        await database_sync_to_async(approve_and_send)(quote)
        shown = (await frames_until(comm, "message"))[-1]
        once = await comm.receive_nothing(timeout=0.5)
        await comm.send_json_to(
            {"type": "quote_accept", "payload": shown["quote"]["accept_payload"], "id": "a1"}
        )
        ack = await comm.receive_json_from(timeout=10)
        confirmation = (await frames_until(comm, "message"))[-1]
        await comm.disconnect()
        return reply, quiet, status_before, shown, once, ack, confirmation

    reply, quiet, status_before, shown, once, ack, confirmation = run(scenario)
    [quote] = drafted
    assert reply["text"] == QUOTE_REPLY and quiet
    assert status_before == Quote.Status.DRAFT
    assert_matches_catalog(widget_a.tenant, quote)

    assert shown["quote"]["reference"] == quote.reference and once  # shown exactly once
    with tenant_scope(widget_a.tenant):
        carrier = Message.objects.get(metadata__quote__key=quote.public_key)
        assert carrier.delivery_status == Message.Delivery.SENT
        assert carrier.external_id == f"widget-out:{shown['id']}"
        response = Client().get(shown["quote"]["download_url"].removeprefix("https://app.example"))
        assert response.status_code == 200
        quote.refresh_from_db()
        assert_pdf_shows(response.content, quote)  # SKUs, line totals, total

    assert ack == {"type": "ack", "id": "a1"}
    assert confirmation["text"].startswith("¡Gracias! Hemos recibido su aceptación")
    with tenant_scope(widget_a.tenant):
        quote.refresh_from_db()
        opportunity = LeadOpportunity.objects.get(pk=quote.opportunity_id)
    assert quote.status == Quote.Status.ACCEPTED
    assert opportunity.status == LeadOpportunity.Status.WON


def _conversation_id() -> int:
    from tenants.scoping import scopes_disabled

    with scopes_disabled():
        return Conversation.objects.get().pk
