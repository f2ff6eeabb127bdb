"""Opportunities (list; get with their recommendations; update what a CRM manages)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from ninja import Router

from channels_app.api.services import integration_actor
from crm.selectors import opportunities_with_recommendations
from crm.services import opportunity_assign, opportunity_status_set
from crm.services.opportunities import opportunity_crm_update
from integrations.api.auth import request_account
from integrations.api.pagination import Cursor, Limit, UpdatedSince, page
from integrations.api.problems import ApiProblem
from integrations.api.schemas import OpportunityOut, OpportunityPage, OpportunityPatchIn, RowId
from tenants.selectors import tenant_members

router = Router(tags=["opportunities"])


@router.get("/opportunities", response=OpportunityPage, summary="List opportunities")
def opportunities_list(
    request: HttpRequest,
    limit: Limit = 50,
    cursor: Cursor | None = None,
    updated_since: UpdatedSince | None = None,
) -> dict[str, Any]:
    tenant = request_account(request).tenant
    rows, next_cursor, has_more = page(
        opportunities_with_recommendations(tenant=tenant),
        limit=limit,
        cursor=cursor,
        updated_since=updated_since,
    )
    return {"items": rows, "next_cursor": next_cursor, "has_more": has_more}


def _opportunity(request: HttpRequest, opportunity_id: int) -> Any:
    tenant = request_account(request).tenant
    opportunity = opportunities_with_recommendations(tenant=tenant).filter(pk=opportunity_id)
    found = opportunity.first()
    if found is None:
        raise ApiProblem(404, "no such opportunity in this tenant")
    return found


@router.get(
    "/opportunities/{opportunity_id}",
    response=OpportunityOut,
    summary="Get an opportunity with its product recommendations",
)
def opportunities_get(request: HttpRequest, opportunity_id: RowId) -> Any:
    return _opportunity(request, opportunity_id)


@router.patch(
    "/opportunities/{opportunity_id}",
    response=OpportunityOut,
    summary="Update an opportunity's status, assigned rep and deal fields",
)
def opportunities_update(
    request: HttpRequest, opportunity_id: RowId, payload: OpportunityPatchIn
) -> Any:
    """Only the fields present change (``null`` clears ``assigned_rep_email``, ``value``
    and ``expected_close_date``). The rep is a member of this tenant, by e-mail; each
    change is in the opportunity's audit trail as this integration's."""
    account = request_account(request)
    opportunity = _opportunity(request, opportunity_id)
    given = payload.model_dump(exclude_unset=True)
    actor = integration_actor(account)
    rep = None
    if given.get("assigned_rep_email"):
        rep = (
            tenant_members(tenant=account.tenant)
            .filter(email__iexact=given["assigned_rep_email"])
            .first()
        )
        if rep is None:
            raise ApiProblem(
                422,
                "assigned_rep_email is not a member of this tenant",
                errors=[{"field": "assigned_rep_email", "message": "not a member of this tenant"}],
            )
    deal = _deal_fields(given)
    try:
        with transaction.atomic():
            if given.get("status") is not None:
                opportunity_status_set(opportunity=opportunity, status=given["status"], actor=actor)
            if "assigned_rep_email" in given:
                opportunity_assign(opportunity=opportunity, rep=rep, actor=actor)
            if deal:
                opportunity_crm_update(opportunity=opportunity, changes=deal, actor=actor)
    except ValidationError as exc:
        raise ApiProblem(422, "; ".join(exc.messages)) from None
    return _opportunity(request, opportunity_id)


def _deal_fields(given: dict[str, Any]) -> dict[str, Any]:
    """The CRM's deal fields as the columns hold them (``null`` is blank for text)."""
    deal: dict[str, Any] = {}
    for name in ("crm_opportunity_id", "currency", "next_step"):
        if name in given:
            deal[name] = given[name] or ""
    if "value" in given:
        value = given["value"]
        deal["value"] = None if value is None else Decimal(value).quantize(Decimal("0.01"))
    if "expected_close_date" in given:
        deal["expected_close_date"] = given["expected_close_date"]
    return deal
