"""Outbound webhooks end to end: crm's services publish events, the subscriber creates the
deliveries, a real worker (tenants.worker) posts them to a receiver on 127.0.0.1 that
verifies the signature as a CRM would (tests/fakes/webhook_receiver.py)."""

from __future__ import annotations

import asyncio
import json

import pytest
from django.core import mail
from django_tasks_db.models import DBTaskResult

from crm.audit import Actor
from crm.models import Platform
from crm.services import contact_erase, contact_upsert_from_crm, opportunity_register
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integrations.representations import contact_resource, opportunity_resource
from integrations.webhooks.events import WEBHOOK_EVENT_TYPES
from integrations.webhooks.services import WebhookError, webhook_endpoint_create
from integrations.webhooks.tasks import (
    webhook_deliveries_recover,
    webhook_delivery_redeliver_enqueue,
)
from tenants.models import Membership
from tenants.scoping import tenant_scope
from tenants.services import member_ensure
from tenants.worker import Worker
from tests.fakes.webhook_receiver import WebhookReceiver

# The worker runs tasks on its own threads and connections: the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

CRM = Actor.integration("CRM API (test)")
Status = WebhookDelivery.Status
ALL = list(WEBHOOK_EVENT_TYPES)


@pytest.fixture
def receiver():
    server = WebhookReceiver().start()
    yield server
    server.stop()


def subscribe(tenant, receiver, path="/", events=ALL):
    with tenant_scope(tenant):
        endpoint, secret = webhook_endpoint_create(
            tenant=tenant, url=receiver.url(path), events=list(events)
        )
    receiver.secrets[path] = secret
    return endpoint


def new_contact(tenant, crm_id="C-1", name="Laura Gómez"):
    with tenant_scope(tenant):
        return contact_upsert_from_crm(
            tenant=tenant,
            channel=Platform.API,
            actor=CRM,
            crm_contact_id=crm_id,
            full_name=name,
            company="Aguas del Valle",
        )


def work() -> int:
    """Run the queued tasks (retries included) until nothing is left, as a worker does."""
    return asyncio.run(Worker(concurrency=10, interval=0.02, batch=True).run())


def deliveries(tenant):
    with tenant_scope(tenant):
        return list(WebhookDelivery.objects.order_by("pk"))


def attempts(delivery):
    with tenant_scope(delivery.tenant):
        return list(
            WebhookAttempt.objects.filter(delivery=delivery).values_list("status_code", "error")
        )


def test_an_event_is_delivered_signed_with_the_resource_as_the_api_shows_it(tenant_a, receiver):
    subscribe(tenant_a, receiver)
    contact = new_contact(tenant_a)

    work()

    [got] = receiver.received
    assert got.verified
    assert got.event_type == "contact.created" == got.payload["type"]
    assert got.event_id == got.payload["id"]
    assert got.payload["tenant"] == "alpha"
    assert got.headers["Content-Type"] == "application/json"
    with tenant_scope(tenant_a):
        contact.refresh_from_db()
        assert got.payload["data"] == contact_resource(contact)
    [delivery] = deliveries(tenant_a)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        Status.SUCCEEDED,
        1,
        200,
    )
    assert delivery.event_id == got.event_id
    assert attempts(delivery) == [(200, "")]


def test_only_the_subscribed_events_are_sent(tenant_a, receiver):
    subscribe(tenant_a, receiver, events=["opportunity.created"])
    contact = new_contact(tenant_a)
    with tenant_scope(tenant_a):
        opportunity, _ = opportunity_register(
            contact=contact, conversation=None, problem_statement="pH en línea", actor=CRM
        )

    work()

    assert [r.event_type for r in receiver.received] == ["opportunity.created"]
    with tenant_scope(tenant_a):
        opportunity.refresh_from_db()
        assert receiver.received[0].payload["data"] == opportunity_resource(opportunity)


def test_a_500_then_200_is_retried_once_with_the_same_event_id(tenant_a, receiver):
    subscribe(tenant_a, receiver)
    receiver.script(500)
    new_contact(tenant_a)

    work()

    assert [r.answered for r in receiver.received] == [500, 200]
    first, second = receiver.received
    assert first.event_id == second.event_id  # a duplicate is recognisable
    assert first.verified and second.verified
    [delivery] = deliveries(tenant_a)
    assert (delivery.status, delivery.attempts) == (Status.SUCCEEDED, 2)
    assert attempts(delivery) == [(500, ""), (200, "")]
    with tenant_scope(tenant_a):
        failed = WebhookAttempt.objects.get(delivery=delivery, number=1)
    assert "<script>" in failed.response_excerpt  # stored as text; the admin escapes it


def test_a_timeout_is_retried(tenant_a, receiver, settings):
    settings.WEBHOOK_READ_TIMEOUT = 0.3
    subscribe(tenant_a, receiver)
    receiver.script(("sleep", 1.5))
    new_contact(tenant_a)

    work()

    assert len(receiver.received) == 2
    assert len({r.event_id for r in receiver.received}) == 1
    [delivery] = deliveries(tenant_a)
    assert (delivery.status, delivery.attempts) == (Status.SUCCEEDED, 2)
    (first_status, first_error), second = attempts(delivery)
    assert first_status is None and "timed out" in first_error
    assert second == (200, "")


