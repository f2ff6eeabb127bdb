"""The worker's side of the webhooks, and every place that queues a delivery.

* :func:`webhook_event_handle` is subscribed to crm's domain events (``apps.py``): it runs
  after the change committed, creates the event's deliveries and queues one task each, in
  one transaction (the database queue commits the task rows with the deliveries).
* :func:`webhook_deliver_task` claims the delivery, posts it (awaited on the worker's event
  loop, so many deliveries wait on their receivers at once), records the attempt and, in
  the same transaction, queues the retry at its time (``run_after``): nothing sleeps.
* :func:`webhook_deliveries_recover` queues deliveries whose task was lost with a worker.
"""

from __future__ import annotations

import logging
from datetime import datetime

from asgiref.sync import sync_to_async
from django.db import transaction
from django_tasks import task

from crm.events import DomainEvent
from integrations.models import WebhookDelivery
from integrations.webhooks.services import (
    Claimed,
    webhook_attempt_record,
    webhook_deliveries_create,
    webhook_deliveries_due,
    webhook_delivery_claim,
    webhook_delivery_redeliver,
    webhook_payloads_erase,
)
from integrations.webhooks.transport import AttemptOutcome, webhook_post
from tenants.models import Tenant
from tenants.scoping import tenant_scope
from tenants.tasks import enqueue_many_with_commit, tenant_for_task, tenant_task

logger = logging.getLogger(__name__)

# A delivery whose task has not started this long after it was due lost its worker.
RECOVER_AFTER = 120.0


@task()
@tenant_task
async def webhook_deliver_task(tenant: Tenant, delivery_id: int) -> str:
    """One attempt of a delivery; returns what happened (the task result, for operators)."""
    claimed = await sync_to_async(webhook_delivery_claim)(delivery_id=delivery_id)
    if claimed is None:
        return "skipped"
    outcome = await webhook_post(claimed.url, claimed.body, claimed.headers)
    retry_at = await sync_to_async(_record)(tenant.pk, claimed, outcome)
    if outcome.ok:
        return f"delivered ({outcome.status_code})"
    return f"retry at {retry_at.isoformat()}" if retry_at else "failed"


def _record(tenant_id: int, claimed: Claimed, outcome: AttemptOutcome) -> datetime | None:
    with transaction.atomic():
        retry_at = webhook_attempt_record(claimed=claimed, outcome=outcome)
        if retry_at is not None:
            webhook_deliver_enqueue(tenant_id, [claimed.delivery_id], at=retry_at)
    return retry_at


# Queueing ---------------------------------------------------------------------------------


def webhook_deliver_enqueue(
    tenant_id: int, delivery_ids: list[int], *, at: datetime | None = None
) -> None:
    """Queue a delivery task per id, committed with the current transaction."""
    if not delivery_ids:
        return
    queued = webhook_deliver_task.using(run_after=at) if at is not None else webhook_deliver_task
    enqueue_many_with_commit(queued, [(tenant_id, pk) for pk in delivery_ids])


def webhook_event_handle(event: DomainEvent) -> None:
    """crm's subscriber: the event's deliveries, queued (after the event's commit)."""
    tenant = tenant_for_task(event.tenant_id, "webhook_event_handle")
    if tenant is None:
        return
    with tenant_scope(tenant), transaction.atomic():
        ids = webhook_deliveries_create(tenant=tenant, event=event)
        webhook_deliver_enqueue(tenant.pk, ids)


def webhook_contact_erased(event: DomainEvent) -> None:
    """crm's subscriber for ``contact.erased``: the stored payloads forget the contact."""
    tenant = tenant_for_task(event.tenant_id, "webhook_contact_erased")
    if tenant is None:
        return
    with tenant_scope(tenant), transaction.atomic():
        webhook_payloads_erase(tenant=tenant, contact_id=event.subject_id)


def webhook_delivery_redeliver_enqueue(*, delivery: WebhookDelivery) -> bool:
    """Send a delivery again now (the admin's action); False when its endpoint is stopped."""
    with transaction.atomic():
        if not webhook_delivery_redeliver(delivery=delivery):
            return False
        webhook_deliver_enqueue(delivery.tenant_id, [delivery.pk])
    return True


def webhook_deliveries_recover(*, older_than: float = RECOVER_AFTER) -> int:
    """Queue the deliveries due for over ``older_than`` seconds (all tenants); a claim
    makes a delivery queued twice go out once. Returns how many were queued."""
    due = webhook_deliveries_due(older_than=older_than)
    by_tenant: dict[int, list[int]] = {}
    for tenant_id, delivery_id in due:
        by_tenant.setdefault(tenant_id, []).append(delivery_id)
    with transaction.atomic():
        for tenant_id, ids in by_tenant.items():
            webhook_deliver_enqueue(tenant_id, ids)
    if due:
        logger.info("webhook recovery: %d delivery(ies) queued again", len(due))
    return len(due)
