"""The REST API v1 (``/api/v1/``) through Django's test client: authentication, every
resource, cursor pagination and ``updated_since``, the writes through crm's services,
problem+json errors, rate limits, and tenant isolation of every endpoint."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from crm.models import (
    AuditEntry,
    Company,
    CompanyDivision,
    Contact,
    Conversation,
    LeadOpportunity,
    Message,
    OpportunityProductRecommendation,
)
from integrations import representations
from integrations.api.pagination import MAX_LIMIT
from quotes.models import Quote
from tenants.models import Membership, Tenant
from tenants.scoping import scopes_disabled, tenant_scope
from tenants.services import member_ensure
from tests import edges
from tests.factories import (
    CompanyDivisionFactory,
    ContactFactory,
    ConversationFactory,
    MessageFactory,
    ProductFactory,
    RecommendationFactory,
)
from tests.factories.catalog import CATALOG, load

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


class Api:
    """A client of the API with one key."""

    def __init__(self, key: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    def get(self, path: str, **params: Any) -> HttpResponse:
        return self.client.get(f"/api/v1{path}", params, headers=self.headers)

    def send(self, method: str, path: str, body: Any) -> HttpResponse:
        call = getattr(self.client, method)
        return call(
            f"/api/v1{path}",
            data=json.dumps(body),
            content_type="application/json",
            headers=self.headers,
        )


@pytest.fixture
def api_a(tenant_a: Tenant) -> Api:
    return Api(edges.api_key(tenant_a))


@pytest.fixture
def api_b(tenant_b: Tenant) -> Api:
    return Api(edges.api_key(tenant_b))


def problem(response: HttpResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["type"] == "about:blank"
    assert body["title"] and isinstance(body["detail"], str)
    assert "Traceback" not in response.content.decode()
    return body


def walk(api: Api, path: str, **params: Any) -> tuple[list[dict[str, Any]], str | None]:
    """Every item of a list, page by page; and the last page's cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = api.get(path, **params, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.content
        data = response.json()
        items += data["items"]
        cursor = data["next_cursor"] or cursor
        if not data["has_more"]:
            return items, cursor


# The schema and the docs -------------------------------------------------------------------


def test_openapi_schema_documents_every_operation_with_problems():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.1")
    operations = {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "put", "patch", "post", "delete")
    }
    assert operations == {
        ("GET", "/api/v1/contacts"),
        ("GET", "/api/v1/contacts/{contact_id}"),
        ("PUT", "/api/v1/contacts/by-crm-id/{crm_contact_id}"),
        ("GET", "/api/v1/companies"),
        ("GET", "/api/v1/companies/{company_id}"),
        ("GET", "/api/v1/divisions"),
        ("GET", "/api/v1/divisions/{division_id}"),
        ("GET", "/api/v1/conversations"),
        ("GET", "/api/v1/conversations/{conversation_id}"),
        ("GET", "/api/v1/opportunities"),
        ("GET", "/api/v1/opportunities/{opportunity_id}"),
        ("PATCH", "/api/v1/opportunities/{opportunity_id}"),
        ("GET", "/api/v1/products"),
        ("GET", "/api/v1/products/search"),
        ("GET", "/api/v1/products/{product_id}"),
        ("GET", "/api/v1/quotes"),
        ("POST", "/api/v1/quotes"),
        ("GET", "/api/v1/quotes/{quote_id}"),
        ("POST", "/api/v1/quotes/{quote_id}/accept"),
        ("POST", "/api/v1/quotes/{quote_id}/reject"),
        ("POST", "/api/v1/messages"),
    }
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            for status in ("401", "422", "429", "500"):
                assert PROBLEM in responses[status]["content"], (method, path, status)
            assert operation["security"], (method, path)
    schemes = schema["components"]["securitySchemes"]
    assert {scheme["type"] for scheme in schemes.values()} == {"http", "apiKey"}


def test_docs_page_uses_the_bundled_swagger_ui_not_a_cdn():
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert "script-src 'self'" in response["Content-Security-Policy"]


# Authentication and errors -----------------------------------------------------------------

