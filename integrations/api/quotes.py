"""Quotes: list, get (lines, totals, a signed link to the PDF), prepare a draft from SKUs
and quantities, and record the customer's answer (accept, reject).

Every write goes through ``quotes.services`` as this integration: the catalog sets every
price (the body has no price field, and an unknown field is refused, so nothing is
written); a refusal (an unknown, inactive or unpriced SKU, a quote that is not open) is a
422 problem with the reason, in English like every problem of this API (the services
word it in the active language; what they store for people follows the tenant's).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import override
from ninja import Router, Status

from channels_app.api.services import integration_actor
from crm.models import LeadOpportunity
from integrations.api.auth import request_account
from integrations.api.pagination import Cursor, Limit, UpdatedSince, page
from integrations.api.problems import ApiProblem
from integrations.api.schemas import QuoteCreateIn, QuoteOut, QuotePage, RowId
from quotes.models import Quote
from quotes.selectors import quotes_with_lines
from quotes.services import (
    LineRequest,
    QuoteRefused,
    quote_accept,
    quote_prepare,
    quote_preview,
    quote_reject,
)

router = Router(tags=["quotes"])

QuoteStatus = Literal["draft", "approved", "sent", "accepted", "rejected", "expired"]
# A quote is not prepared for an opportunity that is over (as for the agent).
_NOT_QUOTABLE = (LeadOpportunity.Status.CLOSED, LeadOpportunity.Status.WON)
# The largest amount a quote's money columns hold (14 digits, 2 decimals).
MAX_AMOUNT = Decimal("999999999999.99")


@router.get("/quotes", response=QuotePage, summary="List quotes")
def quotes_list(
    request: HttpRequest,
    status: QuoteStatus | None = None,
    opportunity: RowId | None = None,
    limit: Limit = 50,
    cursor: Cursor | None = None,
    updated_since: UpdatedSince | None = None,
) -> dict[str, Any]:
    """Filter by ``status`` and by ``opportunity`` (its id)."""
    tenant = request_account(request).tenant
    rows, next_cursor, has_more = page(
        quotes_with_lines(tenant=tenant, status=status, opportunity_id=opportunity),
        limit=limit,
        cursor=cursor,
        updated_since=updated_since,
    )
    return {"items": rows, "next_cursor": next_cursor, "has_more": has_more}


def _quote(request: HttpRequest, quote_id: int) -> Quote:
    tenant = request_account(request).tenant
    found = quotes_with_lines(tenant=tenant).filter(pk=quote_id).first()
    if found is None:
        raise ApiProblem(404, "no such quote in this tenant")
    return found


@router.get(
    "/quotes/{quote_id}",
    response=QuoteOut,
    summary="Get a quote with its lines, totals and a link to its PDF",
)
def quotes_get(request: HttpRequest, quote_id: RowId) -> Any:
    return _quote(request, quote_id)


@router.post(
    "/quotes",
    response={201: QuoteOut},
    summary="Prepare a draft quote from catalog SKUs and quantities",
)
def quotes_create(request: HttpRequest, payload: QuoteCreateIn) -> Status:
    """A draft for the opportunity, priced from the catalog (same SKUs are merged); a
    sales rep approves and sends it from the desk. Refused with the reason, nothing
    written, when a SKU is not in the catalog, inactive, unpriced or in another currency."""
    account = request_account(request)
    opportunity = (
        LeadOpportunity.objects.filter(tenant=account.tenant, pk=payload.opportunity_id)
        .select_related("tenant")
        .first()
    )
    if opportunity is None:
        raise ApiProblem(
            422,
            "opportunity_id is not an opportunity of this tenant",
            errors=[{"field": "opportunity_id", "message": "no such opportunity in this tenant"}],
        )
    if opportunity.status in _NOT_QUOTABLE:
        raise ApiProblem(
            422,
            f"the opportunity is {opportunity.status}: it cannot be quoted",
            errors=[
                {"field": "opportunity_id", "message": f"the opportunity is {opportunity.status}"}
            ],
        )
    lines = [LineRequest(line.sku, line.quantity) for line in payload.lines]
    try:
        with override("en"):
            preview, built = quote_preview(tenant=account.tenant, lines=lines)
            amounts = [preview.total, *(line.line_total for line in built)]
            if max(amounts) > MAX_AMOUNT:  # huge quantities of a dear product
                raise QuoteRefused("too_large", f"a quote's amounts stay within {MAX_AMOUNT}")
            quote = quote_prepare(
                opportunity=opportunity,
                lines=lines,
                actor=integration_actor(account),
                notes=payload.notes,
            )
    except QuoteRefused as exc:
        raise ApiProblem(422, exc.message) from None
    return Status(201, _quote(request, quote.pk))


@router.post(
    "/quotes/{quote_id}/accept",
    response=QuoteOut,
    summary="Record that the customer accepted a sent quote",
)
def quotes_accept(request: HttpRequest, quote_id: RowId) -> Any:
    """The quote becomes accepted and its opportunity won (the rep is told, as for an
    acceptance in the chat); accepting it again changes nothing. A quote past its
    validity becomes expired and the acceptance is refused (422)."""
    account = request_account(request)
    quote = _quote(request, quote_id)
    try:
        with override("en"):
            quote_accept(quote=quote, actor=integration_actor(account), via="api")
    except QuoteRefused as exc:
        raise ApiProblem(422, exc.message) from None
    return _quote(request, quote_id)


@router.post(
    "/quotes/{quote_id}/reject",
    response=QuoteOut,
    summary="Record that the customer declined a quote",
)
def quotes_reject(request: HttpRequest, quote_id: RowId) -> Any:
    """A draft, approved or sent quote becomes rejected; any other is refused (422)."""
    account = request_account(request)
    quote = _quote(request, quote_id)
    try:
        with override("en"):
            quote_reject(quote=quote, actor=integration_actor(account))
    except QuoteRefused as exc:
        raise ApiProblem(422, exc.message) from None
    return _quote(request, quote_id)
