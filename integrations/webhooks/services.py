"""Every write of the outbound webhooks: endpoints, deliveries and their attempts.

* An endpoint is registered with a URL (checked by :mod:`~integrations.webhooks.safety`),
  event types (checked against :data:`~integrations.webhooks.events.WEBHOOK_EVENTS`) and a
  generated secret, returned once.
* A committed domain event becomes one delivery per sending endpoint of its tenant that
  subscribed to its type (:func:`webhook_deliveries_create`), all with the event's payload.
* A worker claims a due delivery (:func:`webhook_delivery_claim`: a conditional UPDATE, so
  two tasks for one delivery send it once), posts it, and records the attempt
  (:func:`webhook_attempt_record`): a 2xx succeeds; anything else is retried after a random
  wait up to the schedule's next value (full jitter) until the retry window closes, then
  fails. ``WEBHOOK_DISABLE_AFTER`` failed deliveries in a row disable the endpoint: its
  waiting deliveries are abandoned and its tenant admins are e-mailed.
* Nothing here queues a task or sleeps: the callers in ``tasks.py`` queue what the
  functions return, in the same transaction.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from crm.events import DomainEvent
from crm.models import LeadOpportunity
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, new_webhook_secret
from integrations.webhooks.events import (
    WEBHOOK_EVENTS,
    event_payload,
    event_resource,
    events_problem,
    resource_now,
)
from integrations.webhooks.safety import url_problem
from integrations.webhooks.signing import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)
from integrations.webhooks.transport import AttemptOutcome
from tenants.models import Membership, Tenant
from tenants.public_urls import public_url
from tenants.redaction import redact
from tenants.scoping import scopes_disabled

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
LEASE_MARGIN = 30.0  # seconds a claimed delivery is held beyond its attempt's bounds
EARLY_TOLERANCE = timedelta(seconds=1)  # a retry task may start this much early


class WebhookError(ValueError):
    """A request the webhooks refuse, with the reason for the person who made it."""


# Endpoints -------------------------------------------------------------------------------


def webhook_endpoint_problems(*, endpoint: WebhookEndpoint) -> dict[str, str]:
    """Field name -> why the endpoint cannot be saved as it is."""
    problems: dict[str, str] = {}
    url_reason = url_problem(endpoint.url or "")
    if url_reason:
        problems["url"] = url_reason
    events = endpoint.events if isinstance(endpoint.events, list) else []
    events_reason = events_problem([str(e) for e in events])
    if events_reason:
        problems["events"] = events_reason
    return problems


def webhook_endpoint_save(*, endpoint: WebhookEndpoint, checked: bool = False) -> str | None:
    """Save an endpoint (new or changed); returns its secret when it is new (shown once).
    ``checked``: the caller has just validated it with :func:`webhook_endpoint_problems`
    (a form), so a DNS answer changing in between does not turn into an error here; the
    address is checked again on every delivery anyway."""
    problems = {} if checked else webhook_endpoint_problems(endpoint=endpoint)
    if problems:
        raise WebhookError(" ".join(problems.values()))
    created = endpoint.pk is None
    if created and not endpoint.secret:
        endpoint.secret = new_webhook_secret()
    endpoint.events = [e for e in WEBHOOK_EVENTS if e in endpoint.events]  # known order
    endpoint.save()
    return endpoint.secret if created else None


def webhook_endpoint_create(
    *, tenant: Tenant, url: str, events: list[str], description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of ``tenant`` and its secret (the only time it is returned)."""
    endpoint = WebhookEndpoint(tenant=tenant, url=url, events=events, description=description)
    try:
        endpoint.full_clean(exclude=["events", "secret"])
    except ValidationError as exc:
        raise WebhookError(" ".join(exc.messages)) from exc
    secret = webhook_endpoint_save(endpoint=endpoint)
    assert secret is not None
    return endpoint, secret


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """A new signing secret for ``endpoint``; returns it once. The old one stops at once."""
    secret = new_webhook_secret()
    endpoint.secret = secret
    endpoint.save(update_fields=["secret", "updated_at"])
    return secret


def webhook_endpoint_enable(*, endpoint: WebhookEndpoint) -> None:
    """Clear the disabled flag and the failure count (a tenant admin fixed the receiver)."""
    endpoint.disabled_at = None
    endpoint.disabled_reason = ""
    endpoint.consecutive_failures = 0
    endpoint.save(
        update_fields=["disabled_at", "disabled_reason", "consecutive_failures", "updated_at"]
    )


def _endpoint_disable(*, endpoint: WebhookEndpoint, reason: str) -> None:
    """Flag the endpoint, abandon its waiting deliveries, e-mail the tenant admins."""
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk, disabled_at__isnull=True).update(
        disabled_at=now, disabled_reason=reason[:500], updated_at=now
    )
    WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.PENDING).update(
        status=Status.ABANDONED, next_attempt_at=None, updated_at=now
    )
    logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, reason)
    notice = _disabled_notice(endpoint=endpoint, reason=reason)
    if notice is not None:
        transaction.on_commit(lambda: _notice_send(notice, endpoint.pk), robust=True)


