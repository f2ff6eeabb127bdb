"""Outbound webhooks in the desk, for tenant admins: endpoints (the secret shown once), the
delivery log with each attempt, and a "redeliver" action. Sales reps see none of it.

Receivers' answers are text: every excerpt is escaped into a ``<pre>``, never rendered.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integrations.webhooks.events import WEBHOOK_EVENTS
from integrations.webhooks.services import (
    webhook_endpoint_enable,
    webhook_endpoint_problems,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_save,
)
from integrations.webhooks.signing import REPLAY_TOLERANCE
from integrations.webhooks.tasks import webhook_delivery_redeliver_enqueue
from tenants.admin_base import ReadOnlyAdminMixin, TenantOwnedAdmin, TenantOwnedInline


def _pre(text: str) -> SafeString:
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="https://… of your CRM's receiver.",
    )
    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in WEBHOOK_EVENTS],
        widget=forms.CheckboxSelectMultiple,
        help_text="Each event sends the changed record as the REST API shows it.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events", "is_active"]

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # Django's private hook, not in django-stubs
        for name, reason in webhook_endpoint_problems(endpoint=self.instance).items():
            self.add_error(name if name in self.fields else None, reason)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantOwnedAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "description", "subscribed", "state", "created_at"]
    list_filter = ["is_active", ("disabled_at", admin.EmptyFieldListFilter)]
    search_fields = ["url", "description"]
    readonly_fields = ["state", "consecutive_failures", "disabled_at", "signing"]
    actions = ["enable_selected", "rotate_secret", *TenantOwnedAdmin.actions]

    @admin.display(description="events")
    def subscribed(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events)

    @admin.display(description="state")
    def state(self, obj: WebhookEndpoint) -> str:
        if obj.disabled_at is not None:
            return f"Disabled: {obj.disabled_reason}"
        return "Sending" if obj.is_active else "Paused"

    @admin.display(description="signature")
    def signing(self, obj: WebhookEndpoint) -> SafeString:
        return format_html(
            "Each request carries <code>X-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex "
            "HMAC-SHA256 of “t.body” with the secret&gt;</code>, <code>X-Event-Id</code> and "
            "<code>X-Event-Type</code>. Refuse a timestamp older than {} s. The secret was "
            "shown once when the endpoint was made; lost it? Rotate it with the action in "
            "the list.",
            REPLAY_TOLERANCE,
        )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        tenant = ["tenant"] if self._member_tenant(request) is None else []
        fields = [*tenant, "url", "description", "events", "is_active"]
        if obj is None:
            return [(None, {"fields": fields})]
        return [
            (None, {"fields": fields}),
            ("Delivery", {"fields": ["state", "consecutive_failures", "disabled_at", "signing"]}),
        ]

    def row_save(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        secret = webhook_endpoint_save(endpoint=obj, checked=True)  # the form's _post_clean
        if secret:
            self._show_secret(request, obj, secret, rotated=False)

    def _show_secret(
        self, request: HttpRequest, obj: WebhookEndpoint, secret: str, *, rotated: bool
    ) -> None:
        self.message_user(
            request,
            format_html(
                "{} signing secret of “{}”: <code>{}</code> Copy it now: it is shown only "
                "this once.{}",
                "New" if rotated else "The",
                obj.url,
                secret,
                " The previous secret no longer signs." if rotated else "",
            ),
            messages.WARNING,
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if request.method == "GET":
            disabled = list(
                self.get_queryset(request).filter(is_deleted=False, disabled_at__isnull=False)
            )
            for endpoint in disabled:
                self.message_user(
                    request,
                    f"The endpoint {endpoint.url} is disabled: {endpoint.disabled_reason} "
                    "Re-enable it "
                    "once the receiver works, then redeliver from the delivery log.",
                    messages.ERROR,
                )
        return super().changelist_view(request, extra_context)

    @admin.action(description="Re-enable selected disabled endpoints", permissions=["change"])
    def enable_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for endpoint in queryset.filter(disabled_at__isnull=False):
            webhook_endpoint_enable(endpoint=endpoint)
            count += 1
        self.message_user(request, f"Re-enabled {count} endpoint(s).", messages.SUCCESS)

    @admin.action(
        description="Rotate the signing secret of selected endpoints (shows the new one once)",
        permissions=["change"],
    )
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet) -> None:
        for endpoint in queryset:
            secret = webhook_endpoint_rotate_secret(endpoint=endpoint)
            self._show_secret(request, endpoint, secret, rotated=True)


class WebhookAttemptInline(TenantOwnedInline):
    model = WebhookAttempt
    fields = ("number", "created_at", "ok", "status_code", "duration_ms", "error", "response")
    readonly_fields = fields
    can_delete = False

    @admin.display(description="response (excerpt)")
    def response(self, obj: WebhookAttempt) -> SafeString:
        return _pre(obj.response_excerpt)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, TenantOwnedAdmin):
    """The delivery log: one row per event and endpoint, its attempts inline."""

    list_display = [
        "created_at",
        "event_type",
        "event_id",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "duration_ms",
    ]
    list_filter = ["status", "event_type", "endpoint"]
    list_select_related = ["endpoint"]
    search_fields = ["event_id"]
    readonly_fields = [
        "endpoint",
        "event_id",
        "event_type",
        "status",
        "attempts",
        "next_attempt_at",
        "retry_until",
        "last_attempt_at",
        "delivered_at",
        "last_status_code",
        "duration_ms",
        "last_error",
        "response",
        "payload_json",
    ]
    exclude = ["payload", "response_excerpt"]
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]

    @admin.display(description="response (excerpt of the last attempt)")
    def response(self, obj: WebhookDelivery) -> SafeString:
        return _pre(obj.response_excerpt)

    @admin.display(description="payload")
    def payload_json(self, obj: WebhookDelivery) -> SafeString:
        import json

        return _pre(json.dumps(obj.payload, indent=2, ensure_ascii=False))

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("integrations.change_webhookendpoint"))

    @admin.action(
        description="Redeliver selected deliveries (same event id)", permissions=["redeliver"]
    )
    def redeliver(self, request: HttpRequest, queryset: QuerySet) -> None:
        sent, stopped = 0, []
        for delivery in queryset.select_related("endpoint"):
            if webhook_delivery_redeliver_enqueue(delivery=delivery):
                sent += 1
            else:
                stopped.append(delivery.endpoint.url)
        self.message_user(request, f"Queued {sent} delivery(ies) again.", messages.SUCCESS)
        if stopped:
            self.message_user(
                request,
                format_html(
                    "Not sent: {} is paused or disabled; re-enable it first.",
                    format_html_join(", ", "{}", ((url,) for url in sorted(set(stopped)))),
                ),
                messages.WARNING,
            )


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdminMixin, TenantOwnedAdmin):
    list_display = ["created_at", "delivery", "number", "ok", "status_code", "duration_ms"]
    list_filter = ["ok"]
    list_select_related = ["delivery"]
    readonly_fields = [
        "delivery",
        "number",
        "ok",
        "status_code",
        "duration_ms",
        "error",
        "response",
    ]
    exclude = ["response_excerpt"]

    @admin.display(description="response (excerpt)")
    def response(self, obj: WebhookAttempt) -> SafeString:
        return _pre(obj.response_excerpt)
