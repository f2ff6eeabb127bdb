"""CSV downloads of the sales desk (the opportunities' export): UTF-8 with a BOM (Excel),
formula-injection safe."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from django.utils import timezone

from crm.models import LeadOpportunity, OpportunityProductRecommendation

# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
OPPORTUNITY_HEADER = [
    "id",
    "status",
    "created",
    "contact",
    "email",
    "company",
    "division",
    "problem statement",
    "recommended skus",
    "assigned rep",
]


def csv_safe(value: Any) -> str:
    """The cell as text, with a leading quote when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def csv_response(
    *, filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([csv_safe(cell) for cell in header])
    for row in rows:
        writer.writerow([csv_safe(cell) for cell in row])
    return response


def opportunities_csv(queryset: QuerySet[LeadOpportunity], *, filename: str) -> HttpResponse:
    """The opportunities, a row each by id, with the SKUs the agent recommended."""
    recommendations = OpportunityProductRecommendation.objects.order_by("pk")
    opportunities = queryset.select_related(
        "contact__division__company", "assigned_rep"
    ).prefetch_related(Prefetch("recommendations", queryset=recommendations))
    rows: list[list[Any]] = []
    for opportunity in opportunities.order_by("pk"):
        contact = opportunity.contact
        division = contact.division
        rep = opportunity.assigned_rep
        rows.append(
            [
                opportunity.pk,
                opportunity.status,
                timezone.localtime(opportunity.created_at).isoformat(timespec="seconds"),
                contact.full_name,
                contact.email,
                division.company.name if division else "",
                division.name if division else "",
                opportunity.problem_statement,
                "; ".join(r.product_sku for r in opportunity.recommendations.all()),
                rep.get_username() if rep else "",
            ]
        )
    return csv_response(filename=filename, header=OPPORTUNITY_HEADER, rows=rows)
