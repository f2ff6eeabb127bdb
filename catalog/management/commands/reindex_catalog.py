from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from catalog.index import index_drift, index_rebuild
from tenants.management.base import JsonSummaryCommand
from tenants.scoping import tenant_scope


class Command(JsonSummaryCommand):
    help = "Rebuild a tenant's vector index, or with --check report its drift from the database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only report products missing from or stale in the index; exit 1 on drift.",
        )
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.get_tenant(options["slug"])
        with tenant_scope(tenant):
            if options["check"]:
                report = index_drift(tenant=tenant)
                data = {"tenant": tenant.slug, **report.as_dict()}
                text = (
                    f"{tenant.slug}: {len(report.missing)} missing, {len(report.stale)} stale, "
                    f"{len(report.orphaned)} orphaned."
                )
                self.summarize(options, data, text)
                if not report.clean:
                    raise CommandError("The index has drifted: run reindex_catalog " + tenant.slug)
                return
            count = index_rebuild(tenant=tenant)
            remaining = index_drift(tenant=tenant)
        self.summarize(
            options,
            {"tenant": tenant.slug, "indexed": count, "drift": remaining.as_dict()},
            f"{tenant.slug}: {count} products indexed.",
        )
