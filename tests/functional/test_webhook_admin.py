"""Outbound webhooks in the admin: a tenant admin registers an endpoint and sees its secret
once, the receiver verifies the deliveries with that very secret, the delivery log shows
each attempt with the receiver's answer escaped, redeliver sends the same event id again,
a disabled endpoint is flagged; another tenant's admin sees none of it."""

from __future__ import annotations

import asyncio
import re

import pytest
from django.urls import reverse

from crm.audit import Actor
from crm.models import Platform
from crm.services import contact_upsert_from_crm
from integrations.models import WebhookDelivery, WebhookEndpoint
from tenants.scoping import tenant_scope
from tenants.worker import Worker
from tests.factories import WebhookEndpointFactory
from tests.fakes.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)

ADD = reverse("admin:integrations_webhookendpoint_add")
ENDPOINTS = reverse("admin:integrations_webhookendpoint_changelist")
DELIVERIES = reverse("admin:integrations_webhookdelivery_changelist")
SECRET = re.compile(r"whsec_[A-Za-z0-9_-]{20,}")


@pytest.fixture
def receiver():
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def admin_client(client, owner):
    client.force_login(owner)
    return client


def work() -> None:
    asyncio.run(Worker(concurrency=5, interval=0.02, batch=True).run())


def contact_created(tenant, crm_id="C-1"):
    with tenant_scope(tenant):
        contact_upsert_from_crm(
            tenant=tenant,
            channel=Platform.API,
            actor=Actor.integration("CRM"),
            crm_contact_id=crm_id,
            full_name="Laura",
        )


def register(client, url, events=("contact.created",)):
    return client.post(
        ADD,
        {"url": url, "description": "HubSpot", "events": list(events), "is_active": "on"},
        follow=True,
    )


def test_the_secret_is_shown_once_and_signs_the_deliveries(admin_client, tenant_a, receiver):
    response = register(admin_client, receiver.url("/hooks"))

    assert response.status_code == 200
    [secret] = set(SECRET.findall(response.content.decode()))
    with tenant_scope(tenant_a):
        endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == secret
    assert endpoint.events == ["contact.created"]
    change = admin_client.get(
        reverse("admin:integrations_webhookendpoint_change", args=[endpoint.pk])
    )
    assert change.status_code == 200
    assert secret not in change.content.decode()  # never shown again
    assert secret not in admin_client.get(ENDPOINTS).content.decode()

    receiver.secrets["/hooks"] = secret  # what the tenant admin copied into their CRM
    contact_created(tenant_a)
    work()
    [got] = receiver.received
    assert got.verified and got.event_type == "contact.created"


def test_the_form_refuses_private_urls_and_unknown_events(admin_client, tenant_a, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    response = register(admin_client, "http://169.254.169.254/latest/meta-data")
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "link-local" in str(errors["url"])
    response = register(admin_client, "http://8.8.8.8/hooks", events=["conversation.assigned"])
    assert "events" in response.context["adminform"].form.errors
    with tenant_scope(tenant_a):
        assert not WebhookEndpoint.objects.exists()


def test_the_delivery_log_shows_attempts_escaped_and_redelivers(admin_client, tenant_a, receiver):
    response = register(admin_client, receiver.url("/"))
    receiver.secrets["/"] = SECRET.search(response.content.decode()).group()
    receiver.script(500)
    contact_created(tenant_a)
    work()
    with tenant_scope(tenant_a):
        delivery = WebhookDelivery.objects.get()
    assert delivery.status == "succeeded"

    page = admin_client.get(
        reverse("admin:integrations_webhookdelivery_change", args=[delivery.pk])
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert "&lt;script&gt;alert(" in html  # the 500's body, escaped
    assert "<script>alert(" not in html
    assert delivery.event_id in html
    listing = admin_client.get(DELIVERIES).content.decode()
    assert "contact.created" in listing and "succeeded" in listing.lower()

    response = admin_client.post(
        DELIVERIES,
        {"action": "redeliver", "_selected_action": [delivery.pk]},
        follow=True,
    )
    assert "Queued 1 delivery(ies) again." in response.content.decode()
    work()
    # The 500, the retry, the redelivery: one event id (a duplicate, recognisable).
    assert receiver.event_ids == [delivery.event_id] * 3


def test_a_disabled_endpoint_is_flagged_to_its_admins(admin_client, tenant_a):
    with tenant_scope(tenant_a):
        WebhookEndpointFactory(
            tenant=tenant_a,
            url="https://crm.alpha.example/hooks",
            is_active=True,
            disabled_reason="5 deliveries in a row failed (each retried for 24 h).",
        )
        WebhookEndpoint.objects.update(disabled_at="2026-01-01T00:00:00Z")
    html = admin_client.get(ENDPOINTS).content.decode()
    assert "The endpoint https://crm.alpha.example/hooks is disabled: 5 deliveries in a" in html
    assert "Disabled: 5 deliveries" in html  # the state column


def test_another_tenants_admin_sees_no_endpoint_or_delivery(client, tenant_a, outsider, receiver):
    with tenant_scope(tenant_a):
        endpoint = WebhookEndpointFactory(tenant=tenant_a, url=receiver.url("/"), is_active=True)
    contact_created(tenant_a)
    client.force_login(outsider)

    assert endpoint.url not in client.get(ENDPOINTS).content.decode()
    assert client.get(DELIVERIES).context["cl"].result_count == 0
    change = reverse("admin:integrations_webhookendpoint_change", args=[endpoint.pk])
    assert client.get(change).status_code == 404