def test_a_redirect_is_not_followed(tenant_a, receiver):
    subscribe(tenant_a, receiver)
    receiver.script(302)
    new_contact(tenant_a)

    work()

    assert [r.answered for r in receiver.received] == [302, 200]  # retried, not followed
    [delivery] = deliveries(tenant_a)
    assert attempts(delivery) == [(302, ""), (200, "")]


def test_a_redelivery_carries_the_same_event_id(tenant_a, receiver):
    subscribe(tenant_a, receiver)
    new_contact(tenant_a)
    work()
    [delivery] = deliveries(tenant_a)

    with tenant_scope(tenant_a):
        assert webhook_delivery_redeliver_enqueue(delivery=delivery)
    work()

    assert len(receiver.event_ids) == 2
    assert set(receiver.event_ids) == {delivery.event_id}
    assert receiver.received[0].payload == receiver.received[1].payload
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SUCCEEDED, 2)


def test_failing_deliveries_disable_the_endpoint_and_tell_the_tenant_admins(
    tenant_a, receiver, settings
):
    settings.WEBHOOK_DISABLE_AFTER = 2
    settings.WEBHOOK_RETRY_WINDOW = 1.0
    member_ensure(tenant=tenant_a, email="owner@alpha.example", role=Membership.Role.TENANT_ADMIN)
    member_ensure(tenant=tenant_a, email="rep@alpha.example", role=Membership.Role.SALES_REP)
    endpoint = subscribe(tenant_a, receiver)
    receiver.default_status = 503
    new_contact(tenant_a, "C-1")
    new_contact(tenant_a, "C-2")

    work()

    endpoint.refresh_from_db()
    assert endpoint.disabled_at is not None
    assert "2 deliveries in a row failed" in endpoint.disabled_reason
    assert {d.status for d in deliveries(tenant_a)} == {Status.FAILED}
    assert all(d.attempts >= 1 and d.next_attempt_at is None for d in deliveries(tenant_a))
    [notice] = mail.outbox
    assert notice.to == ["owner@alpha.example"]  # the tenant admins, not the reps
    assert endpoint.url in notice.subject
    assert f"/admin/integrations/webhookendpoint/{endpoint.pk}/change/" in notice.body

    # Disabled: new events create no delivery, and nothing more is sent.
    sent = len(receiver.received)
    new_contact(tenant_a, "C-3")
    work()
    assert len(deliveries(tenant_a)) == 2
    assert len(receiver.received) == sent


def test_disabling_abandons_what_was_waiting(tenant_a, receiver, settings):
    settings.WEBHOOK_DISABLE_AFTER = 1
    settings.WEBHOOK_RETRY_WINDOW = 0.2
    endpoint = subscribe(tenant_a, receiver)
    receiver.default_status = 500
    new_contact(tenant_a, "C-1")
    # A second delivery waiting for a later retry when the endpoint is disabled.
    new_contact(tenant_a, "C-2")
    with tenant_scope(tenant_a):
        waiting = WebhookDelivery.objects.order_by("pk").last()
        WebhookDelivery.objects.filter(pk=waiting.pk).update(
            next_attempt_at=waiting.next_attempt_at.replace(year=2099)
        )

    work()

    endpoint.refresh_from_db()
    assert endpoint.disabled_at is not None
    waiting.refresh_from_db()
    assert waiting.status == Status.ABANDONED
    with tenant_scope(tenant_a):
        assert not webhook_delivery_redeliver_enqueue(delivery=waiting)  # re-enable first


def test_a_success_resets_the_failure_count(tenant_a, receiver, settings):
    settings.WEBHOOK_RETRY_WINDOW = 0.15
    endpoint = subscribe(tenant_a, receiver)
    receiver.default_status = 500
    new_contact(tenant_a, "C-1")
    work()
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1

    receiver.default_status = 200
    new_contact(tenant_a, "C-2")
    work()
    endpoint.refresh_from_db()
    assert (endpoint.consecutive_failures, endpoint.disabled_at) == (0, None)


def test_tenant_b_never_receives_tenant_as_events(tenant_a, tenant_b, receiver):
    subscribe(tenant_a, receiver, path="/alpha")
    subscribe(tenant_b, receiver, path="/bravo")
    new_contact(tenant_a, "C-1")
    new_contact(tenant_a, "C-2")
    new_contact(tenant_b, "C-9", name="Bruno")

    work()

    by_path = {}
    for got in receiver.received:
        assert got.verified  # each tenant's endpoint is signed with its own secret
        by_path.setdefault(got.path, []).append(got.payload["tenant"])
    assert by_path == {"/alpha": ["alpha", "alpha"], "/bravo": ["bravo"]}
    assert len(deliveries(tenant_a)) == 2
    assert len(deliveries(tenant_b)) == 1


def test_a_paused_endpoint_gets_nothing(tenant_a, receiver):
    endpoint = subscribe(tenant_a, receiver)
    with tenant_scope(tenant_a):
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    new_contact(tenant_a)
    work()
    assert receiver.received == []
    assert deliveries(tenant_a) == []