EVERY_OPERATION = [
    ("get", "/contacts"),
    ("get", "/contacts/1"),
    ("put", "/contacts/by-crm-id/C-1"),
    ("get", "/companies"),
    ("get", "/companies/1"),
    ("get", "/divisions"),
    ("get", "/divisions/1"),
    ("get", "/conversations"),
    ("get", "/conversations/1"),
    ("get", "/opportunities"),
    ("get", "/opportunities/1"),
    ("patch", "/opportunities/1"),
    ("get", "/products"),
    ("get", "/products/search?q=ph"),
    ("get", "/products/1"),
    ("get", "/quotes"),
    ("post", "/quotes"),
    ("get", "/quotes/1"),
    ("post", "/quotes/1/accept"),
    ("post", "/quotes/1/reject"),
    ("post", "/messages"),
]


@pytest.mark.parametrize(("method", "path"), EVERY_OPERATION)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer sk_not-a-key"}, {"X-API-Key": "sk_wrong"}],
    ids=["none", "bad-bearer", "bad-header"],
)
def test_every_operation_needs_a_valid_key(tenant_a, method, path, headers):
    edges.api_key(tenant_a)
    client, url = Client(), f"/api/v1{path}"
    if method == "get":
        response = client.get(url, headers=headers)
    else:
        response = getattr(client, method)(
            url, data="{}", content_type="application/json", headers=headers
        )
    assert "API key" in problem(response, 401)["detail"]


def test_x_api_key_header_and_an_inactive_account(tenant_a, rows_a):
    key = edges.api_key(tenant_a)
    assert Client().get("/api/v1/contacts", headers={"X-API-Key": key}).status_code == 200
    Tenant.objects.filter(pk=tenant_a.pk).update(is_active=False)
    problem(Client().get("/api/v1/contacts", headers={"X-API-Key": key}), 401)


def test_unknown_path_wrong_method_bad_json_and_bad_parameters_are_problems(api_a):
    assert "no such endpoint" in problem(api_a.get("/nothing/here"), 404)["detail"]
    problem(api_a.get("/contacts/abc"), 422)
    not_allowed = api_a.send("delete", "/contacts", None)
    problem(not_allowed, 405)
    assert not_allowed["Allow"] == "GET"
    bad_json = api_a.client.put(
        "/api/v1/contacts/by-crm-id/C-1",
        data="{nope",
        content_type="application/json",
        headers=api_a.headers,
    )
    assert problem(bad_json, 400)["detail"].startswith("malformed JSON")
    errors = problem(api_a.get("/contacts", limit=MAX_LIMIT + 1), 422)["errors"]
    assert errors == [
        {"field": "limit", "message": f"Input should be less than or equal to {MAX_LIMIT}"}
    ]
    problem(api_a.get("/contacts", updated_since="yesterday"), 422)
    problem(api_a.get("/contacts", updated_since="0001-01-01T00:00:00+14:00"), 422)
    assert problem(api_a.get("/contacts", cursor="not-a-cursor"), 422)["errors"][0]["field"] == (
        "cursor"
    )
    problem(api_a.get("/contacts/99999999999999999999"), 422)  # past 64 bits: refused


def test_an_unexpected_error_is_a_500_problem_without_details(api_a, monkeypatch, caplog):
    from integrations.api import contacts

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(contacts, "contacts_with_company", broken)
    response = api_a.get("/contacts")
    body = problem(response, 500)
    assert "secret internals" not in response.content.decode()
    assert "logged" in body["detail"]
    assert "secret internals" in caplog.text  # for the operator, in the log


def test_rate_limit_per_key_is_429_with_retry_after(api_a, api_b, settings):
    settings.API_RATE_LIMIT, settings.API_RATE_LIMIT_WINDOW = 3, 3600
    for _ in range(3):
        assert api_a.get("/contacts").status_code == 200
    refused = api_a.get("/contacts")
    problem(refused, 429)
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert api_b.get("/contacts").status_code == 200  # another key counts apart
    settings.API_RATE_LIMIT = 0  # no limit
    assert api_a.get("/contacts").status_code == 200


# Contacts, companies, divisions ------------------------------------------------------------


def test_contacts_list_pages_with_a_cursor_oldest_change_first(tenant_a, api_a):
    with tenant_scope(tenant_a):
        contacts = ContactFactory.create_batch(7, tenant=tenant_a)
    first = api_a.get("/contacts", limit=3).json()
    assert len(first["items"]) == 3 and first["has_more"] is True
    items, _ = walk(api_a, "/contacts", limit=3)
    assert [item["id"] for item in items] == [contact.pk for contact in contacts]
    stamps = [(item["updated_at"], item["id"]) for item in items]
    assert stamps == sorted(stamps)


