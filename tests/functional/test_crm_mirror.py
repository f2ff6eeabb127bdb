"""Issue 15's "done when": a CRM mirrors a fresh tenant's contacts, conversations and
opportunities with only the REST API v1 and the webhooks, and the mirror equals the
database.

The CRM does what the README tells one to do: it registers its webhook endpoint first,
then copies everything through the API (cursor pagination, small pages), then applies the
signed webhook events it receives (each verified, duplicates skipped by event id, a
record replaced only by one at least as new by ``updated_at``, a new recommendation put
into its opportunity). Conversations change with every message and no event says so:
for them the CRM also lists what changed since its last cursor. Contacts and
opportunities come from the first copy and the events only, so the events must carry
every change.

The tenant lives through real edges and services meanwhile: the CRM's own upserts and
opportunity updates through the API, customer messages through ``POST /api/v1/messages``
(answered by the fallback agent), the agent and a rep through crm's services (a hand-off,
an opportunity with recommendations, a recommendation revised, status changes, a closed
conversation, a contact's GDPR erasure, after which the CRM reads that contact's
conversations and opportunities again), and a real worker delivering the webhooks to a
receiver on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import io
import json
from datetime import datetime
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from crm.audit import Actor
from crm.models import Contact, Conversation, LeadOpportunity
from crm.services import (
    contact_erase,
    contact_update,
    conversation_close,
    conversation_hand_off,
    opportunity_register,
    opportunity_status_set,
    recommendation_record,
)
from integrations.representations import (
    contact_resource,
    conversation_resource,
    opportunity_resource,
)
from integrations.webhooks.events import WEBHOOK_EVENT_TYPES
from tenants.models import Tenant
from tenants.scoping import tenant_scope
from tenants.worker import Worker
from tests import edges
from tests.factories import ProductFactory
from tests.fakes.webhook_receiver import Received, WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)
# The events of what this mirror copies (quotes have their own tests: test_api_quotes*).
MIRRORED = tuple(e for e in WEBHOOK_EVENT_TYPES if not e.startswith("quote."))

AGENT = Actor.agent()
RESOURCES = ("contacts", "conversations", "opportunities")


class CrmMirror:
    """What a CRM keeps: records by id, its sync positions, the events it applied."""

    def __init__(self, key: str) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {key}"}
        self.records: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in RESOURCES}
        self.cursors: dict[str, str | None] = dict.fromkeys(RESOURCES)
        self.applied: set[str] = set()
        self.duplicates = 0

    def api(self, method: str, path: str, body: Any = None, **params: Any) -> dict[str, Any]:
        call = getattr(self.client, method)
        if body is None:
            response = call(f"/api/v1{path}", params, headers=self.headers)
        else:
            response = call(
                f"/api/v1{path}",
                json.dumps(body),
                content_type="application/json",
                headers=self.headers,
            )
        assert response.status_code in (200, 201, 202), response.content
        return dict(response.json())

    def sync(self, resource: str) -> int:
        """Copy what changed since the last position (everything the first time), page by
        page; returns how many items were read."""
        read = 0
        while True:
            cursor = self.cursors[resource]
            page = self.api(
                "get", f"/{resource}", limit=2, **({"cursor": cursor} if cursor else {})
            )
            for item in page["items"]:
                self.keep(resource, item)
                read += 1
            self.cursors[resource] = page["next_cursor"] or cursor
            if not page["has_more"]:
                return read

    def keep(self, resource: str, item: dict[str, Any]) -> None:
        known = self.records[resource].get(item["id"])
        if known is None or _time(item["updated_at"]) >= _time(known["updated_at"]):
            self.records[resource][item["id"]] = item

    def apply(self, event: Received) -> None:
        assert event.verified, "a CRM drops what it cannot verify"
        if event.event_id in self.applied:
            self.duplicates += 1
            return
        self.applied.add(event.event_id)
        kind, data = event.event_type.split(".")[0], event.payload["data"]
        if event.event_type == "contact.erased":
            # Erased with the contact: the texts of its conversations and opportunities.
            self.records["contacts"][data["id"]] = data
            for resource in ("conversations", "opportunities"):
                for record in list(self.records[resource].values()):
                    if record["contact_id"] == data["id"]:
                        fresh = self.api("get", f"/{resource}/{record['id']}")
                        fresh.pop("messages", None)  # the list's shape, as mirrored
                        self.records[resource][record["id"]] = fresh
            return
        if kind == "recommendation":
            # A recommendation changes its opportunity (its list and its updated_at): the
            # CRM reads the opportunity again.
            self.keep("opportunities", self.api("get", f"/opportunities/{data['opportunity_id']}"))
            return
        self.keep(
            {
                "contact": "contacts",
                "conversation": "conversations",
                "opportunity": "opportunities",
            }[kind],
            data,
        )


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def database(tenant: Tenant) -> dict[str, dict[int, dict[str, Any]]]:
    """The tenant's records as the API shows them, straight from the database."""
    with tenant_scope(tenant):
        return {
            "contacts": {c.pk: contact_resource(c) for c in Contact.objects.all()},
            "conversations": {c.pk: conversation_resource(c) for c in Conversation.objects.all()},
            "opportunities": {o.pk: opportunity_resource(o) for o in LeadOpportunity.objects.all()},
        }


