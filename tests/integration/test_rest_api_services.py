"""The crm service behind the REST API's opportunity PATCH (``opportunity_crm_update``)
and the API's writes as domain events: what the webhooks and a CRM mirror follow."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from crm.audit import Actor
from crm.events import DomainEvent, event_subscribe
from crm.models import AuditEntry, LeadOpportunity
from crm.services.opportunities import opportunity_crm_update, recommendation_record
from tenants.scoping import tenant_scope
from tests import edges
from tests.factories import LeadOpportunityFactory, ProductFactory

pytestmark = pytest.mark.django_db
CRM = Actor.integration("CRM API (test)")


@pytest.fixture
def received(django_capture_on_commit_callbacks):
    events: list[DomainEvent] = []
    unsubscribe = event_subscribe(events.append)
    yield events
    unsubscribe()


def test_crm_update_records_one_entry_and_one_event_for_what_changed(
    tenant_a, received, django_capture_on_commit_callbacks
):
    with tenant_scope(tenant_a):
        opportunity = LeadOpportunityFactory(tenant=tenant_a)
        changes = {
            "crm_opportunity_id": "OPP-1",
            "value": Decimal("100.00"),
            "currency": "EUR",
            "expected_close_date": date(2027, 1, 31),
            "next_step": "Call",
        }
        with django_capture_on_commit_callbacks(execute=True):
            opportunity_crm_update(opportunity=opportunity, changes=changes, actor=CRM)
        entry = AuditEntry.objects.get(opportunity=opportunity)
        assert entry.action == "crm.opportunity.updated" and entry.actor_kind == "integration"
        assert entry.changes["value"] == [None, "100.00"]
        assert [(e.type, e.subject_id) for e in received] == [
            ("opportunity.updated", opportunity.pk)
        ]
        received.clear()
        with django_capture_on_commit_callbacks(execute=True):  # the same values: nothing
            opportunity_crm_update(opportunity=opportunity, changes=changes, actor=CRM)
        assert received == [] and AuditEntry.objects.count() == 1
        with pytest.raises(ValueError, match="status"):
            opportunity_crm_update(opportunity=opportunity, changes={"status": "x"}, actor=CRM)
        row = LeadOpportunity.objects.get()
        assert (row.crm_opportunity_id, row.value, row.next_step) == (
            "OPP-1",
            Decimal("100"),
            "Call",
        )


def test_api_writes_publish_the_events_webhooks_follow(
    tenant_a, received, django_capture_on_commit_callbacks
):
    client, headers = Client(), {"Authorization": f"Bearer {edges.api_key(tenant_a)}"}
    with django_capture_on_commit_callbacks(execute=True):
        created = client.put(
            "/api/v1/contacts/by-crm-id/C-1",
            data=json.dumps({"full_name": "Ana", "company": "Aguas SA"}),
            content_type="application/json",
            headers=headers,
        )
    assert created.status_code == 201
    assert [(e.type, e.subject_id) for e in received] == [("contact.created", created.json()["id"])]
    with tenant_scope(tenant_a):
        opportunity = LeadOpportunityFactory(tenant=tenant_a)
    received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        patched = client.patch(
            f"/api/v1/opportunities/{opportunity.pk}",
            data=json.dumps({"status": "closed", "next_step": "Invoice"}),
            content_type="application/json",
            headers=headers,
        )
    assert patched.status_code == 200
    assert [e.type for e in received] == ["opportunity.updated", "opportunity.updated"]
    assert {(e.actor_kind, e.actor_name) for e in received} == {("integration", "CRM API (CRM)")}


def test_a_recommendation_moves_its_opportunity_for_incremental_sync(tenant_a):
    """A CRM syncing opportunities with updated_since sees a new recommendation."""
    with tenant_scope(tenant_a):
        opportunity = LeadOpportunityFactory(tenant=tenant_a)
        before = LeadOpportunity.objects.get(pk=opportunity.pk).updated_at
        product = ProductFactory(tenant=tenant_a)
        recommendation_record(opportunity=opportunity, product=product, justification="Rango")
        after = LeadOpportunity.objects.get(pk=opportunity.pk).updated_at
        assert after > before
