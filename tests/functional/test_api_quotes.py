"""Quotes in the REST API v1 (``/api/v1/quotes``) through Django's test client: a draft
prepared from SKUs and quantities at catalog prices (a price is refused and nothing is
written), the list with its filters, cursor and ``updated_since``, the customer's answer
recorded by the CRM (accept, reject, an expired quote), the signed PDF link, and tenant
isolation of every operation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.urls import resolve
from django.utils import timezone

from crm.audit import Actor
from crm.models import AuditEntry, Conversation, LeadOpportunity
from integrations import representations
from quotes.links import quote_key_from_token
from quotes.models import Quote, QuoteCounter
from quotes.services import LineRequest, quote_prepare, quote_send
from tenants.scoping import tenant_scope
from tests import edges
from tests.factories import LeadOpportunityFactory, ProductFactory
from tests.functional.test_rest_api import Api, problem, walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_a(tenant_a) -> Api:
    return Api(edges.api_key(tenant_a))


@pytest.fixture
def api_b(tenant_b) -> Api:
    return Api(edges.api_key(tenant_b))


@pytest.fixture
def catalog(tenant_a):
    with tenant_scope(tenant_a):
        return {
            "meter": ProductFactory(
                tenant=tenant_a, sku="HC-2100Q", price=Decimal("1450.00"), currency="EUR"
            ),
            "probe": ProductFactory(
                tenant=tenant_a, sku="PH-ELEC-01", price=Decimal("89.90"), currency="EUR"
            ),
            "unpriced": ProductFactory(tenant=tenant_a, sku="NP-1", price=None, currency="EUR"),
            "inactive": ProductFactory(
                tenant=tenant_a, sku="OLD-1", price=Decimal("10"), currency="EUR", is_active=False
            ),
        }


@pytest.fixture
def opportunity(tenant_a) -> LeadOpportunity:
    tenant_a.quote_tax_rate = Decimal("21")
    tenant_a.save()
    with tenant_scope(tenant_a):
        return LeadOpportunityFactory(tenant=tenant_a)


def create(api: Api, opportunity: LeadOpportunity, lines: list, **extra) -> dict:
    body = {"opportunity_id": opportunity.pk, "lines": lines, **extra}
    response = api.send("post", "/quotes", body)
    assert response.status_code == 201, response.content
    return response.json()


def sent_quote(tenant, opportunity, rep) -> Quote:
    """A quote a rep prepared and sent (through the services, as the desk does)."""
    with tenant_scope(tenant):
        quote = quote_prepare(
            opportunity=opportunity, lines=[LineRequest("HC-2100Q", 1)], actor=Actor.rep(rep)
        )
        quote_send(quote=quote, actor=Actor.rep(rep))
    return quote


def nothing_written(tenant) -> None:
    with tenant_scope(tenant):
        assert not Quote.all_objects.exists()
        assert not AuditEntry.objects.filter(action__startswith="quotes.").exists()
        assert QuoteCounter.objects.filter(last_number__gt=0).count() == 0


def test_a_draft_from_skus_and_quantities_takes_the_catalog_prices(
    tenant_a, api_a, catalog, opportunity
):
    data = create(
        api_a,
        opportunity,
        [{"sku": "hc-2100q", "quantity": 2}, {"sku": "PH-ELEC-01", "quantity": 3}],
        notes="  Entrega en Bogotá  ",
    )
    assert data["status"] == "draft" and data["created_by"] == "integration"
    assert data["created_by_name"] == "CRM API (CRM)"
    assert data["reference"] == "Q-00001" and data["number"] == 1
    assert data["opportunity_id"] == opportunity.pk
    assert data["conversation_id"] == opportunity.conversation_id
    assert [
        (li["sku"], li["quantity"], li["unit_price"], li["line_total"]) for li in data["lines"]
    ] == [
        ("HC-2100Q", 2, "1450.00", "2900.00"),
        ("PH-ELEC-01", 3, "89.90", "269.70"),
    ]
    assert (data["currency"], data["subtotal"], data["tax_rate"]) == ("EUR", "3169.70", "21.00")
    assert (data["tax_amount"], data["total"]) == ("665.64", "3835.34")
    assert data["notes"] == "Entrega en Bogotá"
    with tenant_scope(tenant_a):
        quote = Quote.objects.get()
        assert data["key"] == quote.public_key
        entry = AuditEntry.objects.get(action="quotes.quote.created")
        assert entry.actor_kind == AuditEntry.ActorKind.INTEGRATION
        assert entry.opportunity_id == opportunity.pk
    got = api_a.get(f"/quotes/{data['id']}").json()
    assert {k: v for k, v in got.items() if k != "download_url"} == {
        k: v for k, v in data.items() if k != "download_url"
    }
    with tenant_scope(tenant_a):
        resource = representations.quote_resource(Quote.objects.get())
    assert resource.keys() == got.keys()
    assert {k: v for k, v in resource.items() if k != "download_url"} == {
        k: v for k, v in got.items() if k != "download_url"
    }


def test_the_download_url_is_a_signed_link_to_this_quotes_pdf(
    tenant_a, api_a, catalog, opportunity
):
    data = create(api_a, opportunity, [{"sku": "HC-2100Q", "quantity": 1}])
    url = urlsplit(data["download_url"])
    assert url.scheme in ("http", "https") and url.netloc
    match = resolve(url.path)
    assert match.url_name == "quote-download"
    assert quote_key_from_token(match.kwargs["token"]) == data["key"]
    assert quote_key_from_token(match.kwargs["token"] + "x") is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"lines": [{"sku": "HC-2100Q", "quantity": 1, "unit_price": "1.00"}]},
            "lines.0.unit_price",
        ),
        ({"lines": [{"sku": "HC-2100Q", "quantity": 1, "price": 1}]}, "lines.0.price"),
        ({"lines": [{"sku": "HC-2100Q", "quantity": 1}], "total": "10.00"}, "total"),
        ({"lines": [{"sku": "HC-2100Q", "quantity": 0}]}, "lines.0.quantity"),
        ({"lines": [{"sku": "HC-2100Q", "quantity": 1.5}]}, "lines.0.quantity"),
        ({"lines": [{"sku": "", "quantity": 1}]}, "lines.0.sku"),
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": f"S-{n}", "quantity": 1} for n in range(51)]}, "lines"),
        ({"lines": [{"sku": "HC-2100Q", "quantity": 1}], "notes": "x" * 2001}, "notes"),
    ],
)
def test_a_price_or_a_bad_line_is_a_422_and_nothing_is_written(
    tenant_a, api_a, catalog, opportunity, body, field
):
    response = api_a.send("post", "/quotes", {"opportunity_id": opportunity.pk, **body})
    errors = problem(response, 422)["errors"]
    assert field in [error["field"] for error in errors], errors
    nothing_written(tenant_a)


@pytest.mark.parametrize(
    ("sku", "says"),
    [
        ("INVENTED-9", "INVENTED-9 is not in the catalog"),
        ("NP-1", "NP-1 has no price in the catalog"),
        ("OLD-1", "OLD-1 is no longer offered"),
    ],
)
def test_a_sku_the_catalog_cannot_quote_is_a_422_with_the_reason(
    tenant_a, api_a, catalog, opportunity, sku, says
):
    lines = [{"sku": "HC-2100Q", "quantity": 1}, {"sku": sku, "quantity": 1}]
    response = api_a.send("post", "/quotes", {"opportunity_id": opportunity.pk, "lines": lines})
    assert says in problem(response, 422)["detail"]
    nothing_written(tenant_a)


def test_amounts_no_column_holds_are_refused(tenant_a, api_a, catalog, opportunity):
    with tenant_scope(tenant_a):
        ProductFactory(tenant=tenant_a, sku="BIG-1", price=Decimal("9999999.00"), currency="EUR")
    lines = [{"sku": "BIG-1", "quantity": 1_000_000}]
    response = api_a.send("post", "/quotes", {"opportunity_id": opportunity.pk, "lines": lines})
    assert "999999999999.99" in problem(response, 422)["detail"]
    nothing_written(tenant_a)
    just = api_a.send(
        "post",
        "/quotes",
        {"opportunity_id": opportunity.pk, "lines": [{"sku": "BIG-1", "quantity": 10}]},
    )
    assert just.status_code == 201, just.content


def test_an_unknown_or_closed_opportunity_is_refused(tenant_a, api_a, catalog, opportunity):
    lines = [{"sku": "HC-2100Q", "quantity": 1}]
    body = problem(api_a.send("post", "/quotes", {"opportunity_id": 10**9, "lines": lines}), 422)
    assert body["errors"] == [
        {"field": "opportunity_id", "message": "no such opportunity in this tenant"}
    ]
    with tenant_scope(tenant_a):
        LeadOpportunity.objects.filter(pk=opportunity.pk).update(status="closed")
    refused = api_a.send("post", "/quotes", {"opportunity_id": opportunity.pk, "lines": lines})
    assert "closed" in problem(refused, 422)["detail"]
    nothing_written(tenant_a)


def test_list_filters_by_status_and_opportunity_and_pages_by_cursor(
    tenant_a, api_a, catalog, opportunity, teammate
):
    with tenant_scope(tenant_a):
        other = LeadOpportunityFactory(tenant=tenant_a)
    drafts = [create(api_a, opportunity, [{"sku": "PH-ELEC-01", "quantity": n}]) for n in (1, 2)]
    elsewhere = create(api_a, other, [{"sku": "PH-ELEC-01", "quantity": 3}])
    sent = sent_quote(tenant_a, opportunity, teammate)

    items, cursor = walk(api_a, "/quotes", limit=2)
    assert [q["id"] for q in items] == [drafts[0]["id"], drafts[1]["id"], elsewhere["id"], sent.pk]
    assert [q["id"] for q in walk(api_a, "/quotes", status="sent")[0]] == [sent.pk]
    assert [q["id"] for q in walk(api_a, "/quotes", status="draft", opportunity=other.pk)[0]] == [
        elsewhere["id"]
    ]
    assert walk(api_a, "/quotes", opportunity=10**9)[0] == []
    problem(api_a.get("/quotes", status="lost"), 422)
    problem(api_a.get("/quotes", opportunity=0), 422)

    assert api_a.get("/quotes", cursor=cursor).json()["items"] == []  # nothing new
    since = timezone.now() - timedelta(hours=1)
    with tenant_scope(tenant_a):
        Quote.objects.exclude(pk=drafts[1]["id"]).update(updated_at=since - timedelta(days=1))
    assert [
        q["id"] for q in api_a.get("/quotes", updated_since=since.isoformat()).json()["items"]
    ] == [drafts[1]["id"]]
    rejected = api_a.send("post", f"/quotes/{drafts[0]['id']}/reject", None).json()
    assert [q["id"] for q in api_a.get("/quotes", cursor=cursor).json()["items"]] == [
        rejected["id"]
    ]


def test_the_crm_records_the_customers_acceptance(tenant_a, api_a, catalog, opportunity, teammate):
    quote = sent_quote(tenant_a, opportunity, teammate)

    response = api_a.send("post", f"/quotes/{quote.pk}/accept", None)

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "accepted" and data["accepted_at"]
    assert api_a.get(f"/opportunities/{opportunity.pk}").json()["status"] == "won"
    with tenant_scope(tenant_a):
        conversation = Conversation.objects.get(pk=opportunity.conversation_id)
        assert conversation.needs_attention
        assert (
            "Q-00001" in conversation.attention_reason and "(api)" in conversation.attention_reason
        )
        entry = AuditEntry.objects.get(action="quotes.quote.accepted")
        assert entry.actor_kind == AuditEntry.ActorKind.INTEGRATION
    again = api_a.send("post", f"/quotes/{quote.pk}/accept", None)
    assert again.status_code == 200 and again.json()["accepted_at"] == data["accepted_at"]
    refused = problem(api_a.send("post", f"/quotes/{quote.pk}/reject", None), 422)
    assert "Q-00001" in refused["detail"]


def test_a_draft_cannot_be_accepted_and_can_be_rejected(tenant_a, api_a, catalog, opportunity):
    draft = create(api_a, opportunity, [{"sku": "HC-2100Q", "quantity": 1}])
    assert (
        "cannot be accepted"
        in problem(api_a.send("post", f"/quotes/{draft['id']}/accept", None), 422)["detail"]
    )
    rejected = api_a.send("post", f"/quotes/{draft['id']}/reject", None)
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    with tenant_scope(tenant_a):
        assert LeadOpportunity.objects.get(pk=opportunity.pk).status == "qualified"


def test_an_expired_quote_cannot_be_accepted(tenant_a, api_a, catalog, opportunity, teammate):
    quote = sent_quote(tenant_a, opportunity, teammate)
    with tenant_scope(tenant_a):
        Quote.objects.filter(pk=quote.pk).update(
            valid_until=timezone.localdate() - timedelta(days=1)
        )
    detail = problem(api_a.send("post", f"/quotes/{quote.pk}/accept", None), 422)["detail"]
    assert "expired" in detail and "Q-00001" in detail
    assert api_a.get(f"/quotes/{quote.pk}").json()["status"] == "expired"
    assert api_a.get(f"/opportunities/{opportunity.pk}").json()["status"] == "quoted"


def test_another_tenants_quotes_are_not_found(
    tenant_a, tenant_b, api_a, api_b, catalog, opportunity, teammate
):
    quote = sent_quote(tenant_a, opportunity, teammate)
    with tenant_scope(tenant_b):
        ProductFactory(tenant=tenant_b, sku="HC-2100Q", price=Decimal("1.00"), currency="EUR")
        own = LeadOpportunityFactory(tenant=tenant_b)
    mine = create(api_b, own, [{"sku": "HC-2100Q", "quantity": 1}])

    problem(api_b.get(f"/quotes/{quote.pk}"), 404)
    problem(api_b.send("post", f"/quotes/{quote.pk}/accept", None), 404)
    problem(api_b.send("post", f"/quotes/{quote.pk}/reject", None), 404)
    assert [q["id"] for q in walk(api_b, "/quotes")[0]] == [mine["id"]]
    assert walk(api_b, "/quotes", opportunity=opportunity.pk)[0] == []
    lines = [{"sku": "HC-2100Q", "quantity": 1}]
    refused = api_b.send("post", "/quotes", {"opportunity_id": opportunity.pk, "lines": lines})
    problem(refused, 422)
    problem(api_a.get(f"/quotes/{mine['id']}"), 404)
    assert mine["lines"][0]["unit_price"] == "1.00"  # B's own catalog price
    with tenant_scope(tenant_a):
        assert Quote.objects.get().status == "sent"
        assert Quote.objects.count() == 1