def test_updated_since_and_the_last_cursor_follow_changes(tenant_a, api_a):
    with tenant_scope(tenant_a):
        old, changed = ContactFactory.create_batch(2, tenant=tenant_a)
        Contact.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=2))
        Contact.objects.filter(pk=changed.pk).update(updated_at=timezone.now() - timedelta(days=2))
    items, cursor = walk(api_a, "/contacts")
    assert {item["id"] for item in items} == {old.pk, changed.pk}
    assert api_a.get("/contacts", cursor=cursor).json()["items"] == []  # nothing new

    since = (timezone.now() - timedelta(hours=1)).isoformat()
    assert api_a.get("/contacts", updated_since=since).json()["items"] == []
    with tenant_scope(tenant_a):
        Contact.objects.filter(pk=changed.pk).update(
            full_name="Nuevo Nombre", updated_at=timezone.now()
        )
    assert [c["id"] for c in api_a.get("/contacts", updated_since=since).json()["items"]] == [
        changed.pk
    ]
    after = api_a.get("/contacts", cursor=cursor).json()
    assert [c["full_name"] for c in after["items"]] == ["Nuevo Nombre"]


def test_contact_get_is_its_representation(tenant_a, api_a):
    with tenant_scope(tenant_a):
        contact = ContactFactory(tenant=tenant_a, crm_contact_id="CRM-9")
    data = api_a.get(f"/contacts/{contact.pk}").json()
    assert data["crm_contact_id"] == "CRM-9"
    assert data["company"]["name"] == contact.division.company.name
    assert data["division"]["id"] == contact.division_id
    with tenant_scope(tenant_a):
        assert representations.contact_resource(Contact.objects.get(pk=contact.pk)) == data


def test_contact_upsert_creates_then_updates_with_company_and_division(tenant_a, api_a):
    body = {
        "full_name": "Laura Gómez",
        "email": "laura@aguas.example",
        "company": "Aguas SA",
        "crm_company_id": "ACC-1",
        "division": "Laboratorio",
        "crm_division_id": "DIV-1",
    }
    created = api_a.send("put", "/contacts/by-crm-id/CRM-1", body)
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["crm_contact_id"] == "CRM-1" and data["platform"] == "api"
    assert data["company"] == {
        "id": data["company"]["id"],
        "name": "Aguas SA",
        "crm_company_id": "ACC-1",
    }
    assert data["division"]["crm_division_id"] == "DIV-1"

    renamed = {**body, "full_name": "Laura G. Pérez", "company": "Aguas del Valle SA"}
    updated = api_a.send("put", "/contacts/by-crm-id/CRM-1", renamed)
    assert updated.status_code == 200, updated.content
    assert updated.json()["id"] == data["id"]
    assert updated.json()["full_name"] == "Laura G. Pérez"
    assert updated.json()["company"]["name"] == "Aguas del Valle SA"
    with tenant_scope(tenant_a):
        assert Contact.objects.count() == 1 and Company.objects.count() == 1
        entry = AuditEntry.objects.get(contact_id=data["id"])
        assert entry.actor_kind == AuditEntry.ActorKind.INTEGRATION
        assert entry.changes["full_name"] == ["Laura Gómez", "Laura G. Pérez"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"division": "Lab"}, ""),
        ({"email": "not-an-email"}, "email"),
        ({"full_name": "x" * 201}, "full_name"),
        ({"role": "admin"}, "role"),
        ([], ""),
    ],
)
def test_contact_upsert_refuses_bad_bodies_and_writes_nothing(tenant_a, api_a, body, field):
    errors = problem(api_a.send("put", "/contacts/by-crm-id/CRM-1", body), 422)["errors"]
    assert any(error["field"].endswith(field) for error in errors), errors
    with tenant_scope(tenant_a):
        assert not Contact.objects.exists()
    problem(api_a.send("put", "/contacts/by-crm-id/" + "x" * 129, {}), 422)


