"""Outbound webhooks: the endpoints a tenant registers, one delivery per event and endpoint,
and one attempt row per try (Saleor's shape).

Rows are written by ``integrations.webhooks.services`` only: an endpoint when a tenant admin
registers it (admin, ``add_webhook``), a delivery when a subscribed domain event commits,
and a delivery's attempts by the worker that sends it. The signing secret is encrypted at
rest and shown once, when it is made.
"""

from __future__ import annotations

import secrets

from django.db import models

from tenants.fields import EncryptedTextField
from tenants.models import TenantOwnedModel


def new_webhook_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


class WebhookEndpoint(TenantOwnedModel):
    """A URL of the tenant's CRM that receives the events it subscribed to, signed with
    ``secret``. ``is_active`` is the tenant admin's switch; ``disabled_at`` is set by the
    service after ``WEBHOOK_DISABLE_AFTER`` failed deliveries in a row (re-enabled by an
    admin action), with the reason in ``disabled_reason``."""

    url = models.URLField("URL", max_length=500, help_text="https://… of your CRM's receiver.")
    description = models.CharField(max_length=200, blank=True, help_text="For you.")
    events = models.JSONField(default=list, help_text="The event types sent to this URL.")
    secret = EncryptedTextField(max_length=200, default=new_webhook_secret, editable=False)
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=500, blank=True, editable=False)
    consecutive_failures = models.PositiveIntegerField(
        default=0, editable=False, help_text="Deliveries failed for good in a row."
    )

    class Meta:
        ordering = ["pk"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.description or self.url

    @property
    def is_sending(self) -> bool:
        return self.is_active and self.disabled_at is None and not self.is_deleted


class WebhookDelivery(TenantOwnedModel):
    """One event for one endpoint: its payload as sent on every attempt (so a redelivery
    carries the same ``event_id``), where it stands, and the last attempt's outcome."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # waiting for its first try or a retry
        SUCCEEDED = "succeeded", "Succeeded"  # a 2xx
        FAILED = "failed", "Failed"  # every retry failed within the retry window
        ABANDONED = "abandoned", "Abandoned"  # not tried again: the endpoint stopped

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.CharField(max_length=64)
    event_type = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    retry_until = models.DateTimeField(help_text="No retry is scheduled after this time.")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "endpoint", "event_id"], name="webhook_delivery_once_per_event"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id[:12]} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(TenantOwnedModel):
    """One try of a delivery: the HTTP status (None: no answer), the error, how long it
    took, and the start of the response body (text, never rendered as HTML)."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_rows"
    )
    number = models.PositiveIntegerField()
    ok = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        verbose_name = "webhook attempt"

    def __str__(self) -> str:
        outcome = self.status_code if self.status_code is not None else self.error[:40]
        return f"attempt {self.number}: {outcome}"