def command(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command(*args, "--json", stdout=out)
    return dict(json.loads(out.getvalue()))


def work() -> None:
    asyncio.run(Worker(concurrency=10, interval=0.02, batch=True).run())


def message(mirror: CrmMirror, crm_id: str, name: str, text: str, n: int) -> dict[str, Any]:
    return mirror.api(
        "post",
        "/messages",
        {
            "channel": "api",
            "external_id": f"crm-msg-{n}",
            "contact": {"crm_contact_id": crm_id, "full_name": name, "company": "Aguas del Valle"},
            "text": text,
            "metadata": {},
        },
    )


@pytest.fixture
def receiver():
    server = WebhookReceiver().start()
    yield server
    server.stop()


def test_a_crm_mirrors_a_fresh_tenant_with_the_api_and_the_webhooks(receiver, settings):
    settings.AGENT_FALLBACK_SETTLE_SECONDS = 0  # one message at a time: no burst to wait for
    command("create_tenant", "mirror", "--name", "Mirror Labs")
    tenant = Tenant.objects.get(slug="mirror")
    mirror = CrmMirror(edges.api_key(tenant))
    with tenant_scope(tenant):
        products = [ProductFactory(tenant=tenant) for _ in range(3)]

    # History before the CRM connects.
    mirror.api(
        "put",
        "/contacts/by-crm-id/C-1",
        {"full_name": "Laura Gómez", "company": "Aguas del Valle", "division": "Planta Norte"},
    )
    message(mirror, "C-1", "Laura Gómez", "Necesito medir turbidez en agua potable", 1)
    message(mirror, "C-2", "Pedro Ruiz", "Busco un medidor de pH de mesa", 2)
    message(mirror, "C-3", "Ana Torres", "¿Tienen sondas de oxígeno disuelto?", 3)
    with tenant_scope(tenant):
        laura = Contact.objects.get(crm_contact_id="C-1")
        first, _ = opportunity_register(
            contact=laura,
            conversation=Conversation.objects.filter(contact=laura).first(),
            problem_statement="Turbidez 0-100 NTU en la salida de la planta",
            actor=AGENT,
        )
        recommendation_record(
            opportunity=first, product=products[0], justification="Rango 0-1000 NTU", actor=AGENT
        )
    work()

    # The CRM connects: its endpoint first, then the first copy.
    events = [arg for event in MIRRORED for arg in ("--event", event)]
    endpoint = command("add_webhook", "mirror", receiver.url("/crm"), *events)
    receiver.secrets["/crm"] = endpoint["secret"]  # what the operator handed to the CRM
    assert {name: mirror.sync(name) for name in RESOURCES} == {
        name: len(records) for name, records in database(tenant).items()
    }

    # Life goes on: every change reaches the CRM as an event (or, for a conversation's
    # messages, as a change in the list since its cursor).
    mirror.api(
        "put",
        "/contacts/by-crm-id/C-2",
        {"full_name": "Pedro Ruiz Díaz", "email": "pedro@planta.example"},
    )
    message(mirror, "C-4", "Marta Gil", "Necesito reactivo DPD para cloro libre", 4)
    message(mirror, "C-1", "Laura Gómez", "¿Cuánto cuesta el turbidímetro?", 5)
    with tenant_scope(tenant):
        pedro = Contact.objects.get(crm_contact_id="C-2")
        marta = Contact.objects.get(crm_contact_id="C-4")
        contact_update(contact=marta, actor=AGENT, changes={"phone_number": "+57 300 555 0101"})
        conversation_hand_off(
            conversation=Conversation.objects.get(contact=pedro),
            reason="pide una cotización formal",
            actor=AGENT,
        )
        second, _ = opportunity_register(
            contact=marta,
            conversation=Conversation.objects.get(contact=marta),
            problem_statement="Cloro libre 0-5 mg/L",
            actor=AGENT,
        )
        for product in products[1:]:
            recommendation_record(
                opportunity=second, product=product, justification="Cubre el rango", actor=AGENT
            )
        recommendation_record(
            opportunity=second,
            product=products[1],
            justification="Cubre 0-5 mg/L con reactivo DPD",
            actor=AGENT,
        )
        opportunity_status_set(
            opportunity=first, status=LeadOpportunity.Status.NEEDS_EXPERT, actor=AGENT
        )
        ana = Contact.objects.get(crm_contact_id="C-3")
        conversation_close(conversation=Conversation.objects.get(contact=ana), actor=AGENT)
        contact_erase(contact=ana, actor=Actor.system("GDPR request"))  # Ana asked
    mirror.api(
        "patch",
        f"/opportunities/{first.pk}",
        {"crm_opportunity_id": "DEAL-77", "value": "1250.00", "currency": "USD"},
    )
    work()

    for event in receiver.received:
        mirror.apply(event)
    mirror.sync("conversations")

    assert mirror.records == database(tenant)
    got = {event.event_type for event in receiver.received}
    assert got == set(MIRRORED)  # every kind of event played its part
    assert mirror.duplicates == 0