def test_companies_and_divisions(tenant_a, api_a):
    with tenant_scope(tenant_a):
        division = CompanyDivisionFactory(tenant=tenant_a, crm_division_id="D-7")
        CompanyDivisionFactory(tenant=tenant_a, company=division.company, name="Compras")
    companies = api_a.get("/companies").json()["items"]
    assert [c["id"] for c in companies] == [division.company_id]
    assert sorted(d["name"] for d in companies[0]["divisions"]) == sorted(
        ["Compras", division.name]
    )
    company = api_a.get(f"/companies/{division.company_id}").json()
    assert company == companies[0]
    with tenant_scope(tenant_a):
        assert representations.company_resource(Company.objects.get()) == company
    assert len(api_a.get("/divisions").json()["items"]) == 2
    got = api_a.get(f"/divisions/{division.pk}").json()
    assert (got["crm_division_id"], got["company_id"]) == ("D-7", division.company_id)


# Conversations -----------------------------------------------------------------------------


def test_conversations_filter_by_status_and_get_has_the_messages(tenant_a, api_a):
    with tenant_scope(tenant_a):
        active = ConversationFactory(tenant=tenant_a)
        closed = ConversationFactory(tenant=tenant_a, status=Conversation.Status.CLOSED)
        first = MessageFactory(tenant=tenant_a, conversation=active, content="hola")
        MessageFactory(
            tenant=tenant_a, conversation=active, role=Message.Role.ASSISTANT, content="¿Sí?"
        )
    assert [c["id"] for c in api_a.get("/conversations", status="closed").json()["items"]] == [
        closed.pk
    ]
    assert {c["id"] for c in api_a.get("/conversations").json()["items"]} == {active.pk, closed.pk}
    problem(api_a.get("/conversations", status="lost"), 422)
    listed = api_a.get("/conversations", status="active").json()["items"][0]
    assert "messages" not in listed
    data = api_a.get(f"/conversations/{active.pk}").json()
    assert [(m["role"], m["content"]) for m in data["messages"]] == [
        ("user", "hola"),
        ("assistant", "¿Sí?"),
    ]
    assert data["messages"][0]["id"] == first.pk
    with tenant_scope(tenant_a):
        resource = representations.conversation_resource(Conversation.objects.get(pk=active.pk))
    assert resource == {k: v for k, v in data.items() if k != "messages"} == listed


# Opportunities -----------------------------------------------------------------------------


@pytest.fixture
def opportunity(tenant_a) -> LeadOpportunity:
    with tenant_scope(tenant_a):
        recommendation = RecommendationFactory(tenant=tenant_a)
        return recommendation.opportunity


def test_opportunity_get_has_its_recommendations(tenant_a, api_a, opportunity):
    data = api_a.get(f"/opportunities/{opportunity.pk}").json()
    [recommendation] = data["recommendations"]
    with tenant_scope(tenant_a):
        row = OpportunityProductRecommendation.objects.get()
        assert recommendation == representations.recommendation_resource(row)
        assert data == representations.opportunity_resource(LeadOpportunity.objects.get())
    assert api_a.get("/opportunities").json()["items"] == [data]


def test_opportunity_patch_through_crm_services_as_the_integration(
    tenant_a, api_a, opportunity, teammate
):
    body = {
        "status": "needs_expert",
        "assigned_rep_email": "REP@alpha.example",
        "crm_opportunity_id": "OPP-77",
        "value": "12500.5",
        "currency": "EUR",
        "expected_close_date": "2027-03-31",
        "next_step": "Demo on site",
    }
    response = api_a.send("patch", f"/opportunities/{opportunity.pk}", body)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "needs_expert"
    assert data["assigned_rep_email"] == "rep@alpha.example"
    assert (data["value"], data["currency"]) == ("12500.50", "EUR")
    assert (data["expected_close_date"], data["next_step"]) == ("2027-03-31", "Demo on site")
    assert data["crm_opportunity_id"] == "OPP-77"
    with tenant_scope(tenant_a):
        row = LeadOpportunity.objects.get()
        assert row.assigned_rep == teammate and row.value == Decimal("12500.50")
        actions = set(
            AuditEntry.objects.filter(opportunity=row).values_list("action", "actor_kind")
        )
    assert actions >= {
        ("crm.opportunity.status_changed", "integration"),
        ("crm.opportunity.assigned", "integration"),
        ("crm.opportunity.updated", "integration"),
    }
    # absent fields stay; null clears the rep and the value
    cleared = api_a.send(
        "patch", f"/opportunities/{opportunity.pk}", {"assigned_rep_email": None, "value": None}
    ).json()
    assert cleared["assigned_rep_email"] is None and cleared["value"] is None
    assert cleared["status"] == "needs_expert" and cleared["currency"] == "EUR"


