"""Writes on the CRM record. Callers hold the tenant's scope and pass the tenant."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from crm.models import Company, CompanyDivision, Contact, Conversation, Message
from tenants.models import Tenant


def company_ensure(
    *, tenant: Tenant, name: str, fiscal_id: str | None = None, crm_company_id: str | None = None
) -> Company:
    """The tenant's company with this CRM id, else fiscal id, else name; created when missing."""
    lookups = [
        {"crm_company_id": crm_company_id} if crm_company_id else None,
        {"fiscal_id": fiscal_id} if fiscal_id else None,
        {"name__iexact": name.strip()},
    ]
    for lookup in filter(None, lookups):
        company = Company.objects.filter(**lookup).first()
        if company is not None:
            return company
    return Company.objects.create(
        tenant=tenant,
        name=name.strip(),
        fiscal_id=fiscal_id or None,
        crm_company_id=crm_company_id or None,
    )


def division_ensure(
    *, tenant: Tenant, company: Company, name: str, crm_division_id: str | None = None
) -> CompanyDivision:
    division = CompanyDivision.objects.filter(company=company, name__iexact=name.strip()).first()
    if division is None:
        division = CompanyDivision.objects.create(
            tenant=tenant,
            company=company,
            name=name.strip(),
            crm_division_id=crm_division_id or None,
        )
    return division


def contact_link_division(*, contact: Contact, division: CompanyDivision) -> Contact:
    """Place the contact in a division (and so in its company)."""
    contact.division = division
    contact.save(update_fields=["division", "updated_at"])
    return contact


def contact_get_or_create_for_platform(
    *, tenant: Tenant, platform: str, platform_user_id: str, full_name: str = ""
) -> tuple[Contact, bool]:
    """The contact behind a platform identity; a soft-deleted one is restored, not duplicated."""
    contact = Contact.all_objects.filter(
        platform=platform, platform_user_id=platform_user_id
    ).first()
    if contact is not None:
        if contact.is_deleted:
            contact.restore()
        return contact, False
    contact = Contact.objects.create(
        tenant=tenant, platform=platform, platform_user_id=platform_user_id, full_name=full_name
    )
    return contact, True


def conversation_open(*, tenant: Tenant, contact: Contact, channel: str) -> Conversation:
    """The contact's active conversation on ``channel``, opened when there is none."""
    conversation = (
        Conversation.objects.filter(contact=contact, channel=channel)
        .exclude(status=Conversation.Status.CLOSED)
        .order_by("-created_at")
        .first()
    )
    if conversation is None:
        conversation = Conversation.objects.create(
            tenant=tenant, contact=contact, channel=channel, last_activity_at=timezone.now()
        )
    return conversation


@transaction.atomic
def message_add(
    *,
    conversation: Conversation,
    role: str,
    content: str,
    external_id: str | None = None,
    delivery_status: str | None = None,
) -> Message:
    """Store a message and move the conversation's last activity to it."""
    if delivery_status is None:
        delivery_status = (
            Message.Delivery.RECEIVED if role == Message.Role.USER else Message.Delivery.PENDING
        )
    message = Message.objects.create(
        tenant=conversation.tenant,
        conversation=conversation,
        role=role,
        content=content,
        external_id=external_id,
        delivery_status=delivery_status,
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        last_activity_at=message.created_at, updated_at=message.created_at
    )
    conversation.last_activity_at = message.created_at
    return message
