"""CSV downloads of the sales desk (the opportunities' export), written by
``tenants.csv_export`` (UTF-8 with a BOM for Excel, formula-injection safe)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from django.utils import timezone

from crm.models import LeadOpportunity, OpportunityProductRecommendation
from tenants.csv_export import csv_response

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