@pytest.mark.parametrize(
    "body",
    [
        {"status": "won"},
        {"currency": "euro"},
        {"value": "-1"},
        {"value": "1.234"},
        {"value": "1e20"},
        {"expected_close_date": "31/03/2027"},
        {"next_step": "x" * 256},
        {"probability": 90},
    ],
)
def test_opportunity_patch_refuses_bad_values_and_changes_nothing(
    tenant_a, api_a, opportunity, body
):
    problem(api_a.send("patch", f"/opportunities/{opportunity.pk}", body), 422)
    with tenant_scope(tenant_a):
        row = LeadOpportunity.objects.get()
        assert (row.status, row.value, row.currency, row.next_step) == ("qualified", None, "", "")
        assert not AuditEntry.objects.filter(actor_kind="integration").exists()


def test_a_rep_of_another_tenant_or_no_member_is_refused(tenant_a, api_a, opportunity, outsider):
    member_ensure(tenant=tenant_a, email="gone@alpha.example", role=Membership.Role.SALES_REP)
    for email in (outsider.email, "nobody@alpha.example"):
        body = {"assigned_rep_email": email, "status": "closed"}
        errors = problem(api_a.send("patch", f"/opportunities/{opportunity.pk}", body), 422)
        assert errors["errors"] == [
            {"field": "assigned_rep_email", "message": "not a member of this tenant"}
        ]
    with tenant_scope(tenant_a):
        row = LeadOpportunity.objects.get()
        assert row.assigned_rep is None and row.status == "qualified"  # nothing half-done


# Products ----------------------------------------------------------------------------------


def test_products_list_get_and_search(tenant_a, api_a, catalog_index):
    load(tenant_a, CATALOG)
    items, _ = walk(api_a, "/products", limit=5)
    assert sorted(p["sku"] for p in items) == sorted(p["sku"] for p in CATALOG)
    one = api_a.get(f"/products/{items[0]['id']}").json()
    assert one == items[0]
    hits = api_a.get("/products/search", q="turbidímetro para agua potable", limit=3).json()
    assert hits["items"][0]["product"]["sku"] == "HL-TUR-5200"
    assert len(hits["items"]) <= 3
    assert api_a.get("/products/search", q="HL-PH-300").json()["items"][0]["product"]["sku"] == (
        "HL-PH-300"
    )
    problem(api_a.get("/products/search", q=""), 422)
    problem(api_a.get("/products/search", q="ph", limit=51), 422)


# Tenant isolation: B's key never reaches A's rows ------------------------------------------


def test_every_endpoint_isolates_tenants(tenant_a, tenant_b, api_a, api_b, rows_a, rows_b):
    with tenant_scope(tenant_a):
        contact = rows_a[Contact]
        Contact.objects.filter(pk=contact.pk).update(crm_contact_id="CRM-A")
        product = ProductFactory(tenant=tenant_a)
    a_ids = {
        "/contacts": contact.pk,
        "/companies": rows_a[Company].pk,
        "/divisions": rows_a[CompanyDivision].pk,
        "/conversations": rows_a[Conversation].pk,
        "/opportunities": rows_a[LeadOpportunity].pk,
        "/products": product.pk,
        "/quotes": rows_a[Quote].pk,
    }
    for path, pk in a_ids.items():
        assert api_a.get(f"{path}/{pk}").status_code == 200, path
        problem(api_b.get(f"{path}/{pk}"), 404)
        listed_b = {item["id"] for item in walk(api_b, path)[0]}
        assert pk not in listed_b, path
        assert listed_b, path  # B sees its own rows
    opportunity = rows_a[LeadOpportunity]
    problem(api_b.send("patch", f"/opportunities/{opportunity.pk}", {"status": "closed"}), 404)
    # the same CRM id in B is B's own contact; A's is untouched
    response = api_b.send("put", "/contacts/by-crm-id/CRM-A", {"full_name": "Bea de Bravo"})
    assert response.status_code == 201
    assert response.json()["id"] != contact.pk
    with tenant_scope(tenant_a):
        assert Contact.objects.get(pk=contact.pk).full_name == contact.full_name
        assert LeadOpportunity.objects.get(pk=opportunity.pk).status == "qualified"
    with scopes_disabled():
        assert Contact.objects.filter(crm_contact_id="CRM-A").count() == 2
