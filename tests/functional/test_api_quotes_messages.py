"""``POST /api/v1/messages`` answers with the quote its turn sent: the agent prepares a
quote through the fake LLM (``prepare_quote`` with SKUs and quantities) and, when the
tenant lets it send without a rep's approval, the response carries the quote as ``GET
/api/v1/quotes/{id}`` shows it; a draft waiting for a rep is not in it (the CRM hears of it
by webhooks); the customer's typed acceptance answers with the accepted quote."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.http import HttpResponse
from django.test import AsyncClient

from crm.models import LeadOpportunity, Message
from quotes.models import Quote
from tenants.models import Tenant
from tenants.scoping import tenant_scope
from tests import edges
from tests.helpers_quotes import (
    QUOTE_REPLY,
    assert_matches_catalog,
    draft_of,
    load_priced_catalog,
    script_quote_turn,
)

pytestmark = pytest.mark.django_db(transaction=True)


def post(key: str, text: str, external_id: str) -> HttpResponse:
    body = {
        "contact": {"crm_contact_id": "CRM-1", "full_name": "Laura Gómez"},
        "text": text,
        "external_id": external_id,
    }
    return async_to_sync(AsyncClient().post)(
        "/api/v1/messages",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )


@pytest.fixture
def priced(tenant_a: Tenant, catalog_index: Any) -> Tenant:
    load_priced_catalog(tenant_a)
    return tenant_a


def ask_for_a_quote(tenant: Tenant, fake_llm: Any, key: str) -> dict[str, Any]:
    script_quote_turn(fake_llm)
    response = post(key, "¿Me envía un presupuesto de 2 PH-300 y 1 TU-5200?", "m-1")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["reply"]["text"] == QUOTE_REPLY
    return data


def test_a_quote_the_agent_sends_comes_back_in_the_response(priced, fake_llm):
    priced.quotes_send_without_approval = True
    priced.save()
    key = edges.api_key(priced)

    data = ask_for_a_quote(priced, fake_llm, key)

    quote = draft_of(priced, data["conversation_id"])
    assert_matches_catalog(priced, quote)
    got = data["quote"]
    assert got is not None, data
    assert (got["id"], got["key"], got["reference"]) == (quote.pk, quote.public_key, "Q-00001")
    assert got["status"] == "sent"
    assert (got["total"], got["currency"]) == (str(quote.total), "EUR")
    assert [(line["sku"], line["quantity"], line["unit_price"]) for line in got["lines"]] == [
        (line.sku, line.quantity, str(line.unit_price)) for line in quote.lines.all()
    ]
    assert "/q/" in got["download_url"]
    fetched = async_to_sync(AsyncClient().get)(
        f"/api/v1/quotes/{quote.pk}", headers={"Authorization": f"Bearer {key}"}
    ).json()
    assert {k: v for k, v in fetched.items() if k != "download_url"} == {
        k: v for k, v in got.items() if k != "download_url"
    }
    with tenant_scope(priced):
        carrying = Message.objects.get(metadata__quote__key=quote.public_key)
        assert carrying.delivery_status == Message.Delivery.SENT  # in the response
        assert LeadOpportunity.objects.get().status == "quoted"

    # The same request again (a retry) gets the same answer, with the quote.
    again = post(key, "¿Me envía un presupuesto de 2 PH-300 y 1 TU-5200?", "m-1").json()
    assert again["duplicate"] is True and again["quote"]["id"] == quote.pk

    # The customer accepts by typing it: the answer carries the accepted quote.
    accepted = post(key, "Acepto", "m-2")
    assert accepted.status_code == 200, accepted.content
    answer = accepted.json()
    assert answer["quote"]["id"] == quote.pk and answer["quote"]["status"] == "accepted"
    with tenant_scope(priced):
        assert Quote.objects.get().status == "accepted"
        assert LeadOpportunity.objects.get().status == "won"


def test_a_draft_waiting_for_a_rep_is_not_in_the_response(priced, fake_llm):
    key = edges.api_key(priced)  # quotes_send_without_approval is off by default

    data = ask_for_a_quote(priced, fake_llm, key)

    assert data["quote"] is None
    quote = draft_of(priced, data["conversation_id"])
    assert quote.status == "draft"


def test_a_reply_without_a_quote_has_none(priced, fake_llm):
    fake_llm.text("¿Qué rango de pH necesita medir?")
    response = post(edges.api_key(priced), "Necesito medir pH", "m-1")
    assert response.status_code == 200, response.content
    assert response.json()["quote"] is None
