"""``manage.py add_webhook SLUG URL --event E [--event E ...] [--json]``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from integrations.webhooks.events import WEBHOOK_EVENTS
from integrations.webhooks.services import WebhookError, webhook_endpoint_create
from tenants.management.base import JsonSummaryCommand
from tenants.scoping import tenant_scope


class Command(JsonSummaryCommand):
    help = (
        "Register a webhook endpoint of a tenant and print its id and signing secret "
        "(shown once: store it). Events: " + ", ".join(WEBHOOK_EVENTS) + "."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("url")
        parser.add_argument(
            "--event",
            action="append",
            dest="events",
            required=True,
            metavar="E",
            help="An event type to send (repeat for several).",
        )
        parser.add_argument("--description", default="")
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.get_tenant(options["slug"])
        try:
            with tenant_scope(tenant):
                endpoint, secret = webhook_endpoint_create(
                    tenant=tenant,
                    url=options["url"],
                    events=options["events"],
                    description=options["description"],
                )
        except WebhookError as exc:
            raise CommandError(str(exc)) from exc
        summary = {
            "tenant": tenant.slug,
            "id": endpoint.pk,
            "url": endpoint.url,
            "events": endpoint.events,
            "secret": secret,
        }
        text = (
            f"Created webhook endpoint {endpoint.pk} for {endpoint.url}.\n"
            f"  events: {', '.join(endpoint.events)}\n"
            f"  signing secret (shown once, store it): {secret}"
        )
        self.summarize(options, summary, text)
