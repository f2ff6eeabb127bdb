"""How long a quote's PDF takes to render: a 20-line quote (and a 50-line one, the most a
quote may have) from the demo catalog, with an SVG logo, through ``quote_pdf_render``.

A throwaway SQLite database (benchmarks/harness.py); the quote is prepared through
``quotes.services.quote_prepare`` like the agent's, so the PDF is the one a customer gets.
Prints the median and p95 of ``--runs`` renders after one warm-up, the size and the pages.
``--out FILE`` also writes a ``--out-lines`` (12) line quote's PDF, one page (the README's
screenshot comes from it: ``pdftoppm -png -r 100 -singlefile FILE docs/quote-pdf``).

Run: ``.venv/bin/python -m benchmarks.quote_pdf_bench [--runs 30] [--out /tmp/quote.pdf]``.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from benchmarks.harness import percentile, setup_django

ROOT = Path(__file__).resolve().parent.parent
LOGO = b"""<svg xmlns="http://www.w3.org/2000/svg" width="240" height="64" viewBox="0 0 240 64">
<circle cx="32" cy="32" r="28" fill="#0b6e4f"/>
<path d="M32 12 C22 28 18 36 18 42 a14 14 0 0 0 28 0 C46 36 42 28 32 12z" fill="#ffffff"/>
<rect x="72" y="18" width="150" height="10" rx="5" fill="#0b6e4f"/>
<rect x="72" y="36" width="100" height="10" rx="5" fill="#86c5a6"/>
</svg>"""


def _catalog_rows() -> list[dict[str, str]]:
    with (ROOT / "demo" / "demo_catalog.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _quote(tenant, rows, count: int):
    from crm.audit import Actor
    from quotes.services import LineRequest, quote_prepare
    from tenants.scoping import tenant_scope
    from tests.factories import (
        CompanyDivisionFactory,
        CompanyFactory,
        ContactFactory,
        LeadOpportunityFactory,
    )

    with tenant_scope(tenant):
        company = CompanyFactory(tenant=tenant, name="Aguas del Valle S.A. E.S.P.")
        division = CompanyDivisionFactory(tenant=tenant, company=company, name="Laboratorio")
        contact = ContactFactory(
            tenant=tenant,
            division=division,
            full_name="María José Peñalosa",
            email="mjpenalosa@aguasdelvalle.example",
            phone_number="+57 300 555 0142",
        )
        opportunity = LeadOpportunityFactory(tenant=tenant, contact=contact)
        lines = [
            LineRequest(row["sku"], 1 + (index * 7) % 12)
            for index, row in enumerate((rows * 3)[:count])
        ]
        if count <= len(rows):
            lines[0] = LineRequest(lines[0].sku, 2, Decimal("10"))
        return quote_prepare(
            opportunity=opportunity,
            lines=lines,
            actor=Actor.agent(),
            notes="Incluye calibración inicial y capacitación de 2 horas en sitio.",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--out-lines", type=int, default=12)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="quote-pdf-bench-"))
    setup_django(workdir)
    from django.conf import settings
    from django.core.files.base import ContentFile
    from pypdf import PdfReader

    from crm.audit import Actor
    from quotes.pdf import quote_pdf_render
    from quotes.services import quote_approve
    from tenants.scoping import tenant_scope
    from tenants.services import member_ensure, tenant_ensure
    from tests.factories import ProductFactory

    settings.MEDIA_ROOT = workdir / "media"
    tenant, _ = tenant_ensure(slug="hidrolab", name="Hidrolab Instrumentos S.A.S.")
    tenant.quote_tax_rate = Decimal("19")
    tenant.quote_terms = (
        "Precios en USD, impuestos incluidos según el detalle. Pago a 30 días. "
        "Entrega en 2-3 semanas desde la orden de compra. Garantía de 24 meses."
    )
    tenant.save()
    tenant.logo.save("logo.svg", ContentFile(LOGO), save=True)
    rows = _catalog_rows()
    with tenant_scope(tenant):
        for row in rows:
            ProductFactory(
                tenant=tenant,
                sku=row["sku"],
                name=row["name"],
                price=Decimal(row["price"]),
                currency=row["currency"],
            )
    if args.out:
        quote = _quote(tenant, rows, args.out_lines)
        rep, _ = member_ensure(
            tenant=tenant, email="rep@hidrolab.example", role="sales_rep", password=None
        )
        with tenant_scope(tenant):
            quote = quote_approve(quote=quote, actor=Actor.rep(rep.user))
            args.out.write_bytes(quote_pdf_render(quote))
        print(f"wrote {args.out} ({quote.reference}, {args.out_lines} lines)")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()}")
    for count in (20, 50):
        quote = _quote(tenant, rows, count)
        with tenant_scope(tenant):
            pdf = quote_pdf_render(quote)  # warm-up: imports, font parsing
            timings = []
            for _ in range(args.runs):
                started = time.perf_counter()
                pdf = quote_pdf_render(quote)
                timings.append((time.perf_counter() - started) * 1000)
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        print(
            f"{count} lines: median {statistics.median(timings):.1f} ms, "
            f"p95 {percentile(timings, 95):.1f} ms over {args.runs} renders; "
            f"{len(pdf) / 1024:.0f} KiB, {pages} page(s)"
        )


if __name__ == "__main__":
    main()
