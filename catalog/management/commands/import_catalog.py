from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from tqdm import tqdm

from catalog.readers import CatalogFileError
from catalog.services import catalog_import
from tenants.management.base import JsonSummaryCommand
from tenants.scoping import tenant_scope


class Command(JsonSummaryCommand):
    help = "Import a CSV, XLSX or JSON catalog into a tenant: upsert by SKU, report bad rows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--full-sync", action="store_true", help="Deactivate products absent from the file."
        )
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.get_tenant(options["slug"])
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        show_bar = not options["json"] and sys.stderr.isatty()
        bar = tqdm(total=0, unit="row", disable=not show_bar, file=sys.stderr)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            with tenant_scope(tenant), path.open("rb") as fileobj:
                summary = catalog_import(
                    tenant=tenant,
                    fileobj=fileobj,
                    filename=path.name,
                    full_sync=options["full_sync"],
                    progress=progress,
                )
        except CatalogFileError as exc:
            raise CommandError(f"{path.name}: {exc}") from exc
        finally:
            bar.close()
        data = {"tenant": tenant.slug, "file": path.name, **summary.as_dict()}
        text = (
            f"{path.name}: {summary.created} created, {summary.updated} updated, "
            f"{summary.unchanged} unchanged, {summary.deactivated} deactivated, "
            f"{summary.failed} failed."
        )
        for error in summary.errors[:50]:
            text += f"\n  row {error['row']} {error['sku'] or '-'}: {error['reason']}"
        if len(summary.errors) > 50:
            text += f"\n  … and {summary.failed - 50} more"
        self.summarize(options, data, text)