def _disabled_notice(*, endpoint: WebhookEndpoint, reason: str) -> EmailMessage | None:
    tenant = Tenant.objects.get(pk=endpoint.tenant_id)
    admins = (
        Membership.objects.filter(
            tenant=tenant, role=Membership.Role.TENANT_ADMIN, user__is_active=True
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    recipients = sorted(set(admins))
    if not recipients:
        return None
    link = public_url(reverse("admin:integrations_webhookendpoint_change", args=[endpoint.pk]))
    return EmailMessage(
        subject=f"[{tenant.name}] Webhook endpoint disabled: {endpoint.url}",
        body=(
            f"The webhook endpoint {endpoint.url} of {tenant.name} has been disabled: "
            f"{reason}\n\nNo more events are sent to it. Its deliveries that were waiting "
            f"are kept as abandoned. When the receiver works again, re-enable the endpoint "
            f"and redeliver what it missed from the delivery log:\n{link}\n"
        ),
        to=recipients,
    )


def _notice_send(message: EmailMessage, endpoint_id: int) -> None:
    try:
        message.send()
    except Exception:
        logger.exception("The disabled-endpoint notice of endpoint %s was not sent.", endpoint_id)


# Deliveries ------------------------------------------------------------------------------


def webhook_deliveries_create(*, tenant: Tenant, event: DomainEvent) -> list[int]:
    """One pending delivery of ``event`` per sending endpoint of ``tenant`` subscribed to
    its type; returns their ids (none when nobody subscribed or the subject is gone).
    Runs in ``tenant``'s scope; an event delivered twice creates its deliveries once."""
    if event.type not in WEBHOOK_EVENTS:
        return []
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(is_active=True, disabled_at__isnull=True)
        if event.type in e.events
    ]
    if not endpoints:
        return []
    data = event_resource(event)
    if data is None:
        logger.info("webhook event %s %s: its subject is gone", event.type, event.id)
        return []
    payload = event_payload(event, tenant=tenant, data=data)
    now = timezone.now()
    retry_until = now + timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW)
    ids = []
    for endpoint in endpoints:
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    tenant=tenant,
                    endpoint=endpoint,
                    event_id=event.id,
                    event_type=event.type,
                    payload=payload,
                    next_attempt_at=now,
                    retry_until=retry_until,
                )
        except IntegrityError:
            continue  # this event already has its delivery to this endpoint
        ids.append(delivery.pk)
    return ids


@dataclass(frozen=True)
class Claimed:
    """What a worker needs to send one attempt of a delivery, and to record it."""

    delivery_id: int
    tenant_id: int
    endpoint_id: int
    number: int
    url: str
    body: bytes
    headers: dict[str, str]
    retry_until: datetime
    endpoint_failures: int  # the endpoint's failed deliveries in a row when claimed
    secret: str = field(repr=False)


