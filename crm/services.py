"""Writes on the CRM record. Callers hold the tenant's scope and pass the tenant."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from crm.models import (
    Company,
    CompanyDivision,
    Contact,
    Conversation,
    LeadOpportunity,
    Message,
    OpportunityEvent,
)
from tenants.models import Tenant
from tenants.selectors import tenant_members


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
    """The conversation a new message of the contact on ``channel`` belongs to.

    The open one (active or with a rep) if there is one; a conversation closed
    less than ``CONVERSATION_REOPEN_HOURS`` ago is reopened; otherwise a new one
    starts (and its prompt carries the previous one's summary).
    """
    latest = (
        Conversation.objects.filter(contact=contact, channel=channel)
        .order_by("-created_at", "-pk")
        .first()
    )
    if latest is not None and latest.status != Conversation.Status.CLOSED:
        return latest
    now = timezone.now()
    window = timedelta(hours=settings.CONVERSATION_REOPEN_HOURS)
    if latest is not None and latest.closed_at and now - latest.closed_at < window:
        latest.status = Conversation.Status.ACTIVE
        latest.closed_at = None
        latest.save(update_fields=["status", "closed_at", "updated_at"])
        return latest
    return conversation_start(tenant=tenant, contact=contact, channel=channel)


def conversation_start(*, tenant: Tenant, contact: Contact, channel: str) -> Conversation:
    """A new conversation, whatever came before."""
    return Conversation.objects.create(
        tenant=tenant, contact=contact, channel=channel, last_activity_at=timezone.now()
    )


def conversation_close(*, conversation: Conversation, summary: str | None = None) -> Conversation:
    conversation.status = Conversation.Status.CLOSED
    conversation.closed_at = timezone.now()
    fields = ["status", "closed_at", "updated_at"]
    if summary is not None:
        conversation.summary = summary
        fields.append("summary")
    conversation.save(update_fields=fields)
    return conversation


def conversation_flag(*, conversation: Conversation, reason: str) -> None:
    """Put the conversation in front of a rep, saying why."""
    Conversation.objects.filter(pk=conversation.pk).update(
        needs_attention=True, attention_reason=reason[:300], updated_at=timezone.now()
    )
    conversation.needs_attention = True
    conversation.attention_reason = reason[:300]


@transaction.atomic
def message_add(
    *,
    conversation: Conversation,
    role: str,
    content: str,
    external_id: str | None = None,
    delivery_status: str | None = None,
    metadata: dict[str, Any] | None = None,
    answer_mode: str = "",
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
        metadata=metadata or {},
        answer_mode=answer_mode,
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        last_activity_at=message.created_at, updated_at=message.created_at
    )
    conversation.last_activity_at = message.created_at
    return message


def _rep_label(user: AbstractBaseUser | None) -> str:
    return user.get_username() if user is not None else ""


def _opportunity_lock(opportunity: LeadOpportunity) -> LeadOpportunity:
    return LeadOpportunity.all_objects.select_for_update().get(pk=opportunity.pk)


@transaction.atomic
def opportunity_status_set(
    *, opportunity: LeadOpportunity, status: str, actor: AbstractBaseUser | None
) -> OpportunityEvent | None:
    """Move the opportunity to ``status`` and record who did it; None when nothing changed."""
    if status not in LeadOpportunity.Status.values:
        raise ValidationError({"status": f"Unknown opportunity status {status!r}."})
    current = _opportunity_lock(opportunity)
    opportunity.status = status
    if current.status == status:
        return None
    now = timezone.now()
    LeadOpportunity.all_objects.filter(pk=opportunity.pk).update(status=status, updated_at=now)
    opportunity.updated_at = now
    return OpportunityEvent.objects.create(
        tenant=current.tenant,
        opportunity=current,
        action=OpportunityEvent.Action.STATUS_CHANGED,
        from_value=current.status,
        to_value=status,
        actor=actor,
    )


@transaction.atomic
def opportunity_assign(
    *,
    opportunity: LeadOpportunity,
    rep: AbstractBaseUser | None,
    actor: AbstractBaseUser | None,
) -> OpportunityEvent | None:
    """Give the opportunity to ``rep`` (a member of its tenant; None unassigns) and record it."""
    current = _opportunity_lock(opportunity)
    if rep is not None and not tenant_members(tenant=current.tenant).filter(pk=rep.pk).exists():
        raise ValidationError({"assigned_rep": "The assigned rep must be a member of this tenant."})
    opportunity.assigned_rep = rep
    if current.assigned_rep_id == (rep.pk if rep is not None else None):
        return None
    now = timezone.now()
    LeadOpportunity.all_objects.filter(pk=opportunity.pk).update(assigned_rep=rep, updated_at=now)
    opportunity.updated_at = now
    return OpportunityEvent.objects.create(
        tenant=current.tenant,
        opportunity=current,
        action=OpportunityEvent.Action.ASSIGNED,
        from_value=_rep_label(current.assigned_rep),
        to_value=_rep_label(rep),
        actor=actor,
    )
