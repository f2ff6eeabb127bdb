from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from crm.management.commands._contact import OPERATOR, contact_for
from crm.services import contact_erase
from tenants.management.base import JsonSummaryCommand
from tenants.scoping import tenant_scope


class Command(JsonSummaryCommand):
    help = (
        "Erase one contact's personal data (GDPR erasure request): name, e-mail, phone, ids, "
        "message contents, summaries and problem statements. Counts, dates, statuses and "
        "products stay. Recorded in the audit trail. Cannot be undone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The tenant.")
        parser.add_argument("contact_id", type=int)
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.get_tenant(options["slug"])
        with tenant_scope(tenant):
            contact = contact_for(tenant, options["contact_id"])
            counts = contact_erase(contact=contact, actor=OPERATOR)
        summary = {"tenant": tenant.slug, "contact_id": contact.pk, "erased": counts}
        changed = ", ".join(f"{count} {name}" for name, count in counts.items())
        self.summarize(options, summary, f"Contact {contact.pk} erased ({changed}).")
