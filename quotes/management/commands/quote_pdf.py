"""``manage.py quote_pdf SLUG NUMBER [--out FILE] [--json]``: one quote, as the customer gets it.

NUMBER is the quote's number (``42``) or its reference (``Q-00042``). ``--out`` writes the
PDF that the channels send; ``--json`` prints the quote (lines, totals, validity) for a
check or a script. Only the named tenant's quotes are found.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from quotes.models import Quote
from quotes.pdf import quote_lines_for_pdf, quote_pdf_render
from quotes.selectors import quote_by_number
from tenants.management.base import JsonSummaryCommand
from tenants.scoping import tenant_scope

NUMBER = re.compile(r"(?:Q-?)?0*(\d{1,9})", re.IGNORECASE)


def quote_number_parse(text: str) -> int:
    match = NUMBER.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise CommandError(f"{text!r} is not a quote number: give 42 or Q-00042.")
    return int(match.group(1))


def quote_json(quote: Quote) -> dict[str, Any]:
    """The quote as plain data; amounts as exact decimal strings."""
    return {
        "number": quote.number,
        "reference": quote.reference,
        "status": quote.status,
        "language": quote.language,
        "currency": quote.currency,
        "customer": quote.contact.full_name,
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "discount": str(line.discount_percent),
                "line_total": str(line.line_total),
            }
            for line in quote_lines_for_pdf(quote)
        ],
        "subtotal": str(quote.subtotal),
        "tax_rate": str(quote.tax_rate),
        "tax": str(quote.tax_amount),
        "total": str(quote.total),
        "valid_until": quote.valid_until.isoformat(),
        "notes": quote.notes,
    }


class Command(JsonSummaryCommand):
    help = (
        "Render a quote's PDF (--out FILE) or print the quote as JSON (--json). "
        "NUMBER is 42 or Q-00042."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("number", help="42 or Q-00042")
        parser.add_argument("--out", metavar="FILE", help="Write the PDF to FILE.")
        parser.add_argument("--json", action="store_true", help="Print the quote as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["out"] and not options["json"]:
            raise CommandError("Say what to do: --out FILE (the PDF) and/or --json.")
        number = quote_number_parse(options["number"])
        tenant = self.get_tenant(options["slug"])
        with tenant_scope(tenant):
            quote = quote_by_number(tenant=tenant, number=number)
            if quote is None:
                raise CommandError(f"Tenant {tenant.slug!r} has no quote Q-{number:05d}.")
            if options["out"]:
                self._write(quote, Path(options["out"]), quiet=options["json"])
            if options["json"]:
                self.stdout.write(json.dumps(quote_json(quote), ensure_ascii=False, indent=2))

    def _write(self, quote: Quote, target: Path, *, quiet: bool) -> None:
        pdf = quote_pdf_render(quote)
        try:
            target.write_bytes(pdf)
        except OSError as error:
            raise CommandError(f"Cannot write {target}: {error.strerror}") from error
        if not quiet:
            self.stdout.write(
                self.style.SUCCESS(f"{quote.reference}: {len(pdf)} bytes written to {target}.")
            )
