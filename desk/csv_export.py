"""CSV downloads of the sales desk (the opportunities' export), written by
``tenants.csv_export``: UTF-8 with a BOM for Excel, formula-injection safe, and in the
member's spreadsheet convention (``;`` and a decimal comma in Spanish and Portuguese,
``,`` and a decimal point in English)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import LeadOpportunity, OpportunityProductRecommendation
from tenants.csv_export import COMMA, CsvFormat, csv_response

OPPORTUNITY_HEADER = [
    _("id"),
    _("status"),
    _("created"),
    _("contact"),
    _("email"),
    _("company"),
    _("division"),
    _("problem statement"),
    _("recommended skus"),
    _("assigned rep"),
    _("value"),
    _("currency"),
    _("expected close"),
    _("next step"),
    _("CRM opportunity id"),
]


def opportunities_csv(
    queryset: QuerySet[LeadOpportunity], *, filename: str, csv_format: CsvFormat = COMMA
) -> HttpResponse:
    """The opportunities, a row each by id, with the SKUs the agent recommended and the
    deal's value (a number in ``csv_format``'s notation), currency, expected close date
    (ISO, which every spreadsheet reads) and next step."""
    recommendations = OpportunityProductRecommendation.objects.order_by("pk")
    opportunities = queryset.select_related(
        "contact__division__company", "assigned_rep"
    ).prefetch_related(Prefetch("recommendations", queryset=recommendations))
    rows: list[list[Any]] = []
    for opportunity in opportunities.order_by("pk"):
        contact = opportunity.contact
        division = contact.division
        rep = opportunity.assigned_rep
        close = opportunity.expected_close_date
        rows.append(
            [
                str(opportunity.pk),
                opportunity.status,
                timezone.localtime(opportunity.created_at).isoformat(timespec="seconds"),
                contact.full_name,
                contact.email,
                division.company.name if division else "",
                division.name if division else "",
                opportunity.problem_statement,
                "; ".join(r.product_sku for r in opportunity.recommendations.all()),
                rep.get_username() if rep else "",
                opportunity.value,
                opportunity.currency,
                close.isoformat() if close else "",
                opportunity.next_step,
                opportunity.crm_opportunity_id,
            ]
        )
    return csv_response(
        filename=filename,
        header=[str(label) for label in OPPORTUNITY_HEADER],
        rows=rows,
        csv_format=csv_format,
    )
