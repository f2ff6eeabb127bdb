"""Base for operator commands: human output by default, a JSON summary with ``--json``."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.models import Tenant


class JsonSummaryCommand(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print a JSON summary only.")

    def summarize(self, options: dict[str, Any], summary: dict[str, Any], text: str) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False, sort_keys=True))
        else:
            self.stdout.write(self.style.SUCCESS(text))

    def get_tenant(self, slug: str) -> Tenant:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {slug!r}: run create_tenant first.")
        return tenant
