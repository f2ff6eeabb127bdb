from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from crm.management.commands._contact import OPERATOR, contact_for
from crm.services import contact_export
from tenants.management.base import JsonSummaryCommand
from tenants.scoping import tenant_scope


class Command(JsonSummaryCommand):
    help = (
        "Print everything the CRM holds about one contact as JSON (GDPR access request): "
        "the contact, company and division, conversations and messages, opportunities and "
        "recommendations. The export is recorded in the contact's audit trail."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The tenant.")
        parser.add_argument("contact_id", type=int)
        parser.add_argument("--json", action="store_true", help="Accepted; the output is JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.get_tenant(options["slug"])
        with tenant_scope(tenant):
            data = contact_export(
                contact=contact_for(tenant, options["contact_id"]), actor=OPERATOR
            )
        self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True))
