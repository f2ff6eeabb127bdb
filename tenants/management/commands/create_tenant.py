from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from tenants.management.base import JsonSummaryCommand
from tenants.services import tenant_ensure


class Command(JsonSummaryCommand):
    help = "Create a tenant, or update its name. Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant, result = tenant_ensure(slug=options["slug"], name=options["name"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        state = "created" if result.created else ("updated" if result.changed else "unchanged")
        self.summarize(
            options,
            {
                "slug": tenant.slug,
                "name": tenant.name,
                "id": tenant.pk,
                "status": state,
                "changed": result.changed,
            },
            f"Tenant {tenant.slug} ({tenant.name}): {state}.",
        )
