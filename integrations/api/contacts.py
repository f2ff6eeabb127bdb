"""Contacts (list, get, upsert by the CRM's contact id), companies and divisions."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from ninja import Router, Status

from channels_app.api.services import integration_actor
from crm.models import Contact, Platform
from crm.selectors import companies_with_divisions, contacts_with_company, divisions_of_tenant
from crm.services import contact_upsert_from_crm
from integrations.api.auth import request_account
from integrations.api.pagination import Cursor, Limit, UpdatedSince, page
from integrations.api.problems import ApiProblem
from integrations.api.schemas import (
    CompanyOut,
    CompanyPage,
    ContactOut,
    ContactPage,
    ContactUpsertIn,
    CrmId,
    DivisionOut,
    DivisionPage,
    RowId,
)

router = Router(tags=["contacts"])


@router.get("/contacts", response=ContactPage, summary="List contacts")
def contacts_list(
    request: HttpRequest,
    limit: Limit = 50,
    cursor: Cursor | None = None,
    updated_since: UpdatedSince | None = None,
) -> dict:
    tenant = request_account(request).tenant
    rows, next_cursor, has_more = page(
        contacts_with_company(tenant=tenant),
        limit=limit,
        cursor=cursor,
        updated_since=updated_since,
    )
    return {"items": rows, "next_cursor": next_cursor, "has_more": has_more}


@router.get("/contacts/{contact_id}", response=ContactOut, summary="Get a contact")
def contacts_get(request: HttpRequest, contact_id: RowId) -> Contact:
    tenant = request_account(request).tenant
    contact = contacts_with_company(tenant=tenant).filter(pk=contact_id).first()
    if contact is None:
        raise ApiProblem(404, "no such contact in this tenant")
    return contact


@router.put(
    "/contacts/by-crm-id/{crm_contact_id}",
    response={200: ContactOut, 201: ContactOut},
    summary="Create or update a contact by its CRM id",
)
def contacts_upsert(
    request: HttpRequest,
    crm_contact_id: CrmId,
    payload: ContactUpsertIn,
) -> Status:
    """The contact with this CRM id (else the one with this e-mail) is updated with the
    non-empty values given, else created (201). Its company and division follow their CRM
    ids, else their names, and are created or renamed to match."""
    account = request_account(request)
    tenant = account.tenant
    for attempt in range(2):
        matches = Q(crm_contact_id=crm_contact_id)
        if payload.email:
            matches |= Q(email__iexact=payload.email)
        known = set(Contact.all_objects.filter(matches).values_list("pk", flat=True))
        try:
            with transaction.atomic():
                contact = contact_upsert_from_crm(
                    tenant=tenant,
                    channel=Platform.API,
                    actor=integration_actor(account),
                    crm_contact_id=crm_contact_id,
                    full_name=payload.full_name,
                    email=payload.email,
                    phone=payload.phone,
                    company=payload.company,
                    crm_company_id=payload.crm_company_id,
                    division=payload.division,
                    crm_division_id=payload.crm_division_id,
                )
        except IntegrityError:
            if attempt:  # a concurrent upsert of the same ids won twice: tell the client
                raise ApiProblem(
                    409, "a concurrent request changed this contact; send it again"
                ) from None
            continue
        contact = contacts_with_company(tenant=tenant).get(pk=contact.pk)
        return Status(200 if contact.pk in known else 201, contact)
    raise AssertionError("unreachable")


@router.get("/companies", response=CompanyPage, summary="List companies", tags=["companies"])
def companies_list(
    request: HttpRequest,
    limit: Limit = 50,
    cursor: Cursor | None = None,
    updated_since: UpdatedSince | None = None,
) -> dict:
    tenant = request_account(request).tenant
    rows, next_cursor, has_more = page(
        companies_with_divisions(tenant=tenant),
        limit=limit,
        cursor=cursor,
        updated_since=updated_since,
    )
    return {"items": rows, "next_cursor": next_cursor, "has_more": has_more}


@router.get(
    "/companies/{company_id}", response=CompanyOut, summary="Get a company", tags=["companies"]
)
def companies_get(request: HttpRequest, company_id: RowId) -> Any:
    tenant = request_account(request).tenant
    company = companies_with_divisions(tenant=tenant).filter(pk=company_id).first()
    if company is None:
        raise ApiProblem(404, "no such company in this tenant")
    return company


@router.get("/divisions", response=DivisionPage, summary="List divisions", tags=["companies"])
def divisions_list(
    request: HttpRequest,
    limit: Limit = 50,
    cursor: Cursor | None = None,
    updated_since: UpdatedSince | None = None,
) -> dict:
    tenant = request_account(request).tenant
    rows, next_cursor, has_more = page(
        divisions_of_tenant(tenant=tenant),
        limit=limit,
        cursor=cursor,
        updated_since=updated_since,
    )
    return {"items": rows, "next_cursor": next_cursor, "has_more": has_more}


@router.get(
    "/divisions/{division_id}", response=DivisionOut, summary="Get a division", tags=["companies"]
)
def divisions_get(request: HttpRequest, division_id: RowId) -> Any:
    tenant = request_account(request).tenant
    division = divisions_of_tenant(tenant=tenant).filter(pk=division_id).first()
    if division is None:
        raise ApiProblem(404, "no such division in this tenant")
    return division