def payload_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact JSON, UTF-8."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def webhook_delivery_claim(*, delivery_id: int) -> Claimed | None:
    """Take a due delivery for one attempt, or None (done, not due, or another worker has
    it). The claim holds it for the attempt's bounds, so a worker that dies mid-attempt
    leaves it due again for :func:`webhook_deliveries_due`."""
    now = timezone.now()
    lease = settings.WEBHOOK_CONNECT_TIMEOUT + settings.WEBHOOK_READ_TIMEOUT + LEASE_MARGIN
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=Status.PENDING, next_attempt_at__lte=now + EARLY_TOLERANCE
    ).update(
        next_attempt_at=now + timedelta(seconds=lease),
        attempts=F("attempts") + 1,
        last_attempt_at=now,
        updated_at=now,
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.is_sending:
        delivery.status = Status.ABANDONED
        delivery.next_attempt_at = None
        delivery.attempts = F("attempts") - 1
        delivery.last_error = "the endpoint is disabled or deleted"
        delivery.save(update_fields=["status", "next_attempt_at", "attempts", "last_error"])
        return None
    body = payload_body(delivery.payload)
    return Claimed(
        delivery_id=delivery.pk,
        tenant_id=delivery.tenant_id,
        endpoint_id=endpoint.pk,
        number=delivery.attempts,
        url=endpoint.url,
        body=body,
        headers={
            SIGNATURE_HEADER: signature_header(endpoint.secret, body),
            EVENT_ID_HEADER: delivery.event_id,
            EVENT_TYPE_HEADER: delivery.event_type,
        },
        retry_until=delivery.retry_until,
        endpoint_failures=endpoint.consecutive_failures,
        secret=endpoint.secret,
    )


def retry_delay(*, failures: int) -> float:
    """Seconds before the retry after ``failures`` failed attempts: full jitter, a random
    wait between 0 and the schedule's ``failures``-th value (the last one repeats)."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    cap = schedule[min(failures, len(schedule)) - 1]
    return random.uniform(0, cap)  # noqa: S311 (jitter, not a secret)


def webhook_attempt_record(*, claimed: Claimed, outcome: AttemptOutcome) -> datetime | None:
    """Store an attempt and what follows from it; returns when to try again (None: done).
    Call it in a transaction that also queues the retry. A success costs two writes and no
    read (the attempt, the delivery; and the endpoint's failure count when it was not 0)."""
    error = redact(outcome.error, [claimed.secret])
    excerpt = redact(outcome.excerpt, [claimed.secret])
    WebhookAttempt.objects.create(
        tenant_id=claimed.tenant_id,
        delivery_id=claimed.delivery_id,
        number=claimed.number,
        ok=outcome.ok,
        status_code=outcome.status_code,
        error=error,
        duration_ms=outcome.duration_ms,
        response_excerpt=excerpt,
    )
    now = timezone.now()
    delivery = WebhookDelivery.objects.filter(pk=claimed.delivery_id)
    last = {
        "last_status_code": outcome.status_code,
        "last_error": error,
        "duration_ms": outcome.duration_ms,
        "response_excerpt": excerpt,
        "updated_at": now,
    }
    if outcome.ok:
        delivery.update(status=Status.SUCCEEDED, delivered_at=now, next_attempt_at=None, **last)
        WebhookEndpoint.objects.filter(pk=claimed.endpoint_id, consecutive_failures__gt=0).update(
            consecutive_failures=0
        )
        return None
    failures = WebhookAttempt.objects.filter(delivery_id=claimed.delivery_id, ok=False).count()
    retry_at = now + timedelta(seconds=retry_delay(failures=failures))
    if not outcome.permanent and retry_at <= claimed.retry_until:
        delivery.update(next_attempt_at=retry_at, **last)
        return retry_at
    delivery.update(status=Status.FAILED, next_attempt_at=None, **last)
    _endpoint_failure(endpoint=WebhookEndpoint.objects.get(pk=claimed.endpoint_id))
    return None


def _endpoint_failure(*, endpoint: WebhookEndpoint) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    endpoint.refresh_from_db(fields=["consecutive_failures", "disabled_at"])
    limit = settings.WEBHOOK_DISABLE_AFTER
    if endpoint.disabled_at is None and endpoint.consecutive_failures >= limit:
        _endpoint_disable(
            endpoint=endpoint,
            reason=f"{endpoint.consecutive_failures} deliveries in a row failed "
            f"(each retried for {settings.WEBHOOK_RETRY_WINDOW / 3600:g} h).",
        )


def webhook_delivery_redeliver(*, delivery: WebhookDelivery) -> bool:
    """Send a delivery again (same event id and payload) with a fresh retry window;
    False when its endpoint is not sending (re-enable it first)."""
    endpoint = WebhookEndpoint.all_objects.get(pk=delivery.endpoint_id)
    if not endpoint.is_sending:
        return False
    now = timezone.now()
    delivery.status = Status.PENDING
    delivery.next_attempt_at = now
    delivery.retry_until = now + timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW)
    delivery.save(update_fields=["status", "next_attempt_at", "retry_until", "updated_at"])
    return True


def webhook_payloads_erase(*, tenant: Tenant, contact_id: int) -> int:
    """After a contact's GDPR erasure: every stored payload about the contact (its own
    events, its conversations', opportunities' and their recommendations') carries the
    record as it is now, erased, instead of the personal data it was sent with; waiting
    deliveries send that. Returns how many payloads changed. Runs in ``tenant``'s scope."""
    opportunity_ids = list(
        LeadOpportunity.all_objects.filter(contact_id=contact_id).values_list("pk", flat=True)
    )
    about = (
        Q(event_type__startswith="contact.", payload__data__id=contact_id)
        | Q(event_type__startswith="conversation.", payload__data__contact_id=contact_id)
        | Q(event_type__startswith="opportunity.", payload__data__contact_id=contact_id)
    )
    if opportunity_ids:
        about |= Q(
            event_type__startswith="recommendation.",
            payload__data__opportunity_id__in=opportunity_ids,
        )
    changed = 0
    for delivery in WebhookDelivery.all_objects.filter(about).only("payload", "event_type"):
        payload = dict(delivery.payload)
        pk = int(payload["data"]["id"])
        payload["data"] = resource_now(delivery.event_type, pk) or {"id": pk}
        delivery.payload = payload
        delivery.save(update_fields=["payload", "updated_at"])
        changed += 1
    return changed


def webhook_deliveries_due(*, older_than: float) -> list[tuple[int, int]]:
    """``(tenant id, delivery id)`` of pending deliveries due for more than ``older_than``
    seconds (all active tenants): their task was lost with a worker. Operator code."""
    cutoff = timezone.now() - timedelta(seconds=older_than)
    with scopes_disabled():
        return list(
            WebhookDelivery.objects.filter(
                status=Status.PENDING, next_attempt_at__lt=cutoff, tenant__is_active=True
            )
            .order_by("next_attempt_at")
            .values_list("tenant_id", "pk")[:10_000]
        )
