from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from catalog.search import search
from tenants.management.base import JsonSummaryCommand
from tenants.scoping import tenant_scope


class Command(JsonSummaryCommand):
    help = "Search a tenant's catalog as the agent does: prints SKU, name and score."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("query")
        parser.add_argument("-k", type=int, default=5)
        parser.add_argument("--category", default="")
        parser.add_argument("--brand", default="")
        parser.add_argument("--mode", choices=["fused", "dense", "lexical"], default="fused")
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.get_tenant(options["slug"])
        with tenant_scope(tenant):
            hits = search(
                tenant=tenant,
                query=options["query"],
                k=options["k"],
                filters={"category": options["category"], "brand": options["brand"]},
                mode=options["mode"],
            )
        if options["json"]:
            payload = [
                {"sku": h.sku, "name": h.name, "score": h.score, "via": h.sources} for h in hits
            ]
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
            return
        if not hits:
            self.stdout.write("No matching products.")
        width = max((len(h.sku) for h in hits), default=0)
        for hit in hits:
            self.stdout.write(f"{hit.sku:<{width}}  {hit.score:.4f}  {hit.name}")
