"""Reads on the CRM record that other apps use. Callers hold the tenant's scope."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from crm.models import (
    AuditEntry,
    Company,
    CompanyDivision,
    Contact,
    Conversation,
    LeadOpportunity,
    Message,
    OpportunityProductRecommendation,
)
from tenants.models import Tenant


def conversation_history(*, conversation: Conversation, limit: int | None = None) -> list[Message]:
    """The conversation's messages in the order they were stored (the last ``limit`` if given)."""
    messages = conversation.messages.order_by("-created_at", "-pk")
    if limit is not None:
        messages = messages[:limit]
    return list(reversed(list(messages)))


def contact_open_opportunities(*, contact_id: int) -> QuerySet[LeadOpportunity]:
    return LeadOpportunity.objects.filter(contact_id=contact_id).exclude(
        status=LeadOpportunity.Status.CLOSED
    )


def audit_trail(
    *, opportunity: LeadOpportunity | None = None, conversation: Conversation | None = None
) -> list[AuditEntry]:
    """The audit entries of an opportunity or of a conversation, oldest first."""
    if (opportunity is None) == (conversation is None):
        raise ValueError("Give an opportunity or a conversation.")
    entries = AuditEntry.objects.select_related("actor")
    if opportunity is not None:
        entries = entries.filter(opportunity=opportunity)
    else:
        entries = entries.filter(conversation=conversation)
    return list(entries.order_by("created_at", "pk"))


# The REST API's reads (integrations.api): querysets the API pages over (updated_at, id).


def contacts_with_company(*, tenant: Tenant) -> QuerySet[Contact]:
    return Contact.objects.filter(tenant=tenant).select_related("division__company")


def companies_with_divisions(*, tenant: Tenant) -> QuerySet[Company]:
    return Company.objects.filter(tenant=tenant).prefetch_related(
        Prefetch("divisions", queryset=CompanyDivision.objects.order_by("name", "pk"))
    )


def divisions_of_tenant(*, tenant: Tenant) -> QuerySet[CompanyDivision]:
    return CompanyDivision.objects.filter(tenant=tenant)


def conversations_of_tenant(*, tenant: Tenant, status: str | None = None) -> QuerySet[Conversation]:
    conversations = Conversation.objects.filter(tenant=tenant).select_related("assigned_rep")
    return conversations.filter(status=status) if status else conversations


def conversation_with_messages(*, tenant: Tenant, conversation_id: int) -> Conversation | None:
    return (
        conversations_of_tenant(tenant=tenant)
        .prefetch_related(
            Prefetch("messages", queryset=Message.objects.order_by("created_at", "pk"))
        )
        .filter(pk=conversation_id)
        .first()
    )


def opportunities_with_recommendations(*, tenant: Tenant) -> QuerySet[LeadOpportunity]:
    return (
        LeadOpportunity.objects.filter(tenant=tenant)
        .select_related("assigned_rep")
        .prefetch_related(
            Prefetch(
                "recommendations",
                queryset=OpportunityProductRecommendation.objects.order_by("pk"),
            )
        )
    )