def test_private_urls_are_refused_at_save_time(tenant_a, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    refused = [
        receiver.url("/"),  # 127.0.0.1
        "http://localhost:8080/hooks",
        "http://10.1.2.3/hooks",
        "http://192.168.0.10/hooks",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata (link-local)
        "http://[::1]/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
        "http://100.64.0.1/hooks",  # shared address space
        "ftp://crm.example.com/hooks",
        "https://user:pw@crm.example.com/hooks",
        "not a url",
    ]
    for url in refused:
        with tenant_scope(tenant_a), pytest.raises(WebhookError):
            webhook_endpoint_create(tenant=tenant_a, url=url, events=["contact.created"])
    with tenant_scope(tenant_a), pytest.raises(WebhookError, match="Unknown event"):
        webhook_endpoint_create(
            tenant=tenant_a, url="http://8.8.8.8/hooks", events=["conversation.assigned"]
        )
    with tenant_scope(tenant_a):
        assert not WebhookEndpoint.objects.exists()


def test_private_addresses_are_refused_again_at_delivery_time(tenant_a, receiver, settings):
    """The URL was accepted (allowed then, or DNS said otherwise); the connection checks
    again and refuses, and nothing reaches the receiver."""
    subscribe(tenant_a, receiver)
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    new_contact(tenant_a)

    work()

    assert receiver.received == []
    [delivery] = deliveries(tenant_a)
    assert delivery.status == Status.FAILED  # refused for good, not retried
    [(status, error)] = attempts(delivery)
    assert status is None and "refused" in error and "127.0.0.1" in error


def test_a_delivery_whose_task_was_lost_is_recovered(tenant_a, receiver):
    subscribe(tenant_a, receiver)
    new_contact(tenant_a)
    DBTaskResult.objects.all().delete()  # the worker died with its task
    with tenant_scope(tenant_a):
        WebhookDelivery.objects.update(next_attempt_at=WebhookDelivery.objects.get().created_at)
    assert work() == 0

    assert webhook_deliveries_recover(older_than=0) == 1
    work()

    assert len(receiver.event_ids) == 1
    assert deliveries(tenant_a)[0].status == Status.SUCCEEDED


def test_a_delivery_queued_twice_is_sent_once(tenant_a, receiver):
    subscribe(tenant_a, receiver)
    new_contact(tenant_a)
    assert webhook_deliveries_recover(older_than=-60) == 1  # a second task for it
    work()
    assert len(receiver.received) == 1


def test_the_offered_events_are_the_issues_and_two_more_and_quotes():
    assert set(WEBHOOK_EVENT_TYPES) == {
        "contact.created",
        "contact.updated",
        "contact.erased",
        "conversation.handed_off",
        "conversation.closed",
        "opportunity.created",
        "opportunity.updated",
        "recommendation.created",
        "recommendation.updated",
        "quote.created",
        "quote.updated",
        "quote.approved",
        "quote.sent",
        "quote.accepted",
        "quote.rejected",
        "quote.expired",
    }


def test_an_erasure_reaches_the_crm_with_the_erased_contact(tenant_a, receiver):
    subscribe(tenant_a, receiver, events=["contact.erased"])
    contact = new_contact(tenant_a)
    with tenant_scope(tenant_a):
        contact_erase(contact=contact, actor=Actor.system())

    work()

    [got] = receiver.received
    assert got.event_type == "contact.erased"
    assert got.payload["data"]["id"] == contact.pk
    assert "Laura" not in json.dumps(got.payload)  # the CRM gets the erased record
    with tenant_scope(tenant_a):
        contact.refresh_from_db()
        assert got.payload["data"] == contact_resource(contact)


def test_an_erasure_erases_the_stored_payloads_too(tenant_a, receiver):
    """Sent or waiting, a delivery's payload no longer holds what the contact asked to
    erase: it holds the erased records, as the API shows them now."""
    subscribe(tenant_a, receiver, events=["contact.created", "opportunity.created"])
    laura = new_contact(tenant_a, "C-1", name="Laura Gómez")
    new_contact(tenant_a, "C-2", name="Pedro Ruiz")
    with tenant_scope(tenant_a):
        opportunity_register(
            contact=laura, conversation=None, problem_statement="Laura's plant, 40 NTU", actor=CRM
        )
    work()
    stored = {d.pk: json.dumps(d.payload) for d in deliveries(tenant_a)}
    assert sum("Laura" in p for p in stored.values()) == 2

    with tenant_scope(tenant_a):
        contact_erase(contact=laura, actor=Actor.system())

    after = {d.pk: json.dumps(d.payload) for d in deliveries(tenant_a)}
    assert not any("Laura" in p for p in after.values())
    assert sum("Pedro Ruiz" in p for p in after.values()) == 1  # other contacts untouched
    with tenant_scope(tenant_a):
        laura.refresh_from_db()
        [created] = [d for d in deliveries(tenant_a) if d.payload["data"]["id"] == laura.pk]
        assert created.payload["data"] == contact_resource(laura)
        assert created.payload["id"] == created.event_id  # the event keeps its id
