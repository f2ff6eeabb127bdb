"""Quote events reach a CRM as signed webhooks carrying the quote as ``GET
/api/v1/quotes/{id}`` shows it: the agent's draft, a rep's approval and send on an API
conversation (how a CRM learns of a quote sent after its request was answered), the
customer's acceptance recorded through the API, a rejection and an expiry. A real worker
delivers them to a receiver on 127.0.0.1 that verifies each signature."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from crm.audit import Actor
from crm.models import Platform
from desk.services import quote_deliver
from integrations.admin import WebhookEndpointForm
from integrations.management.commands.add_webhook import Command as AddWebhook
from integrations.representations import quote_resource
from quotes.links import quote_key_from_token
from quotes.models import Quote
from quotes.services import LineRequest, quote_approve, quote_prepare, quote_reject, quotes_expire
from tenants.scoping import tenant_scope
from tests import edges
from tests.factories import ConversationFactory, LeadOpportunityFactory, ProductFactory
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.integration.test_webhooks import subscribe, work

pytestmark = pytest.mark.django_db(transaction=True)

QUOTE_EVENTS = [
    "quote.created",
    "quote.updated",
    "quote.approved",
    "quote.sent",
    "quote.accepted",
    "quote.rejected",
    "quote.expired",
]


@pytest.fixture
def receiver():
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def opportunity(tenant_a):
    """An opportunity of a conversation on the CRM API, and a priced product."""
    with tenant_scope(tenant_a):
        ProductFactory(tenant=tenant_a, sku="HC-2100Q", price=Decimal("1450.00"), currency="EUR")
        conversation = ConversationFactory(tenant=tenant_a, channel=Platform.API)
        return LeadOpportunityFactory(
            tenant=tenant_a, contact=conversation.contact, conversation=conversation
        )


def without_link(data: dict) -> dict:
    """The resource without its signed link (signed anew, with the time, on every read)."""
    return {key: value for key, value in data.items() if key != "download_url"}


def assert_link_to(data: dict, quote: Quote) -> None:
    match = resolve(urlsplit(data["download_url"]).path)
    assert match.url_name == "quote-download"
    assert quote_key_from_token(match.kwargs["token"]) == quote.public_key


def test_a_quotes_life_reaches_the_crm_as_its_api_representation(
    tenant_a, receiver, opportunity, teammate
):
    subscribe(tenant_a, receiver, events=QUOTE_EVENTS)
    with tenant_scope(tenant_a):
        quote = quote_prepare(
            opportunity=opportunity, lines=[LineRequest("HC-2100Q", 2)], actor=Actor.agent()
        )
        quote_approve(quote=quote, actor=Actor.rep(teammate))
        quote_deliver(quote=quote, user=teammate)  # a rep sends it later, from the desk
    work()

    key = edges.api_key(tenant_a)
    accepted = Client().post(
        f"/api/v1/quotes/{quote.pk}/accept",
        data="{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert accepted.status_code == 200, accepted.content
    work()

    received = receiver.received
    assert all(got.verified for got in received)
    # One delivery per event; the worker sends them concurrently, in any order.
    data = {got.event_type: got.payload["data"] for got in received}
    assert len(received) == len(data) == 4
    assert {event: item["status"] for event, item in data.items()} == {
        "quote.created": "draft",
        "quote.approved": "approved",
        "quote.sent": "sent",
        "quote.accepted": "accepted",
    }
    assert {item["id"] for item in data.values()} == {quote.pk}
    sent = data["quote.sent"]
    assert (sent["reference"], sent["total"], sent["currency"]) == ("Q-00001", "2900.00", "EUR")
    assert [(line["sku"], line["quantity"]) for line in sent["lines"]] == [("HC-2100Q", 2)]
    last = data["quote.accepted"]
    assert without_link(last) == without_link(accepted.json())
    with tenant_scope(tenant_a):
        now = quote_resource(Quote.objects.get(pk=quote.pk))
    assert without_link(last) == without_link(now)
    assert last.keys() == now.keys()
    assert_link_to(last, quote)


def test_rejected_and_expired_quotes_are_events_too(tenant_a, receiver, opportunity):
    subscribe(tenant_a, receiver, events=["quote.rejected", "quote.expired"])
    with tenant_scope(tenant_a):
        declined = quote_prepare(
            opportunity=opportunity, lines=[LineRequest("HC-2100Q", 1)], actor=Actor.agent()
        )
        quote_reject(quote=declined, actor=Actor.integration("CRM API"))
        stale = quote_prepare(
            opportunity=opportunity, lines=[LineRequest("HC-2100Q", 3)], actor=Actor.agent()
        )
        assert (
            quotes_expire(
                tenant=tenant_a,
                actor=Actor.system(),
                today=timezone.localdate() + timedelta(days=400),
            )
            == 1
        )
    work()

    got = {r.event_type: r.payload["data"] for r in receiver.received}
    assert got.keys() == {"quote.rejected", "quote.expired"}
    assert (got["quote.rejected"]["id"], got["quote.rejected"]["status"]) == (
        declined.pk,
        "rejected",
    )
    assert (got["quote.expired"]["id"], got["quote.expired"]["status"]) == (stale.pk, "expired")
    with tenant_scope(tenant_a):
        assert without_link(got["quote.expired"]) == without_link(
            quote_resource(Quote.objects.get(pk=stale.pk))
        )


def test_another_tenants_quote_events_are_not_sent(tenant_a, tenant_b, receiver, opportunity):
    subscribe(tenant_b, receiver, events=QUOTE_EVENTS)
    with tenant_scope(tenant_a):
        quote_prepare(
            opportunity=opportunity, lines=[LineRequest("HC-2100Q", 1)], actor=Actor.agent()
        )
    work()
    assert receiver.received == []


def test_quote_events_are_offered_by_add_webhook_and_the_admin_form(tenant_a):
    out = io.StringIO()
    call_command(
        "add_webhook",
        "alpha",
        "https://crm.alpha.example/hooks",
        *[arg for event in ("quote.sent", "quote.accepted") for arg in ("--event", event)],
        "--json",
        stdout=out,
    )
    assert json.loads(out.getvalue())["events"] == ["quote.sent", "quote.accepted"]
    assert "quote.expired" in AddWebhook.help
    choices = [value for value, _ in WebhookEndpointForm.base_fields["events"].choices]
    assert set(QUOTE_EVENTS) <= set(choices)
